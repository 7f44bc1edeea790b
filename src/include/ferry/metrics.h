/* Metrics in the Prometheus text format 0.0.4, and the snapshot files the programs write. */
#ifndef FERRY_METRICS_H
#define FERRY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

 /* Each appends to sa: 1 on success, 0 (nomem) on failure. */

 /* A family's HELP and TYPE lines (the help text escaped: \\ and \n). */
extern int ferry_prom_family (stralloc *sa, char const *name, char const *type, char const *help) ;

 /* One sample: name, labels ("" or 'a="x",b="y"' already escaped), value. */
extern int ferry_prom_sample (stralloc *sa, char const *name, char const *labels, uint64_t v) ;
extern int ferry_prom_sample_double (stralloc *sa, char const *name, char const *labels, double v) ;

 /* key="value", the value escaped (\\ \" \n) */
extern int ferry_prom_label (stralloc *sa, char const *key, char const *value) ;

 /* Writes HOME-relative DIR/metrics.prom atomically (DIR/metrics.prom.tmp, rename; mode 0640;
    no fsync: a snapshot, not a record). 1 on success, 0 and errno on failure. */
extern int ferry_metrics_write (char const *dir, char const *s, size_t n) ;

#endif
