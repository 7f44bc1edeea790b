/* ferry-schedule, the ready rings: recipients due now (the deferred heap is dueheap.c), and the
   count of recipients in them and parked (a recipient's link: -2 ready, -3 parked on a
   destination or a shaping key). */

#include "schedule.h"

void ready_push (unsigned int ri)
{
  rcpt *r = sched.rcpts + ri ;
  idring_push(&sched.ready[(int)r->ch], ri) ;
  if (r->link == -3) sched.nparked-- ;
  if (r->link != -2) sched.nready[(int)r->ch]++ ;
  r->link = -2 ;
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
  sched.nready[ch]-- ;
  return (int)ri ;
}

void rcpt_unlink (unsigned int ri)
{
  rcpt *r = sched.rcpts + ri ;
  if (r->link == -2) sched.nready[(int)r->ch]-- ;
  else if (r->link == -3) sched.nparked-- ;
  r->link = -1 ;
}
