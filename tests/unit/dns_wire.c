/* Unit tests of DNS messages on the wire (src/libferry/dns_wire.c): the header and its flags,
   the TLSA records of real answers byte by byte (two records and an RRSIG, compression, EDNS),
   NXDOMAIN, every cut of a message, pointer loops and other bad names, and the records read
   back and shown as "usage selector mtype hex". */

#include <stdlib.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/dns_wire.h>

#include "unit.h"

 /* The answer of a validating resolver to _25._tcp.mx.example.org TLSA, with EDNS: AD set, two
    TLSA records (3 1 1 and 2 0 1, the second's owner name partly compressed), their RRSIG. */
static unsigned char const tlsa_answer[] =
{
  /* 0: id 0x1234; QR RD; RA AD; 1 question, 3 answers, 0 authority, 1 additional */
  0x12, 0x34, 0x81, 0xa0, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
  /* 12: _25._tcp.mx.example.org (mx.example.org at 21, example.org at 24) TLSA IN */
  3, '_', '2', '5', 4, '_', 't', 'c', 'p', 2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
  0x00, 0x34, 0x00, 0x01,
  /* 41: the name at 12, TLSA IN, TTL 3600, 35 bytes: 3 1 1 and 32 bytes 00..1f */
  0xc0, 12, 0x00, 0x34, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 35,
  3, 1, 1,
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
  /* 88: _25._tcp then a pointer to mx.example.org at 21, TLSA IN, TTL 300, 11 bytes: 2 0 1 and 8 bytes */
  3, '_', '2', '5', 4, '_', 't', 'c', 'p', 0xc0, 21, 0x00, 0x34, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 11,
  2, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0xff,
  /* 120: the name at 12, RRSIG IN, TTL 3600, 39 bytes: covers TLSA, algorithm 13, 5 labels, TTL
     3600, expiration, inception, key tag, signer example.org, an 8-byte signature */
  0xc0, 12, 0x00, 0x2e, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 39,
  0x00, 0x34, 13, 5, 0x00, 0x00, 0x0e, 0x10, 0x6a, 0x00, 0x00, 0x00, 0x69, 0x00, 0x00, 0x00, 0x9c, 0x51,
  7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  /* 171: additional: OPT, the root, UDP size 4096, DO */
  0, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00
} ;
#define TLSA_ANSWER_END 171   /* where the answer section ends */

 /* NXDOMAIN for _25._tcp.mx.example.org TLSA, AD set, the SOA of example.org in authority. */
static unsigned char const nxdomain[] =
{
  0xab, 0xcd, 0x81, 0xa3, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
  3, '_', '2', '5', 4, '_', 't', 'c', 'p', 2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
  0x00, 0x34, 0x00, 0x01,
  /* 41: example.org SOA IN, TTL 900: ns.example.org hostmaster.example.org and five numbers */
  0xc0, 24, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x03, 0x84, 0x00, 38,
  2, 'n', 's', 0xc0, 24, 10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 0xc0, 24,
  0x78, 0x00, 0x00, 0x01, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x12, 0x75, 0x00, 0x00, 0x00, 0x03, 0x84
} ;

static stralloc out = STRALLOC_ZERO ;

 /* ferry_dns_tlsa on an exact-size copy of m[0..len) (so that a sanitizer sees a read past it),
    out starting with "keep" */
static int tlsa (unsigned char const *m, size_t len, uint32_t *ttl)
{
  unsigned char *p = malloc(len ? len : 1) ;
  int r ;
  if (!p) return -9 ;
  memcpy(p, m, len) ;
  out.len = 0 ;
  if (!stralloc_cats(&out, "keep")) { free(p) ; return -9 ; }
  r = ferry_dns_tlsa(p, len, &out, ttl) ;
  free(p) ;
  return r ;
}

 /* record i of out (past "keep") in its presentation form, terminated */
static char const *shown (unsigned int i)
{
  static char buf[600] ;
  ferry_tlsa t ;
  size_t pos = 4, n ;
  unsigned int k ;
  for (k = 0 ; k <= i ; k++)
    if (ferry_tlsa_next(out.s, out.len, &pos, &t) != 1) return "(no such record)" ;
  n = ferry_tlsa_fmt(0, &t) ;
  if (n >= sizeof buf) return "(too long)" ;
  if (ferry_tlsa_fmt(buf, &t) != n) return "(two lengths)" ;
  buf[n] = 0 ;
  return buf ;
}

static void test_head (void)
{
  ferry_dns_head h = FERRY_DNS_HEAD_ZERO ;
  static unsigned char const flags[12] = { 0xff, 0xfe, 0x03, 0x15, 0, 0, 0xff, 0xff, 0x01, 0x00, 0x00, 0x02 } ;
  CHECK(ferry_dns_head_parse(tlsa_answer, sizeof tlsa_answer, &h) == 1, "a header") ;
  CHECK(h.id == 0x1234 && h.qr && !h.tc && h.rd && h.ra && h.ad && !h.cd && h.rcode == 0, "flags of the TLSA answer: id %x qr %d tc %d rd %d ra %d ad %d cd %d rcode %u", h.id, h.qr, h.tc, h.rd, h.ra, h.ad, h.cd, h.rcode) ;
  CHECK(h.qd == 1 && h.an == 3 && h.ns == 0 && h.ar == 1, "counts %u %u %u %u", h.qd, h.an, h.ns, h.ar) ;
  CHECK(ferry_dns_head_parse(nxdomain, sizeof nxdomain, &h) == 1 && h.rcode == 3 && h.ad && h.an == 0 && h.ns == 1, "NXDOMAIN: rcode %u", h.rcode) ;
  /* a query with TC and RD (opcode bits set around them), CD, rcode 5, no QR, RA or AD */
  CHECK(ferry_dns_head_parse(flags, 12, &h) == 1, "12 bytes are enough") ;
  CHECK(h.id == 0xfffe && !h.qr && h.tc && h.rd && !h.ra && !h.ad && h.cd && h.rcode == 5, "other flags: qr %d tc %d rd %d ra %d ad %d cd %d rcode %u", h.qr, h.tc, h.rd, h.ra, h.ad, h.cd, h.rcode) ;
  CHECK(h.qd == 0 && h.an == 0xffff && h.ns == 0x100 && h.ar == 2, "big-endian counts %u %u %u", h.an, h.ns, h.ar) ;
  CHECK(ferry_dns_head_parse(flags, 11, &h) == 0 && ferry_dns_head_parse(flags, 0, &h) == 0, "shorter than a header") ;
}

static void test_answer (void)
{
  unsigned char m[sizeof tlsa_answer] ;
  uint32_t ttl = 7 ;
  ferry_dns_head h ;
  size_t len ;
  int r = tlsa(tlsa_answer, sizeof tlsa_answer, &ttl) ;
  CHECK(r == 2, "two TLSA records, the RRSIG skipped: %d", r) ;
  CHECK(ttl == 300, "the smallest TTL: %u", (unsigned int)ttl) ;
  CHECK(out.len == 4 + 5 + 32 + 5 + 8 && !memcmp(out.s, "keep", 4), "appended to out: %zu bytes", out.len) ;
  CHECK(!memcmp(out.s + 4, "\3\1\1\0\40", 5) && out.s[9] == 0 && out.s[40] == 0x1f, "the first record as stored") ;
  CHECK(!strcmp(shown(0), "3 1 1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"), "first: %s", shown(0)) ;
  CHECK(!strcmp(shown(1), "2 0 1 deadbeef001122ff"), "second: %s", shown(1)) ;
  CHECK(!strcmp(shown(2), "(no such record)"), "two records only") ;

  /* AD unset (no validation): the same records, the flag says so */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[3] = 0x80 ;
  CHECK(ferry_dns_head_parse(m, sizeof m, &h) && !h.ad && h.ra, "AD unset") ;
  CHECK(tlsa(m, sizeof m, &ttl) == 2, "the records still read") ;

  /* every cut: inside the header, the question or the answers malformed, out and the TTL
     untouched; inside the additional section the answers are whole */
  for (len = 0 ; len < sizeof tlsa_answer ; len++)
  {
    ttl = 7 ;
    r = tlsa(tlsa_answer, len, &ttl) ;
    if (len < TLSA_ANSWER_END) CHECK(r == -1 && out.len == 4 && ttl == 7, "cut at %zu: %d, out %zu, ttl %u", len, r, out.len, (unsigned int)ttl) ;
    else CHECK(r == 2 && ttl == 300, "cut at %zu in the additional section: %d", len, r) ;
  }

  /* a record longer than the message */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[131] = 0xff ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1 && out.len == 4, "RRSIG rdata past the end") ;
  memcpy(m, tlsa_answer, sizeof m) ;
  m[108] = 12 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "TLSA rdata one byte longer: the next name misread") ;
  /* TLSA data shorter than 3 bytes */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[108] = 2 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1 && out.len == 4, "TLSA data of 2 bytes: the first record not kept") ;
  /* the TLSA class CH, not IN: skipped */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[46] = 3 ;
  ttl = 7 ;
  CHECK(tlsa(m, sizeof m, &ttl) == 1 && ttl == 300 && !strcmp(shown(0), "2 0 1 deadbeef001122ff"), "class CH skipped: %s", shown(0)) ;
  /* data of no bytes: rdlen 3, the old data made a fourth answer, TXT */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[7] = 4 ;
  m[52] = 3 ;
  m[56] = 0 ; m[57] = 0 ; m[58] = 0x10 ; m[59] = 0 ; m[60] = 1 ; m[61] = m[62] = m[63] = m[64] = 0 ; m[65] = 0 ; m[66] = 21 ;
  /* the old data at 56..87: a name "" at 56, TXT IN, TTL 0, 21 bytes (67..87) */
  r = tlsa(m, sizeof m, &ttl) ;
  CHECK(r == 2 && !strcmp(shown(0), "3 1 1 "), "empty data: %d %s", r, shown(0)) ;
  /* a TTL with its top bit set counts as 0 */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[47] = 0x80 ;
  CHECK(tlsa(m, sizeof m, &ttl) == 2 && ttl == 0, "TTL 2^31 + 3600: %u", (unsigned int)ttl) ;
  memcpy(m, tlsa_answer, sizeof m) ;
  m[47] = m[103] = 0x7f ;
  m[48] = m[49] = m[50] = m[104] = m[105] = m[106] = 0xff ;
  CHECK(tlsa(m, sizeof m, &ttl) == 2 && ttl == 0x7fffffffU, "the largest TTL: %u", (unsigned int)ttl) ;
}

static void test_nxdomain (void)
{
  uint32_t ttl = 7 ;
  int r = tlsa(nxdomain, sizeof nxdomain, &ttl) ;
  CHECK(r == 0 && ttl == 7 && out.len == 4, "NXDOMAIN: no records, the TTL untouched: %d %u", r, (unsigned int)ttl) ;
}

static void test_names (void)
{
  unsigned char m[sizeof tlsa_answer] ;
  uint32_t ttl ;
  /* the first answer's name: a pointer to itself */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[42] = 41 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1 && out.len == 4, "a pointer to itself") ;
  /* forward: to the second answer's name */
  m[42] = 88 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "a pointer forward") ;
  /* into the header */
  m[42] = 4 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "a pointer into the header") ;
  /* the second answer's pointer to its own first label: _25._tcp._25._tcp... */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[98] = 88 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "a loop through a label") ;
  /* the same pointer to a later label of its own part: back from where it is, yet a loop */
  m[98] = 92 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "a loop through a later label") ;
  /* a pointer to a pointer that goes further back: allowed */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[120] = 0xc0 ; m[121] = 41 ;
  CHECK(tlsa(m, sizeof m, &ttl) == 2, "a chain back") ;
  /* a loop in bytes no name check sees (the first TLSA data: y then a pointer to z, z then a
     pointer to y), each pointer back before the RRSIG name that jumps there: after the first
     jump, the next pointer must go before where the jump landed */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[56] = 1 ; m[57] = 'y' ; m[58] = 0xc0 ; m[59] = 60 ;
  m[60] = 1 ; m[61] = 'z' ; m[62] = 0xc0 ; m[63] = 56 ;
  m[120] = 0xc0 ; m[121] = 56 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "a loop in earlier bytes") ;
  m[62] = 0 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "y then a pointer forward to z., though no loop") ;
  m[56] = 1 ; m[57] = 'z' ; m[58] = 0 ;
  m[59] = 1 ; m[60] = 'y' ; m[61] = 0xc0 ; m[62] = 56 ;
  m[121] = 59 ;
  CHECK(tlsa(m, sizeof m, &ttl) == 2, "y then a pointer back to z.") ;
  /* the label types 01 and 10 */
  memcpy(m, tlsa_answer, sizeof m) ;
  m[16] = 0x44 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "label type 01") ;
  m[16] = 0x84 ;
  CHECK(tlsa(m, sizeof m, &ttl) == -1, "label type 10") ;
}

 /* A message of one question: a name of the given labels (of those lengths, letters x), TLSA IN. */
static size_t name_msg (unsigned char *m, unsigned int const *labels, unsigned int n)
{
  size_t len = 12 ;
  unsigned int i ;
  memset(m, 0, 12) ;
  m[2] = 0x81 ; m[3] = 0x80 ; m[5] = 1 ;
  for (i = 0 ; i < n ; i++)
  {
    m[len++] = labels[i] ;
    memset(m + len, 'x', labels[i]) ;
    len += labels[i] ;
  }
  m[len++] = 0 ;
  m[len++] = 0 ; m[len++] = 52 ; m[len++] = 0 ; m[len++] = 1 ;
  return len ;
}

static void ptr (unsigned char *m, size_t at, size_t to)
{
  m[at] = 0xc0 | to >> 8 ;
  m[at + 1] = to & 255 ;
}

static void test_long_names (void)
{
  unsigned char m[400] ;
  static unsigned int const n255[] = { 63, 63, 63, 61 } ;
  static unsigned int const n256[] = { 63, 63, 63, 62 } ;
  static unsigned int const small[] = { 3 } ;
  static unsigned char const txt[] = { 0, 16, 0, 1, 0, 0, 0, 0, 1, 0 } ;
  static unsigned char const rr[] = { 0, 52, 0, 1, 0, 0, 0, 0, 0, 3, 3, 1, 1 } ;
  uint32_t ttl ;
  size_t len, j ;
  CHECK(tlsa(m, name_msg(m, n255, 4), &ttl) == 0, "a name of 255 bytes") ;
  CHECK(tlsa(m, name_msg(m, n256, 4), &ttl) == -1, "a name of 256 bytes") ;
  /* a chain of pointers: a TXT record (at 21) of 256 bytes (from 33), 128 pointers, each to
     the one before, the first to the name xxx at 12; then a TLSA record whose name is a
     pointer into the chain */
  len = name_msg(m, small, 1) ;
  m[7] = 2 ;
  ptr(m, len, 12) ;
  memcpy(m + len + 2, txt, sizeof txt) ;
  len += 2 + sizeof txt ;
  for (j = 0 ; j < 128 ; j++) ptr(m, len + 2 * j, j ? len + 2 * (j - 1) : 12) ;
  memcpy(m + len + 256 + 2, rr, sizeof rr) ;
  /* to pointer j: j + 2 pointers followed */
  ptr(m, len + 256, len + 2 * 126) ;
  CHECK(tlsa(m, len + 256 + 2 + sizeof rr, &ttl) == -1, "128 pointers") ;
  ptr(m, len + 256, len + 2 * 125) ;
  CHECK(tlsa(m, len + 256 + 2 + sizeof rr, &ttl) == 1 && !strcmp(shown(0), "3 1 1 "), "127 pointers: %s", shown(0)) ;
}

static void test_records (void)
{
  static char const two[] = "\3\1\1\0\2\xab\xcd" "\xff\xff\xff\0\0" ;
  ferry_tlsa t = FERRY_TLSA_ZERO ;
  size_t pos = 0, n ;
  char buf[32] ;
  CHECK(ferry_tlsa_next(two, sizeof two - 1, &pos, &t) == 1 && pos == 7 && t.usage == 3 && t.selector == 1 && t.mtype == 1 && t.len == 2 && t.data == (unsigned char const *)two + 5, "first") ;
  CHECK(ferry_tlsa_next(two, sizeof two - 1, &pos, &t) == 1 && pos == 12 && t.usage == 255 && t.len == 0, "second, no data") ;
  n = ferry_tlsa_fmt(buf, &t) ;
  CHECK(n == 12 && n == ferry_tlsa_fmt(0, &t) && !memcmp(buf, "255 255 255 ", 12), "255s: %.*s", (int)n, buf) ;
  CHECK(ferry_tlsa_next(two, sizeof two - 1, &pos, &t) == 0 && pos == 12, "the end") ;
  pos = 0 ;
  CHECK(ferry_tlsa_next(two, 0, &pos, &t) == 0, "nothing") ;
  for (n = 1 ; n < 7 ; n++)
  {
    pos = 0 ;
    CHECK(ferry_tlsa_next(two, n, &pos, &t) == -1 && pos == 0, "a record cut at %zu", n) ;
  }
  pos = 13 ;
  CHECK(ferry_tlsa_next(two, 12, &pos, &t) == -1, "a position past the end") ;
}

int main (void)
{
  test_head() ;
  test_answer() ;
  test_nxdomain() ;
  test_names() ;
  test_long_names() ;
  test_records() ;
  stralloc_free(&out) ;
  return UNIT_END() ;
}
