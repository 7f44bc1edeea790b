/* ferry-spawn-remote's counters and its metrics snapshot, metrics/remote/metrics.prom (metrics.c):
   one call at each event. */
#ifndef FERRY_REMOTE_METRICS_H
#define FERRY_REMOTE_METRICS_H

#include <stddef.h>

#include <skalibs/tai.h>

struct conn_s ;

extern void metrics_conn_opened (struct conn_s const *c) ;   /* connected: its TLS policy counted too */
extern void metrics_conn_reused (void) ;
extern void metrics_tls (struct conn_s const *c, int ok) ;   /* a handshake's end: ok, or failed */
extern void metrics_sent (size_t n) ;                        /* message bytes written in DATA */
extern void metrics_dns (unsigned int n) ;                   /* queries asked of c-ares */

 /* The loop's deadline made no later than the next snapshot; the snapshot when it is due (force: at exit). */
extern void metrics_deadline (tain *deadline) ;
extern void metrics_run (int force) ;

#endif
