/* ferry-schedule's backoff: when a deferred recipient, a failing destination or a failed run of
   ferry-bounce-build is tried again, between control/minbackoff and control/maxbackoff. */
#ifndef FERRY_SCHEDULE_BACKOFF_H
#define FERRY_SCHEDULE_BACKOFF_H

#include <stdint.h>

typedef struct backoff_s backoff ;
struct backoff_s
{
  uint64_t min, max ;   /* seconds; max >= min */
} ;

 /* The next attempt of a message born at birth, deferred at now: its age, within [min, max],
    plus a spread of up to a tenth (random()). */
extern uint32_t backoff_next (backoff const *b, uint32_t birth, uint32_t now) ;
 /* How long a destination that failed failures (>= 1) times in a row is left alone: min, doubled
    at each failure (at most 2^10 times), at most max, plus a spread of up to a tenth. */
extern uint64_t backoff_dest (backoff const *b, unsigned int failures) ;

#endif
