/* report_json: the RFC 8460 report of one domain and day, from its sorted lines. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include "report.h"

static int cats (stralloc *sa, char const *s)
{
  return stralloc_cats(sa, s) ;
}

 /* the length of the valid UTF-8 sequence at s (s[0] >= 0x80), or 0 */
static size_t utf8_len (unsigned char const *s, size_t n)
{
  unsigned char c = s[0], lo = 0x80, hi = 0xbf ;
  size_t len, i ;
  if (c >= 0xc2 && c <= 0xdf) len = 2 ;
  else if (c >= 0xe0 && c <= 0xef)
  {
    len = 3 ;
    if (c == 0xe0) lo = 0xa0 ;          /* no overlong forms */
    else if (c == 0xed) hi = 0x9f ;     /* no surrogates */
  }
  else if (c >= 0xf0 && c <= 0xf4)
  {
    len = 4 ;
    if (c == 0xf0) lo = 0x90 ;
    else if (c == 0xf4) hi = 0x8f ;     /* nothing above U+10FFFF */
  }
  else return 0 ;
  if (n < len || s[1] < lo || s[1] > hi) return 0 ;
  for (i = 2 ; i < len ; i++) if (s[i] < 0x80 || s[i] > 0xbf) return 0 ;
  return len ;
}

int report_json_string (stralloc *sa, char const *s, size_t n)
{
  static char const hex[] = "0123456789abcdef" ;
  unsigned char const *u = (unsigned char const *)s ;
  size_t i = 0 ;
  if (!stralloc_catb(sa, "\"", 1)) return 0 ;
  while (i < n)
  {
    unsigned char c = u[i] ;
    size_t k ;
    /* a run of bytes that go as they are */
    for (k = i ; k < n && u[k] >= 0x20 && u[k] < 0x7f && u[k] != '"' && u[k] != '\\' ; k++) ;
    if (k > i)
    {
      if (!stralloc_catb(sa, s + i, k - i)) return 0 ;
      i = k ;
      continue ;
    }
    if (c >= 0x80)
    {
      size_t len = utf8_len(u + i, n - i) ;
      if (len ? !stralloc_catb(sa, s + i, len) : !cats(sa, "\\ufffd")) return 0 ;
      i += len ? len : 1 ;
      continue ;
    }
    switch (c)
    {
      case '"' : if (!cats(sa, "\\\"")) return 0 ; break ;
      case '\\' : if (!cats(sa, "\\\\")) return 0 ; break ;
      case '\n' : if (!cats(sa, "\\n")) return 0 ; break ;
      case '\r' : if (!cats(sa, "\\r")) return 0 ; break ;
      case '\t' : if (!cats(sa, "\\t")) return 0 ; break ;
      case '\b' : if (!cats(sa, "\\b")) return 0 ; break ;
      case '\f' : if (!cats(sa, "\\f")) return 0 ; break ;
      default :
      {
        char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] } ;
        if (!stralloc_catb(sa, e, 6)) return 0 ;
      }
    }
    i++ ;
  }
  return stralloc_catb(sa, "\"", 1) ;
}

static int str (stralloc *sa, char const *s)
{
  return report_json_string(sa, s, strlen(s)) ;
}

 /* "key":"value" with a comma before it; nothing when value is empty */
static int field (stralloc *sa, char const *key, char const *value)
{
  if (!value[0]) return 1 ;
  return cats(sa, ",\"") && cats(sa, key) && cats(sa, "\":") && str(sa, value) ;
}

static int number (stralloc *sa, char const *key, uint64_t u, int comma)
{
  char fmt[UINT64_FMT] ;
  return (!comma || stralloc_catb(sa, ",", 1)) && cats(sa, "\"") && cats(sa, key) && cats(sa, "\":")
    && stralloc_catb(sa, fmt, uint64_fmt(fmt, u)) ;
}

static size_t trim_end (char const *s, size_t n)
{
  while (n && (s[n-1] == ' ' || s[n-1] == '\t' || s[n-1] == '\r')) n-- ;
  return n ;
}

 /* The cached MTA-STS policy: each non-empty line of its text as policy-string. */
static int sts_lines (stralloc *sa, char const *s, size_t n)
{
  size_t pos = 0 ;
  int first = 1 ;
  if (!cats(sa, ",\"policy-string\":[")) return 0 ;
  while (pos < n)
  {
    char const *nl = memchr(s + pos, '\n', n - pos) ;
    size_t end = nl ? (size_t)(nl - s) : n, len = trim_end(s + pos, end - pos) ;
    if (len)
    {
      if ((!first && !stralloc_catb(sa, ",", 1)) || !report_json_string(sa, s + pos, len)) return 0 ;
      first = 0 ;
    }
    pos = end + 1 ;
  }
  return stralloc_catb(sa, "]", 1) ;
}

 /* Its mx patterns as mx-host. */
static int sts_mx (stralloc *sa, char const *mx, unsigned int nmx)
{
  unsigned int i ;
  if (!cats(sa, ",\"mx-host\":[")) return 0 ;
  for (i = 0 ; i < nmx ; i++, mx += strlen(mx) + 1)
    if ((i && !stralloc_catb(sa, ",", 1)) || !str(sa, mx)) return 0 ;
  return stralloc_catb(sa, "]", 1) ;
}

 /* The TLSA records of a tlsa line, each an element of policy-string (none: no policy-string). */
static int tlsa_policy (stralloc *sa, report_line const *l)
{
  char const *s = l->f[RF_POLICY] ;
  int first = 1 ;
  if (!*s) return 1 ;
  if (!cats(sa, ",\"policy-string\":[")) return 0 ;
  while (*s)
  {
    size_t n = strcspn(s, ","), a = 0, b = n ;
    while (a < b && s[a] == ' ') a++ ;
    while (b > a && s[b-1] == ' ') b-- ;
    if (b > a)
    {
      if ((!first && !stralloc_catb(sa, ",", 1)) || !report_json_string(sa, s + a, b - a)) return 0 ;
      first = 0 ;
    }
    s += n ;
    if (*s) s++ ;
  }
  return stralloc_catb(sa, "]", 1) ;
}

static int same_detail (report_line const *a, report_line const *b)
{
  return !strcmp(a->f[RF_RESULT], b->f[RF_RESULT]) && !strcmp(a->f[RF_SIP], b->f[RF_SIP])
    && !strcmp(a->f[RF_MXHOST], b->f[RF_MXHOST]) && !strcmp(a->f[RF_RIP], b->f[RF_RIP])
    && !strcmp(a->f[RF_DETAIL], b->f[RF_DETAIL]) ;
}

 /* one element of policies: the lines v[0..n) of one policy */
static int policy (stralloc *sa, report_meta const *m, report_line const *v, size_t n, report_totals *t)
{
  uint64_t ok = 0, failed = 0 ;
  size_t i, j ;
  char const *type = v[0].f[RF_TYPE] ;
  int tlsa = !strcmp(type, "tlsa") ;
  int sts = !strcmp(type, "sts") && m->stsid && !strcmp(m->stsid, v[0].f[RF_POLICY]) ;
  int any = 0 ;
  if (!cats(sa, "{\"policy\":{\"policy-type\":") || !str(sa, type)) return 0 ;
  if (tlsa && !tlsa_policy(sa, v)) return 0 ;
  if (sts && !sts_lines(sa, m->stsbody, m->stsbodylen)) return 0 ;
  if (!cats(sa, ",\"policy-domain\":") || !str(sa, v[0].f[RF_DOMAIN])) return 0 ;
  /* the MX host the TLSA records are for; the patterns of the MTA-STS policy */
  if (tlsa && v[0].f[RF_MXHOST][0] && (!cats(sa, ",\"mx-host\":[") || !str(sa, v[0].f[RF_MXHOST]) || !cats(sa, "]"))) return 0 ;
  if (sts && !sts_mx(sa, m->stsmx, m->stsnmx)) return 0 ;
  if (!cats(sa, "}")) return 0 ;
  for (i = 0 ; i < n ; i++)
    if (!strcmp(v[i].f[RF_RESULT], "success")) ok++ ; else failed++ ;
  if (!cats(sa, ",\"summary\":{") || !number(sa, "total-successful-session-count", ok, 0)
   || !number(sa, "total-failure-session-count", failed, 1) || !cats(sa, "}")) return 0 ;
  for (i = 0 ; i < n ; i = j)
  {
    for (j = i + 1 ; j < n && same_detail(v + i, v + j) ; j++) ;
    if (!strcmp(v[i].f[RF_RESULT], "success")) continue ;
    if (!cats(sa, any ? ",{" : ",\"failure-details\":[{")) return 0 ;
    any = 1 ;
    if (!cats(sa, "\"result-type\":") || !str(sa, v[i].f[RF_RESULT])
     || !field(sa, "sending-mta-ip", v[i].f[RF_SIP])
     || !field(sa, "receiving-mx-hostname", v[i].f[RF_MXHOST])
     || !field(sa, "receiving-ip", v[i].f[RF_RIP])
     || !number(sa, "failed-session-count", j - i, 1)
     || !field(sa, "failure-reason-code", v[i].f[RF_DETAIL]) || !cats(sa, "}")) return 0 ;
  }
  if (any && !cats(sa, "]")) return 0 ;
  t->ok += ok ;
  t->failed += failed ;
  t->policies++ ;
  return cats(sa, "}") ;
}

int report_json (stralloc *sa, report_meta const *m, report_line const *v, size_t n, report_totals *t)
{
  size_t i, j ;
  t->ok = t->failed = 0 ;
  t->policies = 0 ;
  if (!cats(sa, "{\"organization-name\":") || !str(sa, m->org)
   || !cats(sa, ",\"date-range\":{\"start-datetime\":\"") || !cats(sa, m->day) || !cats(sa, "T00:00:00Z\"")
   || !cats(sa, ",\"end-datetime\":\"") || !cats(sa, m->day) || !cats(sa, "T23:59:59Z\"}")
   || !cats(sa, ",\"contact-info\":") || !str(sa, m->contact)
   || !cats(sa, ",\"report-id\":") || !str(sa, m->id)
   || !cats(sa, ",\"policies\":[")) return 0 ;
  for (i = 0 ; i < n ; i = j)
  {
    for (j = i + 1 ; j < n && report_line_samepolicy(v + i, v + j) ; j++) ;
    if ((i && !stralloc_catb(sa, ",", 1)) || !policy(sa, m, v + i, j - i, t)) return 0 ;
  }
  return cats(sa, "]}") ;
}
