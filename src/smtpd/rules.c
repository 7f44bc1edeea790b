/* tcprules' cdb: the key is an address, a prefix of one, or empty; the data a list of
   null-terminated records, "D" for deny, "+NAME=value" for a variable (allow writes none). */

#include <errno.h>
#include <string.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

#include "rules.h"

 /* The record list d[0..n) into vars: 1 allow, 0 deny. */
static int decide (char const *d, size_t n, stralloc *vars)
{
  int allow = 1 ;
  size_t i = 0 ;
  while (i < n)
  {
    char const *rec = d + i ;
    char const *nul = memchr(rec, 0, n - i) ;
    size_t len = nul ? (size_t)(nul - rec) : n - i ;
    if (len && rec[0] == 'D') allow = 0 ;
    else if (len > 1 && rec[0] == '+' && memchr(rec + 1, '=', len - 1))
    {
      if (!stralloc_catb(vars, rec + 1, len - 1) || !stralloc_0(vars)) return -1 ;
    }
    i += len + 1 ;
  }
  return allow ;
}

int smtpd_rules_find (char const *file, char const *ip, stralloc *vars)
{
  cdb c = CDB_ZERO ;
  cdb_data d ;
  size_t len = strlen(ip) ;
  char sep = memchr(ip, ':', len) ? ':' : '.' ;
  int r ;
  vars->len = 0 ;
  if (!cdb_init(&c, file)) return -1 ;
  /* the address, then its prefixes that end with the separator, then the empty key */
  for (;;)
  {
    r = cdb_find(&c, &d, ip, len) ;
    if (r < 0) { cdb_free(&c) ; errno = EPROTO ; return -1 ; }
    if (r) break ;
    if (!len) { cdb_free(&c) ; return 1 ; }
    len-- ;
    while (len && ip[len - 1] != sep) len-- ;
  }
  r = decide(d.s, d.len, vars) ;
  cdb_free(&c) ;
  return r ;
}

char const *smtpd_rules_var (stralloc const *vars, char const *name)
{
  size_t n = strlen(name), i = 0 ;
  while (i < vars->len)
  {
    char const *v = vars->s + i ;
    size_t l = strlen(v) ;
    if (l > n && !memcmp(v, name, n) && v[n] == '=') return v + n + 1 ;
    i += l + 1 ;
  }
  return 0 ;
}
