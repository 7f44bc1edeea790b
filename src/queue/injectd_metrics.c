/* ferry-injectd's counters, and its snapshot metrics/injectd/metrics.prom (doc/ferry-metrics.html). */

#include <stdint.h>

#include <skalibs/stralloc.h>

#include <ferry/metrics.h>
#include <ferry/metrics_snap.h>

#include "injectd_metrics.h"

static uint64_t messages, bytes, commits, refused ;

static int counter (stralloc *sa, char const *name, char const *help, uint64_t v)
{
  return ferry_prom_family(sa, name, "counter", help) && ferry_prom_sample(sa, name, "", v) ;
}

static int fill (stralloc *sa)
{
  return counter(sa, "ferry_injectd_messages_total", "messages committed into the queue", messages)
    && counter(sa, "ferry_injectd_bytes_total", "bytes of the messages committed, as their clients sent them", bytes)
    && counter(sa, "ferry_injectd_commits_total", "batches committed (one sync each under load, two alone)", commits)
    && counter(sa, "ferry_injectd_refused_total", "injections refused (answered with an error code; nothing committed)", refused) ;
}

static ferry_metrics_snap snap = FERRY_METRICS_SNAP_ZERO("metrics/injectd", &fill) ;

void injectd_metrics_message (uint64_t n)
{
  messages++ ;
  bytes += n ;
  snap.changed = 1 ;
}

void injectd_metrics_commit (void)
{
  commits++ ;
  snap.changed = 1 ;
}

void injectd_metrics_refused (void)
{
  refused++ ;
  snap.changed = 1 ;
}

void injectd_metrics_deadline (tain *deadline)
{
  ferry_metrics_snap_deadline(&snap, deadline) ;
}

void injectd_metrics_run (int force)
{
  ferry_metrics_snap_run(&snap, force) ;
}
