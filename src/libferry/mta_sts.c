/* ferry_sts_txt, ferry_sts_policy_parse, ferry_sts_mx_match, ferry_sts_cache_fmt and _parse:
   MTA-STS records, policies and the cache file. Every read stays inside s[0..n). */

#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/mta_sts.h>

static int blank (char c)
{
  return c == ' ' || c == '\t' ;
}

static int alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ;
}

 /* A field name of RFC 8461: a letter or digit, then up to 31 letters, digits, _ - or . */
static size_t name_len (char const *s, size_t n)
{
  size_t i ;
  if (!n || !alnum(s[0])) return 0 ;
  for (i = 1 ; i < n && i < 32 && (alnum(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.') ; i++) ;
  return i ;
}

static int id_ok (char const *s, size_t n)
{
  size_t i ;
  if (!n || n > FERRY_STS_ID_MAX) return 0 ;
  for (i = 0 ; i < n ; i++) if (!alnum(s[i])) return 0 ;
  return 1 ;
}

int ferry_sts_txt (char const *s, size_t n, char *id)
{
  size_t i = 7 ;
  int gotid = 0 ;
  if (n < 7 || memcmp(s, "v=STSv1", 7)) return 0 ;
  if (i < n && s[i] != ';' && !blank(s[i])) return 0 ;   /* another version */
  for (;;)
  {
    size_t k, v, vn ;
    while (i < n && blank(s[i])) i++ ;
    if (i == n) break ;
    if (s[i] != ';') return -1 ;
    i++ ;
    while (i < n && blank(s[i])) i++ ;
    if (i == n) break ;                       /* a final ";" */
    k = name_len(s + i, n - i) ;
    if (!k || i + k == n || s[i + k] != '=') return -1 ;
    v = i + k + 1 ;
    /* a value: printable, no blank, ";" or "=" */
    for (vn = 0 ; v + vn < n && s[v + vn] > ' ' && s[v + vn] < 127 && s[v + vn] != ';' && s[v + vn] != '=' ; vn++) ;
    if (!vn) return -1 ;
    if (k == 2 && !memcmp(s + i, "id", 2))
    {
      if (!id_ok(s + v, vn)) return -1 ;
      if (!gotid)
      {
        memcpy(id, s + v, vn) ;
        id[vn] = 0 ;
        gotid = 1 ;
      }
    }
    i = v + vn ;
    if (i < n && s[i] != ';' && !blank(s[i])) return -1 ;
  }
  return gotid ? 1 : -1 ;
}

char const *ferry_sts_mode_name (enum sts_mode m)
{
  return m == STS_MODE_ENFORCE ? "enforce" : m == STS_MODE_TESTING ? "testing" : "none" ;
}

 /* Some bytes of the body in a message: control characters shown as ?, long values cut. */
static int cat_shown (stralloc *sa, char const *s, size_t n)
{
  size_t i, m = n > 64 ? 64 : n ;
  for (i = 0 ; i < m ; i++)
  {
    unsigned char c = s[i] ;
    if (!stralloc_catb(sa, c < 32 || c == 127 ? "?" : s + i, 1)) return 0 ;
  }
  return n > m ? stralloc_cats(sa, "...") : 1 ;
}

 /* why = "line N: " what [shown] rest, terminated; returns 0, or -1 out of memory. */
static int bad_line (stralloc *why, unsigned int line, char const *what, char const *shown, size_t shownlen, char const *rest)
{
  char fmt[UINT_FMT] ;
  why->len = 0 ;
  if (line && (!stralloc_cats(why, "line ") || !stralloc_catb(why, fmt, uint_fmt(fmt, line)) || !stralloc_cats(why, ": "))) return -1 ;
  if (!stralloc_cats(why, what)) return -1 ;
  if (shown && !cat_shown(why, shown, shownlen)) return -1 ;
  if (rest && !stralloc_cats(why, rest)) return -1 ;
  return stralloc_0(why) ? 0 : -1 ;
}

 /* An mx pattern: an optional "*." and a host name of letters, digits and hyphens (labels of 1
    to 63, no hyphen at either end), at most 253 bytes; a final dot allowed. Its length without
    that dot, or 0. */
static size_t pattern_len (char const *s, size_t n)
{
  size_t i = 0, label = 0 ;
  if (n && s[n - 1] == '.') n-- ;
  if (n >= 2 && s[0] == '*' && s[1] == '.') i = 2 ;
  if (i == n || n - i > 253) return 0 ;
  for (; i <= n ; i++)
  {
    if (i == n || s[i] == '.')
    {
      if (!label || label > 63 || s[i - 1] == '-') return 0 ;
      label = 0 ;
    }
    else if (alnum(s[i]) || s[i] == '-')
    {
      if (!label && s[i] == '-') return 0 ;
      label++ ;
    }
    else return 0 ;
  }
  return n ;
}

static int digits_u32 (char const *s, size_t n, uint32_t *u)
{
  uint64_t x = 0 ;
  size_t i ;
  if (!n || n > 10) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    if (s[i] < '0' || s[i] > '9') return 0 ;
    x = x * 10 + (uint64_t)(s[i] - '0') ;
  }
  if (x > FERRY_STS_MAX_AGE) return 0 ;
  *u = (uint32_t)x ;
  return 1 ;
}

int ferry_sts_policy_parse (char const *s, size_t n, ferry_sts_policy *p, stralloc *why)
{
  size_t pos = 0 ;
  unsigned int line = 0 ;
  int version = 0, mode = 0, maxage = 0 ;
  p->mode = STS_MODE_NONE ;
  p->max_age = 0 ;
  p->mx.len = 0 ;
  p->nmx = 0 ;
  while (pos < n)
  {
    char const *l = s + pos ;
    size_t ln, k, v, end, i ;
    char const *nl = memchr(l, '\n', n - pos) ;
    ln = nl ? (size_t)(nl - l) : n - pos ;
    pos += ln + (nl ? 1 : 0) ;
    line++ ;
    if (ln && l[ln - 1] == '\r') ln-- ;
    for (i = 0 ; i < ln && blank(l[i]) ; i++) ;
    if (i == ln) continue ;                          /* an empty line */
    if (i) return bad_line(why, line, "a line starts with a blank", 0, 0, 0) ;
    k = name_len(l, ln) ;
    if (!k || k == ln || l[k] != ':')
      return bad_line(why, line, "not \"key: value\": ", l, ln, 0) ;
    for (v = k + 1 ; v < ln && blank(l[v]) ; v++) ;
    for (end = ln ; end > v && blank(l[end - 1]) ; end--) ;
    if (end == v) return bad_line(why, line, "an empty value for ", l, k, 0) ;
    for (i = v ; i < end ; i++)
    {
      unsigned char c = l[i] ;
      if ((c < 32 && c != '\t') || c == 127) return bad_line(why, line, "a control character in the value of ", l, k, 0) ;
    }
    if (k == 7 && !memcmp(l, "version", 7))
    {
      if (version) continue ;
      if (end - v != 5 || memcmp(l + v, "STSv1", 5)) return bad_line(why, line, "version is not STSv1: ", l + v, end - v, 0) ;
      version = 1 ;
    }
    else if (k == 4 && !memcmp(l, "mode", 4))
    {
      if (mode) continue ;
      if (end - v == 7 && !memcmp(l + v, "enforce", 7)) p->mode = STS_MODE_ENFORCE ;
      else if (end - v == 7 && !memcmp(l + v, "testing", 7)) p->mode = STS_MODE_TESTING ;
      else if (end - v == 4 && !memcmp(l + v, "none", 4)) p->mode = STS_MODE_NONE ;
      else return bad_line(why, line, "mode is not enforce, testing or none: ", l + v, end - v, 0) ;
      mode = 1 ;
    }
    else if (k == 7 && !memcmp(l, "max_age", 7))
    {
      if (maxage) continue ;
      if (!digits_u32(l + v, end - v, &p->max_age))
        return bad_line(why, line, "max_age is not a number of seconds from 0 to 31557600: ", l + v, end - v, 0) ;
      maxage = 1 ;
    }
    else if (k == 2 && !memcmp(l, "mx", 2))
    {
      size_t pn = pattern_len(l + v, end - v), j, at = p->mx.len ;
      if (!pn) return bad_line(why, line, "mx is not a host name or *.name: ", l + v, end - v, 0) ;
      if (!stralloc_catb(&p->mx, l + v, pn) || !stralloc_0(&p->mx)) return -1 ;
      for (j = at ; j < at + pn ; j++)
        if (p->mx.s[j] >= 'A' && p->mx.s[j] <= 'Z') p->mx.s[j] += 'a' - 'A' ;
      p->nmx++ ;
    }
  }
  if (!version) return bad_line(why, 0, "no version field", 0, 0, 0) ;
  if (!mode) return bad_line(why, 0, "no mode field", 0, 0, 0) ;
  if (!maxage) return bad_line(why, 0, "no max_age field", 0, 0, 0) ;
  if (!p->nmx && p->mode != STS_MODE_NONE) return bad_line(why, 0, "no mx field, and the mode is not none", 0, 0, 0) ;
  return 1 ;
}

int ferry_sts_mx_match (ferry_sts_policy const *p, char const *host)
{
  size_t hn = strlen(host), pos = 0 ;
  unsigned int i ;
  if (hn && host[hn - 1] == '.') hn-- ;
  if (!hn) return 0 ;
  for (i = 0 ; i < p->nmx && pos < p->mx.len ; i++)
  {
    char const *pat = p->mx.s + pos ;
    size_t pn = strlen(pat) ;
    pos += pn + 1 ;
    if (pn >= 2 && pat[0] == '*' && pat[1] == '.')
    {
      /* ".example.com" ends the host, and what is before it is one label */
      size_t sn = pn - 1, left = hn - sn ;
      if (hn <= sn || strncasecmp(host + left, pat + 1, sn)) continue ;
      if (!memchr(host, '.', left)) return 1 ;
    }
    else if (pn == hn && !strncasecmp(host, pat, hn)) return 1 ;
  }
  return 0 ;
}

void ferry_sts_policy_free (ferry_sts_policy *p)
{
  stralloc_free(&p->mx) ;
  p->nmx = 0 ;
}

int ferry_sts_cache_fmt (stralloc *sa, char const *id, uint64_t fetched, char const *body, size_t bodylen)
{
  char fmt[UINT64_FMT] ;
  return stralloc_cats(sa, "ferry-mtasts 1\nid ") && stralloc_cats(sa, id)
    && stralloc_cats(sa, "\nfetched ") && stralloc_catb(sa, fmt, uint64_fmt(fmt, fetched))
    && stralloc_cats(sa, "\n\n") && stralloc_catb(sa, body, bodylen) ;
}

 /* The line at *pos that starts with prefix: its rest into *v, *vn; 0 if there is none. */
static int header_line (char const *s, size_t n, size_t *pos, char const *prefix, char const **v, size_t *vn)
{
  size_t pl = strlen(prefix) ;
  char const *nl ;
  if (n - *pos < pl || memcmp(s + *pos, prefix, pl)) return 0 ;
  nl = memchr(s + *pos + pl, '\n', n - *pos - pl) ;
  if (!nl) return 0 ;
  *v = s + *pos + pl ;
  *vn = (size_t)(nl - *v) ;
  *pos = (size_t)(nl - s) + 1 ;
  return 1 ;
}

int ferry_sts_cache_parse (char const *s, size_t n, char *id, uint64_t *fetched, char const **body, size_t *bodylen, ferry_sts_policy *p, stralloc *why)
{
  size_t pos = 0, vn, i ;
  char const *v ;
  uint64_t t = 0 ;
  int r ;
  if (!header_line(s, n, &pos, "ferry-mtasts ", &v, &vn) || vn != 1 || v[0] != '1')
    return bad_line(why, 0, "not a ferry-mtasts 1 cache file", 0, 0, 0) ;
  if (!header_line(s, n, &pos, "id ", &v, &vn) || !id_ok(v, vn))
    return bad_line(why, 0, "line 2 is not \"id ID\"", 0, 0, 0) ;
  memcpy(id, v, vn) ;
  id[vn] = 0 ;
  if (!header_line(s, n, &pos, "fetched ", &v, &vn) || !vn || vn > 20)
    return bad_line(why, 0, "line 3 is not \"fetched SECONDS\"", 0, 0, 0) ;
  for (i = 0 ; i < vn ; i++)
  {
    if (v[i] < '0' || v[i] > '9' || t > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
      return bad_line(why, 0, "line 3 is not \"fetched SECONDS\"", 0, 0, 0) ;
    t = t * 10 + (uint64_t)(v[i] - '0') ;
  }
  if (pos == n || s[pos] != '\n') return bad_line(why, 0, "no empty line before the policy", 0, 0, 0) ;
  pos++ ;
  r = ferry_sts_policy_parse(s + pos, n - pos, p, why) ;
  if (r <= 0)
  {
    if (r < 0 || !stralloc_insertb(why, 0, "the policy: ", 12)) return -1 ;
    return 0 ;
  }
  *fetched = t ;
  *body = s + pos ;
  *bodylen = n - pos ;
  return 1 ;
}
