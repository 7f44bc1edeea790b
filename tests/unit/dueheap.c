/* Unit tests of ferry-schedule's deferred heap (src/schedule/dueheap.c): recipients come out by
   next attempt, then by slot; each one's link is its position while it is in and -1 after; one
   taken out from the middle or moved earlier leaves the others in order; the heap grows past its
   first array. */

#include <stdlib.h>

#include "schedule/dueheap.h"

#include "unit.h"

#define N 3000

static rcpt r[N] ;

 /* Every link names its position, and no parent comes after its children. */
static int sound (dueheap const *h)
{
  unsigned int i ;
  for (i = 0 ; i < h->n ; i++)
  {
    if (r[h->a[i]].link != (int)i) return 0 ;
    if (i && (r[h->a[(i - 1) / 2]].next > r[h->a[i]].next
      || (r[h->a[(i - 1) / 2]].next == r[h->a[i]].next && h->a[(i - 1) / 2] > h->a[i]))) return 0 ;
  }
  return 1 ;
}

int main (void)
{
  dueheap h = DUEHEAP_ZERO ;
  unsigned int i, last, lastri, bad = 0, popped = 0 ;
  srandom(7) ;
  for (i = 0 ; i < N ; i++)
  {
    r[i].next = 1000 + (uint32_t)(random() % 500) ;   /* many at the same second */
    r[i].link = -1 ;
    dueheap_push(&h, r, i) ;
  }
  CHECK(h.n == N && h.cap >= N, "the heap grew to hold %u: n %u cap %u", N, h.n, h.cap) ;
  CHECK(sound(&h), "every link is its position after %u pushes", N) ;

  /* out of the middle: every third one still in */
  for (i = 0 ; i < N ; i += 3) dueheap_remove(&h, r, r[i].link) ;
  CHECK(h.n == N - (N + 2) / 3, "%u left after the removals", h.n) ;
  CHECK(sound(&h), "the heap is sound after removals from the middle") ;
  for (i = 0 ; i < N ; i += 3) if (r[i].link != -1) bad++ ;
  CHECK(!bad, "%u removed recipients still have a position", bad) ;

  /* one moved earlier (a release, a requeue): first out */
  r[1].next = 10 ;
  dueheap_up(&h, r, r[1].link) ;
  CHECK(h.a[0] == 1, "a recipient due earlier comes first: %u", h.a[0]) ;

  /* many moved at once (a destination accepting mail again): reordered whole */
  for (i = 2 ; i < N ; i += 3) r[i].next = 20 ;
  dueheap_reorder(&h, r) ;
  CHECK(sound(&h), "the heap is sound after a reorder") ;

  /* all out: by next attempt, then by slot */
  last = 0 ; lastri = 0 ;
  while (h.n)
  {
    unsigned int ri = dueheap_pop(&h, r) ;
    if (popped && (r[ri].next < last || (r[ri].next == last && ri < lastri))) bad++ ;
    if (r[ri].link != -1) bad++ ;
    last = r[ri].next ; lastri = ri ;
    popped++ ;
  }
  CHECK(!bad, "%u recipients came out of order (or kept a position)", bad) ;
  CHECK(popped == N - (N + 2) / 3, "every recipient left came out once: %u", popped) ;
  free(h.a) ;
  return UNIT_END() ;
}
