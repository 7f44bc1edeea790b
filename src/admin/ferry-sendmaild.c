/* ferry-sendmaild: serves ferry-sendmail on the home's sendmail/socket. For each caller it forks
   a worker, without an exec: the worker becomes the caller (the uid, gid and groups the kernel
   tells of the connection's other end), then takes the caller's arguments and descriptors 0, 1
   and 2 and does the sendmail job in the caller's stead (sendmail_run.c); the server answers
   the worker's exit code. The server itself never reads what a caller sends. As root it serves
   every local user; as anyone else, only callers of its own uid (the others run the job alone,
   ferry-sendmail-run). */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
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

#define USAGE "ferry-sendmaild [ -c maxjobs ] [ -u maxperuid ] [ -t timeout ] [ home ]"
#define SOCKET_PATH "sendmail/socket"
#define SOCKET_TMP "sendmail/socket.new"
#define STOP_SECONDS 60         /* after SIGTERM, the workers have this long, then are left alone */
#define ALONE 200               /* a worker's exit: nothing read, ferry-sendmail runs the job alone */
#define GROUPS_MAX 65536

typedef struct job_s job ;
struct job_s
{
  pid_t pid ;
  int fd ;
  uid_t uid ;
} ;

static job *jobs ;
static unsigned int njobs = 0, maxjobs = 64, maxperuid = 16, timeout = 10 ;
static unsigned long turnedaway = 0 ;
static int lfd = -1, spfd = -1 ;
static char homedir[PATH_MAX] ;   /* the job's home is the server's, by construction */
static tain pauseuntil = TAIN_ZERO, stopdeadline = TAIN_ZERO ;

static void handshake_late (int sig)
{
  (void)sig ;
  _exit(ALONE) ;
}

static void answer (int fd, char const *s)
{
  /* a few bytes into a socket whose other end only waits for them: never blocks */
  if (send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { }
}

 /* an exit code as the answer's line: "75\n" */
static void answer_code (int fd, int code)
{
  char line[UINT_FMT + 1] ;
  size_t n = uint_fmt(line, code) ;
  line[n++] = '\n' ;
  line[n] = 0 ;
  answer(fd, line) ;
}

 /* The worker, in the child: the caller's identity, then its request (sendmail-request, as
    ferry-sendmail writes it: "LEN:" arguments each ended by a null byte "," with descriptors
    0, 1 and 2 on its first byte), then the job. Anything amiss before a byte of the message is
    read: ALONE. */
static void worker (int fd, struct ucred const *cred, gid_t const *groups, int ngroups)
{
  static char req[SENDMAIL_REQUEST_MAX + 32] ;
  size_t got = 0 ;
  int fds[3] = { -1, -1, -1 } ;
  unsigned int i ;
  PROG = "ferry-sendmail" ;
  for (i = 0 ; i < njobs ; i++) close(jobs[i].fd) ;   /* another caller's answer is not ours to write */
  close(lfd) ;
  selfpipe_finish() ;
  {
    sigset_t none ;
    sigemptyset(&none) ;
    sigprocmask(SIG_SETMASK, &none, 0) ;
  }
  sig_restore(SIGPIPE) ;   /* as in the caller's own process (the server ignores it) */
  sig_restore(SIGCHLD) ;
  sig_restore(SIGTERM) ;
  /* the handshake, whole, in -t seconds, or the worker ends having read nothing */
  if (!sig_catch(SIGALRM, &handshake_late)) _exit(ALONE) ;
  alarm(timeout) ;
  if (!geteuid())
  {
    if (setgroups(ngroups, groups) < 0 || setgid(cred->gid) < 0 || setuid(cred->uid) < 0) _exit(ALONE) ;
  }
  if (getuid() != cred->uid || geteuid() != cred->uid) _exit(ALONE) ;
  if (setenv("FERRY_HOME", homedir, 1) < 0) _exit(ALONE) ;
  {
    union { struct cmsghdr h ; char buf[CMSG_SPACE(3 * sizeof(int))] ; } c ;
    struct iovec v = { .iov_base = req, .iov_len = sizeof(req) } ;
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) } ;
    struct cmsghdr *h ;
    ssize_t r ;
    do r = recvmsg(fd, &m, MSG_CMSG_CLOEXEC) ;
    while (r < 0 && errno == EINTR) ;
    if (r <= 0 || m.msg_flags & MSG_CTRUNC) _exit(ALONE) ;
    h = CMSG_FIRSTHDR(&m) ;
    if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(3 * sizeof(int))) _exit(ALONE) ;
    memcpy(fds, CMSG_DATA(h), sizeof(fds)) ;
    got = r ;
  }
  /* the length, then the rest of the netstring, and nothing after it */
  {
    char const **argv ;
    ssize_t total ;
    int argc ;
    for (;;)
    {
      ssize_t r ;
      total = sendmail_request_length(req, got) ;
      if (total < 0) _exit(ALONE) ;
      if (total && got >= (size_t)total) break ;
      r = read(fd, req + got, (total ? (size_t)total : sizeof(req)) - got) ;
      if (r < 0 && errno == EINTR) continue ;
      if (r <= 0) _exit(ALONE) ;
      got += r ;
    }
    if (got != (size_t)total) _exit(ALONE) ;
    argc = sendmail_request_split(req, total, &argv) ;
    if (argc < 1) _exit(ALONE) ;
    /* the caller's 0, 1 and 2 become the worker's (a received one numbered 0 to 2, when the
       server's own were closed, is moved out of the way first) */
    for (i = 0 ; i < 3 ; i++)
      if (fds[i] < 3 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0) _exit(ALONE) ;
    for (i = 0 ; i < 3 ; i++) if (dup2(fds[i], i) < 0) _exit(ALONE) ;
    for (i = 0 ; i < 3 ; i++) close(fds[i]) ;
    /* "S": the request is taken; the message is read only once the caller says "G" (a caller
       that gave up runs the job alone, and must find its input whole) */
    {
      char g ;
      ssize_t r ;
      if (send(fd, "S\n", 2, MSG_NOSIGNAL) != 2) _exit(ALONE) ;
      do r = read(fd, &g, 1) ;
      while (r < 0 && errno == EINTR) ;
      if (r != 1 || g != 'G') _exit(ALONE) ;
    }
    alarm(0) ;
    sig_restore(SIGALRM) ;
    {
      /* the job's end: the answer at once, not after the server has seen this process exit
         (that answer, for a job that died on its way, comes second and is not read) */
      int code = sendmail_run(argc, argv, fd) ;
      answer_code(fd, code) ;
      _exit(code) ;
    }
  }
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

static void job_start (int fd)
{
  struct ucred cred ;
  socklen_t n = sizeof(cred) ;
  static gid_t groups[GROUPS_MAX] ;
  int ngroups = 0 ;
  unsigned int i, k = 0 ;
  pid_t pid ;
  socklen_t gn = sizeof(groups) ;
  /* whatever the reason, the caller runs the job alone: nothing is lost, it starts more slowly */
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &n) < 0) { answer(fd, "R\n") ; fd_close(fd) ; return ; }
  for (i = 0 ; i < njobs ; i++) if (jobs[i].uid == cred.uid) k++ ;
  if (njobs >= maxjobs || k >= maxperuid)
  {
    alone_said(cred.uid, njobs >= maxjobs ? "every worker is busy" : "its uid has -u workers already") ;
    answer(fd, "R\n") ;
    fd_close(fd) ;
    return ;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gn) < 0)
  {
    strerr_warnwu1sys("read a caller's groups (SO_PEERGROUPS): it runs its job alone") ;
    answer(fd, "R\n") ;
    fd_close(fd) ;
    return ;
  }
  ngroups = gn / sizeof(gid_t) ;
  /* not root: only a caller that is this server's very identity (another one, quietly: it is
     no fault of the caller's, and it would be a line a call) */
  if (geteuid() && !same_as_me(&cred, groups, gn)) { answer(fd, "R\n") ; fd_close(fd) ; return ; }
  pid = fork() ;
  if (pid < 0)
  {
    strerr_warnwu1sys("fork a worker: the caller runs its job alone") ;
    answer(fd, "R\n") ;
    fd_close(fd) ;
    return ;
  }
  if (!pid) worker(fd, &cred, groups, ngroups) ;
  jobs[njobs].pid = pid ;
  jobs[njobs].fd = fd ;
  jobs[njobs].uid = cred.uid ;
  njobs++ ;
}

 /* a worker's end: its exit code to its caller, or ALONE as "R" */
static void job_end (pid_t pid, int wstat)
{
  unsigned int i ;
  for (i = 0 ; i < njobs ; i++) if (jobs[i].pid == pid) break ;
  if (i == njobs) return ;
  if (WIFEXITED(wstat))
  {
    int code = WEXITSTATUS(wstat) ;
    if (code == ALONE) answer(jobs[i].fd, "R\n") ;
    else answer_code(jobs[i].fd, code) ;
  }
  else
  {
    char fmt[UID_FMT], sig[UINT_FMT] ;
    fmt[uid_fmt(fmt, jobs[i].uid)] = 0 ;
    sig[uint_fmt(sig, WTERMSIG(wstat))] = 0 ;
    strerr_warnw("the worker of a caller of uid ", fmt, " was killed by signal ", sig, ": its message may or may not be queued; the caller was told 71") ;
    answer(jobs[i].fd, "71 the worker of ferry-sendmaild was killed: the message may or may not be queued\n") ;
  }
  fd_close(jobs[i].fd) ;
  jobs[i] = jobs[--njobs] ;
}

int main (int argc, char const *const *argv)
{
  int stopping = 0 ;
  PROG = "ferry-sendmaild" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "c:u:t:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'c' : if (!uint0_scan(l.arg, &maxjobs) || maxjobs < 1 || maxjobs > 1000) strerr_dief1x(100, "-c wants a number from 1 to 1000") ; break ;
        case 'u' : if (!uint0_scan(l.arg, &maxperuid) || maxperuid < 1) strerr_dief1x(100, "-u wants a number, at least 1") ; break ;
        case 't' : if (!uint0_scan(l.arg, &timeout) || timeout < 1) strerr_dief1x(100, "-t wants a number of seconds, at least 1") ; break ;
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
  if (!jobs) strerr_diefu1sys(111, "allocate memory") ;
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
    iopause_fd x[2] ;
    tain deadline = TAIN_INFINITE ;
    int listening = lfd >= 0 && !tain_less(&STAMP, &pauseuntil) ;
    if (stopping && (!njobs || !tain_less(&STAMP, &stopdeadline))) break ;
    x[0].fd = spfd ; x[0].events = IOPAUSE_READ ;
    x[1].fd = listening ? lfd : -1 ; x[1].events = IOPAUSE_READ ;
    if (lfd >= 0 && !listening) deadline = pauseuntil ;
    if (stopping) deadline = stopdeadline ;
    if (iopause_g(x, 2, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;
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
             jobs alone (a closed socket would reset them), and the workers get STOP_SECONDS */
          stopping = 1 ;
          unlink(SOCKET_PATH) ;
          for (;;)
          {
            int fd = accept4(lfd, 0, 0, SOCK_CLOEXEC) ;
            if (fd < 0) break ;
            answer(fd, "R\n") ;
            fd_close(fd) ;
          }
          fd_close(lfd) ;
          lfd = -1 ;
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
  if (njobs)
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, njobs)] = 0 ;
    strerr_warnw(fmt, " workers still run at the end of the stop's delay: left to finish alone (each answers its caller, or its caller says 71)") ;
  }
  return 0 ;
}
