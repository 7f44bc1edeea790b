/* timeheap: a binary heap in a growing array, positions kept per id. */

#include <ferry/array.h>

#include "timeheap.h"

static void put (timeheap *h, unsigned int i, timer t)
{
  h->a[i] = t ;
  h->pos[t.id] = i + 1 ;
}

static void up (timeheap *h, unsigned int i)
{
  timer t = h->a[i] ;
  while (i && t.at < h->a[(i - 1) / 2].at)
  {
    put(h, i, h->a[(i - 1) / 2]) ;
    i = (i - 1) / 2 ;
  }
  put(h, i, t) ;
}

static void down (timeheap *h, unsigned int i)
{
  timer t = h->a[i] ;
  for (;;)
  {
    unsigned int l = 2 * i + 1, m = l ;
    if (l >= h->n) break ;
    if (l + 1 < h->n && h->a[l + 1].at < h->a[l].at) m = l + 1 ;
    if (h->a[m].at >= t.at) break ;
    put(h, i, h->a[m]) ;
    i = m ;
  }
  put(h, i, t) ;
}

void timeheap_set (timeheap *h, unsigned int id, uint64_t at)
{
  unsigned int i ;
  while (id >= h->npos) h->pos = ferry_array_grow(h->pos, &h->npos, sizeof(unsigned int)) ;
  if (h->pos[id])
  {
    i = h->pos[id] - 1 ;
    if (at < h->a[i].at) { h->a[i].at = at ; up(h, i) ; }
    else { h->a[i].at = at ; down(h, i) ; }
    return ;
  }
  if (h->n == h->cap) h->a = ferry_array_grow(h->a, &h->cap, sizeof(timer)) ;
  i = h->n++ ;
  h->a[i].at = at ;
  h->a[i].id = id ;
  up(h, i) ;
}

void timeheap_del (timeheap *h, unsigned int id)
{
  unsigned int i ;
  if (id >= h->npos || !h->pos[id]) return ;
  i = h->pos[id] - 1 ;
  h->pos[id] = 0 ;
  if (i == --h->n) return ;
  h->a[i] = h->a[h->n] ;
  h->pos[h->a[i].id] = i + 1 ;
  if (i && h->a[i].at < h->a[(i - 1) / 2].at) up(h, i) ;
  else down(h, i) ;
}

int timeheap_top (timeheap const *h, uint64_t *at)
{
  if (!h->n) return -1 ;
  *at = h->a[0].at ;
  return (int)h->a[0].id ;
}

int timeheap_has (timeheap const *h, unsigned int id)
{
  return id < h->npos && h->pos[id] ;
}
