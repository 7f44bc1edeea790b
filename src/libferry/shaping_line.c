/* ferry_shaping_line: one line of control/shaping, as ferry-shaping compiles it:
   KEY [mx=PATTERN[,PATTERN...]] SETTING=VALUE ... */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/shaping.h>

static int blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r' ;
}

static void lower (char *s, size_t n)
{
  size_t i ;
  for (i = 0 ; i < n ; i++) if (s[i] >= 'A' && s[i] <= 'Z') s[i] += 32 ;
}

 /* Labels of letters, digits, - and _ (and 8-bit bytes when eight), none empty, none over 63
    bytes, in all at most 253 bytes. In lower case. */
static int hostname_ok (char const *s, size_t n, int eight)
{
  size_t i, label = 0 ;
  if (!n || n > 253) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    unsigned char c = s[i] ;
    if (c == '.')
    {
      if (!label) return 0 ;
      label = 0 ;
      continue ;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || (eight && c >= 128))) return 0 ;
    if (++label > 63) return 0 ;
  }
  return label > 0 ;
}

int ferry_shaping_pattern_ok (char const *p, size_t n)
{
  if (n >= 2 && p[0] == '*' && p[1] == '.') { p += 2 ; n -= 2 ; }
  return hostname_ok(p, n, 0) ;
}

 /* A route's host as control/smtproutes writes it: a name, or an address in brackets. */
static int routehost_ok (char const *s, size_t n)
{
  size_t i ;
  if (n < 3 || s[0] != '[') return hostname_ok(s, n, 0) ;
  if (s[n - 1] != ']' || n > 64) return 0 ;
  for (i = 1 ; i < n - 1 ; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == ':' || s[i] == '.')) return 0 ;
  return 1 ;
}

static int sitename_ok (char const *s, size_t n)
{
  size_t i ;
  if (!n || n > 200) return 0 ;
  for (i = 0 ; i < n ; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.')) return 0 ;
  return 1 ;
}

static int prefixed (char const *s, size_t n, char const *prefix, size_t k)
{
  return n >= k && !memcmp(s, prefix, k) ;
}

static char const *fault (ferry_shaping_entry *e, char const *f, size_t n, char const *why)
{
  e->field = f ;
  e->fieldlen = n ;
  return why ;
}

 /* The key, lower-cased: its kind and name. */
static char const *key_take (ferry_shaping_entry *e)
{
  char *k = e->key ;
  size_t n = e->keylen ;
  lower(k, n) ;
  if (prefixed(k, n, "route:", 6))
  {
    e->kind = 'r' ; e->name = k + 6 ; e->namelen = n - 6 ;
    if (!routehost_ok(e->name, e->namelen)) return fault(e, k, n, "bad route host: write it as control/smtproutes does (route:relay.example.net, route:[192.0.2.7])") ;
  }
  else if (prefixed(k, n, "site:", 5))
  {
    e->kind = 's' ; e->name = k + 5 ; e->namelen = n - 5 ;
    if (!sitename_ok(e->name, e->namelen)) return fault(e, k, n, "bad site name: write site:NAME with letters, digits, -, _ and . only") ;
  }
  else
  {
    e->kind = 'd' ; e->name = k ; e->namelen = n ;
    if (!hostname_ok(k, n, 1)) return fault(e, k, n, "bad key: write a domain (example.com), route:HOST or site:NAME") ;
  }
  return 0 ;
}

 /* mx=PATTERN[,PATTERN...], lower-cased. */
static char const *mx_take (ferry_shaping_entry *e, char *f, size_t n)
{
  size_t i = 3 ;
  if (e->kind != 's') return fault(e, f, n, "mx= is only for site: keys") ;
  if (e->mx) return fault(e, f, n, "a setting given twice") ;
  lower(f, n) ;
  e->mx = f + 3 ;
  e->mxlen = n - 3 ;
  for (;;)
  {
    size_t k = i ;
    while (k < n && f[k] != ',') k++ ;
    if (!ferry_shaping_pattern_ok(f + i, k - i))
      return fault(e, f, n, "bad MX pattern: write a host name (mx1.example.net) or *. and a suffix (*.example.net)") ;
    if (k == n) return 0 ;
    i = k + 1 ;
  }
}

char const *ferry_shaping_line (char *line, size_t n, ferry_shaping_entry *e)
{
  static ferry_shaping const zero = FERRY_SHAPING_ZERO ;
  unsigned int seen = 0, nset = 0 ;
  char const *burst = 0 ;
  size_t burstlen = 0, i = 0 ;
  e->kind = 0 ;
  e->key = e->name = e->mx = 0 ;
  e->keylen = e->namelen = e->mxlen = 0 ;
  e->sh = zero ;
  e->field = 0 ;
  e->fieldlen = 0 ;
  for (;;)
  {
    size_t k ;
    char *f ;
    char const *why ;
    while (i < n && blank(line[i])) i++ ;
    if (i == n || line[i] == '#') break ;
    for (k = i ; k < n && !blank(line[k]) ; k++) ;
    f = line + i ;
    k -= i ;
    i += k ;
    if (!e->key)
    {
      e->key = f ;
      e->keylen = k ;
      why = key_take(e) ;
    }
    else if (prefixed(f, k, "mx=", 3)) why = mx_take(e, f, k) ;
    else
    {
      why = ferry_shaping_setting(f, k, &e->sh, &seen) ;
      if (why) { e->field = f ; e->fieldlen = k ; }
      else if (prefixed(f, k, "burst=", 6)) { burst = f ; burstlen = k ; }
      nset++ ;
    }
    if (why) return why ;
  }
  if (!e->key) return 0 ;
  if (e->kind == 's' && !e->mx) return fault(e, e->key, e->keylen, "a site: key needs mx= with its MX host patterns") ;
  if (!nset) return fault(e, e->key, e->keylen, "no setting: a line needs at least one of connections=, messages=, rate=, burst=, newconns=, daily=") ;
  if (e->sh.burst && !e->sh.rate) return fault(e, burst, burstlen, "burst= needs rate=: it is the size of the rate's bucket") ;
  return 0 ;
}

int ferry_shaping_record_key (stralloc *sa, ferry_shaping_entry const *e)
{
  char p[2] = { e->kind, ':' } ;
  return stralloc_catb(sa, p, 2) && stralloc_catb(sa, e->name, e->namelen) ;
}

int ferry_shaping_record_pattern (stralloc *sa, char const *p, size_t n)
{
  return stralloc_catb(sa, "m:", 2) && stralloc_catb(sa, p, n) ;
}
