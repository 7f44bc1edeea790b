/* ferry-schedule's shaping arithmetic, apart from its state: a key's token bucket, the steps of
   its adaptive lowering and recovery, and the count of messages sent in the last minute. */
#ifndef FERRY_SCHEDULE_SHAPE_H
#define FERRY_SCHEDULE_SHAPE_H

#include <stdint.h>

 /* A token bucket of burst tokens refilled at one token every interval nanoseconds, kept as the
    time the bucket would be full again (tat, a monotonic clock's nanoseconds): no fractions of
    a token, no refill to run. A message may go at now when tat <= now + (burst - 1) * interval;
    it sets tat to max(tat, now) + interval. tat 0: full. */
typedef struct bucket_s bucket ;
struct bucket_s
{
  uint64_t tat ;
  uint64_t interval ;   /* 0: no rate */
  unsigned int burst ;  /* at least 1 */
} ;

 /* Nanoseconds between two tokens of rate per unit ('s', 'm' or 'h'); rate must not be 0. */
extern uint64_t bucket_interval (uint64_t rate, char unit) ;
 /* Tokens in the bucket at now, at most burst. */
extern unsigned int bucket_tokens (bucket const *b, uint64_t now) ;
 /* One token taken at now (there must be one). */
extern void bucket_take (bucket *b, uint64_t now) ;
 /* When the next token comes: now when there is one. */
extern uint64_t bucket_next (bucket const *b, uint64_t now) ;

 /* A throttling reply: the effective connections halved (at least 1); the effective rate
    halved, at least a tenth of the configured one (and at least 1). */
extern unsigned int shape_lower_conn (unsigned int eff) ;
extern uint64_t shape_lower_rate (uint64_t conf, uint64_t eff) ;
 /* A step of recovery: up by a tenth of the configured value (at least 1), at most to it. */
extern unsigned int shape_raise_conn (unsigned int conf, unsigned int eff) ;
extern uint64_t shape_raise_rate (uint64_t conf, uint64_t eff) ;

 /* Messages sent per second over the last 60 seconds, a slot per second. */
typedef struct persec_s persec ;
struct persec_s
{
  uint32_t n[60] ;
  uint64_t last ;       /* the second of the latest slot written */
} ;
extern void persec_add (persec *p, uint64_t sec) ;
 /* Messages sent in the 60 seconds up to sec, included. */
extern uint64_t persec_sum (persec const *p, uint64_t sec) ;

#endif
