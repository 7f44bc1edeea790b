/* Unit tests of the HTTP/1.x request reader of ferry-metrics -H (src/libferry/http_request.c):
   methods, paths (origin and absolute form, queries), versions, Host, incomplete heads and each
   refusal. */

#include <string.h>

#include <ferry/http.h>
#include "unit.h"

static ferry_http_req req ;
static char const *why ;

static int parse (char const *text)
{
  why = 0 ;
  memset(&req, 0, sizeof(req)) ;
  return ferry_http_request(text, strlen(text), &req, &why) ;
}

#define GOOD(text, method_, path_, minor_) do \
{ \
  int r_ = parse(text) ; \
  CHECK(r_ == 1 && req.method == (method_) && !strcmp(req.path, path_) && req.minor == (minor_), \
        "\"%s\": got %d %d \"%s\" 1.%u (%s)", text, r_, (int)req.method, req.path, req.minor, why ? why : "") ; \
} while (0)

#define BAD(text, want) do \
{ \
  int r_ = parse(text) ; \
  CHECK(r_ == -1 && why && !strcmp(why, want), "\"%s\": got %d \"%s\", want \"%s\"", text, r_, why ? why : "", want) ; \
} while (0)

#define MORE(text) do \
{ \
  int r_ = parse(text) ; \
  CHECK(r_ == 0, "\"%s\": got %d (%s), want 0 (incomplete)", text, r_, why ? why : "") ; \
} while (0)

static void test_good (void)
{
  GOOD("GET /metrics HTTP/1.1\r\nHost: localhost:9425\r\nUser-Agent: Prometheus/2.45\r\nAccept: text/plain;version=0.0.4\r\n\r\n", FERRY_HTTP_GET, "/metrics", 1) ;
  GOOD("GET /metrics HTTP/1.0\r\n\r\n", FERRY_HTTP_GET, "/metrics", 0) ;
  GOOD("HEAD / HTTP/1.0\n\n", FERRY_HTTP_HEAD, "/", 0) ;
  GOOD("\r\n\r\nGET /metrics?x=1&y HTTP/1.1\r\nhost: a\r\n\r\n", FERRY_HTTP_GET, "/metrics", 1) ;
  GOOD("GET http://example.org:9425/metrics?q HTTP/1.1\r\nHost: example.org\r\n\r\n", FERRY_HTTP_GET, "/metrics", 1) ;
  GOOD("GET HTTP://example.org HTTP/1.0\r\n\r\n", FERRY_HTTP_GET, "/", 0) ;
  GOOD("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", FERRY_HTTP_OTHER, "/metrics", 1) ;
  GOOD("get /metrics HTTP/1.0\r\n\r\n", FERRY_HTTP_OTHER, "/metrics", 0) ;
  GOOD("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", FERRY_HTTP_OTHER, "*", 1) ;
  GOOD("GET /other HTTP/1.1\r\nHost:\t a \t\r\nX-Empty:\r\n\r\n", FERRY_HTTP_GET, "/other", 1) ;
  {
    /* the head's length: what follows is not the header's */
    static char const s[] = "GET / HTTP/1.0\r\nA: b\r\n\r\nGET /x HTTP/1.0\r\n\r\n" ;
    CHECK(parse(s) == 1 && req.headlen == 24, "the head's length: %zu", req.headlen) ;
  }
  {
    /* a long path is cut: it never equals a short one */
    char s[700] ;
    memcpy(s, "GET /metrics", 12) ;
    memset(s + 12, 'x', 500) ;
    memcpy(s + 512, " HTTP/1.0\r\n\r\n", 14) ;
    CHECK(parse(s) == 1 && strlen(req.path) == 255 && !strncmp(req.path, "/metricsxxx", 11), "a long path: %zu", strlen(req.path)) ;
  }
}

static void test_more (void)
{
  MORE("") ;
  MORE("\r\n") ;
  MORE("GET") ;
  MORE("GET /metr") ;
  MORE("GET /metrics HTTP/1.1\r") ;
  MORE("GET /metrics HTTP/1.1\r\n") ;
  MORE("GET /metrics HTTP/1.1\r\nHost: a\r\n") ;
  MORE("GET /metrics HTTP/1.1\r\nHost: a\r\n\r") ;
}

static void test_bad (void)
{
  BAD("hello\r\n\r\n", "a request line that is not \"METHOD TARGET HTTP/1.x\"") ;
  BAD("GE(T / HTTP/1.0\r\n", "a request line that is not \"METHOD TARGET HTTP/1.x\"") ;
  BAD("GE(", "a request line that is not \"METHOD TARGET HTTP/1.x\"") ;
  BAD("\x16\x03\x01\x02", "a request line that is not \"METHOD TARGET HTTP/1.x\"") ;
  BAD("GET  / HTTP/1.0\r\n\r\n", "a request line that is not \"METHOD TARGET HTTP/1.x\"") ;
  BAD("GET /\r\n\r\n", "a request line that is not \"METHOD TARGET HTTP/1.x\"") ;
  BAD("GET / HTTP/1.0 \r\n\r\n", "a request line whose version is not HTTP/1.x") ;
  BAD("GET / HTTP/2.0\r\n\r\n", "a request line whose version is not HTTP/1.x") ;
  BAD("GET / HTTP/1.x\r\n\r\n", "a request line whose version is not HTTP/1.x") ;
  BAD("GET / http/1.1\r\n\r\n", "a request line whose version is not HTTP/1.x") ;
  BAD("GET metrics HTTP/1.0\r\n\r\n", "a request target that is neither a path nor an absolute URI") ;
  BAD("GET http:/x HTTP/1.0\r\n\r\n", "a request target that is neither a path nor an absolute URI") ;
  BAD("GET /a\rb HTTP/1.0\r\n\r\n", "a bare CR in the request") ;
  BAD("GET / HTTP/1.0\r\nA: b\rc\r\n\r\n", "a bare CR in the request") ;
  BAD("GET / HTTP/1.0\r\nA: b\r\n c\r\n\r\n", "a folded header line") ;
  BAD("GET / HTTP/1.0\r\nno colon\r\n\r\n", "a header line that is not \"name: value\"") ;
  BAD("GET / HTTP/1.0\r\n: empty name\r\n\r\n", "a header line that is not \"name: value\"") ;
  BAD("GET / HTTP/1.0\r\nA: b\x01\r\n\r\n", "a control character in a header value") ;
  BAD("GET / HTTP/1.1\r\n\r\n", "an HTTP/1.1 request without a Host field") ;
  BAD("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host field") ;
  {
    /* bytes past the length given are not read */
    static char const s[] = "GET / HTTP/1.0\r\n\r\n" ;
    why = 0 ;
    CHECK(ferry_http_request(s, sizeof(s) - 3, &req, &why) == 0, "a head cut by the length given") ;
  }
}

int main (void)
{
  test_good() ;
  test_more() ;
  test_bad() ;
  return UNIT_END() ;
}
