/* ferry_metrics_snap_*: when a program writes its metrics snapshot, and the writing itself. */

#include <errno.h>

#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>

#include <ferry/metrics.h>
#include <ferry/metrics_snap.h>

void ferry_metrics_snap_deadline (ferry_metrics_snap const *m, tain *deadline)
{
  tain const *due = m->changed && tain_less(&m->next, &m->beat) ? &m->next : &m->beat ;
  if (tain_less(due, deadline)) *deadline = *due ;
}

void ferry_metrics_snap_run (ferry_metrics_snap *m, int force)
{
  if (!force && (!m->changed || tain_less(&STAMP, &m->next)) && tain_less(&STAMP, &m->beat)) return ;
  m->text.len = 0 ;
  if (!(*m->fill)(&m->text) || !ferry_metrics_write(m->dir, m->text.s, m->text.len))
  {
    if (!m->failing) strerr_warnwu3sys("write ", m->dir, "/metrics.prom (the metrics snapshot; delivery goes on)") ;
    m->failing = 1 ;
  }
  else m->failing = 0 ;
  m->changed = 0 ;
  tain_addsec_g(&m->next, 1) ;
  tain_addsec_g(&m->beat, FERRY_METRICS_BEAT) ;
}
