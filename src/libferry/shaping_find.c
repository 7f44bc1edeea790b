/* ferry_shaping_find: the shaping key of a domain in control/shaping.cdb: its own line, its
   route's, or the site of its MX hosts. */

#include <errno.h>
#include <string.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

#include <ferry/shaping.h>

#define HOST_MAX 255

 /* The record of key p[0..pn) followed by s[0..n): 1 with its value, 0 none, -1 broken. */
static int get (cdb const *c, char const *p, size_t pn, char const *s, size_t n, cdb_data *v)
{
  char k[2 + 6 + HOST_MAX + 1] ;
  if (pn + n > sizeof(k)) return 0 ;
  memcpy(k, p, pn) ;
  memcpy(k + pn, s, n) ;
  return cdb_find(c, v, k, pn + n) ;
}

 /* key = prefix then name, terminated; the settings of the record v into sh. */
static int found (cdb_data const *v, char const *prefix, char const *name, size_t n, stralloc *key, ferry_shaping *sh)
{
  if (ferry_shaping_settings(v->s, v->len, sh)) { errno = EPROTO ; return -1 ; }
  key->len = 0 ;
  if (!stralloc_cats(key, prefix) || !stralloc_catb(key, name, n) || !stralloc_0(key)) { errno = ENOMEM ; return -1 ; }
  key->len-- ;
  return 1 ;
}

 /* The site of one MX host h[0..n) (lower case, no final dot): its exact pattern, then "*."
    and each suffix, the longest first. 1 with the site's name in v, 0 none, -1 broken. */
static int site_of (cdb const *c, char const *h, size_t n, cdb_data *v)
{
  size_t i ;
  int r = get(c, "m:", 2, h, n, v) ;
  if (r) return r ;
  for (i = 0 ; i + 1 < n ; i++) if (h[i] == '.')
  {
    r = get(c, "m:*", 3, h + i, n - i, v) ;
    if (r) return r ;
  }
  return 0 ;
}

static int mx_site (cdb const *c, char const *mx, size_t mxlen, stralloc *key, ferry_shaping *sh)
{
  size_t i = 0 ;
  while (i < mxlen)
  {
    char h[HOST_MAX + 1] ;
    size_t n = strnlen(mx + i, mxlen - i), k ;
    cdb_data v, site ;
    int r ;
    char const *p = mx + i ;
    i += n + 1 ;
    if (n && p[n - 1] == '.') n-- ;
    if (!n || n > HOST_MAX) continue ;
    for (k = 0 ; k < n ; k++) h[k] = p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k] ;
    r = site_of(c, h, n, &site) ;
    if (r < 0) { errno = EPROTO ; return -1 ; }
    if (!r) continue ;
    r = get(c, "s:", 2, site.s, site.len, &v) ;
    if (r <= 0) { errno = EPROTO ; return -1 ; }   /* a pattern of a site that has no line */
    return found(&v, "site:", site.s, site.len, key, sh) ;
  }
  return 0 ;
}

int ferry_shaping_find (cdb const *c, char const *domain, char const *routehost, char const *mx, size_t mxlen, stralloc *key, ferry_shaping *sh)
{
  cdb_data v ;
  int r = get(c, "d:", 2, domain, strlen(domain), &v) ;
  if (r < 0) { errno = EPROTO ; return -1 ; }
  if (r) return found(&v, "", domain, strlen(domain), key, sh) ;
  if (routehost)
  {
    char h[HOST_MAX + 1] ;
    size_t n = strlen(routehost), k ;
    if (n > HOST_MAX) return 0 ;
    for (k = 0 ; k < n ; k++) h[k] = routehost[k] >= 'A' && routehost[k] <= 'Z' ? routehost[k] + 32 : routehost[k] ;
    r = get(c, "r:", 2, h, n, &v) ;
    if (r < 0) { errno = EPROTO ; return -1 ; }
    return r ? found(&v, "route:", h, n, key, sh) : 0 ;
  }
  return mx_site(c, mx, mxlen, key, sh) ;
}
