/* The spacing of the syncs of the queue's file system made for batches of mail (ferry-schedule's
   marks, ferry-preprocess-todo's recipient files, ferry-clean's todo removals): two of one program
   start at least FERRY_SYNCGAP_MS apart. A sync writes every metadata block changed since the one
   before (allocation bitmaps, inode tables, directory blocks), then has the disk flush its cache,
   and the next messages change most of those blocks again: spaced out, a block changed by the
   messages of several batches is written once for all of them, and each batch is larger. A sync
   asked for after a quiet spell starts at once. ferry-injectd's group commit is not spaced: its
   clients wait for it. */
#ifndef FERRY_SYNCGAP_H
#define FERRY_SYNCGAP_H

#include <skalibs/tai.h>

#define FERRY_SYNCGAP_MS 10

 /* The earliest start of the next sync: TAIN_ZERO (the past) at first. */
typedef struct ferry_syncgap_s ferry_syncgap ;
struct ferry_syncgap_s
{
  tain next ;
} ;
#define FERRY_SYNCGAP_ZERO { .next = TAIN_ZERO }

 /* 1 if a sync may start now (STAMP, the time of the loop's last wake). */
extern int ferry_syncgap_due (ferry_syncgap const *g) ;

 /* Called as a sync starts: the clock read (STAMP set) and the next earliest start set. */
extern void ferry_syncgap_start (ferry_syncgap *g) ;

 /* Lowers *deadline to the next earliest start. */
extern void ferry_syncgap_deadline (ferry_syncgap const *g, tain *deadline) ;

#endif
