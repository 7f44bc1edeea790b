/* ferry-spawn-local's counters, and its snapshot metrics/local/metrics.prom (doc/ferry-metrics.html). */

#include <stdint.h>

#include <skalibs/stralloc.h>

#include <ferry/metrics.h>
#include <ferry/metrics_snap.h>

#include "local_metrics.h"
#include "syncgroup.h"

static uint64_t success, deferral, failure ;
static unsigned long rounds, asks ;

static int fill (stralloc *sa)
{
  static char const d[] = "ferry_local_deliveries_total" ;
  return ferry_prom_family(sa, d, "counter", "local deliveries ended, per recipient, by result")
    && ferry_prom_sample(sa, d, "result=\"success\"", success)
    && ferry_prom_sample(sa, d, "result=\"deferral\"", deferral)
    && ferry_prom_sample(sa, d, "result=\"failure\"", failure)
    && ferry_prom_family(sa, "ferry_local_sync_rounds_total", "counter", "shared sync rounds: one sync made for every worker that asked before it began")
    && ferry_prom_sample(sa, "ferry_local_sync_rounds_total", "", rounds)
    && ferry_prom_family(sa, "ferry_local_syncs_total", "counter", "syncs asked by delivery workers")
    && ferry_prom_sample(sa, "ferry_local_syncs_total", "", asks) ;
}

static ferry_metrics_snap snap = FERRY_METRICS_SNAP_ZERO("metrics/local", &fill) ;

void local_metrics_result (char status)
{
  if (status == 'K') success++ ;
  else if (status == 'D') failure++ ;
  else deferral++ ;
  snap.changed = 1 ;
}

void local_metrics_deadline (tain *deadline)
{
  ferry_metrics_snap_deadline(&snap, deadline) ;
}

void local_metrics_run (int force)
{
  unsigned long r, a ;
  syncgroup_counts(&r, &a) ;
  if (r != rounds || a != asks) { rounds = r ; asks = a ; snap.changed = 1 ; }
  ferry_metrics_snap_run(&snap, force) ;
}
