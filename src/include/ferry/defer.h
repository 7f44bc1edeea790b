/* The records of queue/defer/ (doc/queue.html): what each deferral said, for ferry-qread. */
#ifndef FERRY_DEFER_H
#define FERRY_DEFER_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

 /* A batch's record: G, channel, 8 hex count of ranges, 16 hex time, then the ranges of envelope
    indexes (8 hex first, 8 hex last, each) \0 text \0. */
#define FERRY_DEFER_HEAD 26

typedef struct ferry_defer_record_s ferry_defer_record ;
struct ferry_defer_record_s
{
  char channel ;        /* L local, R remote */
  uint64_t when ;       /* the attempt, seconds since the Epoch */
  char const *ranges ;  /* nranges pairs of 8 hex digits */
  unsigned int nranges ;
  char const *text ;
} ;

 /* Appends a record for the envelope indexes idx[0..n) (sorted or not) to sa. 0: out of memory. */
extern int ferry_defer_record_cat (stralloc *sa, char channel, uint64_t when, uint32_t *idx, unsigned int n, char const *text) ;

 /* Takes the record at *pos into r: 1; 0 at the end; -1 when malformed or truncated. */
extern int ferry_defer_record_take (char const *s, size_t len, size_t *pos, ferry_defer_record *r) ;

 /* Range i of a record taken: first and last index. */
extern void ferry_defer_record_range (ferry_defer_record const *r, unsigned int i, uint32_t *first, uint32_t *last) ;

#endif
