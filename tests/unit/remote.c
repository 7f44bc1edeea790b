/* Unit tests of the remote channel's pieces: SMTP replies, the DATA transform, smtproutes. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "remote/remote.h"
#include <ferry/route.h>
#include "unit.h"

#define S(lit) lit, sizeof(lit) - 1

static int parse_all (smtp_reply *r, char const *s, size_t n, char const **why)
{
  size_t used ;
  smtp_reply_reset(r) ;
  return smtp_reply_parse(r, s, n, &used, why) ;
}

 /* the transform of s fed in pieces of k bytes must equal the transform in one piece */
static void data_check (char const *s, size_t n, char const *want, size_t wn, char const *what)
{
  size_t k ;
  for (k = 1 ; k <= n + 1 ; k++)
  {
    smtp_data st = SMTP_DATA_ZERO ;
    stralloc out = STRALLOC_ZERO ;
    size_t i ;
    for (i = 0 ; i < n ; i += k) smtp_data_transform(&st, s + i, n - i < k ? n - i : k, &out) ;
    smtp_data_finish(&st, &out) ;
    CHECK(out.len == wn && !memcmp(out.s, want, wn), "%s (pieces of %zu): got %.*s", what, k, (int)out.len, out.s) ;
    stralloc_free(&out) ;
  }
}

int main (void)
{
  smtp_reply r = SMTP_REPLY_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  char const *why = 0, *p ;
  size_t used, pl ;
  uint16_t port ;

  CHECK(parse_all(&r, S("250 ok\r\n"), &why) == 1 && r.code == 250 && r.lines == 1, "one line") ;
  CHECK(parse_all(&r, S("250-a\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"), &why) == 1 && r.lines == 3, "three lines") ;
  CHECK(smtp_ehlo_has(&r, "pipelining", 0, 0), "PIPELINING found") ;
  CHECK(smtp_ehlo_has(&r, "SIZE", &p, &pl) && pl == 4 && !memcmp(p, "1000", 4), "SIZE 1000") ;
  CHECK(!smtp_ehlo_has(&r, "SMTPUTF8", 0, 0) && !smtp_ehlo_has(&r, "a", 0, 0), "the first line is not an extension") ;
  sa.len = 0 ;
  smtp_reply_oneline(&r, &sa, 100) ;
  CHECK(sa.len == strlen("250-a / 250-PIPELINING / 250 SIZE 1000") && !memcmp(sa.s, "250-a / 250-PIPELINING / 250 SIZE 1000", sa.len), "one line text: %.*s", (int)sa.len, sa.s) ;
  sa.len = 0 ;
  smtp_reply_oneline(&r, &sa, 10) ;
  CHECK(sa.len == 10, "one line text, cut at 10: %zu", sa.len) ;
  CHECK(parse_all(&r, S("220"), &why) == 0, "no line end yet") ;
  CHECK(parse_all(&r, S("250\n"), &why) == 1 && r.code == 250, "bare code, bare LF") ;
  smtp_reply_reset(&r) ;
  CHECK(smtp_reply_parse(&r, S("250-a\r\n25"), &used, &why) == 0 && used == 7 && r.lines == 1, "partial: one line kept, %zu used", used) ;
  CHECK(smtp_reply_parse(&r, S("250 b\r\n"), &used, &why) == 1 && r.lines == 2, "then completed") ;
  CHECK(parse_all(&r, S("250-a\r\n251 b\r\n"), &why) == -1 && strstr(why, "different codes"), "code change") ;
  CHECK(parse_all(&r, S("hello\r\n"), &why) == -1 && strstr(why, "not SMTP"), "garbage") ;
  CHECK(parse_all(&r, S("650 x\r\n"), &why) == -1, "6xx") ;
  CHECK(parse_all(&r, S("250x\r\n"), &why) == -1, "no separator") ;
  {
    char big[SMTP_LINE_MAX + 10] ;
    memset(big, 'x', sizeof(big)) ;
    memcpy(big, "250 ", 4) ;
    CHECK(parse_all(&r, big, sizeof(big), &why) == -1 && strstr(why, "too long"), "a line without end, too long") ;
    big[sizeof(big) - 1] = '\n' ;
    CHECK(parse_all(&r, big, sizeof(big), &why) == -1 && strstr(why, "too long"), "a complete line, too long") ;
  }
  {
    stralloc many = STRALLOC_ZERO ;
    unsigned int i ;
    for (i = 0 ; i <= SMTP_LINES_MAX ; i++) stralloc_cats(&many, "250-x\r\n") ;
    CHECK(parse_all(&r, many.s, many.len, &why) == -1 && strstr(why, "too many"), "too many lines") ;
    stralloc_free(&many) ;
  }

  data_check(S("a\nb\n"), S("a\r\nb\r\n.\r\n"), "LF to CRLF") ;
  data_check(S("a\r\nb\r\n"), S("a\r\nb\r\n.\r\n"), "CRLF kept") ;
  data_check(S(".a\n..b\n.\nc.\n"), S("..a\r\n...b\r\n..\r\nc.\r\n.\r\n"), "leading dots doubled") ;
  data_check(S("no end"), S("no end\r\n.\r\n"), "a final CRLF added") ;
  data_check(S("cr at end\r"), S("cr at end\r\n.\r\n"), "a final CR completed") ;
  data_check(S(""), S(".\r\n"), "empty message") ;
  data_check(S("a\rb\n"), S("a\rb\r\n.\r\n"), "a lone CR is left") ;

  {
    char const routes[] = "# routes\nexample.org:mx.example.org\n.sub.test:[10.0.0.1]:2525\nplain.test:\n:smart.example.net:587\n" ;
    stralloc host = STRALLOC_ZERO ;
    CHECK(ferry_route_check(S(routes)) == 0, "good routes") ;
    CHECK(ferry_route_find(S(routes), "example.org", &host, &port, 25) == 1 && !strcmp(host.s, "mx.example.org") && port == 25, "exact") ;
    CHECK(ferry_route_find(S(routes), "a.b.sub.test", &host, &port, 25) == 1 && !strcmp(host.s, "[10.0.0.1]") && port == 2525, "suffix") ;
    CHECK(ferry_route_find(S(routes), "sub.test", &host, &port, 25) == 1 && !strcmp(host.s, "smart.example.net"), "a suffix does not match the bare domain") ;
    CHECK(ferry_route_find(S(routes), "plain.test", &host, &port, 25) == 0, "empty host: DNS") ;
    CHECK(ferry_route_find(S(routes), "other.test", &host, &port, 25) == 1 && !strcmp(host.s, "smart.example.net") && port == 587, "smarthost") ;
    CHECK(ferry_route_find(S("a.test:h\n"), "other.test", &host, &port, 25) == 0, "no route: DNS") ;
    CHECK(ferry_route_find(S(":[::1]:2525\n"), "x.test", &host, &port, 25) == 1 && !strcmp(host.s, "[::1]") && port == 2525, "IPv6 literal") ;
    CHECK(ferry_route_check(S("ok.test:h\nbad line\n")) == 2, "no colon: line 2") ;
    CHECK(ferry_route_check(S("x:h:0\n")) == 1, "port 0") ;
    CHECK(ferry_route_check(S("x:h:99999\n")) == 1, "port too big") ;
    CHECK(ferry_route_check(S("x:[::1\n")) == 1, "unclosed bracket") ;
    CHECK(ferry_route_check(S("x::25\n")) == 1, "port without host") ;
    stralloc_free(&host) ;
  }
  /* throttling replies (the "!throttle" frame) */
  {
    static char const *const yes[] = {
      "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume",
      "421 closing",
      "421-a\r\n421 b",
      "451 4.7.1 Too many connections from your IP",
      "450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages",
      "452 too many messages, slow down",
      "451 RATE limit exceeded",
      "450-4.7.28 first line\r\n450 4.7.28 our rate limits say no",
      "451 4.7.1 ratelimit: slow down",
      0 } ;
    static char const *const no[] = {
      "451 4.7.1 greylisted, try again later",
      "452 4.2.2 mailbox full: too many messages",
      "451 4.3.0 too many things went wrong",
      "453 too many",
      "550 5.7.1 too many connections",
      "250 ok rate",
      "452 4.5.3 too many recipients",
      "451 4.7.1 could not generate a reply",
      "451 4.7.1 your address is inaccurate",
      0 } ;
    unsigned int i ;
    for (i = 0 ; yes[i] ; i++)
    {
      char buf[300] ;
      size_t n = strlen(yes[i]) ;
      memcpy(buf, yes[i], n) ; memcpy(buf + n, "\r\n", 3) ;
      CHECK(parse_all(&r, buf, n + 2, &why) == 1 && smtp_reply_throttling(&r), "throttling: %s", yes[i]) ;
    }
    for (i = 0 ; no[i] ; i++)
    {
      char buf[300] ;
      size_t n = strlen(no[i]) ;
      memcpy(buf, no[i], n) ; memcpy(buf + n, "\r\n", 3) ;
      CHECK(parse_all(&r, buf, n + 2, &why) == 1 && !smtp_reply_throttling(&r), "not throttling: %s", no[i]) ;
    }
  }
  return UNIT_END() ;
}
