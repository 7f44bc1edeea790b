/* A heap of timers by time: each id (a small index) at most once, found, moved or taken out in
   O(log n) through a position table indexed by id. ferry-schedule's shaping keys wait in one:
   the loop's deadline is the earliest, never a scan of every key. */
#ifndef FERRY_SCHEDULE_TIMEHEAP_H
#define FERRY_SCHEDULE_TIMEHEAP_H

#include <stdint.h>

typedef struct timer_s timer ;
struct timer_s
{
  uint64_t at ;
  unsigned int id ;
} ;

typedef struct timeheap_s timeheap ;
struct timeheap_s
{
  timer *a ;
  unsigned int n, cap ;
  unsigned int *pos ;   /* by id: its position + 1; 0 when not in the heap */
  unsigned int npos ;
} ;
#define TIMEHEAP_ZERO { 0, 0, 0, 0, 0 }

 /* id's timer at at: added, or moved (dies, 111, out of memory). */
extern void timeheap_set (timeheap *h, unsigned int id, uint64_t at) ;
 /* id's timer taken out, if it is in. */
extern void timeheap_del (timeheap *h, unsigned int id) ;
 /* The earliest timer's id, its time in *at; -1 when the heap is empty. */
extern int timeheap_top (timeheap const *h, uint64_t *at) ;
 /* Is id in the heap? */
extern int timeheap_has (timeheap const *h, unsigned int id) ;

#endif
