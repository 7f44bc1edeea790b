/* ferry_http_response: a whole HTTP/1.x response (status line, headers, body by Content-Length,
   chunked or to the end). Every read stays inside s[0..n). */

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/http.h>

 /* The line at *pos (up to LF, a CR before it dropped): 1 with l, ln and *pos after it; 0 if
    no LF is left. */
static int line_next (char const *s, size_t n, size_t *pos, char const **l, size_t *ln)
{
  char const *nl = memchr(s + *pos, '\n', n - *pos) ;
  if (!nl) return 0 ;
  *l = s + *pos ;
  *ln = (size_t)(nl - *l) ;
  if (*ln && (*l)[*ln - 1] == '\r') (*ln)-- ;
  *pos = (size_t)(nl - s) + 1 ;
  return 1 ;
}

static int why_set (stralloc *why, char const *what)
{
  why->len = 0 ;
  return stralloc_cats(why, what) && stralloc_0(why) ? 0 : -1 ;
}

static int tchar (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c)) ;
}

static int ows (char c)
{
  return c == ' ' || c == '\t' ;
}

 /* "HTTP/1.x NNN[ reason]": the status, or 0. */
static unsigned int status_scan (char const *l, size_t ln)
{
  unsigned int st ;
  if (ln < 12 || memcmp(l, "HTTP/1.", 7) || l[7] < '0' || l[7] > '9' || l[8] != ' ') return 0 ;
  if (l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9') return 0 ;
  if (ln > 12 && l[12] != ' ') return 0 ;
  st = (unsigned int)(l[9] - '0') * 100 + (unsigned int)(l[10] - '0') * 10 + (unsigned int)(l[11] - '0') ;
  return st ;
}

static int name_is (char const *l, size_t k, char const *name)
{
  return strlen(name) == k && !strncasecmp(l, name, k) ;
}

 /* A decimal Content-Length: 1 with *u, 0 if not one (or beyond 2^63). */
static int decimal_scan (char const *s, size_t n, uint64_t *u)
{
  size_t i ;
  uint64_t x = 0 ;
  if (!n || n > 18) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    if (s[i] < '0' || s[i] > '9') return 0 ;
    x = x * 10 + (uint64_t)(s[i] - '0') ;
  }
  *u = x ;
  return 1 ;
}

static int hexval (char c)
{
  if (c >= '0' && c <= '9') return c - '0' ;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10 ;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10 ;
  return -1 ;
}

static int too_large (stralloc *why, size_t maxbody)
{
  char fmt[SIZE_FMT] ;
  fmt[size_fmt(fmt, maxbody)] = 0 ;
  why->len = 0 ;
  return stralloc_cats(why, "the body is larger than ") && stralloc_cats(why, fmt) && stralloc_cats(why, " bytes") && stralloc_0(why) ? 0 : -1 ;
}

 /* The chunked body from *pos into r->body. */
static int chunked (char const *s, size_t n, size_t pos, size_t maxbody, ferry_http_resp *r, stralloc *why)
{
  for (;;)
  {
    char const *l ;
    size_t ln, i = 0 ;
    uint64_t size = 0 ;
    if (!line_next(s, n, &pos, &l, &ln)) return why_set(why, "incomplete: the body ends before a chunk's size") ;
    for (; i < ln && hexval(l[i]) >= 0 ; i++)
    {
      if (i >= 15) return why_set(why, "a chunk size too large") ;
      size = size * 16 + (uint64_t)hexval(l[i]) ;
    }
    if (!i) return why_set(why, "a chunk without a hexadecimal size") ;
    while (i < ln && ows(l[i])) i++ ;
    if (i < ln && l[i] != ';') return why_set(why, "a bad chunk size line") ;
    if (!size)
    {
      /* the trailer fields, up to an empty line */
      for (;;)
      {
        if (!line_next(s, n, &pos, &l, &ln)) return why_set(why, "incomplete: the body ends in its trailer") ;
        if (!ln) return 1 ;
      }
    }
    if (size > maxbody || r->body.len + size > maxbody) return too_large(why, maxbody) ;
    if (n - pos < size) return why_set(why, "incomplete: the body ends inside a chunk") ;
    if (!stralloc_catb(&r->body, s + pos, size)) return -1 ;
    pos += size ;
    if (n - pos >= 2 && s[pos] == '\r' && s[pos + 1] == '\n') pos += 2 ;
    else if (n - pos >= 1 && s[pos] == '\n') pos++ ;
    else if (n == pos) return why_set(why, "incomplete: the body ends after a chunk") ;
    else return why_set(why, "a chunk not followed by a line end") ;
  }
}

int ferry_http_response (char const *s, size_t n, size_t maxbody, ferry_http_resp *r, stralloc *why)
{
  size_t pos = 0 ;
  int haslen, haste, hastype ;
  uint64_t clen = 0 ;
  r->status = 0 ;
  r->body.len = 0 ;
  r->ctype[0] = 0 ;
  for (;;)
  {
    char const *l ;
    size_t ln ;
    unsigned int st ;
    haslen = haste = hastype = 0 ;
    r->ctype[0] = 0 ;
    if (!line_next(s, n, &pos, &l, &ln))
      return why_set(why, n ? "incomplete: no whole status line" : "an empty response") ;
    st = status_scan(l, ln) ;
    if (!st) return why_set(why, "not an HTTP/1 status line") ;
    r->status = st ;
    for (;;)
    {
      size_t k, v, end ;
      if (!line_next(s, n, &pos, &l, &ln)) return why_set(why, "incomplete: the header ends too soon") ;
      if (!ln) break ;
      if (ows(l[0])) return why_set(why, "a folded header line") ;
      for (k = 0 ; k < ln && tchar(l[k]) ; k++) ;
      if (!k || k == ln || l[k] != ':') return why_set(why, "a header line that is not \"name: value\"") ;
      for (v = k + 1 ; v < ln && ows(l[v]) ; v++) ;
      for (end = ln ; end > v && ows(l[end - 1]) ; end--) ;
      if (name_is(l, k, "content-length"))
      {
        uint64_t u ;
        if (!decimal_scan(l + v, end - v, &u)) return why_set(why, "a bad Content-Length") ;
        if (haslen && u != clen) return why_set(why, "two different Content-Length fields") ;
        haslen = 1 ;
        clen = u ;
      }
      else if (name_is(l, k, "transfer-encoding"))
      {
        if (haste) return why_set(why, "two Transfer-Encoding fields") ;
        if (end - v != 7 || strncasecmp(l + v, "chunked", 7)) return why_set(why, "a transfer coding other than chunked") ;
        haste = 1 ;
      }
      else if (name_is(l, k, "content-type"))
      {
        size_t e = v, j, m ;
        if (hastype) return why_set(why, "two Content-Type fields") ;
        hastype = 1 ;
        while (e < end && l[e] != ';') e++ ;
        while (e > v && ows(l[e - 1])) e-- ;
        m = e - v < sizeof(r->ctype) - 1 ? e - v : sizeof(r->ctype) - 1 ;
        for (j = 0 ; j < m ; j++)
        {
          char c = l[v + j] ;
          r->ctype[j] = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c ;
        }
        r->ctype[m] = 0 ;
      }
    }
    /* an interim response (100 Continue...): the final one follows */
    if (st >= 200) break ;
  }
  if (haslen && haste) return why_set(why, "both Content-Length and Transfer-Encoding") ;
  if (r->status == 204 || r->status == 304) return 1 ;
  r->framed = haste || haslen ;
  if (haste) return chunked(s, n, pos, maxbody, r, why) ;
  if (haslen)
  {
    if (clen > maxbody) return too_large(why, maxbody) ;
    if (n - pos < clen) return why_set(why, "incomplete: the body is shorter than its Content-Length") ;
    return stralloc_catb(&r->body, s + pos, clen) ? 1 : -1 ;
  }
  if (n - pos > maxbody) return too_large(why, maxbody) ;
  return stralloc_catb(&r->body, s + pos, n - pos) ? 1 : -1 ;
}
