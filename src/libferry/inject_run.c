/* ferry_inject_run, ferry_inject_strerror: ferry-inject as a subprocess. */

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/allreadwrite.h>

#include <ferry/inject.h>
#include <ferry/inject_run.h>

extern char **environ ;

int ferry_inject_run (char const *prog, char const *const *argv, char const *msg, size_t msglen, char const *env, size_t envlen)
{
  int pm[2], pe[2], wstat, e = 0 ;
  pid_t pid ;
  void (*old)(int) = signal(SIGPIPE, SIG_IGN) ;
  if (pipe(pm) < 0) { e = errno ; signal(SIGPIPE, old) ; errno = e ; return -1 ; }
  if (pipe(pe) < 0) { e = errno ; close(pm[0]) ; close(pm[1]) ; signal(SIGPIPE, old) ; errno = e ; return -1 ; }
  pid = fork() ;
  if (pid < 0) { e = errno ; close(pm[0]) ; close(pm[1]) ; close(pe[0]) ; close(pe[1]) ; signal(SIGPIPE, old) ; errno = e ; return -1 ; }
  if (!pid)
  {
    signal(SIGPIPE, SIG_DFL) ;
    if (dup2(pm[0], 0) < 0 || dup2(pe[0], 1) < 0) _exit(FERRY_INJECT_BUG) ;
    close(pm[0]) ; close(pm[1]) ; close(pe[0]) ; close(pe[1]) ;
    execve(prog, (char *const *)argv, environ) ;
    _exit(FERRY_INJECT_RUN_EXEC) ;
  }
  close(pm[0]) ; close(pe[0]) ;
  /* in ferry-inject's order: the message to its end, then the envelope (of any size) */
  if (allwrite(pm[1], msg, msglen) < msglen) e = errno ;
  close(pm[1]) ;
  if (!e && allwrite(pe[1], env, envlen) < envlen) e = errno ;
  close(pe[1]) ;
  signal(SIGPIPE, old) ;
  if (waitpid(pid, &wstat, 0) < 0) return -1 ;
  if (WIFSIGNALED(wstat)) return 128 + WTERMSIG(wstat) ;
  if (WEXITSTATUS(wstat)) return WEXITSTATUS(wstat) ;
  if (e) { errno = e ; return -1 ; }   /* it exited 0 without reading everything: not trusted */
  return 0 ;
}

char const *ferry_inject_strerror (int e)
{
  switch (e)
  {
    case FERRY_INJECT_OK : return "queued" ;
    case FERRY_INJECT_ADDRTOOLONG : return "an address is too long" ;
    case FERRY_INJECT_REFUSED : return "the message was refused" ;
    case FERRY_INJECT_TOOBIG : return "the message is larger than control/databytes" ;
    case FERRY_INJECT_NOMEM : return "out of memory" ;
    case FERRY_INJECT_TIMEOUT : return "timeout" ;
    case FERRY_INJECT_WRITE : return "unable to write the queue (disk full?)" ;
    case FERRY_INJECT_READ : return "unable to read its input" ;
    case FERRY_INJECT_CONFIG : return "a control file could not be read, or ferry-inject could not run" ;
    case FERRY_INJECT_HOME : case FERRY_INJECT_QUEUE : return "unable to enter the home or the queue" ;
    case FERRY_INJECT_PID : case FERRY_INJECT_MESS : case FERRY_INJECT_INTD : case FERRY_INJECT_TODO : return "unable to write a queue file" ;
    case FERRY_INJECT_BUG : return "an internal error" ;
    case FERRY_INJECT_ENVELOPE : return "the envelope was refused (a bad address or parameter)" ;
    case FERRY_INJECT_RUN_EXEC : return "ferry-inject could not be run" ;
  }
  return "a failure" ;
}
