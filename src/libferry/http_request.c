/* ferry_http_request: the head of an HTTP/1.x request (request line, header fields). Every read
   stays inside s[0..n). */

#include <string.h>
#include <strings.h>

#include <ferry/http.h>

static int tchar (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c)) ;
}

 /* a byte of a target: visible ASCII (no space, no control) */
static int vchar (char c)
{
  return (unsigned char)c > 32 && (unsigned char)c < 127 ;
}

 /* The line at *pos: 1 with l, ln (its CR LF or LF dropped) and *pos after it; 0 if it has no LF
    yet; -1 if it holds a CR anywhere but before its LF. */
static int line_next (char const *s, size_t n, size_t *pos, char const **l, size_t *ln)
{
  char const *nl = memchr(s + *pos, '\n', n - *pos) ;
  if (!nl) return 0 ;
  *l = s + *pos ;
  *ln = (size_t)(nl - *l) ;
  if (*ln && (*l)[*ln - 1] == '\r') (*ln)-- ;
  *pos = (size_t)(nl - s) + 1 ;
  return memchr(*l, '\r', *ln) ? -1 : 1 ;
}

 /* METHOD SP TARGET SP HTTP/1.D */
static int request_line (char const *l, size_t ln, ferry_http_req *r, char const **why)
{
  size_t m, t, te, plen ;
  char const *path ;
  for (m = 0 ; m < ln && tchar(l[m]) ; m++) ;
  if (!m || m == ln || l[m] != ' ') { *why = "a request line that is not \"METHOD TARGET HTTP/1.x\"" ; return -1 ; }
  r->method = m == 3 && !memcmp(l, "GET", 3) ? FERRY_HTTP_GET : m == 4 && !memcmp(l, "HEAD", 4) ? FERRY_HTTP_HEAD : FERRY_HTTP_OTHER ;
  t = m + 1 ;
  for (te = t ; te < ln && vchar(l[te]) ; te++) ;
  if (te == t || te == ln || l[te] != ' ') { *why = "a request line that is not \"METHOD TARGET HTTP/1.x\"" ; return -1 ; }
  if (ln - te - 1 != 8 || memcmp(l + te + 1, "HTTP/1.", 7) || l[te + 8] < '0' || l[te + 8] > '9')
  { *why = "a request line whose version is not HTTP/1.x" ; return -1 ; }
  r->minor = (unsigned int)(l[te + 8] - '0') ;
  /* the path: of an origin-form target, or of an absolute-form one (http://authority/path) */
  path = l + t ;
  plen = te - t ;
  if (path[0] != '/' && path[0] != '*')
  {
    char const *colon = memchr(path, ':', plen) ;
    char const *slash ;
    if (!colon || colon + 3 > path + plen || colon[1] != '/' || colon[2] != '/') { *why = "a request target that is neither a path nor an absolute URI" ; return -1 ; }
    slash = memchr(colon + 3, '/', (size_t)(path + plen - colon - 3)) ;
    if (slash) { plen -= (size_t)(slash - path) ; path = slash ; }
    else { path = "/" ; plen = 1 ; }
  }
  {
    char const *q = memchr(path, '?', plen) ;
    if (q) plen = (size_t)(q - path) ;
  }
  if (plen > sizeof(r->path) - 1) plen = sizeof(r->path) - 1 ;
  memcpy(r->path, path, plen) ;
  r->path[plen] = 0 ;
  return 1 ;
}

 /* NAME ":" OWS VALUE OWS, the value without control characters but HTAB */
static int field_line (char const *l, size_t ln, unsigned int *hosts, char const **why)
{
  size_t k, i ;
  if (l[0] == ' ' || l[0] == '\t') { *why = "a folded header line" ; return -1 ; }
  for (k = 0 ; k < ln && tchar(l[k]) ; k++) ;
  if (!k || k == ln || l[k] != ':') { *why = "a header line that is not \"name: value\"" ; return -1 ; }
  for (i = k + 1 ; i < ln ; i++)
    if (((unsigned char)l[i] < 32 && l[i] != '\t') || l[i] == 127) { *why = "a control character in a header value" ; return -1 ; }
  if (k == 4 && !strncasecmp(l, "host", 4)) (*hosts)++ ;
  return 1 ;
}

int ferry_http_request (char const *s, size_t n, ferry_http_req *r, char const **why)
{
  size_t pos = 0 ;
  char const *l ;
  size_t ln ;
  unsigned int hosts = 0 ;
  int got ;
  /* empty lines before the request line are skipped (RFC 9112 2.2) */
  for (;;)
  {
    got = line_next(s, n, &pos, &l, &ln) ;
    if (got <= 0) break ;
    if (ln) break ;
  }
  if (got < 0) { *why = "a bare CR in the request" ; return -1 ; }
  if (!got)
  {
    /* not a whole line yet: wrong already if what there is cannot start a request line */
    size_t i ;
    for (i = pos ; i < n && tchar(s[i]) ; i++) ;
    if (i < n && s[i] != ' ' && !(s[i] == '\r' && i + 1 == n)) { *why = "a request line that is not \"METHOD TARGET HTTP/1.x\"" ; return -1 ; }
    return 0 ;
  }
  if (request_line(l, ln, r, why) < 0) return -1 ;
  for (;;)
  {
    got = line_next(s, n, &pos, &l, &ln) ;
    if (got < 0) { *why = "a bare CR in the request" ; return -1 ; }
    if (!got) return 0 ;
    if (!ln) break ;
    if (field_line(l, ln, &hosts, why) < 0) return -1 ;
  }
  if (hosts > 1) { *why = "more than one Host field" ; return -1 ; }
  if (r->minor >= 1 && !hosts) { *why = "an HTTP/1.1 request without a Host field" ; return -1 ; }
  r->headlen = pos ;
  return 1 ;
}
