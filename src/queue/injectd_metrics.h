/* ferry-injectd's counters and its metrics snapshot, metrics/injectd/metrics.prom
   (injectd_metrics.c): one call at each event. */
#ifndef FERRY_INJECTD_METRICS_H
#define FERRY_INJECTD_METRICS_H

#include <stdint.h>

#include <skalibs/tai.h>

extern void injectd_metrics_message (uint64_t bytes) ;   /* a message committed: the bytes its client sent */
extern void injectd_metrics_commit (void) ;               /* a batch committed */
extern void injectd_metrics_refused (void) ;              /* an injection answered with an error */

 /* The loop's deadline made no later than the next snapshot; the snapshot when it is due (force: at exit). */
extern void injectd_metrics_deadline (tain *deadline) ;
extern void injectd_metrics_run (int force) ;

#endif
