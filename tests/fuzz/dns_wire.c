/* Fuzz target: a DNS answer from a resolver as the DANE lookups read it (ferry_dns_head_parse,
   ferry_dns_tlsa, ferry_tlsa_next, ferry_tlsa_fmt). Properties: the header is read from 12
   bytes on; a refusal leaves out and the TTL as they were; every record ferry_dns_tlsa wrote is
   read back by ferry_tlsa_next, as many as it said and nothing after, each with its usage,
   selector, type and data found in the message; the TTL is at most 2^31 - 1; bytes after the
   message change nothing; ferry_tlsa_fmt gives the length it writes, three numbers and lower-case
   hex that is the data again. The input is also read as records, as ferry_tlsa_next would. */

#include <ferry/dns_wire.h>

#include "fuzz.h"

static int hexval (char c)
{
  if (c >= '0' && c <= '9') return c - '0' ;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10 ;
  return -1 ;
}

 /* ferry_tlsa_fmt of t: the same length with and without s, "N N N " then the data in hex */
static void fmt_ok (ferry_tlsa const *t)
{
  size_t n = ferry_tlsa_fmt(0, t), i, w = 0 ;
  char *s = malloc(n) ;
  unsigned int field[3] = { t->usage, t->selector, t->mtype }, k ;
  if (!s) abort() ;
  FUZZ_ASSERT(ferry_tlsa_fmt(s, t) == n) ;
  for (k = 0 ; k < 3 ; k++)
  {
    unsigned int v = 0 ;
    size_t start = w ;
    while (w < n && s[w] >= '0' && s[w] <= '9') v = v * 10 + (s[w++] - '0') ;
    FUZZ_ASSERT(w > start && w - start <= 3 && (w - start == 1 || s[start] != '0')) ;
    FUZZ_ASSERT(v == field[k] && w < n && s[w] == ' ') ;
    w++ ;
  }
  FUZZ_ASSERT(n - w == 2 * t->len) ;
  for (i = 0 ; i < t->len ; i++)
  {
    int hi = hexval(s[w + 2 * i]), lo = hexval(s[w + 2 * i + 1]) ;
    FUZZ_ASSERT(hi >= 0 && lo >= 0 && (hi << 4 | lo) == t->data[i]) ;
  }
  free(s) ;
}

 /* 1 if n bytes of p appear in buf[0..len) */
static int found (unsigned char const *buf, size_t len, unsigned char const *p, size_t n)
{
  size_t i ;
  if (n > len) return 0 ;
  for (i = 0 ; i + n <= len ; i++) if (!memcmp(buf + i, p, n)) return 1 ;
  return 0 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  unsigned char *m = (unsigned char *)fuzz_piece((char const *)data, size) ;
  stralloc out = STRALLOC_ZERO, again = STRALLOC_ZERO ;
  ferry_dns_head h ;
  ferry_tlsa t ;
  uint32_t ttl = 0xdeadbeef, ttl2 = 0xdeadbeef ;
  size_t pos ;
  int r, k, count = 0 ;

  FUZZ_ASSERT(ferry_dns_head_parse(m, size, &h) == (size >= 12)) ;
  if (size >= 12)
  {
    FUZZ_ASSERT(h.qr <= 1 && h.tc <= 1 && h.rd <= 1 && h.ra <= 1 && h.ad <= 1 && h.cd <= 1 && h.rcode < 16) ;
    FUZZ_ASSERT(h.id == (m[0] << 8 | m[1]) && h.an == (m[6] << 8 | m[7])) ;
  }

  if (!stralloc_catb(&out, "before", 6)) abort() ;
  r = ferry_dns_tlsa(m, size, &out, &ttl) ;
  FUZZ_ASSERT(r >= -1) ;
  if (r <= 0)
  {
    FUZZ_ASSERT(out.len == 6 && !memcmp(out.s, "before", 6) && ttl == 0xdeadbeef) ;
    FUZZ_ASSERT(r < 0 || size >= 12) ;
  }
  else
  {
    FUZZ_ASSERT(size >= 12 && r <= h.an && ttl <= 0x7fffffffU && !memcmp(out.s, "before", 6)) ;
    pos = 6 ;
    while ((k = ferry_tlsa_next(out.s, out.len, &pos, &t)) == 1)
    {
      unsigned char *rdata = malloc(3 + t.len) ;
      if (!rdata) abort() ;
      rdata[0] = t.usage ; rdata[1] = t.selector ; rdata[2] = t.mtype ;
      memcpy(rdata + 3, t.data, t.len) ;
      if (size <= 4096) FUZZ_ASSERT(found(m, size, rdata, 3 + t.len)) ;
      free(rdata) ;
      fmt_ok(&t) ;
      count++ ;
    }
    FUZZ_ASSERT(k == 0 && pos == out.len && count == r) ;
  }

  /* the same message with bytes after it: the same answer */
  {
    unsigned char *longer = malloc(size + 7) ;
    int r2 ;
    if (!longer) abort() ;
    memcpy(longer, m, size) ;
    memcpy(longer + size, "\300\014\0\064\0\001\0", 7) ;
    r2 = ferry_dns_tlsa(longer, size + 7, &again, &ttl2) ;
    if (r >= 0) FUZZ_ASSERT(r2 == r && again.len == out.len - 6 && (!r || !memcmp(again.s, out.s + 6, again.len)) && ttl2 == ttl) ;
    free(longer) ;
  }

  /* the input itself as stored records */
  pos = 0 ;
  while ((k = ferry_tlsa_next((char const *)m, size, &pos, &t)) == 1)
  {
    FUZZ_ASSERT(t.data >= m + 5 && t.data + t.len <= m + size && pos <= size) ;
    fmt_ok(&t) ;
  }
  FUZZ_ASSERT(k == 0 ? pos == size : k == -1 && pos <= size) ;

  stralloc_free(&out) ;
  stralloc_free(&again) ;
  free(m) ;
  return 0 ;
}
