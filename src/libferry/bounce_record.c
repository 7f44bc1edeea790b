/* ferry_bounce_record_cat, ferry_bounce_record_take: the records of queue/bounce/. */

#include <string.h>

#include <ferry/dsn.h>
#include <ferry/queue.h>

int ferry_bounce_record_cat (stralloc *sa, ferry_bounce_record const *r)
{
  char head[FERRY_BOUNCE_HEAD] ;
  head[0] = r->kind ;
  head[1] = r->channel ;
  ferry_hex_fmt(head + 2, r->index, 8) ;
  ferry_hex_fmt(head + 10, r->when, 16) ;
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
  if (!ferry_hex_scan(s + p + 2, 8, &idx) || !ferry_hex_scan(s + p + 10, 16, &r->when)) return -1 ;
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
