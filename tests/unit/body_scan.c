/* Unit tests of the body scanner (ferry/body.h): the facts the injector records, whatever the
   chunks the message comes in; and the w and b records that keep them. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/body.h>
#include <ferry/envelope.h>

#include "unit.h"

#define S(lit) lit, sizeof(lit) - 1

 /* The facts of s fed in two chunks split at cut */
static ferry_body split_scan (char const *s, size_t n, size_t cut)
{
  ferry_body_scan sc = FERRY_BODY_SCAN_ZERO ;
  ferry_body b = FERRY_BODY_ZERO ;
  ferry_body_scan_feed(&sc, s, cut) ;
  ferry_body_scan_feed(&sc, s + cut, n - cut) ;
  ferry_body_scan_end(&sc, &b) ;
  return b ;
}

 /* Every split of s gives the same facts: wire, eightbit, longline */
static void every_split (char const *what, char const *s, size_t n, uint64_t wire, int eightbit, int longline)
{
  size_t cut = 0 ;
  for (; cut <= n ; cut++)
  {
    ferry_body b = split_scan(s, n, cut) ;
    CHECK(b.wire == wire && b.eightbit == eightbit && b.longline == longline,
      "%s, cut at %zu: wire %llu eightbit %d longline %d (want %llu %d %d)", what, cut,
      (unsigned long long)b.wire, (int)b.eightbit, (int)b.longline, (unsigned long long)wire, eightbit, longline) ;
  }
}

 /* A line of len octets (x), then end ("\n", "\r\n" or "") */
static size_t line_make (char *buf, size_t len, char const *end)
{
  memset(buf, 'x', len) ;
  memcpy(buf + len, end, strlen(end)) ;
  return len + strlen(end) ;
}

int main (void)
{
  static char buf[3000] ;
  stralloc sa = STRALLOC_ZERO ;
  ferry_body b = FERRY_BODY_ZERO ;
  size_t n, fpos ;

  every_split("an empty message", "", 0, 0, 0, 0) ;
  every_split("LF lines", S("a: b\n\nbody\n"), 14, 0, 0) ;
  every_split("CRLF lines: a CR is a byte, its LF gets no second CR", S("a: b\r\n\r\nbody\r\n"), 17, 0, 0) ;
  every_split("no final LF", S("a: b\n\nbody"), 12, 0, 0) ;
  every_split("an 8-bit byte in the last chunk", S("a: b\n\nbody \303\251"), 15, 1, 0) ;
  every_split("an 8-bit byte alone at the end", S("a\n\xff"), 4, 1, 0) ;

  n = line_make(buf, 998, "\n") ;
  every_split("a 998-octet line", buf, n, n + 1, 0, 0) ;
  n = line_make(buf, 999, "\n") ;
  every_split("a 999-octet line", buf, n, n + 1, 0, 1) ;
  n = line_make(buf, 998, "\r\n") ;
  every_split("a 998-octet line with CRLF (the CR not counted, wherever the chunk ends)", buf, n, n + 1, 0, 0) ;
  n = line_make(buf, 999, "\r\n") ;
  every_split("a 999-octet line with CRLF", buf, n, n + 1, 0, 1) ;
  n = line_make(buf, 998, "") ;
  every_split("a last line of 998 octets without LF", buf, n, n, 0, 0) ;
  n = line_make(buf, 999, "") ;
  every_split("a last line of 999 octets without LF", buf, n, n, 0, 1) ;
  n = line_make(buf, 998, "\r") ;
  every_split("a last line of 998 octets and a CR", buf, n, n, 0, 0) ;
  n = line_make(buf, 997, "\r\r\n") ;
  every_split("997 octets, CR CR LF: a CR not before the LF counts", buf, n, n + 1, 0, 0) ;
  n = line_make(buf, 998, "\r\r\n") ;
  every_split("998 octets, CR CR LF: 999 counted", buf, n, n + 1, 0, 1) ;
  memcpy(buf, "short\n", 6) ;
  n = 6 + line_make(buf + 6, 1500, "\nshort again\n") ;
  every_split("a long line between short ones", buf, n, n + 3, 0, 1) ;

  /* one byte at a time */
  {
    ferry_body_scan sc = FERRY_BODY_SCAN_ZERO ;
    size_t i ;
    n = line_make(buf, 999, "\r\n") ;
    for (i = 0 ; i < n ; i++) ferry_body_scan_feed(&sc, buf + i, 1) ;
    ferry_body_scan_end(&sc, &b) ;
    CHECK(b.wire == n + 1 && !b.eightbit && b.longline, "byte by byte: 999 octets and CRLF") ;
  }

  /* the records */
  b.wire = 4711 ; b.eightbit = 1 ; b.longline = 1 ;
  CHECK(ferry_body_records_cat(&sa, &b) && sa.len == 10 && !memcmp(sa.s, "w4711\0b8L\0", 10), "records w4711 b8L") ;
  sa.len = 0 ;
  b.wire = 0 ; b.eightbit = 0 ; b.longline = 0 ;
  CHECK(ferry_body_records_cat(&sa, &b) && sa.len == 6 && !memcmp(sa.s, "w0\0b7\0", 6), "records w0 b7") ;
  b.wire = 1 ;
  CHECK(ferry_body_record_scan(S("w18446744073709551615"), &b) == 'w' && b.wire == 18446744073709551615ULL, "w at its largest") ;
  CHECK(ferry_body_record_scan(S("b8"), &b) == 'b' && b.eightbit && !b.longline, "b8") ;
  CHECK(ferry_body_record_scan(S("b7L"), &b) == 'b' && !b.eightbit && b.longline, "b7L") ;
  CHECK(!ferry_body_record_scan(S("w"), &b), "w without a number") ;
  CHECK(!ferry_body_record_scan(S("w12x"), &b), "w with junk") ;
  CHECK(!ferry_body_record_scan(S("w-1"), &b), "w negative") ;
  CHECK(!ferry_body_record_scan(S("w18446744073709551616"), &b), "w past a uint64") ;
  CHECK(!ferry_body_record_scan(S("b"), &b), "b alone") ;
  CHECK(!ferry_body_record_scan(S("b9"), &b), "b9") ;
  CHECK(!ferry_body_record_scan(S("b8l"), &b), "b8l") ;
  CHECK(!ferry_body_record_scan(S("b8LL"), &b), "b8LL") ;
  CHECK(!ferry_body_record_scan(S("x7"), &b), "another type") ;

  /* in a stored envelope */
  CHECK(!ferry_envelope_stored_check(S("u1\0p2\0t3\0w120\0b8L\0Fa@b\0Tc@d\0\0"), &fpos) && fpos == 18, "w and b before F: good") ;
  CHECK(!ferry_envelope_stored_check(S("u1\0p2\0t3\0Fa@b\0Tc@d\0\0"), &fpos), "without w and b: good") ;
  CHECK(ferry_envelope_stored_check(S("u1\0w\0b7\0Fa@b\0Tc@d\0\0"), &fpos) != 0, "an empty w: refused") ;
  CHECK(ferry_envelope_stored_check(S("u1\0w5\0b9\0Fa@b\0Tc@d\0\0"), &fpos) != 0, "b9: refused") ;
  CHECK(ferry_envelope_stored_check(S("u1\0w5\0b7\0w6\0Fa@b\0Tc@d\0\0"), &fpos) != 0, "a second w: refused") ;
  CHECK(ferry_envelope_stored_check(S("u1\0w5\0b7\0b8\0Fa@b\0Tc@d\0\0"), &fpos) != 0, "a second b: refused") ;
  CHECK(ferry_envelope_stored_check(S("u1\0w5\0b7"), &fpos) != 0, "torn b: refused") ;
  b.wire = 0 ; b.eightbit = 0 ; b.longline = 0 ;
  CHECK(ferry_envelope_body(S("u1\0p2\0t3\0w120\0b8L\0Fa@b\0Tc@d\0\0"), &b) == 1 && b.wire == 120 && b.eightbit && b.longline, "the facts read back") ;
  CHECK(ferry_envelope_body(S("u1\0p2\0t3\0Fa@b\0Tc@d\0\0"), &b) == 0, "no facts: 0") ;
  CHECK(ferry_envelope_body(S("u1\0w5\0Fa@b\0Tc@d\0\0"), &b) == 0, "w without b: 0") ;
  CHECK(ferry_envelope_body(S("u1\0Fa@b\0w5\0b7\0Tc@d\0\0"), &b) == 0, "after F they are not the injector's: 0") ;

  stralloc_free(&sa) ;
  return UNIT_END() ;
}
