/* ferry_dns_head_parse, ferry_dns_tlsa, ferry_tlsa_next, ferry_tlsa_fmt: DNS answers on the wire
   and the TLSA records in them. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/dns_wire.h>

#define DNS_HEAD 12          /* the header's bytes */
#define DNS_NAME_MAX 255     /* a name's bytes, its length bytes and final zero counted */
#define DNS_LABELS_MAX 127   /* the labels of a name of 255 bytes, so the most pointers it needs */
#define DNS_T_TLSA 52
#define DNS_C_IN 1

static uint16_t get16 (unsigned char const *p)
{
  return (uint16_t)(p[0] << 8 | p[1]) ;
}

static uint32_t get32 (unsigned char const *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] ;
}

int ferry_dns_head_parse (unsigned char const *buf, size_t len, ferry_dns_head *h)
{
  if (len < DNS_HEAD) return 0 ;
  h->id = get16(buf) ;
  h->qr = buf[2] >> 7 ;
  h->tc = buf[2] >> 1 & 1 ;
  h->rd = buf[2] & 1 ;
  h->ra = buf[3] >> 7 ;
  h->ad = buf[3] >> 5 & 1 ;
  h->cd = buf[3] >> 4 & 1 ;
  h->rcode = buf[3] & 15 ;
  h->qd = get16(buf + 4) ;
  h->an = get16(buf + 6) ;
  h->ns = get16(buf + 8) ;
  h->ar = get16(buf + 10) ;
  return 1 ;
}

 /* Skips the name at *pos of buf[0..len): 1 with *pos just past it in the message (past its
    first pointer, or past its final zero), 0 if it is malformed. A pointer must point before
    the start of the part of the name it ends, so every jump goes back and none loops; a chain
    of pointers is bounded besides. */
static int name_skip (unsigned char const *buf, size_t len, size_t *pos)
{
  size_t i = *pos, start = *pos, end = 0 ;
  unsigned int total = 0, jumps = 0 ;
  for (;;)
  {
    unsigned char c ;
    if (i >= len) return 0 ;
    c = buf[i] ;
    if ((c & 0xc0) == 0xc0)
    {
      size_t to ;
      if (len - i < 2) return 0 ;
      to = (size_t)(c & 0x3f) << 8 | buf[i + 1] ;
      if (to < DNS_HEAD || to >= start || ++jumps > DNS_LABELS_MAX) return 0 ;
      if (jumps == 1) end = i + 2 ;
      start = i = to ;
    }
    else if (c & 0xc0) return 0 ;   /* the extended label types: not in answers ferry reads */
    else
    {
      total += 1 + c ;
      if (total > DNS_NAME_MAX) return 0 ;
      if (!c) break ;
      if (len - i - 1 < c) return 0 ;
      i += 1 + c ;
    }
  }
  *pos = jumps ? end : i + 1 ;
  return 1 ;
}

int ferry_dns_tlsa (unsigned char const *buf, size_t len, stralloc *out, uint32_t *ttl)
{
  ferry_dns_head h ;
  size_t pos = DNS_HEAD, start = out->len ;
  uint32_t least = 0 ;
  unsigned int i ;
  int n = 0 ;
  if (!ferry_dns_head_parse(buf, len, &h)) return -1 ;
  for (i = 0 ; i < h.qd ; i++)
  {
    /* the question: a name, its type and class */
    if (!name_skip(buf, len, &pos) || len - pos < 4) return -1 ;
    pos += 4 ;
  }
  for (i = 0 ; i < h.an ; i++)
  {
    uint16_t type, class, rdlen ;
    uint32_t t ;
    if (!name_skip(buf, len, &pos) || len - pos < 10) goto bad ;
    type = get16(buf + pos) ;
    class = get16(buf + pos + 2) ;
    t = get32(buf + pos + 4) ;
    rdlen = get16(buf + pos + 8) ;
    pos += 10 ;
    if (len - pos < rdlen) goto bad ;
    if (type == DNS_T_TLSA && class == DNS_C_IN)
    {
      char rec[5] ;
      if (rdlen < 3) goto bad ;
      memcpy(rec, buf + pos, 3) ;
      rec[3] = (char)((rdlen - 3) >> 8) ;
      rec[4] = (char)((rdlen - 3) & 255) ;
      if (!stralloc_catb(out, rec, 5) || !stralloc_catb(out, (char const *)buf + pos + 3, rdlen - 3))
      {
        out->len = start ;
        return -2 ;
      }
      if (t > 0x7fffffffU) t = 0 ;
      if (!n || t < least) least = t ;
      n++ ;
    }
    pos += rdlen ;
  }
  if (n) *ttl = least ;
  return n ;
 bad:
  out->len = start ;
  return -1 ;
}

int ferry_tlsa_next (char const *s, size_t n, size_t *pos, ferry_tlsa *t)
{
  size_t p = *pos, dlen ;
  unsigned char const *u ;
  if (p == n) return 0 ;
  if (p > n || n - p < 5) return -1 ;
  u = (unsigned char const *)s + p ;
  dlen = (size_t)u[3] << 8 | u[4] ;
  if (n - p - 5 < dlen) return -1 ;
  t->usage = u[0] ;
  t->selector = u[1] ;
  t->mtype = u[2] ;
  t->data = u + 5 ;
  t->len = dlen ;
  *pos = p + 5 + dlen ;
  return 1 ;
}

 /* u in decimal at s (s = 0: nothing written); its length */
static size_t dec_fmt (char *s, unsigned int u)
{
  char buf[UINT_FMT] ;
  size_t n = uint_fmt(buf, u) ;
  if (s) memcpy(s, buf, n) ;
  return n ;
}

size_t ferry_tlsa_fmt (char *s, ferry_tlsa const *t)
{
  unsigned char const field[3] = { t->usage, t->selector, t->mtype } ;
  size_t w = 0, i ;
  for (i = 0 ; i < 3 ; i++)
  {
    w += dec_fmt(s ? s + w : 0, field[i]) ;
    if (s) s[w] = ' ' ;
    w++ ;
  }
  if (s)
    for (i = 0 ; i < t->len ; i++)
    {
      s[w + 2 * i] = "0123456789abcdef"[t->data[i] >> 4] ;
      s[w + 2 * i + 1] = "0123456789abcdef"[t->data[i] & 15] ;
    }
  return w + 2 * t->len ;
}
