/* Unit tests of the netstring frames of the delivery protocol. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/frame.h>

#include "unit.h"

#define S(lit) lit, sizeof(lit) - 1

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *f[8] ;
  size_t pos, start, plen, mark ;
  int r ;

  pos = 0 ;
  r = ferry_frame_take(S("5:hello,3:abc,"), &pos, &start, &plen) ;
  CHECK(r == 1 && start == 2 && plen == 5 && pos == 8, "first frame: %d %zu %zu %zu", r, start, plen, pos) ;
  r = ferry_frame_take(S("5:hello,3:abc,"), &pos, &start, &plen) ;
  CHECK(r == 1 && plen == 3 && pos == 14, "second frame") ;
  r = ferry_frame_take(S("5:hello,3:abc,"), &pos, &start, &plen) ;
  CHECK(r == 0, "nothing more") ;
  pos = 0 ;
  CHECK(ferry_frame_take(S("5:hel"), &pos, &start, &plen) == 0 && pos == 0, "incomplete payload") ;
  CHECK(ferry_frame_take(S("12"), &pos, &start, &plen) == 0, "incomplete length") ;
  CHECK(ferry_frame_take(S("5:hello;x,"), &pos, &start, &plen) == -1 && pos == 10, "no comma: skip to the next one (%zu)", pos) ;
  pos = 0 ;
  CHECK(ferry_frame_take(S("xyz,2:ab,"), &pos, &start, &plen) == -1 && pos == 4, "garbage: skipped") ;
  CHECK(ferry_frame_take(S("xyz,2:ab,"), &pos, &start, &plen) == 1 && plen == 2, "then the next frame") ;
  pos = 0 ;
  CHECK(ferry_frame_take(S("05:hello,"), &pos, &start, &plen) == -1, "leading zero") ;
  pos = 0 ;
  CHECK(ferry_frame_take(S("0:,"), &pos, &start, &plen) == 1 && plen == 0, "empty frame") ;
  pos = 0 ;
  CHECK(ferry_frame_take(S("99999999999:"), &pos, &start, &plen) == -1, "11 digits") ;
  pos = 0 ;
  CHECK(ferry_frame_take(S("999999999:abc"), &pos, &start, &plen) == -2 && plen == 999999999, "too large") ;

  CHECK(ferry_frame_begin(&sa, &mark) && ferry_field_cats(&sa, "7") && ferry_field_cats(&sa, "") && ferry_field_cat(&sa, "a\nb\0c", 5) && ferry_frame_end(&sa, mark), "build") ;
  CHECK(sa.len == 12 && !memcmp(sa.s, "9:7\0\0a b c\0,", 12), "built frame: %.*s", (int)sa.len, sa.s) ;
  pos = 0 ;
  CHECK(ferry_frame_take(sa.s, sa.len, &pos, &start, &plen) == 1, "round trip") ;
  CHECK(ferry_fields_split(sa.s + start, plen, f, 8) == 3 && !strcmp(f[0], "7") && !f[1][0] && !strcmp(f[2], "a b c"), "fields") ;
  CHECK(ferry_fields_split(sa.s + start, plen, f, 2) == -2, "more fields than room") ;
  CHECK(ferry_fields_split("ab", 2, f, 8) == -1, "no final null") ;

  /* delivery requests: the body facts after the message id */
  {
    ferry_request q ;
    char numbuf[11] ;
    CHECK(!ferry_request_check(S("7\0" "42\0w4711\0b8L\0s@x\0r@y\0t@y\0"), &q, numbuf), "a good request") ;
    CHECK(q.id == 42 && q.wire == 4711 && q.eightbit && q.longline && !strcmp(q.sender, "s@x") && !strcmp(q.rcpt, "r@y") && q.nrcpt == 2, "its fields") ;
    CHECK(!ferry_request_check(S("7\0" "42\0w0\0b7\0\0r@y\0"), &q, numbuf) && !q.wire && !q.eightbit && !q.longline && !q.sender[0], "w0 b7, the null sender") ;
    CHECK(ferry_request_check(S("7\0" "42\0s@x\0r@y\0"), &q, numbuf) != 0 && q.num && !strcmp(q.num, "7"), "no facts: refused, its number known") ;
    CHECK(ferry_request_check(S("7\0" "42\0w12\0b9\0s@x\0r@y\0"), &q, numbuf) != 0, "b9: refused") ;
    CHECK(ferry_request_check(S("7\0" "42\0wx\0b7\0s@x\0r@y\0"), &q, numbuf) != 0, "wx: refused") ;
    CHECK(ferry_request_check(S("7\0" "42\0w1\0b7\0s@x\0"), &q, numbuf) != 0, "no recipient: refused") ;
    CHECK(!ferry_request_check(S("7\0" "42\0w1\0b7\0s@x\0r@y\0"), &q, numbuf) && !q.requiretls, "no T: REQUIRETLS not asked") ;
    CHECK(!ferry_request_check(S("7\0" "42\0w1\0b7T\0s@x\0r@y\0"), &q, numbuf) && q.requiretls && !q.eightbit && !q.longline, "b7T") ;
    CHECK(!ferry_request_check(S("7\0" "42\0w1\0b8LT\0s@x\0r@y\0"), &q, numbuf) && q.requiretls && q.eightbit && q.longline, "b8LT") ;
    CHECK(ferry_request_check(S("7\0" "42\0w1\0b8TL\0s@x\0r@y\0"), &q, numbuf) != 0, "b8TL: refused") ;
    CHECK(ferry_request_check(S("7\0" "42\0w1\0b7TT\0s@x\0r@y\0"), &q, numbuf) != 0, "b7TT: refused") ;
    CHECK(ferry_request_check(S("7\0" "42\0w1\0bT\0s@x\0r@y\0"), &q, numbuf) != 0, "bT: refused") ;
    CHECK(ferry_request_check(S("7\0" "42\0w1\0b7t\0s@x\0r@y\0"), &q, numbuf) != 0, "b7t: refused") ;
  }

  /* the body fields as the queue manager writes them */
  {
    ferry_body b = FERRY_BODY_ZERO ;
    b.wire = 12 ; b.eightbit = 1 ; b.longline = 1 ;
    sa.len = 0 ;
    CHECK(ferry_request_facts_cat(&sa, &b, 1) && sa.len == 9 && !memcmp(sa.s, "w12\0b8LT\0", 9), "w12 b8LT") ;
    sa.len = 0 ;
    b.eightbit = 0 ; b.longline = 0 ;
    CHECK(ferry_request_facts_cat(&sa, &b, 1) && sa.len == 8 && !memcmp(sa.s, "w12\0b7T\0", 8), "w12 b7T") ;
    sa.len = 0 ;
    CHECK(ferry_request_facts_cat(&sa, &b, 0) && sa.len == 7 && !memcmp(sa.s, "w12\0b7\0", 7), "w12 b7") ;
  }
  return UNIT_END() ;
}
