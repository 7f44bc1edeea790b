/* ferry_defer_record_cat, ferry_defer_record_take: the records of queue/defer/. */

#include <stdlib.h>
#include <string.h>

#include <ferry/defer.h>
#include <ferry/queue.h>

static int u32_cmp (void const *a, void const *b)
{
  uint32_t x = *(uint32_t const *)a, y = *(uint32_t const *)b ;
  return x < y ? -1 : x > y ;
}

int ferry_defer_record_cat (stralloc *sa, char channel, uint64_t when, uint32_t *idx, unsigned int n, char const *text)
{
  size_t head = sa->len ;
  unsigned int i, nr = 0 ;
  char h[16] ;
  if (!stralloc_readyplus(sa, FERRY_DEFER_HEAD)) return 0 ;
  sa->s[head] = 'G' ;
  sa->s[head + 1] = channel ;
  ferry_hex_fmt(sa->s + head + 10, when, 16) ;
  sa->len += FERRY_DEFER_HEAD ;
  qsort(idx, n, sizeof(uint32_t), &u32_cmp) ;
  for (i = 0 ; i < n ; )
  {
    unsigned int j = i ;
    while (j + 1 < n && idx[j + 1] <= idx[j] + 1) j++ ;
    ferry_hex_fmt(h, idx[i], 8) ;
    ferry_hex_fmt(h + 8, idx[j], 8) ;
    if (!stralloc_catb(sa, h, 16)) return 0 ;
    nr++ ;
    i = j + 1 ;
  }
  ferry_hex_fmt(sa->s + head + 2, nr, 8) ;
  return stralloc_0(sa) && stralloc_cats(sa, text) && stralloc_0(sa) ;
}

int ferry_defer_record_take (char const *s, size_t len, size_t *pos, ferry_defer_record *r)
{
  size_t p = *pos, a, t ;
  uint64_t nr, u ;
  unsigned int i ;
  if (p >= len) return 0 ;
  if (len - p < FERRY_DEFER_HEAD || s[p] != 'G') return -1 ;
  if (s[p+1] != 'L' && s[p+1] != 'R') return -1 ;
  if (!ferry_hex_scan(s + p + 2, 8, &nr) || !ferry_hex_scan(s + p + 10, 16, &r->when)) return -1 ;
  a = p + FERRY_DEFER_HEAD ;
  if (!nr || (len - a) / 16 < nr) return -1 ;
  for (i = 0 ; i < 2 * nr ; i++) if (!ferry_hex_scan(s + a + 8 * i, 8, &u)) return -1 ;
  t = a + 16 * nr ;
  if (t >= len || s[t]) return -1 ;
  t++ ;
  if (t + strnlen(s + t, len - t) == len) return -1 ;
  r->channel = s[p+1] ;
  r->ranges = s + a ;
  r->nranges = nr ;
  r->text = s + t ;
  *pos = t + strlen(s + t) + 1 ;
  return 1 ;
}

void ferry_defer_record_range (ferry_defer_record const *r, unsigned int i, uint32_t *first, uint32_t *last)
{
  uint64_t u ;
  ferry_hex_scan(r->ranges + 16 * i, 8, &u) ; *first = (uint32_t)u ;
  ferry_hex_scan(r->ranges + 16 * i + 8, 8, &u) ; *last = (uint32_t)u ;
}
