/* ferry-schedule's deferred heap: recipients (indices into their table) by next attempt, then by
   slot. Each recipient's link is its position in the heap, so one can be moved or taken out from
   the middle; -1 once it is out. */
#ifndef FERRY_SCHEDULE_DUEHEAP_H
#define FERRY_SCHEDULE_DUEHEAP_H

#include "rcpt.h"

typedef struct dueheap_s dueheap ;
struct dueheap_s
{
  unsigned int *a ;
  unsigned int n, cap ;
  unsigned int nch[2] ;         /* of them, per channel (the recipient's ch) */
} ;
#define DUEHEAP_ZERO { 0, 0, 0, { 0, 0 } }

 /* Adds recipient ri (dies, 111, out of memory). */
extern void dueheap_push (dueheap *h, rcpt *rcpts, unsigned int ri) ;
 /* Takes the earliest; h->n must not be 0. */
extern unsigned int dueheap_pop (dueheap *h, rcpt *rcpts) ;
 /* Takes the recipient at position pos out. */
extern void dueheap_remove (dueheap *h, rcpt *rcpts, unsigned int pos) ;
 /* The recipient at pos is due earlier, or later, than it was: back in its place. */
extern void dueheap_up (dueheap *h, rcpt *rcpts, unsigned int pos) ;
extern void dueheap_down (dueheap *h, rcpt *rcpts, unsigned int pos) ;
 /* Every recipient back in its place, after many of their next attempts changed. */
extern void dueheap_reorder (dueheap *h, rcpt *rcpts) ;

#endif
