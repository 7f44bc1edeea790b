/* ferry_route_check, ferry_route_find: control/smtproutes, static routes and a smarthost, found for a domain. */

#include <string.h>
#include <strings.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/route.h>

 /* Splits line into key and target; the target into host and port. 1 if well-formed. */
static int route_split (char const *line, size_t n, size_t *keylen, char const **host, size_t *hostlen, uint16_t *port, int *hasport)
{
  size_t c = byte_chr(line, n, ':') ;
  char const *t ;
  size_t tn, hn ;
  if (c == n) return 0 ;
  *keylen = c ;
  t = line + c + 1 ; tn = n - c - 1 ;
  *hasport = 0 ;
  if (!tn) { *host = t ; *hostlen = 0 ; return 1 ; }
  if (t[0] == '[')
  {
    size_t e = byte_chr(t, tn, ']') ;
    if (e == tn || e == 1) return 0 ;
    hn = e + 1 ;
  }
  else hn = byte_chr(t, tn, ':') ;
  *host = t ; *hostlen = hn ;
  if (hn < tn)
  {
    char buf[8] ;
    size_t pn = tn - hn - 1 ;
    if (t[hn] != ':' || !pn || pn > 5) return 0 ;
    memcpy(buf, t + hn + 1, pn) ; buf[pn] = 0 ;
    if (uint160_scan(buf, port) != pn || !*port) return 0 ;
    *hasport = 1 ;
  }
  return hn || !*hasport ;
}

static void trimmed (char const **s, size_t *n)
{
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r')) (*n)-- ;
  while (*n && (**s == ' ' || **s == '\t')) { (*s)++ ; (*n)-- ; }
}

unsigned int ferry_route_check (char const *routes, size_t len)
{
  size_t i = 0 ;
  unsigned int lineno = 0 ;
  while (i < len)
  {
    size_t k = byte_chr(routes + i, len - i, '\n'), n = k, kl, hl ;
    char const *line = routes + i, *h ;
    uint16_t port ;
    int hp ;
    i += k + 1 ;
    lineno++ ;
    trimmed(&line, &n) ;
    if (!n || line[0] == '#') continue ;
    if (!route_split(line, n, &kl, &h, &hl, &port, &hp)) return lineno ;
  }
  return 0 ;
}

 /* The target of the line whose key is exactly key[0..kn), if any: 1 found, 0 not. */
static int route_lookup (char const *routes, size_t len, char const *key, size_t kn, stralloc *host, uint16_t *port, uint16_t defport)
{
  size_t i = 0 ;
  while (i < len)
  {
    size_t k = byte_chr(routes + i, len - i, '\n'), n = k, kl, hl ;
    char const *line = routes + i, *h ;
    uint16_t p = defport ;
    int hp ;
    i += k + 1 ;
    trimmed(&line, &n) ;
    if (!n || line[0] == '#') continue ;
    if (!route_split(line, n, &kl, &h, &hl, &p, &hp)) continue ;
    if (kl != kn || strncasecmp(line, key, kn)) continue ;
    host->len = 0 ;
    if (!stralloc_catb(host, h, hl) || !stralloc_0(host)) return -1 ;
    *port = hp ? p : defport ;
    return 1 ;
  }
  return 0 ;
}

int ferry_route_find (char const *routes, size_t len, char const *domain, stralloc *host, uint16_t *port, uint16_t defport)
{
  size_t dn = strlen(domain), j ;
  int r = route_lookup(routes, len, domain, dn, host, port, defport) ;
  if (r) return r > 0 && host->len > 1 ;
  for (j = 0 ; j < dn ; j++) if (domain[j] == '.')
  {
    r = route_lookup(routes, len, domain + j, dn - j, host, port, defport) ;
    if (r) return r > 0 && host->len > 1 ;
  }
  r = route_lookup(routes, len, "", 0, host, port, defport) ;
  return r > 0 && host->len > 1 ;
}
