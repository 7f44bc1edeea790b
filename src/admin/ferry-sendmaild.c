/* ferry-sendmaild: serves ferry-sendmail on the home's sendmail/socket. A call goes to a worker
   of the caller's identity (the uid, gid and groups the kernel tells of the connection's other
   end): an idle one, handed the connection on its control socket, else one forked without an
   exec, which becomes that identity; the worker takes the caller's arguments and descriptors 0,
   1 and 2, does the sendmail job in the caller's stead (sendmail_run.c) and answers its exit
   code (sendmaild_worker.c). The server answers for a worker that died. It never reads what a
   caller sends. As root it serves every local user; as anyone else, only callers of its own
   identity (the others run the job alone, ferry-sendmail-run). */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <skalibs/ancil.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/home.h>
#include <ferry/listen.h>

#include "admin.h"
#include "sendmaild.h"

#define USAGE "ferry-sendmaild [ -c maxjobs ] [ -u maxperuid ] [ -t timeout ] [ -i idle ] [ home ]"
#define SOCKET_PATH "sendmail/socket"
#define SOCKET_TMP "sendmail/socket.new"
#define STOP_SECONDS 60         /* after SIGTERM, the workers have this long, then are left alone */
#define GROUPS_MAX 65536
#define CALLS_MAX 100           /* calls a worker serves before it is retired */

 /* A worker: busy while it holds a call (fd, the caller's connection, which the server keeps
    to answer if the worker dies), else idle, waiting on its control socket for the next call of
    its identity. */
typedef struct job_s job ;
struct job_s
{
  pid_t pid ;
  int fd ;                /* the call's connection, or -1: idle */
  int cfd ;               /* the server's end of its control socket, or -1 once it ended */
  uid_t uid ;
  gid_t gid ;
  gid_t *groups ;
  unsigned int ngroups ;
  unsigned int calls ;
  tain idlesince ;
} ;

static job *jobs ;
static unsigned int njobs = 0, maxjobs = 64, maxperuid = 16, timeout = 10, idle = 10 ;
static unsigned long turnedaway = 0 ;
static int lfd = -1, spfd = -1, stopping = 0 ;
static char homedir[PATH_MAX] ;   /* the job's home is the server's, by construction */
static tain pauseuntil = TAIN_ZERO, stopdeadline = TAIN_ZERO ;

 /* A worker's slot freed: its descriptors closed (an idle worker reads the end of its control
    socket and exits; its exit is reaped as a stranger's) */
static void job_drop (unsigned int i)
{
  if (jobs[i].fd >= 0) fd_close(jobs[i].fd) ;
  if (jobs[i].cfd >= 0) fd_close(jobs[i].cfd) ;
  free(jobs[i].groups) ;
  jobs[i] = jobs[--njobs] ;
}

 /* The same identity as this server's: uid, gid and groups (a server that is not root can take
    no other) */
static int same_as_me (struct ucred const *cred, gid_t *groups, socklen_t gn)
{
  static gid_t mine[GROUPS_MAX] ;
  int n = getgroups(GROUPS_MAX, mine), i, j ;
  if (cred->uid != geteuid() || cred->gid != getegid() || n < 0 || (size_t)n != gn / sizeof(gid_t)) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    for (j = 0 ; j < n ; j++) if (groups[i] == mine[j]) break ;
    if (j == n) return 0 ;
  }
  return 1 ;
}

 /* one line for the 1st, 10th, 100th... call that runs alone */
static void alone_said (uid_t uid, char const *why)
{
  char fmt[UID_FMT], cnt[ULONG_FMT] ;
  unsigned long k = ++turnedaway, p = 1 ;
  while (p <= k / 10) p *= 10 ;
  if (k != p) return ;
  fmt[uid_fmt(fmt, uid)] = 0 ;
  cnt[ulong_fmt(cnt, k)] = 0 ;
  strerr_warnw("a caller of uid ", fmt, " runs its job alone: ", why, " (", cnt, " so far; said again at ten times as many)") ;
}

static void turn_away (int fd)
{
  sendmaild_answer(fd, "R\n") ;
  fd_close(fd) ;
}

 /* an idle worker of exactly this identity, or -1 */
static int idle_find (struct ucred const *cred, gid_t const *groups, unsigned int ngroups)
{
  unsigned int i ;
  for (i = 0 ; i < njobs ; i++)
  {
    job const *j = jobs + i ;
    if (j->fd < 0 && j->cfd >= 0 && j->uid == cred->uid && j->gid == cred->gid && j->ngroups == ngroups
     && !memcmp(j->groups, groups, ngroups * sizeof(gid_t))) return i ;
  }
  return -1 ;
}

 /* the worker forked for a caller: the server's descriptors are not its own */
static void worker_start (int cfd, int fd, struct ucred const *cred, gid_t const *groups, int ngroups)
{
  unsigned int i ;
  for (i = 0 ; i < njobs ; i++)
  {
    /* another caller's answer is not its to write, another worker's calls not its to take */
    if (jobs[i].fd >= 0) close(jobs[i].fd) ;
    if (jobs[i].cfd >= 0) close(jobs[i].cfd) ;
  }
  close(lfd) ;
  selfpipe_finish() ;
  sendmaild_worker(cfd, fd, cred->uid, cred->gid, groups, ngroups, homedir, timeout) ;
}

static void job_start (int fd)
{
  struct ucred cred ;
  socklen_t n = sizeof(cred) ;
  static gid_t groups[GROUPS_MAX] ;
  unsigned int ngroups, i, k = 0, busy = 0 ;
  int w, sp[2] ;
  pid_t pid ;
  socklen_t gn = sizeof(groups) ;
  /* whatever the reason, the caller runs the job alone: nothing is lost, it starts more slowly */
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &n) < 0) { turn_away(fd) ; return ; }
  for (i = 0 ; i < njobs ; i++) if (jobs[i].fd >= 0)
  {
    busy++ ;
    if (jobs[i].uid == cred.uid) k++ ;
  }
  if (busy >= maxjobs || k >= maxperuid)
  {
    alone_said(cred.uid, busy >= maxjobs ? "every worker is busy" : "its uid has -u workers already") ;
    turn_away(fd) ;
    return ;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gn) < 0)
  {
    strerr_warnwu1sys("read a caller's groups (SO_PEERGROUPS): it runs its job alone") ;
    turn_away(fd) ;
    return ;
  }
  ngroups = gn / sizeof(gid_t) ;
  /* not root: only a caller that is this server's very identity (another one, quietly: it is
     no fault of the caller's, and it would be a line a call) */
  if (geteuid() && !same_as_me(&cred, groups, gn)) { turn_away(fd) ; return ; }

  /* an idle worker of the caller's identity takes the call; one that cannot (it died meanwhile)
     is dropped, its exit reaped as a stranger's */
  while ((w = idle_find(&cred, groups, ngroups)) >= 0)
  {
    if (ancil_send_fd(jobs[w].cfd, fd, SENDMAILD_CALL) >= 0)
    {
      jobs[w].fd = fd ;
      jobs[w].calls++ ;
      return ;
    }
    job_drop(w) ;
  }

  /* else a new worker, in place of the longest idle one when every slot is taken */
  if (njobs >= maxjobs)
  {
    unsigned int oldest = njobs ;
    for (i = 0 ; i < njobs ; i++)
      if (jobs[i].fd < 0 && (oldest == njobs || tain_less(&jobs[i].idlesince, &jobs[oldest].idlesince))) oldest = i ;
    if (oldest == njobs) { turn_away(fd) ; return ; }   /* those are workers that ended, not yet reaped */
    job_drop(oldest) ;
  }
  {
    job *j = jobs + njobs ;
    j->groups = malloc(ngroups ? ngroups * sizeof(gid_t) : 1) ;
    if (!j->groups)
    {
      strerr_warnwu1sys("allocate memory: the caller runs its job alone") ;
      turn_away(fd) ;
      return ;
    }
    memcpy(j->groups, groups, ngroups * sizeof(gid_t)) ;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    {
      strerr_warnwu1sys("make a worker's control socket: the caller runs its job alone") ;
      free(j->groups) ;
      turn_away(fd) ;
      return ;
    }
    pid = fork() ;
    if (pid < 0)
    {
      strerr_warnwu1sys("fork a worker: the caller runs its job alone") ;
      free(j->groups) ;
      fd_close(sp[0]) ;
      fd_close(sp[1]) ;
      turn_away(fd) ;
      return ;
    }
    if (!pid) { fd_close(sp[0]) ; worker_start(sp[1], fd, &cred, groups, ngroups) ; }
    fd_close(sp[1]) ;
    if (ndelay_on(sp[0]) < 0) {}   /* its reports are read without waiting */
    j->pid = pid ;
    j->fd = fd ;
    j->cfd = sp[0] ;
    j->uid = cred.uid ;
    j->gid = cred.gid ;
    j->ngroups = ngroups ;
    j->calls = 1 ;
    njobs++ ;
  }
}

 /* A worker's report: its call answered, it is idle (or retired, with -i 0, its calls counted
    out, or the server stopping); its control socket's end: it is exiting, its exit answers. */
static void job_report (unsigned int i)
{
  char c ;
  ssize_t r = read(jobs[i].cfd, &c, 1) ;
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return ;
  if (r != 1 || c != SENDMAILD_DONE || jobs[i].fd < 0)
  {
    /* ended, or talking nonsense: it is not given another call; its exit is waited for */
    fd_close(jobs[i].cfd) ;
    jobs[i].cfd = -1 ;
    return ;
  }
  fd_close(jobs[i].fd) ;
  jobs[i].fd = -1 ;
  jobs[i].idlesince = STAMP ;
  if (stopping || !idle || jobs[i].calls >= CALLS_MAX) job_drop(i) ;
}

 /* a worker's exit: for a call it held, its exit code to its caller, or SENDMAILD_ALONE as "R" */
static void job_end (pid_t pid, int wstat)
{
  unsigned int i ;
  for (i = 0 ; i < njobs ; i++) if (jobs[i].pid == pid) break ;
  if (i == njobs) return ;
  if (jobs[i].fd < 0) ;
  else if (WIFEXITED(wstat))
  {
    int code = WEXITSTATUS(wstat) ;
    if (code == SENDMAILD_ALONE) sendmaild_answer(jobs[i].fd, "R\n") ;
    else sendmaild_answer_code(jobs[i].fd, code) ;
  }
  else
  {
    char fmt[UID_FMT], sig[UINT_FMT] ;
    fmt[uid_fmt(fmt, jobs[i].uid)] = 0 ;
    sig[uint_fmt(sig, WTERMSIG(wstat))] = 0 ;
    strerr_warnw("the worker of a caller of uid ", fmt, " was killed by signal ", sig, ": its message may or may not be queued; the caller was told 71") ;
    sendmaild_answer(jobs[i].fd, "71 the worker of ferry-sendmaild was killed: the message may or may not be queued\n") ;
  }
  job_drop(i) ;
}

 /* the busy workers: those the stop waits for */
static unsigned int busy_count (void)
{
  unsigned int i, n = 0 ;
  for (i = 0 ; i < njobs ; i++) n += jobs[i].fd >= 0 ;
  return n ;
}

int main (int argc, char const *const *argv)
{
  iopause_fd *x ;
  PROG = "ferry-sendmaild" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "c:u:t:i:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'c' : if (!uint0_scan(l.arg, &maxjobs) || maxjobs < 1 || maxjobs > 1000) strerr_dief1x(100, "-c wants a number from 1 to 1000") ; break ;
        case 'u' : if (!uint0_scan(l.arg, &maxperuid) || maxperuid < 1) strerr_dief1x(100, "-u wants a number, at least 1") ; break ;
        case 't' : if (!uint0_scan(l.arg, &timeout) || timeout < 1) strerr_dief1x(100, "-t wants a number of seconds, at least 1") ; break ;
        case 'i' : if (!uint0_scan(l.arg, &idle) || idle > 3600) strerr_dief1x(100, "-i wants a number of seconds from 0 to 3600") ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc > 1) strerr_dieusage(100, USAGE) ;
  {
    /* 0, 1 and 2 taken, so that no socket of a caller's can get their numbers */
    int i ;
    for (i = 0 ; i < 3 ; i++)
      if (fcntl(i, F_GETFD) < 0 && open("/dev/null", i ? O_WRONLY : O_RDONLY) != i) strerr_diefu1sys(111, "open /dev/null") ;
  }
  if (chdir(ferry_home(argc ? argv[0] : 0)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  if (!getcwd(homedir, sizeof(homedir))) strerr_diefu1sys(111, "find the ferry home's path") ;
  jobs = calloc(maxjobs, sizeof(job)) ;
  x = calloc(2 + maxjobs, sizeof(iopause_fd)) ;
  if (!jobs || !x) strerr_diefu1sys(111, "allocate memory") ;
  umask(022) ;
  sig_ignore(SIGPIPE) ;
  spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefu1sys(111, "selfpipe_init") ;
  if (!selfpipe_trap(SIGTERM) || !selfpipe_trap(SIGCHLD)) strerr_diefu1sys(111, "trap signals") ;
  lfd = ferry_socket_listen(SOCKET_TMP, SOCKET_PATH) ;
  tain_now_set_stopwatch_g() ;
  strerr_warni("listening on ", SOCKET_PATH, geteuid() ? " (for callers of its own identity)" : " (for every local user)") ;

  for (;;)
  {
    tain deadline = TAIN_INFINITE ;
    unsigned int i, n = 2 ;
    int listening = lfd >= 0 && !tain_less(&STAMP, &pauseuntil) ;
    if (stopping && (!busy_count() || !tain_less(&STAMP, &stopdeadline))) break ;
    /* idle workers past -i seconds are retired */
    for (i = 0 ; i < njobs ; )
    {
      if (jobs[i].fd < 0 && jobs[i].cfd >= 0)
      {
        tain end ;
        tain_addsec(&end, &jobs[i].idlesince, idle) ;
        if (!tain_less(&STAMP, &end)) { job_drop(i) ; continue ; }
        if (tain_less(&end, &deadline)) deadline = end ;
      }
      i++ ;
    }
    x[0].fd = spfd ; x[0].events = IOPAUSE_READ ;
    x[1].fd = listening ? lfd : -1 ; x[1].events = IOPAUSE_READ ;
    for (i = 0 ; i < njobs ; i++) if (jobs[i].cfd >= 0)
    {
      x[n].fd = jobs[i].cfd ;
      x[n++].events = IOPAUSE_READ ;
    }
    if (lfd >= 0 && !listening && tain_less(&pauseuntil, &deadline)) deadline = pauseuntil ;
    if (stopping && tain_less(&stopdeadline, &deadline)) deadline = stopdeadline ;
    if (iopause_g(x, n, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;
    /* the workers' reports first: a worker idle again can take a call accepted below (a
       report's slot is found by its descriptor, which no other slot holds until the next accept) */
    for (i = 2 ; i < n ; i++) if (x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT))
    {
      unsigned int k ;
      for (k = 0 ; k < njobs ; k++) if (jobs[k].cfd == x[i].fd) { job_report(k) ; break ; }
    }
    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
      {
        if (sig == SIGCHLD)
        {
          int wstat ;
          pid_t pid ;
          while ((pid = waitpid(-1, &wstat, WNOHANG)) > 0) job_end(pid, wstat) ;
        }
        else if (sig == SIGTERM && !stopping)
        {
          /* no new caller: the name goes, those waiting to be accepted are told to run their
             jobs alone (a closed socket would reset them), the idle workers are retired and
             the busy ones get STOP_SECONDS */
          stopping = 1 ;
          unlink(SOCKET_PATH) ;
          for (;;)
          {
            int fd = accept4(lfd, 0, 0, SOCK_CLOEXEC) ;
            if (fd < 0) break ;
            turn_away(fd) ;
          }
          fd_close(lfd) ;
          lfd = -1 ;
          for (i = 0 ; i < njobs ; ) if (jobs[i].fd < 0) job_drop(i) ; else i++ ;
          tain_addsec_g(&stopdeadline, STOP_SECONDS) ;
          strerr_warni("stopping: no new callers, waiting for the workers") ;
        }
      }
      if (sig < 0) strerr_diefu1sys(111, "selfpipe_read") ;
    }
    if (lfd >= 0 && x[1].fd >= 0 && x[1].revents & IOPAUSE_READ)
    {
      for (;;)
      {
        int fd = accept4(lfd, 0, 0, SOCK_CLOEXEC) ;
        if (fd < 0)
        {
          if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) break ;
          /* out of descriptors or memory: callers wait in the backlog (or run alone) a second */
          strerr_warnwu1sys("accept (trying again in 1 s)") ;
          tain_addsec_g(&pauseuntil, 1) ;
          break ;
        }
        job_start(fd) ;
      }
    }
  }
  {
    unsigned int busy = busy_count() ;
    if (busy)
    {
      char fmt[UINT_FMT] ;
      fmt[uint_fmt(fmt, busy)] = 0 ;
      strerr_warnw(fmt, " workers still run at the end of the stop's delay: left to finish alone (each answers its caller, or its caller says 71)") ;
    }
  }
  return 0 ;
}
