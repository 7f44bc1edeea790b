/* ferry-schedule, the deferred heap (recipients by next attempt) and the ready rings (recipients due now). */

#include "schedule.h"

/* ---------- sets of recipients: the deferred heap and the ready lists ---------- */

 /* By next attempt, then by slot: recipients due at the same second come out in the order they
    were loaded, so a batch taken from the ready list has neighbouring envelope indexes. */
int earlier (unsigned int a, unsigned int b) { return sched.rcpts[a].next < sched.rcpts[b].next || (sched.rcpts[a].next == sched.rcpts[b].next && a < b) ; }

static void heap_swap (unsigned int i, unsigned int j)
{
  unsigned int t = sched.heap[i] ; sched.heap[i] = sched.heap[j] ; sched.heap[j] = t ;
  sched.rcpts[sched.heap[i]].link = i ; sched.rcpts[sched.heap[j]].link = j ;
}

void heap_up (unsigned int i)
{
  while (i && earlier(sched.heap[i], sched.heap[(i - 1) / 2])) { heap_swap(i, (i - 1) / 2) ; i = (i - 1) / 2 ; }
}

void heap_down (unsigned int i)
{
  for (;;)
  {
    unsigned int l = 2 * i + 1, r = l + 1, m = i ;
    if (l < sched.nheap && earlier(sched.heap[l], sched.heap[m])) m = l ;
    if (r < sched.nheap && earlier(sched.heap[r], sched.heap[m])) m = r ;
    if (m == i) return ;
    heap_swap(i, m) ;
    i = m ;
  }
}

void heap_push (unsigned int ri)
{
  if (sched.nheap == sched.aheap) sched.heap = ferry_array_grow(sched.heap, &sched.aheap, sizeof(unsigned int)) ;
  sched.heap[sched.nheap] = ri ;
  sched.rcpts[ri].link = sched.nheap ;
  heap_up(sched.nheap++) ;
}

unsigned int heap_pop (void)
{
  unsigned int ri = sched.heap[0] ;
  heap_swap(0, --sched.nheap) ;
  heap_down(0) ;
  sched.rcpts[ri].link = -1 ;
  return ri ;
}

void ready_push (unsigned int ri)
{
  idring_push(&sched.ready[(int)sched.rcpts[ri].ch], ri) ;
  sched.rcpts[ri].link = -2 ;
}

 /* The next entry of a ready ring, or -1 for a stale one: an entry is only good while its
    recipient's link says it is in a ready list (-2). A recipient taken out another way (folded
    into a transaction, its message forgotten, its slot reused) just leaves its entry to be
    skipped here. */
int ready_pop (int ch)
{
  unsigned int ri = idring_pop(&sched.ready[ch]) ;
  if (sched.rcpts[ri].link != -2) return -1 ;
  sched.rcpts[ri].link = -1 ;
  return (int)ri ;
}

 /* Takes a recipient out of the deferred heap. */
void heap_remove (unsigned int pos)
{
  unsigned int ri = sched.heap[pos] ;
  sched.nheap-- ;
  if (pos != sched.nheap)
  {
    sched.heap[pos] = sched.heap[sched.nheap] ;
    sched.rcpts[sched.heap[pos]].link = pos ;
    heap_down(pos) ;
    heap_up(pos) ;
  }
  sched.rcpts[ri].link = -1 ;
}
