/* An HTTP/1.x response, as ferry-mtasts-fetch reads one; an HTTP/1.x request's head, as
   ferry-metrics -H reads one. Pure code: no globals, no I/O. */
#ifndef FERRY_HTTP_H
#define FERRY_HTTP_H

#include <stddef.h>

#include <skalibs/stralloc.h>

typedef struct ferry_http_resp_s ferry_http_resp ;
struct ferry_http_resp_s
{
  unsigned int status ;
  stralloc body ;
  char ctype[64] ;        /* media type lower case, no params; empty: none given (a longer one is cut) */
  int framed ;            /* the body's end was said (Content-Length, chunked), not only the close */
} ;
#define FERRY_HTTP_RESP_ZERO { .status = 0, .body = STRALLOC_ZERO, .ctype = "", .framed = 0 }

 /* A whole HTTP/1.x response read until the peer closed (or the reader's byte bound): status line,
    headers (folded lines refused), body by Content-Length, chunked, or to the end. 1 ok, 0 bad or
    incomplete (why: one line, terminated), -1 nomem. The body is at most maxbody bytes, else 0
    ("larger than N bytes"). Interim 1xx responses are skipped; status is set as soon as the final
    status line is read, so that a caller may tell a 404 from a broken transfer even on 0. */
extern int ferry_http_response (char const *s, size_t n, size_t maxbody, ferry_http_resp *r, stralloc *why) ;

enum ferry_http_method { FERRY_HTTP_GET, FERRY_HTTP_HEAD, FERRY_HTTP_OTHER } ;

typedef struct ferry_http_req_s ferry_http_req ;
struct ferry_http_req_s
{
  enum ferry_http_method method ;
  unsigned int minor ;    /* HTTP/1.minor */
  char path[256] ;        /* the target's path without its query ("/" for "http://host"); a longer one is cut */
  size_t headlen ;        /* the bytes of the request line and header fields, the empty line that ends them included */
} ;

 /* The head of an HTTP/1.x request in s[0..n): its request line (empty lines before it skipped)
    and header fields, up to the empty line. 1 complete (r set); 0 not complete yet, nothing wrong
    so far; -1 malformed (*why: a static text). A line ends with LF or CR LF; a folded line, a bare
    CR or a control character is malformed, as is an HTTP/1.1 request without one Host field. */
extern int ferry_http_request (char const *s, size_t n, ferry_http_req *r, char const **why) ;

#endif
