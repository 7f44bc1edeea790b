/* ferry_bounce_record_cat, ferry_bounce_record_take: the records of queue/bounce/. */

#include <string.h>

#include <ferry/dsn.h>

static void hex (char *s, uint64_t u, unsigned int digits)
{
  unsigned int k ;
  for (k = 0 ; k < digits ; k++) s[k] = "0123456789abcdef"[(u >> (4 * (digits - 1 - k))) & 15] ;
}

static int unhex (char const *s, unsigned int digits, uint64_t *u)
{
  unsigned int k ;
  *u = 0 ;
  for (k = 0 ; k < digits ; k++)
  {
    char c = s[k] ;
    unsigned int v ;
    if (c >= '0' && c <= '9') v = c - '0' ;
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10 ;
    else return 0 ;
    *u = (*u << 4) | v ;
  }
  return 1 ;
}

int ferry_bounce_record_cat (stralloc *sa, ferry_bounce_record const *r)
{
  char head[FERRY_BOUNCE_HEAD] ;
  head[0] = r->kind ;
  head[1] = r->channel ;
  hex(head + 2, r->index, 8) ;
  hex(head + 10, r->when, 16) ;
  return stralloc_catb(sa, head, FERRY_BOUNCE_HEAD)
    && stralloc_cats(sa, r->rcpt) && stralloc_0(sa)
    && stralloc_cats(sa, r->text) && stralloc_0(sa) ;
}

int ferry_bounce_record_take (char const *s, size_t len, size_t *pos, ferry_bounce_record *r)
{
  size_t p = *pos, a, t ;
  uint64_t idx ;
  if (p >= len) return 0 ;
  if (len - p < FERRY_BOUNCE_HEAD) return -1 ;
  if (s[p] != 'D' && s[p] != 'S' && s[p] != 'Z') return -1 ;
  if (s[p+1] != 'L' && s[p+1] != 'R') return -1 ;
  if (!unhex(s + p + 2, 8, &idx) || !unhex(s + p + 10, 16, &r->when)) return -1 ;
  a = p + FERRY_BOUNCE_HEAD ;
  t = a + strnlen(s + a, len - a) ;
  if (t == len || t == a) return -1 ;
  t++ ;
  if (t + strnlen(s + t, len - t) == len) return -1 ;
  r->kind = s[p] ;
  r->channel = s[p+1] ;
  r->index = (uint32_t)idx ;
  r->rcpt = s + a ;
  r->text = s + t ;
  *pos = t + strlen(s + t) + 1 ;
  return 1 ;
}
