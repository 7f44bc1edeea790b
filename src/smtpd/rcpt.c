/* ferry-smtpd's recipient checks: a local recipient must exist (the local channel's own lookup),
   and mail for other domains is taken only from relay clients or for control/relaydomains. */

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include <ferry/control.h>
#include <ferry/local_resolve.h>

#include "smtpd.h"

int smtpd_rcpt_load (smtpd_rcpt *r, stralloc *err)
{
  struct stat st ;
  if (!ferry_local_ctx_load(&r->local, err)) return 0 ;
  /* The local channel runs as root, and then delivers as each mailbox's owner, in a home whose
     control/ is root's (a root install, or a home root made); else as the home's user. Its
     lookup answers by that, so ours must too. */
  if (stat("control", &st) < 0)
  {
    err->len = 0 ;
    stralloc_cats(err, "unable to stat control: ") ;
    stralloc_cats(err, strerror(errno)) ;
    return 0 ;
  }
  r->local.root = !st.st_uid ;
  if (ferry_control_readlist(&r->relaydomains, "relaydomains") < 0)
  {
    err->len = 0 ;
    stralloc_cats(err, "unable to read control/relaydomains: ") ;
    stralloc_cats(err, strerror(errno)) ;
    return 0 ;
  }
  return 1 ;
}

int smtpd_domain_listed (stralloc const *list, char const *d, size_t n)
{
  size_t i = 0 ;
  while (i < list->len)
  {
    size_t k = byte_chr(list->s + i, list->len - i, '\n') ;
    size_t a = 0, m = k ;
    char const *line = list->s + i ;
    while (m && (line[m-1] == ' ' || line[m-1] == '\t' || line[m-1] == '\r')) m-- ;
    while (a < m && (line[a] == ' ' || line[a] == '\t')) a++ ;
    line += a ; m -= a ;
    if (m && line[0] != '#')
    {
      if (line[0] == '.' ? m > 1 && n > m && !memcmp(d + n - m, line, m) : m == n && !memcmp(d, line, n)) return 1 ;
    }
    i += k + 1 ;
  }
  return 0 ;
}

static int set (stralloc *sa, char const *a, char const *b, char const *c)
{
  sa->len = 0 ;
  return stralloc_cats(sa, a) && stralloc_cats(sa, b) && stralloc_cats(sa, c) && stralloc_0(sa) ;
}

char smtpd_rcpt_check (smtpd_rcpt *r, char const *addr, stralloc *reply, stralloc *why)
{
  size_t len = strlen(addr) ;
  size_t at = byte_rchr(addr, len, '@') ;
  char const *d = at < len ? addr + at + 1 : r->local.me.s ;
  size_t n = strlen(d) ;
  char dom[n + 1] ;
  size_t i ;
  for (i = 0 ; i < n ; i++) dom[i] = d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 'a' - 'A' : d[i] ;
  dom[n] = 0 ;
  if (ferry_control_listed(&r->local.locals, dom, n) || ferry_control_listed(&r->local.virtualdomains, dom, n))
  {
    ferry_local_target t = FERRY_LOCAL_TARGET_ZERO ;
    stralloc err = STRALLOC_ZERO ;
    char st ;
    if (!ferry_local_ctx_refresh(&r->local))
    {
      st = 'Z' ;
      stralloc_cats(&err, "unable to read control/mailboxes.cdb") ;
    }
    else st = ferry_local_resolve(&r->local, addr, &t, &err) ;
    stralloc_free(&t.sa) ;
    if (!stralloc_0(&err)) { stralloc_free(&err) ; set(why, "out of memory", "", "") ; return 'Z' ; }
    if (st == 'K') { stralloc_free(&err) ; return 'K' ; }
    if (st == 'D')
    {
      /* the lookup's text starts with its enhanced code (5.1.1 no mailbox here by that name: ...) */
      int coded = err.s[0] == '5' && err.s[1] == '.' ;
      int ok = set(reply, coded ? "550 " : "550 5.1.1 ", err.s, "") ;
      stralloc_free(&err) ;
      if (!ok) { set(why, "out of memory", "", "") ; return 'Z' ; }
      return 'D' ;
    }
    set(why, err.s, "", "") ;
    stralloc_free(&err) ;
    set(reply, "451 4.3.0 unable to check <", addr, ">: try again later") ;
    return 'Z' ;
  }
  if (r->relay || smtpd_domain_listed(&r->relaydomains, dom, n)) return 'K' ;
  if (!set(reply, "550 5.7.1 relaying denied: this server takes no mail for <", addr, "> from you")) { set(why, "out of memory", "", "") ; return 'Z' ; }
  return 'D' ;
}
