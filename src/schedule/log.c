/* ferry-schedule, the log: a round's lines buffered, written once a round. */

#include "schedule.h"

/* ---------- log ---------- */

void logs (char const *s) { if (buffer_puts(buffer_2, s) < 0) _exit(111) ; }
static void logbytes (char const *s, size_t n) { if (buffer_put(buffer_2, s, n) < 0) _exit(111) ; }
void logu (uint64_t u) { char f[UINT64_FMT] ; logbytes(f, uint64_fmt(f, u)) ; }
void logname (uint64_t id, uint64_t stamp) { char f[FERRY_MSGNAME_MAX] ; logbytes(f, ferry_msgname_fmt(f, id, stamp)) ; }
 /* A message not loaded: its name from its message file. */
void lognameof (uint64_t id) { char f[FERRY_MSGNAME_MAX] ; logbytes(f, ferry_msgname_of(f, id, sched.split)) ; }
void logend (void) { logs("\n") ; }   /* written once a round (main), or by strerr's flush */
void logclean (char const *s)
{
  for (; *s ; s++) { char c = (unsigned char)*s < 32 ? ' ' : *s ; logbytes(&c, 1) ; }
}

void status_log (void)
{
  logs("status: local ") ; logu(sched.inflight[CH_LOCAL]) ; logs("/") ; logu(sched.conc[CH_LOCAL]) ;
  logs(" remote ") ; logu(sched.inflight[CH_REMOTE]) ; logs("/") ; logu(sched.conc[CH_REMOTE]) ;
  logs(" messages ") ; logu(sched.livemsgs) ; logs(" recipients ") ; logu(sched.openrcpts) ;
  logend() ;
  sched.statuschanged = 0 ;
}

#define LOG_NAMES 3     /* addresses a log line names of a batch; the others are counted */

void log_addrs (unsigned int const *r, unsigned int n)
{
  unsigned int i ;
  for (i = 0 ; i < n && i < LOG_NAMES ; i++) { if (i) logs(" ") ; logclean(sched.rcpts[r[i]].addr) ; }
  if (n > LOG_NAMES) { logs(" and ") ; logu(n - LOG_NAMES) ; logs(" more") ; }
}
