/* A program's metrics snapshot, metrics/PROG/metrics.prom (ferry/metrics.h): written at most once
   a second when something changed, every few seconds anyway (so that ferry-metrics sees that the
   program runs), and at exit. The clock is STAMP (the program's event loop keeps it). */
#ifndef FERRY_METRICS_SNAP_H
#define FERRY_METRICS_SNAP_H

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#define FERRY_METRICS_BEAT 5   /* seconds between two snapshots of a program where nothing changes */

typedef struct ferry_metrics_snap_s ferry_metrics_snap ;
struct ferry_metrics_snap_s
{
  char const *dir ;             /* metrics/PROG, relative to the home */
  int (*fill) (stralloc *) ;    /* appends the program's families: 1, or 0 when out of memory */
  int changed ;                 /* something changed since the last snapshot */
  int failing ;                 /* the last write failed: logged once, until one succeeds */
  tain next ;                   /* no write before then, but at exit */
  tain beat ;                   /* a write then, even if nothing changed */
  stralloc text ;
} ;
#define FERRY_METRICS_SNAP_ZERO(d, f) { .dir = (d), .fill = (f), .changed = 1, .failing = 0, .next = TAIN_ZERO, .beat = TAIN_ZERO, .text = STRALLOC_ZERO }

 /* *deadline, made no later than when the next snapshot is due. */
extern void ferry_metrics_snap_deadline (ferry_metrics_snap const *m, tain *deadline) ;

 /* Writes the snapshot if it is due, or at once with force (at exit). A failure is logged (once)
    and otherwise ignored: the program goes on. */
extern void ferry_metrics_snap_run (ferry_metrics_snap *m, int force) ;

#endif
