/* Fuzz target: a day file of tlsrpt/ as ferry-tlsrpt reads it (report_line_parse, the sort,
   report_json for each domain), the same bytes as an MTA-STS cache file (ferry_sts_cache_parse)
   whose policy then goes into the sts policies of the same id, and each line's detail as a
   mailto: URI (report_mailto). Properties: every report is one line of valid JSON (strings with
   no raw control character, valid escapes and valid UTF-8; objects, arrays, numbers as RFC 8259
   has them), its totals count every line of its domain; the cache's body lies inside the input;
   each mailto: address has an @ and no control character or space. */

#include <skalibs/stralloc.h>

#include <ferry/mta_sts.h>
#include "report/report.h"

#include "fuzz.h"

/* ---------- a JSON checker: 1 and *p past the value, or 0 ---------- */

static size_t ws (char const *s, size_t n, size_t i)
{
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++ ;
  return i ;
}

static int hex (char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ;
}

static int jstring (char const *s, size_t n, size_t *p)
{
  size_t i = *p ;
  if (i >= n || s[i] != '"') return 0 ;
  for (i++ ; i < n ; )
  {
    unsigned char c = s[i] ;
    if (c == '"') { *p = i + 1 ; return 1 ; }
    if (c < 0x20) return 0 ;
    if (c == '\\')
    {
      if (i + 1 >= n) return 0 ;
      if (s[i+1] == 'u')
      {
        if (i + 5 >= n || !hex(s[i+2]) || !hex(s[i+3]) || !hex(s[i+4]) || !hex(s[i+5])) return 0 ;
        i += 6 ;
      }
      else if (strchr("\"\\/bfnrt", s[i+1]) && s[i+1]) i += 2 ;
      else return 0 ;
    }
    else if (c >= 0x80)
    {
      /* the same rules as the writer: a well-formed sequence, no overlong, surrogate or beyond */
      unsigned char const *u = (unsigned char const *)s + i ;
      size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2, k ;
      if (c < 0xc2 || c > 0xf4 || i + len > n) return 0 ;
      for (k = 1 ; k < len ; k++) if ((u[k] & 0xc0) != 0x80) return 0 ;
      if ((c == 0xe0 && u[1] < 0xa0) || (c == 0xed && u[1] > 0x9f) || (c == 0xf0 && u[1] < 0x90) || (c == 0xf4 && u[1] > 0x8f)) return 0 ;
      i += len ;
    }
    else i++ ;
  }
  return 0 ;
}

static int jvalue (char const *s, size_t n, size_t *p, unsigned int depth) ;

static int jlist (char const *s, size_t n, size_t *p, unsigned int depth, char close, int object)
{
  size_t i = ws(s, n, *p + 1) ;
  if (i < n && s[i] == close) { *p = i + 1 ; return 1 ; }
  for (;;)
  {
    if (object)
    {
      if (!jstring(s, n, &i)) return 0 ;
      i = ws(s, n, i) ;
      if (i >= n || s[i] != ':') return 0 ;
      i = ws(s, n, i + 1) ;
    }
    if (!jvalue(s, n, &i, depth + 1)) return 0 ;
    i = ws(s, n, i) ;
    if (i < n && s[i] == ',') { i = ws(s, n, i + 1) ; continue ; }
    if (i < n && s[i] == close) { *p = i + 1 ; return 1 ; }
    return 0 ;
  }
}

static int jvalue (char const *s, size_t n, size_t *p, unsigned int depth)
{
  size_t i = *p ;
  if (depth > 16 || i >= n) return 0 ;
  if (s[i] == '{') return jlist(s, n, p, depth, '}', 1) ;
  if (s[i] == '[') return jlist(s, n, p, depth, ']', 0) ;
  if (s[i] == '"') return jstring(s, n, p) ;
  if (s[i] >= '0' && s[i] <= '9')
  {
    /* the writer's numbers: counts, no sign, no leading zero but 0 itself */
    if (s[i] == '0' && i + 1 < n && s[i+1] >= '0' && s[i+1] <= '9') return 0 ;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++ ;
    *p = i ;
    return 1 ;
  }
  return 0 ;
}

static void check_json (char const *s, size_t n)
{
  size_t i = 0 ;
  FUZZ_ASSERT(n && s[0] == '{' && !memchr(s, '\n', n)) ;
  FUZZ_ASSERT(jvalue(s, n, &i, 0)) ;
  FUZZ_ASSERT(i == n) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = malloc(size + 1) ;
  char const *in = (char const *)data ;
  report_line *v = calloc(size + 1, sizeof(report_line)) ;
  stralloc sa = STRALLOC_ZERO, rc = STRALLOC_ZERO ;
  report_meta m = { .org = "Org \"x\"", .contact = "tls@example.org", .id = "id", .day = "2024-05-01" } ;
  ferry_sts_policy pol = FERRY_STS_POLICY_ZERO ;
  char id[FERRY_STS_ID_MAX + 1] ;
  size_t pos = 0, n = 0, i, j ;
  unsigned int lineno = 0 ;
  FUZZ_ASSERT(s && v) ;
  if (size) memcpy(s, data, size) ;

  /* the input as a policy cache file (libferry's reader, as ferry-tlsrpt reads mtasts/DOMAIN) */
  {
    stralloc why = STRALLOC_ZERO ;
    uint64_t fetched ;
    int r = ferry_sts_cache_parse(in, size, id, &fetched, &m.stsbody, &m.stsbodylen, &pol, &why) ;
    FUZZ_ASSERT(r >= 0) ;
    if (r)
    {
      FUZZ_ASSERT(m.stsbody >= in && m.stsbody + m.stsbodylen <= in + size) ;
      m.stsid = id ;
      m.stsmx = pol.mx.s ;
      m.stsnmx = pol.nmx ;
    }
    stralloc_free(&why) ;
  }

  /* the input as a day file: every line that parses */
  while (pos < size)
  {
    char *nl = memchr(s + pos, '\n', size - pos) ;
    size_t end = nl ? (size_t)(nl - s) : size ;
    char const *why = 0 ;
    lineno++ ;
    if (report_line_parse(s + pos, end - pos, v + n, &why))
    {
      unsigned int f ;
      for (f = 0 ; f < RF_N ; f++) FUZZ_ASSERT(v[n].f[f] >= s && v[n].f[f] <= s + size) ;
      v[n].lineno = lineno ;
      n++ ;
    }
    else FUZZ_ASSERT(why && why[0]) ;
    pos = end + 1 ;
  }
  qsort(v, n, sizeof(report_line), &report_line_cmp) ;
  for (i = 1 ; i < n ; i++) FUZZ_ASSERT(report_line_cmp(v + i - 1, v + i) < 0) ;

  for (i = 0 ; i < n ; i = j)
  {
    report_totals t ;
    for (j = i + 1 ; j < n && !strcmp(v[i].f[RF_DOMAIN], v[j].f[RF_DOMAIN]) ; j++) ;
    sa.len = 0 ;
    FUZZ_ASSERT(report_json(&sa, &m, v + i, j - i, &t)) ;
    check_json(sa.s, sa.len) ;
    FUZZ_ASSERT(t.ok + t.failed == j - i && t.policies >= 1 && t.policies <= j - i) ;
  }

  /* each detail as a mailto: URI */
  for (i = 0 ; i < n ; i++)
  {
    int k ;
    size_t p = 0 ;
    rc.len = 0 ;
    k = report_mailto(v[i].f[RF_DETAIL], &rc) ;
    FUZZ_ASSERT(k >= 0) ;
    while (p < rc.len)
    {
      size_t len = strlen(rc.s + p), q ;
      FUZZ_ASSERT(len && memchr(rc.s + p, '@', len)) ;
      for (q = 0 ; q < len ; q++) FUZZ_ASSERT((unsigned char)rc.s[p + q] > 32 && rc.s[p + q] != 127) ;
      p += len + 1 ;
      k-- ;
    }
    FUZZ_ASSERT(k == 0) ;
  }
  ferry_sts_policy_free(&pol) ;
  stralloc_free(&sa) ;
  stralloc_free(&rc) ;
  free(v) ;
  free(s) ;
  return 0 ;
}
