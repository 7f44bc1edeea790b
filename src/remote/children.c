/* ferry-spawn-remote's children: ferry-mtasts-fetch (a policy fetch, sts.c) and ferry-tlsrpt (the
   day's reports), programs of the home's bin/ run in the background so that the loop never waits
   for HTTPS or for a report. Each gets /dev/null for input, the log for both outputs, no signal
   blocked, and an alarm: a child that outlives its bound is killed by it. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include "spawn_remote.h"

#define TLSRPT_BOUND 3600   /* seconds the day's reports may take */

static pid_t tlsrpt_pid = 0 ;
static uint64_t tlsrpt_day = 0 ;

pid_t child_run (char const *const *argv, unsigned int bound)
{
  pid_t pid = fork() ;
  if (pid < 0) { strerr_warnwu2sys("fork for ", argv[0]) ; return 0 ; }
  if (!pid)
  {
    sigset_t none ;
    int fd = open("/dev/null", O_RDONLY) ;
    if (fd < 0 || dup2(fd, 0) < 0 || dup2(2, 1) < 0) strerr_diefu1sys(111, "set up descriptors") ;
    if (fd > 2) close(fd) ;
    sigemptyset(&none) ;
    sigprocmask(SIG_SETMASK, &none, 0) ;
    signal(SIGPIPE, SIG_DFL) ;
    signal(SIGALRM, SIG_DFL) ;   /* the bound below works even if this program was started with it ignored */
    alarm(bound) ;
    execv(argv[0], (char *const *)argv) ;
    strerr_diefu2sys(111, "exec ", argv[0]) ;
  }
  return pid ;
}

 /* SIGCHLD: every child that ended. */
void children_reap (void)
{
  for (;;)
  {
    int wstat ;
    pid_t pid = waitpid(-1, &wstat, WNOHANG) ;
    if (pid <= 0) return ;
    if (pid == tlsrpt_pid)
    {
      tlsrpt_pid = 0 ;
      if (!WIFEXITED(wstat) || WEXITSTATUS(wstat))
      {
        char fmt[UINT_FMT] ;
        fmt[uint_fmt(fmt, WIFEXITED(wstat) ? WEXITSTATUS(wstat) : 128 + WTERMSIG(wstat))] = 0 ;
        strerr_warnw3x("ferry-tlsrpt ended with ", fmt, ": the days it did not report are tried again at the next start or day") ;
      }
    }
    else sts_child_done(pid, wstat) ;
  }
}

 /* At the start and after each midnight (UTC): the TLS reports of the days before, if the home
    has the program. */
void tlsrpt_daily (void)
{
  /* the home named: without it, ferry-tlsrpt would take FERRY_HOME or the install home */
  static char const *const argv[] = { "bin/ferry-tlsrpt", ".", 0 } ;
  uint64_t day = (uint64_t)time(0) / 86400 ;
  if (day == tlsrpt_day || tlsrpt_pid) return ;
  tlsrpt_day = day ;
  if (access(argv[0], X_OK) < 0) return ;
  tlsrpt_pid = child_run(argv, TLSRPT_BOUND) ;
}
