/* Unit tests of the HTTP/1.x response reader (src/libferry/http_response.c): the status, the
   media type, bodies by Content-Length, chunked and to the end, the bound, and each refusal. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/http.h>
#include "unit.h"

static stralloc why = STRALLOC_ZERO ;
static ferry_http_resp resp = FERRY_HTTP_RESP_ZERO ;

static int parse (char const *text, size_t max)
{
  why.len = 0 ;
  return ferry_http_response(text, strlen(text), max, &resp, &why) ;
}

#define GOOD(text, status_, ctype_, body_) do \
{ \
  int r_ = parse(text, 100) ; \
  CHECK(r_ == 1 && resp.status == (status_) && !strcmp(resp.ctype, ctype_) && resp.body.len == strlen(body_) && !memcmp(resp.body.s, body_, resp.body.len), \
        "\"%s\": got %d %u \"%s\" \"%.*s\" (%s)", text, r_, resp.status, resp.ctype, (int)resp.body.len, resp.body.s, why.len ? why.s : "") ; \
} while (0)

#define BAD(text, max, want) do \
{ \
  int r_ = parse(text, max) ; \
  CHECK(r_ == 0 && why.len && !why.s[why.len - 1] && !strcmp(why.s, want), "\"%s\": got %d \"%s\", want \"%s\"", text, r_, why.len ? why.s : "", want) ; \
} while (0)

static void test_good (void)
{
  GOOD("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", 200, "text/plain", "hello") ;
  GOOD("HTTP/1.1 200 OK\r\nContent-Type: Text/Plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello and more", 200, "text/plain", "hello") ;
  GOOD("HTTP/1.0 200 OK\nContent-Type:text/plain  \n\nto the end\n", 200, "text/plain", "to the end\n") ;
  GOOD("HTTP/1.1 200\r\n\r\n", 200, "", "") ;
  GOOD("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", 404, "", "not found") ;
  GOOD("HTTP/1.1 301 Moved\r\nLocation: https://elsewhere/\r\nContent-Length: 0\r\n\r\n", 301, "", "") ;
  GOOD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n", 200, "text/plain", "hello, world") ;
  GOOD("HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\nA\nabcdefghij\n0\n\n", 200, "", "abcdefghij") ;
  GOOD("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "", "ok") ;
  GOOD("HTTP/1.1 204 No Content\r\n\r\nignored", 204, "", "") ;
  GOOD("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 200, "", "abc") ;
  GOOD("HTTP/1.1 200 OK\r\nX-Empty:\r\nContent-Type: ;x\r\n\r\n", 200, "", "") ;
  {
    /* a long media type is cut, so it never equals a short one */
    int r = parse("HTTP/1.1 200 OK\r\nContent-Type: text/plainxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n", 100) ;
    CHECK(r == 1 && strlen(resp.ctype) == 63 && !strncmp(resp.ctype, "text/plainxxx", 13), "a long type: %s", resp.ctype) ;
  }
  {
    /* bytes past the length given are not read: no status line */
    static char const s[] = "HTTP/1.1 200 OK\r\n\r\nbody" ;
    why.len = 0 ;
    CHECK(ferry_http_response(s, 10, 100, &resp, &why) == 0 && !strcmp(why.s, "incomplete: no whole status line"), "a cut status line: %s", why.s) ;
    CHECK(ferry_http_response(s, sizeof(s) - 3, 100, &resp, &why) == 1 && resp.body.len == 2, "a body cut by the length given") ;
  }
}

static void test_bad (void)
{
  BAD("", 100, "an empty response") ;
  BAD("HTTP/1.1 200 OK", 100, "incomplete: no whole status line") ;
  BAD("HTTP/2 200 OK\r\n\r\n", 100, "not an HTTP/1 status line") ;
  BAD("HTTP/1.1 2000 OK\r\n\r\n", 100, "not an HTTP/1 status line") ;
  BAD("HTTP/1.1 099 OK\r\n\r\n", 100, "not an HTTP/1 status line") ;
  BAD("HTTP/1.1 600 OK\r\n\r\n", 100, "not an HTTP/1 status line") ;
  BAD("SSH-2.0-OpenSSH\r\n", 100, "not an HTTP/1 status line") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", 100, "incomplete: the header ends too soon") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n  ; charset=x\r\n\r\n", 100, "a folded header line") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Type : text/plain\r\n\r\n", 100, "a header line that is not \"name: value\"") ;
  BAD("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", 100, "a header line that is not \"name: value\"") ;
  BAD("HTTP/1.1 200 OK\r\n: x\r\n\r\n", 100, "a header line that is not \"name: value\"") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 100, "a bad Content-Length") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", 100, "a bad Content-Length") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 100, "a bad Content-Length") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 100, "two different Content-Length fields") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 100, "incomplete: the body is shorter than its Content-Length") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\nx", 100, "the body is larger than 100 bytes") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n12345678901", 10, "the body is larger than 10 bytes") ;
  BAD("HTTP/1.1 200 OK\r\n\r\n12345678901", 10, "the body is larger than 10 bytes") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 100, "a transfer coding other than chunked") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 100, "a transfer coding other than chunked") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 100, "two Transfer-Encoding fields") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 100, "both Content-Length and Transfer-Encoding") ;
  BAD("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n\r\n", 100, "two Content-Type fields") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 100, "incomplete: the body ends before a chunk's size") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100, "a chunk without a hexadecimal size") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n", 100, "a bad chunk size line") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", 100, "a chunk size too large") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 100, "incomplete: the body ends inside a chunk") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello", 100, "incomplete: the body ends after a chunk") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n", 100, "a chunk not followed by a line end") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n", 100, "incomplete: the body ends in its trailer") ;
  BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n", 10, "the body is larger than 10 bytes") ;
  /* the status is known even when the rest is refused */
  BAD("HTTP/1.1 404 Not Found\r\nContent-Length: 500\r\n\r\nshort", 100, "the body is larger than 100 bytes") ;
  CHECK(resp.status == 404, "the status of a refused response: %u", resp.status) ;
}

int main (void)
{
  test_good() ;
  test_bad() ;
  stralloc_free(&resp.body) ;
  stralloc_free(&why) ;
  return UNIT_END() ;
}
