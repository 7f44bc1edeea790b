/* smtpd_auth_run: the credentials of AUTH checked by a checkpassword program (qmail-smtpd's
   interface), with a deadline. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include "auth.h"

static int why2 (stralloc *why, char const *a, char const *b)
{
  why->len = 0 ;
  if (!stralloc_cats(why, a) || !stralloc_cats(why, b) || !stralloc_0(why)) { why->len = 0 ; return 2 ; }
  why->len-- ;
  return 2 ;
}

 /* In the child: fd 3 the data, fds 0 and 1 /dev/null (never the client's socket), done kept
    open through exec (its end tells the parent the program is gone); then the program. */
static void child (char const *const *argv, char const *const *envp, int data, int done)
{
  sigset_t none ;
  int null = open("/dev/null", O_RDWR) ;
  if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0) _exit(111) ;
  if (data == 3) { if (fcntl(3, F_SETFD, 0) < 0) _exit(111) ; }
  else if (dup2(data, 3) < 0) _exit(111) ;
  if (fcntl(done, F_SETFD, 0) < 0) _exit(111) ;
  sigemptyset(&none) ;
  sigprocmask(SIG_SETMASK, &none, 0) ;
  signal(SIGPIPE, SIG_DFL) ;
  /* the connection's variables (server mode), in this child only */
  if (envp) for (; *envp ; envp++) if (putenv((char *)*envp) < 0) _exit(111) ;
  execvp(argv[0], (char *const *)argv) ;
  _exit(errno == ENOENT ? 127 : 126) ;
}

int smtpd_auth_run (char const *const *argv, char const *const *envp, char const *user, char const *pass, tain const *deadline, stralloc *why)
{
  size_t un = strlen(user), pn = strlen(pass) ;
  char buf[2 * SMTPD_AUTH_FIELD_MAX + 3] ;
  int d[2], e[2], wstat, timedout = 0 ;
  pid_t pid ;
  if (un > SMTPD_AUTH_FIELD_MAX || pn > SMTPD_AUTH_FIELD_MAX) return why2(why, "the user name or password is too long", "") ;
  memcpy(buf, user, un + 1) ;
  memcpy(buf + un + 1, pass, pn + 1) ;
  buf[un + pn + 2] = 0 ;   /* the timestamp, empty */
  if (pipecoe(d) < 0) return why2(why, "unable to make a pipe: ", strerror(errno)) ;
  /* all of it goes into the pipe before the program starts (a pipe holds 4 KiB at least): the
     program may exit without reading it, and nothing waits for it */
  if (write(d[1], buf, un + pn + 3) != (ssize_t)(un + pn + 3))
  {
    int err = errno ;
    memset(buf, 0, sizeof(buf)) ;
    fd_close(d[0]) ; fd_close(d[1]) ;
    return why2(why, "unable to write to a pipe: ", strerror(err)) ;
  }
  memset(buf, 0, sizeof(buf)) ;
  fd_close(d[1]) ;
  if (pipecoe(e) < 0) { int err = errno ; fd_close(d[0]) ; return why2(why, "unable to make a pipe: ", strerror(err)) ; }
  pid = fork() ;
  if (pid < 0) { int err = errno ; fd_close(d[0]) ; fd_close(e[0]) ; fd_close(e[1]) ; return why2(why, "unable to fork: ", strerror(err)) ; }
  if (!pid) child(argv, envp, d[0], e[1]) ;
  fd_close(d[0]) ;
  fd_close(e[1]) ;
  for (;;)
  {
    iopause_fd x = { .fd = e[0], .events = IOPAUSE_READ } ;
    int r = iopause_g(&x, 1, deadline) ;
    if (r < 0 && errno == EINTR) continue ;
    if (!r) { timedout = 1 ; kill(pid, SIGKILL) ; }
    if (r > 0)
    {
      char c ;
      ssize_t k = read(e[0], &c, 1) ;
      if (k < 0 && errno == EINTR) continue ;
      if (k > 0) continue ;   /* the program wrote to the fd: not ours, read past */
    }
    break ;
  }
  fd_close(e[0]) ;
  while (waitpid(pid, &wstat, 0) < 0) if (errno != EINTR) return why2(why, "unable to wait for ", argv[0]) ;
  if (timedout) return why2(why, argv[0], ": killed: no verdict before the deadline") ;
  if (WIFSIGNALED(wstat))
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, WTERMSIG(wstat))] = 0 ;
    why2(why, argv[0], ": killed by signal ") ;
    if (!stralloc_cats(why, fmt) || !stralloc_0(why)) why->len = 0 ; else why->len-- ;
    return 2 ;
  }
  switch (WEXITSTATUS(wstat))
  {
    case 0 : return 0 ;
    case 1 : why2(why, argv[0], ": bad credentials") ; return 1 ;
    case 111 : return why2(why, argv[0], ": a temporary failure (exit 111)") ;
    case 127 : return why2(why, argv[0], ": not found") ;
    case 126 : return why2(why, argv[0], ": unable to run it") ;
    default :
    {
      char fmt[UINT_FMT] ;
      fmt[uint_fmt(fmt, WEXITSTATUS(wstat))] = 0 ;
      why2(why, argv[0], ": failed (exit ") ;
      if (!stralloc_cats(why, fmt) || !stralloc_cats(why, ")") || !stralloc_0(why)) why->len = 0 ; else why->len-- ;
      return 2 ;
    }
  }
}
