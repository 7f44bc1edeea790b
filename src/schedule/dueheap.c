/* ferry-schedule's deferred heap: a binary heap in a growing array. */
 /* Kept over a skalibs avltree keyed by (next attempt, slot): 4 bytes a deferred recipient against 24 (node, free list, key); queue_bench, 30,000 deferred, medians of 3: 203 against 217 bytes a recipient; biglist_bench the same (0.43 s for 1M). */

#include <skalibs/strerr.h>

#include <ferry/array.h>

#include "dueheap.h"

 /* By next attempt, then by slot: recipients due at the same second come out in the order they
    were loaded, so a batch taken from the ready list has neighbouring envelope indexes. */
static int earlier (rcpt const *rcpts, unsigned int a, unsigned int b)
{
  return rcpts[a].next < rcpts[b].next || (rcpts[a].next == rcpts[b].next && a < b) ;
}

static void swap (dueheap *h, rcpt *rcpts, unsigned int i, unsigned int j)
{
  unsigned int t = h->a[i] ; h->a[i] = h->a[j] ; h->a[j] = t ;
  rcpts[h->a[i]].link = i ; rcpts[h->a[j]].link = j ;
}

void dueheap_up (dueheap *h, rcpt *rcpts, unsigned int i)
{
  while (i && earlier(rcpts, h->a[i], h->a[(i - 1) / 2])) { swap(h, rcpts, i, (i - 1) / 2) ; i = (i - 1) / 2 ; }
}

void dueheap_down (dueheap *h, rcpt *rcpts, unsigned int i)
{
  for (;;)
  {
    unsigned int l = 2 * i + 1, r = l + 1, m = i ;
    if (l < h->n && earlier(rcpts, h->a[l], h->a[m])) m = l ;
    if (r < h->n && earlier(rcpts, h->a[r], h->a[m])) m = r ;
    if (m == i) return ;
    swap(h, rcpts, i, m) ;
    i = m ;
  }
}

void dueheap_push (dueheap *h, rcpt *rcpts, unsigned int ri)
{
  if (h->n == h->cap) h->a = ferry_array_grow(h->a, &h->cap, sizeof(unsigned int)) ;
  h->a[h->n] = ri ;
  h->nch[rcpts[ri].ch & 1]++ ;
  rcpts[ri].link = h->n ;
  dueheap_up(h, rcpts, h->n++) ;
}

unsigned int dueheap_pop (dueheap *h, rcpt *rcpts)
{
  unsigned int ri = h->a[0] ;
  h->nch[rcpts[ri].ch & 1]-- ;
  swap(h, rcpts, 0, --h->n) ;
  dueheap_down(h, rcpts, 0) ;
  rcpts[ri].link = -1 ;
  return ri ;
}

void dueheap_remove (dueheap *h, rcpt *rcpts, unsigned int pos)
{
  unsigned int ri = h->a[pos] ;
  h->nch[rcpts[ri].ch & 1]-- ;
  h->n-- ;
  if (pos != h->n)
  {
    h->a[pos] = h->a[h->n] ;
    rcpts[h->a[pos]].link = pos ;
    dueheap_down(h, rcpts, pos) ;
    dueheap_up(h, rcpts, pos) ;
  }
  rcpts[ri].link = -1 ;
}

void dueheap_reorder (dueheap *h, rcpt *rcpts)
{
  unsigned int i ;
  for (i = h->n / 2 + 1 ; i-- ;) dueheap_down(h, rcpts, i) ;
}
