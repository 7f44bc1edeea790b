/* Unit tests of MTA-STS as ferry reads it (src/libferry/mta_sts.c): the _mta-sts TXT record,
   the policy body and its refusals, the MX patterns, and the cache file written then read. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/mta_sts.h>
#include "unit.h"

static stralloc why = STRALLOC_ZERO ;
static ferry_sts_policy pol = FERRY_STS_POLICY_ZERO ;

static int txt (char const *s, char *id)
{
  return ferry_sts_txt(s, strlen(s), id) ;
}

#define TXT_IS(text, want, wantid) do \
{ \
  char id_[33] = "untouched" ; \
  int r_ = txt(text, id_) ; \
  CHECK(r_ == (want) && (r_ != 1 || !strcmp(id_, (wantid))), "TXT \"%s\": got %d id %s, want %d %s", text, r_, id_, want, wantid) ; \
} while (0)

static void test_txt (void)
{
  TXT_IS("v=STSv1; id=20160831085700Z;", 1, "20160831085700Z") ;
  TXT_IS("v=STSv1;id=abc", 1, "abc") ;
  TXT_IS("v=STSv1 ; id=abc ; ", 1, "abc") ;
  TXT_IS("v=STSv1;\tid=A1;  ext-x.y_z=some:thing", 1, "A1") ;
  TXT_IS("v=STSv1; foo=bar; id=x2", 1, "x2") ;
  TXT_IS("v=STSv1; id=first; id=second", 1, "first") ;
  TXT_IS("v=STSv1; id=12345678901234567890123456789012", 1, "12345678901234567890123456789012") ;
  /* not STS records */
  TXT_IS("", 0, "") ;
  TXT_IS("v=spf1 -all", 0, "") ;
  TXT_IS("v=STSv10; id=1", 0, "") ;
  TXT_IS("V=STSv1; id=1", 0, "") ;
  TXT_IS(" v=STSv1; id=1", 0, "") ;
  TXT_IS("v=STSv", 0, "") ;
  /* STSv1, malformed */
  TXT_IS("v=STSv1", -1, "") ;
  TXT_IS("v=STSv1;", -1, "") ;
  TXT_IS("v=STSv1; id=", -1, "") ;
  TXT_IS("v=STSv1; id=123456789012345678901234567890123", -1, "") ;
  TXT_IS("v=STSv1; id=2016-08-31", -1, "") ;
  TXT_IS("v=STSv1; id=a b", -1, "") ;
  TXT_IS("v=STSv1 id=abc", -1, "") ;
  TXT_IS("v=STSv1; id=abc;; x=1", -1, "") ;
  TXT_IS("v=STSv1; id=abc; novalue", -1, "") ;
  TXT_IS("v=STSv1; id=abc; =x", -1, "") ;
  TXT_IS("v=STSv1; id=abc; x=a=b", -1, "") ;
  TXT_IS("v=STSv1; x=1", -1, "") ;
  {
    /* a NUL inside: the length counts, not the terminator */
    static char const s[] = "v=STSv1; id=ab\0cd" ;
    char id[33] ;
    CHECK(ferry_sts_txt(s, sizeof(s) - 1, id) == -1, "a NUL in the id") ;
    CHECK(ferry_sts_txt(s, 14, id) == 1 && !strcmp(id, "ab"), "the length given ends the text") ;
  }
}

static int parse (char const *s)
{
  why.len = 0 ;
  return ferry_sts_policy_parse(s, strlen(s), &pol, &why) ;
}

#define BAD(text, want) do \
{ \
  int r_ = parse(text) ; \
  CHECK(r_ == 0 && why.len && !why.s[why.len - 1] && !strcmp(why.s, want) && !strchr(why.s, '\n'), "policy \"%s\": got %d \"%s\", want \"%s\"", text, r_, why.len ? why.s : "", want) ; \
} while (0)

static char const *mx_list (void)
{
  static char buf[1024] ;
  size_t pos = 0, n = 0 ;
  unsigned int i ;
  buf[0] = 0 ;
  for (i = 0 ; i < pol.nmx && pos < pol.mx.len ; i++)
  {
    size_t l = strlen(pol.mx.s + pos) ;
    if (n + l + 2 > sizeof(buf)) break ;
    if (n) buf[n++] = ' ' ;
    memcpy(buf + n, pol.mx.s + pos, l) ;
    n += l ;
    buf[n] = 0 ;
    pos += l + 1 ;
  }
  return buf ;
}

static void test_policy (void)
{
  int r = parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n") ;
  CHECK(r == 1, "the RFC's example shape: %s", why.len ? why.s : "") ;
  CHECK(pol.mode == STS_MODE_ENFORCE && pol.max_age == 604800 && pol.nmx == 3, "fields: mode %d max_age %u nmx %u", pol.mode, pol.max_age, pol.nmx) ;
  CHECK(!strcmp(mx_list(), "mail.example.com *.example.net backupmx.example.com"), "patterns, lower case: %s", mx_list()) ;
  CHECK(ferry_sts_mx_match(&pol, "mail.example.com") && ferry_sts_mx_match(&pol, "MAIL.Example.COM.")
     && ferry_sts_mx_match(&pol, "mx1.example.net") && ferry_sts_mx_match(&pol, "backupmx.example.com"), "matches") ;
  CHECK(!ferry_sts_mx_match(&pol, "example.net") && !ferry_sts_mx_match(&pol, "a.b.example.net")
     && !ferry_sts_mx_match(&pol, "xexample.net") && !ferry_sts_mx_match(&pol, "mail.example.co")
     && !ferry_sts_mx_match(&pol, "ail.example.com") && !ferry_sts_mx_match(&pol, "") && !ferry_sts_mx_match(&pol, ".")
     && !ferry_sts_mx_match(&pol, ".example.net") && !ferry_sts_mx_match(&pol, "..example.net"), "no match") ;
  CHECK(!strcmp(ferry_sts_mode_name(pol.mode), "enforce"), "mode name") ;

  r = parse("version: STSv1\nmode: testing\nmx: a.test\nmax_age: 0") ;
  CHECK(r == 1 && pol.mode == STS_MODE_TESTING && pol.max_age == 0 && pol.nmx == 1, "LF lines, no final line end, max_age 0: %d %s", r, why.len ? why.s : "") ;
  r = parse("version: STSv1\nmode: none\nmax_age: 31557600\n") ;
  CHECK(r == 1 && pol.mode == STS_MODE_NONE && pol.max_age == 31557600 && !pol.nmx, "mode none needs no mx: %d %s", r, why.len ? why.s : "") ;
  r = parse("\nversion:STSv1  \nmode:\tenforce\n\n  \nmx: a.test.\nmax_age: 86400\nunknown_field: some value\nx.y-z: 1\n") ;
  CHECK(r == 1 && !strcmp(mx_list(), "a.test"), "blanks around values, empty lines, a final dot, unknown fields: %d %s %s", r, why.len ? why.s : "", mx_list()) ;
  r = parse("version: STSv1\nmode: testing\nmode: enforce\nmax_age: 5\nmax_age: 6\nmx: a.test\nversion: STSv2\n") ;
  CHECK(r == 1 && pol.mode == STS_MODE_TESTING && pol.max_age == 5, "of repeated fields the first counts: %d %s", r, why.len ? why.s : "") ;
  r = parse("version: STSv1\nmode: enforce\nmax_age: 1\nmx: *.a.test\nmx: b.test\n") ;
  CHECK(r == 1 && ferry_sts_mx_match(&pol, "x.a.test") && !ferry_sts_mx_match(&pol, "a.test") && ferry_sts_mx_match(&pol, "B.test"), "wildcard and exact") ;

  BAD("", "no version field") ;
  BAD("mode: enforce\nmx: a.test\nmax_age: 1\n", "no version field") ;
  BAD("version: STSv1\nmx: a.test\nmax_age: 1\n", "no mode field") ;
  BAD("version: STSv1\nmode: enforce\nmx: a.test\n", "no max_age field") ;
  BAD("version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx field, and the mode is not none") ;
  BAD("version: STSv1\nmode: testing\nmax_age: 1\n", "no mx field, and the mode is not none") ;
  BAD("version: STSv2\n", "line 1: version is not STSv1: STSv2") ;
  BAD("version: STSv1\nmode: Enforce\n", "line 2: mode is not enforce, testing or none: Enforce") ;
  BAD("version: STSv1\nmode: enforce\nmax_age: 31557601\n", "line 3: max_age is not a number of seconds from 0 to 31557600: 31557601") ;
  BAD("version: STSv1\nmax_age: -1\n", "line 2: max_age is not a number of seconds from 0 to 31557600: -1") ;
  BAD("version: STSv1\nmax_age: 12345678901\n", "line 2: max_age is not a number of seconds from 0 to 31557600: 12345678901") ;
  BAD("version: STSv1\nmax_age: 1 day\n", "line 2: max_age is not a number of seconds from 0 to 31557600: 1 day") ;
  BAD("version: STSv1\nmx: a..test\n", "line 2: mx is not a host name or *.name: a..test") ;
  BAD("version: STSv1\nmx: *.\n", "line 2: mx is not a host name or *.name: *.") ;
  BAD("version: STSv1\nmx: mx*.a.test\n", "line 2: mx is not a host name or *.name: mx*.a.test") ;
  BAD("version: STSv1\nmx: *.*.a.test\n", "line 2: mx is not a host name or *.name: *.*.a.test") ;
  BAD("version: STSv1\nmx: -a.test\n", "line 2: mx is not a host name or *.name: -a.test") ;
  BAD("version: STSv1\nmx: a_b.test\n", "line 2: mx is not a host name or *.name: a_b.test") ;
  BAD("version: STSv1\nmx: 1234567890123456789012345678901234567890123456789012345678901234.test\n",
      "line 2: mx is not a host name or *.name: 1234567890123456789012345678901234567890123456789012345678901234...") ;
  BAD("version: STSv1\n mode: enforce\n", "line 2: a line starts with a blank") ;
  BAD("version: STSv1\nmode enforce\n", "line 2: not \"key: value\": mode enforce") ;
  BAD("version: STSv1\nmode:\n", "line 2: an empty value for mode") ;
  BAD("version: STSv1\nmode: \r\n", "line 2: an empty value for mode") ;
  BAD("version: STSv1\nmode = enforce\n", "line 2: not \"key: value\": mode = enforce") ;
  BAD("version: STSv1\nx: a\001b\n", "line 2: a control character in the value of x") ;
  BAD("version: STSv1\n_x: y\n", "line 2: not \"key: value\": _x: y") ;
  BAD("<html>\n<body>\n", "line 1: not \"key: value\": <html>") ;
  {
    static char const s[] = "version: STSv1\nmode: none\nmax_age: 1\0\n" ;
    why.len = 0 ;
    CHECK(ferry_sts_policy_parse(s, sizeof(s) - 1, &pol, &why) == 0, "a NUL byte is a control character") ;
    CHECK(ferry_sts_policy_parse(s, sizeof(s) - 3, &pol, &why) == 1, "the length given ends the body") ;
  }
}

static void test_cache (void)
{
  static char const body[] = "version: STSv1\r\nmode: enforce\r\nmx: mx.a.test\r\nmax_age: 86400\r\n" ;
  stralloc sa = STRALLOC_ZERO ;
  char id[33] ;
  uint64_t fetched = 0 ;
  char const *b = 0 ;
  size_t bn = 0 ;
  int r ;
  CHECK(ferry_sts_cache_fmt(&sa, "20240101T000000", 1718000000, body, sizeof(body) - 1), "fmt") ;
  {
    static char const head[] = "ferry-mtasts 1\nid 20240101T000000\nfetched 1718000000\n\n" ;
    CHECK(sa.len == sizeof(head) - 1 + sizeof(body) - 1 && !memcmp(sa.s, head, sizeof(head) - 1) && !memcmp(sa.s + sizeof(head) - 1, body, sizeof(body) - 1),
          "the file: %.*s", (int)sa.len, sa.s) ;
  }
  why.len = 0 ;
  r = ferry_sts_cache_parse(sa.s, sa.len, id, &fetched, &b, &bn, &pol, &why) ;
  CHECK(r == 1 && !strcmp(id, "20240101T000000") && fetched == 1718000000 && bn == sizeof(body) - 1 && !memcmp(b, body, bn),
        "read back: %d %s", r, why.len ? why.s : "") ;
  CHECK(pol.mode == STS_MODE_ENFORCE && pol.nmx == 1 && ferry_sts_mx_match(&pol, "mx.a.test"), "its policy") ;

#define CBAD(text, want) do \
  { \
    why.len = 0 ; \
    r = ferry_sts_cache_parse(text, strlen(text), id, &fetched, &b, &bn, &pol, &why) ; \
    CHECK(r == 0 && why.len && !strcmp(why.s, want), "cache \"%s\": got %d %s", text, r, why.len ? why.s : "") ; \
  } while (0)
  CBAD("", "not a ferry-mtasts 1 cache file") ;
  CBAD("ferry-mtasts 2\nid a\nfetched 1\n\nversion: STSv1\nmode: none\nmax_age: 1\n", "not a ferry-mtasts 1 cache file") ;
  CBAD("ferry-mtasts 1\nid a-b\nfetched 1\n\nversion: STSv1\nmode: none\nmax_age: 1\n", "line 2 is not \"id ID\"") ;
  CBAD("ferry-mtasts 1\nid \nfetched 1\n\n", "line 2 is not \"id ID\"") ;
  CBAD("ferry-mtasts 1\nid a\nfetched -1\n\n", "line 3 is not \"fetched SECONDS\"") ;
  CBAD("ferry-mtasts 1\nid a\nfetched 18446744073709551616\n\n", "line 3 is not \"fetched SECONDS\"") ;
  CBAD("ferry-mtasts 1\nid a\nfetched 12", "line 3 is not \"fetched SECONDS\"") ;
  CBAD("ferry-mtasts 1\nid a\nfetched 12\n", "no empty line before the policy") ;
  CBAD("ferry-mtasts 1\nid a\nfetched 12\nversion: STSv1\n", "no empty line before the policy") ;
  CBAD("ferry-mtasts 1\nid a\nfetched 12\n\nversion: STSv1\n", "the policy: no mode field") ;
  CBAD("ferry-mtasts 1\nid a\nfetched 12\n\nversion: STSv1\nmode: bad\n", "the policy: line 2: mode is not enforce, testing or none: bad") ;
  why.len = 0 ;
  {
    static char const big[] = "ferry-mtasts 1\nid a\nfetched 18446744073709551615\n\nversion: STSv1\nmode: none\nmax_age: 1\n" ;
    r = ferry_sts_cache_parse(big, sizeof(big) - 1, id, &fetched, &b, &bn, &pol, &why) ;
  }
  CHECK(r == 1 && fetched == UINT64_MAX && bn == 37, "the largest time: %d %s", r, why.len ? why.s : "") ;
  stralloc_free(&sa) ;
}

int main (void)
{
  test_txt() ;
  test_policy() ;
  test_cache() ;
  ferry_sts_policy_free(&pol) ;
  stralloc_free(&why) ;
  return UNIT_END() ;
}
