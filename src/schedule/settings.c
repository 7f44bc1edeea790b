/* ferry-schedule, the settings in control/: at start and at SIGHUP. */

#include "schedule.h"

/* ---------- start-up ---------- */

 /* Reads the settings: all of them, or (at a reread) none when one is bad, said in the log. At
    start a bad one is fatal. 1 when the new ones are in use. */
int load_settings (int initial)
{
  static char const *const names[] = { "concurrencylocal", "concurrencyremote", "concurrencydestination", "queuelifetime",
    "minbackoff", "maxbackoff", "delaywarning", "shapingday", "shapingrecovery" } ;
  uint64_t v[9] ;
  stralloc why = STRALLOC_ZERO ;
  unsigned int i ;
  for (i = 0 ; i < 9 ; i++)
  {
    int r = ferry_control_u64_why(names[i], v + i, &why) ;
    if (r < 0) strerr_diefu1sys(111, "allocate memory") ;
    if (!r)
    {
      if (initial) strerr_dief1x(111, why.s) ;
      logs("ferry-schedule: warning: SIGHUP: keeping the old settings: ") ; logclean(why.s) ; logend() ;
      stralloc_free(&why) ;
      return 0 ;
    }
  }
  stralloc_free(&why) ;
  sched.conc[CH_LOCAL] = v[0] ;
  sched.conc[CH_REMOTE] = v[1] ;
  sched.perdest = v[2] ;
  sched.lifetime = v[3] ;
  sched.curve.min = v[4] ;
  sched.curve.max = v[5] ;
  if (sched.curve.max < sched.curve.min) sched.curve.max = sched.curve.min ;
  sched.delaywarning = v[6] ;
  sched.shapingday = v[7] ;
  sched.recovery = v[8] ;
  return 1 ;
}
