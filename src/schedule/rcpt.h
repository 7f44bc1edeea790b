/* ferry-schedule's recipient: one slot of its table (sched.rcpts) per recipient loaded. */
#ifndef FERRY_SCHEDULE_RCPT_H
#define FERRY_SCHEDULE_RCPT_H

#include <stdint.h>

typedef struct rcpt_s rcpt ;
struct rcpt_s
{
  char const *addr ;    /* in its message's strings block */
  unsigned int msg ;
  uint32_t off ;        /* the record's offset in its file */
  uint32_t next ;       /* next attempt, seconds since the Epoch */
  int link ;            /* the deferred heap position; -1 nowhere, -2 in a ready list; the next free slot when free */
  uint32_t eidx ;       /* its envelope index */
  char ch ;
  char status ;         /* T, K, D; 'F' in flight */
  unsigned char notify ; /* its NOTIFY bits (ferry/dsn.h), 0 when none given */
} ;

#endif
