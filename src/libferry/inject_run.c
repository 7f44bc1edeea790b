/* ferry_inject_run, ferry_inject_strerror: ferry-inject as a subprocess. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/allreadwrite.h>

#include <ferry/inject.h>
#include <ferry/inject_run.h>

extern char **environ ;

int ferry_inject_run (char const *prog, char const *const *argv, char const *msg, size_t msglen, char const *env, size_t envlen)
{
  posix_spawn_file_actions_t fa ;
  posix_spawnattr_t attr ;
  sigset_t dfl ;
  int pm[2], pe[2], wstat, spawned, e = 0 ;
  pid_t pid ;
  void (*old)(int) ;
  if (pipe2(pm, O_CLOEXEC) < 0) return -1 ;
  if (pipe2(pe, O_CLOEXEC) < 0) { e = errno ; close(pm[0]) ; close(pm[1]) ; errno = e ; return -1 ; }
  /* spawned, not forked: a fork's child would copy the caller's memory (the whole message) only
     for the exec to throw it away. ferry-inject gets SIGPIPE back at its default. */
  sigemptyset(&dfl) ;
  sigaddset(&dfl, SIGPIPE) ;
  if ((e = posix_spawn_file_actions_init(&fa))) goto closeall ;
  if ((e = posix_spawnattr_init(&attr))) { posix_spawn_file_actions_destroy(&fa) ; goto closeall ; }
  e = posix_spawn_file_actions_adddup2(&fa, pm[0], 0) ;
  if (!e) e = posix_spawn_file_actions_adddup2(&fa, pe[0], 1) ;
  if (!e) e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF) ;
  if (!e) e = posix_spawnattr_setsigdefault(&attr, &dfl) ;
  spawned = !e && !posix_spawn(&pid, prog, &fa, &attr, (char *const *)argv, environ) ;
  posix_spawn_file_actions_destroy(&fa) ;
  posix_spawnattr_destroy(&attr) ;
  if (e) goto closeall ;
  /* a program that cannot be started answers as one that exited at once */
  if (!spawned) { close(pm[0]) ; close(pm[1]) ; close(pe[0]) ; close(pe[1]) ; return FERRY_INJECT_RUN_EXEC ; }
  old = signal(SIGPIPE, SIG_IGN) ;
  close(pm[0]) ; close(pe[0]) ;
  /* in ferry-inject's order: the message to its end, then the envelope (of any size) */
  if (allwrite(pm[1], msg, msglen) < msglen) e = errno ;
  close(pm[1]) ;
  if (!e && allwrite(pe[1], env, envlen) < envlen) e = errno ;
  close(pe[1]) ;
  signal(SIGPIPE, old) ;
  /* a signal the caller catches (a server's SIGTERM) does not end the wait */
  while (waitpid(pid, &wstat, 0) < 0) if (errno != EINTR) return -1 ;
  if (WIFSIGNALED(wstat)) return 128 + WTERMSIG(wstat) ;
  if (WEXITSTATUS(wstat)) return WEXITSTATUS(wstat) ;
  if (e) { errno = e ; return -1 ; }   /* it exited 0 without reading everything: not trusted */
  return 0 ;
 closeall:
  close(pm[0]) ; close(pm[1]) ; close(pe[0]) ; close(pe[1]) ;
  errno = e ;
  return -1 ;
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
    case FERRY_INJECT_BUSY : return "the server is busy: turned away before anything was read" ;
    case FERRY_INJECT_BUG : return "an internal error" ;
    case FERRY_INJECT_ENVELOPE : return "the envelope was refused (a bad address or parameter)" ;
    case FERRY_INJECT_RUN_EXEC : return "ferry-inject could not be run" ;
  }
  return "a failure" ;
}
