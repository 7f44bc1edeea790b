/* ferry-spawn-local's counters and its metrics snapshot, metrics/local/metrics.prom
   (local_metrics.c): one call at each event. */
#ifndef FERRY_LOCAL_METRICS_H
#define FERRY_LOCAL_METRICS_H

#include <skalibs/tai.h>

extern void local_metrics_result (char status) ;   /* a recipient's answer: K, Z or D */

 /* The loop's deadline made no later than the next snapshot; the snapshot when it is due (force:
    at exit). The syncs are syncgroup.c's own counts. */
extern void local_metrics_deadline (tain *deadline) ;
extern void local_metrics_run (int force) ;

#endif
