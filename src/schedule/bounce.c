/* ferry-schedule, delay warnings and the runs of ferry-bounce-build. */

#include <spawn.h>
#include <sys/wait.h>

#include "schedule.h"

extern char **environ ;

 /* Delay warnings: once per message, for the recipients still waiting that did not turn them off
    with NOTIFY, never for a message with the null sender. queue/bounce/ID.delay holds their
    records until ferry-bounce-build has sent the warning, then is left empty, as the mark that
    the warning was made. Looked for every 5 seconds at most. */
void warn_delays (void)
{
  uint32_t now = time(0) ;
  unsigned int i ;
  stralloc recs = STRALLOC_ZERO ;
  if (!sched.delaywarning || now < sched.lastwarn + 5) return ;
  sched.lastwarn = now ;
  for (i = 0 ; i < sched.msgtop ; i++)
  {
    msg *m = sched.msgs + i ;
    char fn[FERRY_QUEUE_PATH_MAX + 8] ;
    unsigned int j, n = 0 ;
    if (!m->used || m->warned || !m->open || m->held || now < m->birth + sched.delaywarning) continue ;
    m->warned = 1 ;
    if (!m->sender[0]) continue ;
    recs.len = 0 ;
    for (j = 0 ; j < m->count ; j++)
    {
      rcpt *r = sched.rcpts + MSG_R(m)[j] ;
      if ((r->status != 'T' && r->status != 'F') || !ferry_dsn_wants(r->notify, 'Z')) continue ;
      bounce_record_cat(&recs, MSG_R(m)[j], 'Z', m->lasterr ? m->lasterr : "4.0.0 no delivery attempt has finished yet", m->lasterr ? m->lasttime : 0) ;
      n++ ;
    }
    if (!n) continue ;
    ferry_queue_path(fn, "bounce", m->id, 0) ;
    memcpy(fn + strlen(fn), ".delay", 7) ;
    if (!openwritenclose_suffix(fn, recs.s, recs.len, ".new") || ferry_dir_sync("queue/bounce") < 0)
    {
      strerr_warnwu2sys("write ", fn) ;
      m->warned = 0 ;
      continue ;
    }
    m->delaypending = 1 ;
    logs("delay msg ") ; logname(m->id, m->stamp) ; logs(": queued longer than control/delaywarning: a warning about ") ; logu(n) ;
    logs(n == 1 ? " recipient" : " recipients") ; logs(" to send (ferry-bounce-build)") ; logend() ;
    bounce_want(i) ;
  }
  stralloc_free(&recs) ;
}

/* ---------- ferry-bounce-build runs ---------- */

#define BOUNCE_RETRY_MIN 60     /* seconds before a failed run is tried again, doubling, at most maxbackoff */

void bounce_want (unsigned int mi)
{
  if (sched.msgs[mi].waiting) return ;
  sched.msgs[mi].waiting = 1 ;
  append_or_die(&sched.bwait, &mi, sizeof mi) ;
}

static pid_t bounce_spawn (uint64_t id, int delay)
{
  posix_spawn_file_actions_t fa ;
  char fmt[UINT64_FMT] ;
  char const *argv[6] ;
  unsigned int n = 0 ;
  pid_t pid ;
  int e ;
  fmt[uint64_fmt(fmt, id)] = 0 ;
  argv[n++] = "ferry-bounce-build" ;
  if (delay) argv[n++] = "-d" ;
  argv[n++] = fmt ;
  argv[n++] = sched.homepath ;
  argv[n] = 0 ;
  posix_spawnattr_t attr ;
  sigset_t none, dfl ;
  if (posix_spawn_file_actions_init(&fa)) return -1 ;
  if (posix_spawnattr_init(&attr)) { posix_spawn_file_actions_destroy(&fa) ; return -1 ; }
  /* the child starts clean: our signals are blocked (the selfpipe) and SIGPIPE ignored, and
     both would pass through exec to it and to its ferry-inject */
  sigemptyset(&none) ;
  sigemptyset(&dfl) ;
  sigaddset(&dfl, SIGPIPE) ;
  e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
   || posix_spawnattr_setsigmask(&attr, &none)
   || posix_spawnattr_setsigdefault(&attr, &dfl)
   || posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
   || posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) ;
  if (!e) e = posix_spawn(&pid, sched.binbounce, &fa, &attr, (char *const *)argv, environ) ;
  posix_spawn_file_actions_destroy(&fa) ;
  posix_spawnattr_destroy(&attr) ;
  if (e) { errno = e ; return -1 ; }
  return pid ;
}

 /* The i-th message waiting for a run leaves the list (the last takes its place). */
static void bwait_take (size_t i)
{
  size_t n = genalloc_len(unsigned int, &sched.bwait) ;
  genalloc_s(unsigned int, &sched.bwait)[i] = genalloc_s(unsigned int, &sched.bwait)[n - 1] ;
  genalloc_setlen(unsigned int, &sched.bwait, n - 1) ;
}

 /* Starts the runs that are due: a message's delay warning while it has recipients waiting, its
    notifications once it has none. One run per message at a time. */
void bounce_start (void)
{
  uint32_t now = time(0) ;
  size_t i = 0 ;
  while (i < genalloc_len(unsigned int, &sched.bwait) && sched.nbjobs < BOUNCE_JOBS && !sched.stopping)
  {
    unsigned int mi = genalloc_s(unsigned int, &sched.bwait)[i], k ;
    msg *m = sched.msgs + mi ;
    int delay ;
    pid_t pid ;
    if (!m->used || !m->waiting || m->job) { if (m->used && !m->job) m->waiting = 0 ; bwait_take(i) ; continue ; }
    if (m->jobnext > now) { i++ ; continue ; }
    delay = m->open > 0 ;
    if (delay ? !m->delaypending : !m->bounced) { m->waiting = 0 ; bwait_take(i) ; continue ; }
    pid = bounce_spawn(m->id, delay) ;
    if (pid < 0)
    {
      strerr_warnwu2sys("run ", sched.binbounce) ;
      m->jobnext = now + BOUNCE_RETRY_MIN ;
      i++ ;
      continue ;
    }
    for (k = 0 ; k < BOUNCE_JOBS ; k++) if (!sched.bjobs[k].pid) break ;
    sched.bjobs[k].pid = pid ;
    sched.bjobs[k].msg = mi ;
    sched.bjobs[k].delay = delay ;
    m->job = 1 ;
    m->waiting = 0 ;
    bwait_take(i) ;
    sched.nbjobs++ ;
  }
}

 /* Is pid a run of ferry-bounce-build? Then its result is taken. */
int bounce_reap (pid_t pid, int wstat)
{
  unsigned int k ;
  msg *m ;
  for (k = 0 ; k < BOUNCE_JOBS ; k++) if (sched.bjobs[k].pid == pid) break ;
  if (k == BOUNCE_JOBS) return 0 ;
  sched.bjobs[k].pid = 0 ;
  sched.nbjobs-- ;
  m = sched.msgs + sched.bjobs[k].msg ;
  m->job = 0 ;
  if (WIFEXITED(wstat) && !WEXITSTATUS(wstat))
  {
    if (sched.bjobs[k].delay) m->delaypending = 0 ;
    else m->bounced = 0 ;
    m->jobnext = 0 ;
    m->jobfailures = 0 ;
  }
  else
  {
    uint32_t now = time(0), wait = BOUNCE_RETRY_MIN << (m->jobfailures < 6 ? m->jobfailures : 6) ;
    char fmt[UINT_FMT] ;
    if (wait > sched.curve.max) wait = sched.curve.max ;
    if (m->jobfailures < 255) m->jobfailures++ ;
    m->jobnext = now + wait ;
    logs(sched.bjobs[k].delay ? "delay msg " : "bounce msg ") ; logname(m->id, m->stamp) ; logs(": ferry-bounce-build ") ;
    if (WIFEXITED(wstat)) { logs("exited ") ; fmt[uint_fmt(fmt, WEXITSTATUS(wstat))] = 0 ; }
    else { logs("was killed by signal ") ; fmt[uint_fmt(fmt, WTERMSIG(wstat))] = 0 ; }
    logs(fmt) ; logs(": trying again in ") ; logu(wait) ; logs(" seconds") ; logend() ;
    bounce_want(sched.bjobs[k].msg) ;
  }
  if (!m->open) msg_finish(sched.bjobs[k].msg) ;
  else if (m->delaypending) bounce_want(sched.bjobs[k].msg) ;
  return 1 ;
}
