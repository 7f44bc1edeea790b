/* ferry-schedule: the queue manager. fd 0/1 from/to ferry-preprocess-todo, 2 the log, 3/4 to/from
   ferry-spawn-local, 5/6 to/from ferry-spawn-remote, 7/8 to/from ferry-clean, 9/10 to/from its own
   ferry-clean (as its user, for its own files). One iopause loop; the queue on disk is the only
   state that survives it. This file: main, the set-up and the loop; the rest in src/schedule/
   (schedule.h). */

#include <sys/socket.h>
#include <sys/wait.h>

#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/tai.h>

#include "schedule.h"

#define USAGE "ferry-schedule [ home ]"
#define STOP_WAIT 60          /* seconds SIGTERM waits for deliveries in progress */

char const *const chname[2] = { "local", "remote" } ;
char const *const chdir_[2] = { "local", "remote" } ;

schedule sched =
{
  .ready = { IDRING_ZERO, IDRING_ZERO },
  .peers =
  {
    [PEER_PREPROCESS] = { "ferry-preprocess-todo", 0, 1, STRALLOC_ZERO, STRALLOC_ZERO, 0, &preprocess_take },
    [PEER_LOCAL] = { "ferry-spawn-local", 4, 3, STRALLOC_ZERO, STRALLOC_ZERO, 0, &local_take },
    [PEER_REMOTE] = { "ferry-spawn-remote", 6, 5, STRALLOC_ZERO, STRALLOC_ZERO, 0, &remote_take },
    [PEER_CLEAN] = { "ferry-clean", 8, 7, STRALLOC_ZERO, STRALLOC_ZERO, 0, &clean_take },
    [PEER_SCLEAN] = { "the queue manager's ferry-clean", 10, 9, STRALLOC_ZERO, STRALLOC_ZERO, 0, &sclean_take },
  },
  .ids = IDINDEX_ZERO(&msg_id, &sched),
  .msgset = GENSETDYN_INIT(msg, 64, 1, 1),
  .msgfds = GENQDYN_INIT(msgfd, 1, 2),
  .removing = GENQDYN_INIT(removal, 1, 2),
  .freercpt = -1,
  .nullfd = -1,
  .queuefd = -1,
  .syncfd = -1,
  .statuschanged = 1,
  .snap = FERRY_METRICS_SNAP_ZERO("metrics/schedule", &metrics_fill),
} ;

 /* A signal, through the selfpipe. */
static void signal_take (int sig, tain *stopdeadline)
{
  if (sig == SIGALRM)
  {
    /* retry everything now */
    unsigned int k ;
    load_rest() ;
    while (sched.due.n) { unsigned int ri = dueheap_pop(&sched.due, sched.rcpts) ; if (sched.rcpts[ri].status == 'T') ready_push(ri) ; }
    for (k = 0 ; k < sched.dests.n ; k++) if (sched.dests.a[k].name) dest_unfail(k) ;
    preprocess_signal(SIGALRM) ;
    control_send("!undead", "all") ;   /* dead hosts are tried again too, before these retries */
    logs("ferry-schedule: SIGALRM: retrying every deferred recipient now, dead hosts too") ; logend() ;
  }
  else if (sig == SIGHUP)
  {
    unsigned int k ;
    if (load_settings(0))
    {
      for (k = 0 ; k < sched.dests.n ; k++) if (sched.dests.a[k].name) dests_wake(&sched.dests, k) ;   /* concurrencydestination may be higher */
      shape_reread() ;
      logs("ferry-schedule: SIGHUP: settings read again") ; logend() ;
      sched.statuschanged = 1 ;
    }
    /* each member reads its own; the channels' answers are logged as they come */
    preprocess_signal(SIGHUP) ;
    control_send_local("!reread") ;
    control_send("!reread", 0) ;
  }
  else if (sig == SIGTERM && !sched.stopping)
  {
    sched.stopping = 1 ;
    tain_addsec_g(stopdeadline, STOP_WAIT) ;
    logs("ferry-schedule: SIGTERM: no new deliveries; waiting for those in progress") ; logend() ;
  }
  else if (sig == SIGCHLD)
  {
    int wstat ;
    pid_t pid ;
    while ((pid = wait_nohang(&wstat)) > 0)
    {
      unsigned int k ;
      if (bounce_reap(pid, wstat)) continue ;
      if (pid == sched.syncpid) strerr_dief(111, "the syncer died: the set stops, and s6 starts it again") ;
      for (k = 0 ; k < sched.nmembers ; k++) if (sched.peers[k].pid == pid)
        strerr_dief(111, "a member of the set died: the set stops, and s6 starts it again") ;
    }
  }
}

int main (int argc, char const *const *argv)
{
  int spfd, steerfd ;
  stralloc steerbuf = STRALLOC_ZERO ;
  tain stopdeadline = TAIN_INFINITE ;
  PROG = "ferry-schedule" ;
  {
    /* the log is buffered for a round (strerr's messages go through the same buffer, in order) */
    if (!buffer_init(buffer_2, &fd_writev, 2, sched.logbuf, sizeof sched.logbuf)) strerr_diefu1sys(111, "set up the log buffer") ;
  }
  if (argc > 2) strerr_dieusage(100, USAGE) ;
  sched.homepath = ferry_home(argc > 1 ? argv[1] : 0) ;
  if (chdir(sched.homepath) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  {
    if (sched.homepath[0] != '/')
    {
      if (!realpath(".", sched.binbounce)) strerr_diefu1sys(111, "find the ferry home's path") ;
      sched.homepath = strdup(sched.binbounce) ;
      if (!sched.homepath) strerr_diefu1sys(111, "allocate memory") ;
    }
    if (strlen(sched.homepath) + 30 > PATH_MAX) strerr_dief1x(100, "the home's path is too long") ;
    memcpy(sched.binbounce, sched.homepath, strlen(sched.homepath)) ;
    memcpy(sched.binbounce + strlen(sched.homepath), "/bin/ferry-bounce-build", 24) ;
  }
  sig_ignore(SIGPIPE) ;
  sched.split = ferry_queue_split_or_die(111) ;
  load_settings(1) ;
  shape_start() ;
  {
    char const *e = getenv("FERRY_MEMBERS") ;
    while (e && *e && sched.nmembers < NPEERS)
    {
      uint64_t u ;
      size_t k = uint64_scan(e, &u) ;
      if (!k) break ;
      sched.peers[sched.nmembers++].pid = (pid_t)u ;
      e += k ;
      if (*e == ',') e++ ;
    }
  }
  srandom((unsigned int)(time(0) ^ getpid())) ;
  spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefu1sys(111, "selfpipe_init") ;
  if (!selfpipe_trap(SIGALRM) || !selfpipe_trap(SIGHUP) || !selfpipe_trap(SIGTERM) || !selfpipe_trap(SIGCHLD))
    strerr_diefu1sys(111, "trap signals") ;
  {
    int type ;
    socklen_t len = sizeof(type) ;
    unsigned int i ;
    for (i = 0 ; i < NPEERS ; i++)
    {
      if (ndelay_on(sched.peers[i].infd) < 0 || ndelay_on(sched.peers[i].outfd) < 0)
        strerr_diefu1sys(111, "set the pipes non-blocking (was ferry-schedule started by ferry-start?)") ;
      /* no program it starts (ferry-bounce-build) inherits a member's pipe: it would hold that
         member's input open past the queue manager's end */
      if ((sched.peers[i].infd > 2 && coe(sched.peers[i].infd) < 0) || (sched.peers[i].outfd > 2 && coe(sched.peers[i].outfd) < 0))
        strerr_diefu1sys(111, "set the pipes close-on-exec") ;
    }
    sched.passfd = getsockopt(sched.peers[PEER_REMOTE].outfd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ;
    sched.nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC) ;
    if (sched.nullfd < 0) strerr_diefu1sys(111, "open /dev/null") ;
  }
  tain_now_set_stopwatch_g() ;
  logs("ferry-schedule: starting") ; logend() ; buffer_flush(buffer_2) ;
  /* the steer FIFO first: a command written while the queue loads waits in it */
  steerfd = open("queue/lock/steer", O_RDONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (steerfd < 0) strerr_warnwu1sys("open queue/lock/steer (run ferry-setup to complete the home): ferry-qctl's commands take effect at the next start") ;
  else if (open("queue/lock/steer", O_WRONLY | O_NONBLOCK | O_CLOEXEC) < 0) strerr_diefu1sys(111, "open queue/lock/steer for writing") ;
  sched.queuefd = open("queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (sched.queuefd < 0) strerr_diefu1sys(111, "open queue") ;
  syncer_start() ;
  /* every envelope is read in intd/: a queue made before that (intd/ 0700, the queue owner's)
     would load no new message; better said at once than message by message */
  {
    char dn[FERRY_QUEUE_PATH_MAX] ;
    char const *why = " (the envelopes are read there: ferry-setup -c says what to change, doc/queue.html)" ;
    ferry_queue_subdir(dn, "intd", 0, sched.split) ;
    if (access("queue/intd", R_OK | X_OK) < 0) strerr_diefu3sys(111, "read ", "queue/intd", why) ;
    if (access(dn, R_OK | X_OK) < 0) strerr_diefu3sys(111, "read ", dn, why) ;
  }
  steer_load() ;
  suspend_load() ;
  shapeday_load() ;
  queue_load() ;
  load_some(LOAD_CHUNK) ;

  for (;;)
  {
    iopause_fd x[3 + 2 * NPEERS] ;
    unsigned int n = 0, i ;
    int idx[3 + 2 * NPEERS] ;
    tain deadline = TAIN_INFINITE ;
    if (load_pending())
    {
      load_some(LOAD_CHUNK) ;
    }
    dispatch() ;
    warn_delays() ;
    bounce_start() ;
    if (sched.statuschanged) { status_log() ; sched.snap.changed = 1 ; }
    shapeday_save(0) ;
    ferry_metrics_snap_run(&sched.snap, 0) ;
    /* the round's log lines in one write: a line a write cost a system call per delivery */
    if (!buffer_flush(buffer_2)) _exit(111) ;
    /* stopping: once every delivery is answered, every finished message's files removed and
       every request to ferry-clean written */
    if (sched.stopping && !sched.inflight[0] && !sched.inflight[1] && !sched.nbjobs && !genqdyn_n(&sched.removing) && !sched.peers[PEER_CLEAN].out.len && !sched.peers[PEER_SCLEAN].out.len
     && !sched.syncing && !genalloc_len(finisher, &sched.finishlist)) break ;
    x[n].fd = spfd ; x[n].events = IOPAUSE_READ ; idx[n++] = -1 ;
    /* idx: -1 the selfpipe, -2 the steer FIFO, -3 the syncer, a peer's input i, its output NPEERS + i */
    if (sched.syncing) { x[n].fd = sched.syncfd ; x[n].events = IOPAUSE_READ ; idx[n++] = -3 ; }
    for (i = 0 ; i < NPEERS ; i++) { x[n].fd = sched.peers[i].infd ; x[n].events = IOPAUSE_READ ; idx[n++] = i ; }
    if (steerfd >= 0) { x[n].fd = steerfd ; x[n].events = IOPAUSE_READ ; idx[n++] = -2 ; }
    for (i = 0 ; i < NPEERS ; i++) if (sched.peers[i].out.len)
    {
      x[n].fd = sched.peers[i].outfd ; x[n].events = IOPAUSE_WRITE ; idx[n++] = NPEERS + i ;
    }
    if (sched.due.n)
    {
      uint32_t now = time(0), at = sched.rcpts[sched.due.a[0]].next ;
      tain_addsec_g(&deadline, at > now ? (int)(at - now) : 0) ;
    }
    if (sched.bwait.len && sched.nbjobs < BOUNCE_JOBS && !sched.stopping)
    {
      /* the earliest retry of a failed run */
      uint32_t now = time(0), at = UINT32_MAX ;
      unsigned int const *w = genalloc_s(unsigned int, &sched.bwait) ;
      size_t k, nw = genalloc_len(unsigned int, &sched.bwait) ;
      tain a ;
      for (k = 0 ; k < nw ; k++) if (sched.msgs[w[k]].jobnext < at) at = sched.msgs[w[k]].jobnext ;
      tain_addsec_g(&a, at > now ? (int)(at - now) : 0) ;
      if (tain_less(&a, &deadline)) deadline = a ;
    }
    if (sched.delaywarning && sched.livemsgs)
    {
      tain a ;
      tain_addsec_g(&a, 5) ;
      if (tain_less(&a, &deadline)) deadline = a ;
    }
    shape_deadline(&deadline) ;
    ferry_metrics_snap_deadline(&sched.snap, &deadline) ;
    if (sched.stopping && tain_less(&stopdeadline, &deadline)) deadline = stopdeadline ;
    if (load_pending()) tain_copynow(&deadline) ;   /* more to load: only look at the fds */
    if (iopause_g(x, n, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;
    if (sched.stopping && !tain_future(&stopdeadline))
    {
      strerr_warnw("deliveries still running after ", "60 seconds: stopping anyway; they will be done again") ;
      break ;
    }
    for (i = 0 ; i < n ; i++)
    {
      if (!x[i].revents) continue ;
      if (idx[i] == -1)
      {
        int sig ;
        while ((sig = selfpipe_read()) > 0) signal_take(sig, &stopdeadline) ;
      }
      else if (idx[i] == -2) steer_read(steerfd, &steerbuf) ;
      else if (idx[i] == -3) { if (syncer_answer()) finish_synced() ; }
      else if (idx[i] < NPEERS) peer_read(idx[i]) ;
      else peer_write(idx[i] - NPEERS) ;
    }
    /* every mark of this round's answers to the syncer, in one sync; their messages finish
       when it is done */
    finish_flush() ;
  }
  /* the members see their input close, finish and exit; reap them, for at most 10 seconds */
  shapeday_save(1) ;
  ferry_metrics_snap_run(&sched.snap, 1) ;
  buffer_flush(buffer_2) ;
  {
    unsigned int i ;
    for (i = 0 ; i < NPEERS ; i++) close(sched.peers[i].outfd) ;
  }
  selfpipe_finish() ;
  alarm(10) ;
  syncer_stop() ;
  {
    int wstat ;
    unsigned int left = sched.nmembers ;
    while (left && wait(&wstat) > 0) left-- ;
  }
  logs("ferry-schedule: stopped") ; logend() ;
  buffer_flush(buffer_2) ;
  stralloc_free(&steerbuf) ;
  return 0 ;
}