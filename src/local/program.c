/* local_program: |command lines, run by /bin/sh in a fresh process group with the message
   (Return-Path: and Delivered-To: first) on stdin; the one delivery that needs a new process. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include "local.h"

#define OUTPUT_MAX 800

static int env_add (stralloc *sa, char const *name, char const *value, size_t n)
{
  return stralloc_cats(sa, name) && stralloc_catb(sa, "=", 1) && stralloc_catb(sa, value, n) && stralloc_0(sa) ;
}

static long ms_left (struct timespec const *deadline)
{
  struct timespec now ;
  long ms ;
  clock_gettime(CLOCK_MONOTONIC, &now) ;
  ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000 ;
  return ms < 0 ? 0 : ms ;
}

static char fail (stralloc *report, char const *command, char const *what, int e)
{
  stralloc_cats(report, "program |") ;
  stralloc_cats(report, command) ;
  stralloc_cats(report, ": ") ;
  stralloc_cats(report, what) ;
  if (e) { stralloc_cats(report, ": ") ; stralloc_cats(report, strerror(e)) ; }
  return 'Z' ;
}

 /* Returns K, Z, D, or S (exit 99: delivered, process no further line). */
char local_program (ferry_local_ctx const *ctx, ferry_local_target const *t, local_msg const *m, char const *command, stralloc *report)
{
  stralloc env = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  char const *envp[16] ;
  struct timespec deadline ;
  size_t dt = m->prefix.len ;
  int in, p[2], wstat, timedout = 0 ;
  pid_t pid ;
  char status ;

  in = memfd_create("ferry-program", MFD_CLOEXEC) ;
  if (in < 0) return fail(report, command, "unable to make the program's input", errno) ;
  if (!local_copy(in, m, 0) || lseek(in, 0, SEEK_SET) < 0)
  { int e = errno ; fd_close(in) ; return fail(report, command, "unable to write the program's input", e) ; }

  /* the Return-Path: and Delivered-To: lines, for programs used to qmail's RPLINE and DTLINE */
  while (dt && m->prefix.s[dt - 1] != ':') dt-- ;
  {
    char const *pre = m->prefix.s ;
    size_t rp = strchr(pre, '\n') - pre + 1 ;
    if (!env_add(&env, "SENDER", m->sender, strlen(m->sender))
     || !env_add(&env, "RECIPIENT", m->recipient, strlen(m->recipient))
     || !env_add(&env, "LOCAL", ferry_local_target_str(t, local), strlen(ferry_local_target_str(t, local)))
     || !env_add(&env, "HOST", ferry_local_target_str(t, host), strlen(ferry_local_target_str(t, host)))
     || !env_add(&env, "EXT", ferry_local_target_str(t, ext), strlen(ferry_local_target_str(t, ext)))
     || !env_add(&env, "HOME", ferry_local_target_str(t, home), strlen(ferry_local_target_str(t, home)))
     || !env_add(&env, "USER", ferry_local_target_str(t, user), strlen(ferry_local_target_str(t, user)))
     || !env_add(&env, "PATH", "/usr/local/bin:/usr/bin:/bin", 28)
     || !env_add(&env, "SHELL", "/bin/sh", 7)
     || !env_add(&env, "RPLINE", pre, rp)
     || !env_add(&env, "DTLINE", pre + rp, m->prefix.len - rp))
    { fd_close(in) ; stralloc_free(&env) ; return fail(report, command, "out of memory", 0) ; }
  }
  {
    size_t i = 0 ;
    unsigned int k = 0 ;
    while (i < env.len && k < 15) { envp[k++] = env.s + i ; i += strlen(env.s + i) + 1 ; }
    envp[k] = 0 ;
  }
  if (pipe2(p, O_CLOEXEC) < 0) { int e = errno ; fd_close(in) ; stralloc_free(&env) ; return fail(report, command, "unable to make a pipe", e) ; }
  pid = fork() ;
  if (pid < 0) { int e = errno ; fd_close(in) ; fd_close(p[0]) ; fd_close(p[1]) ; stralloc_free(&env) ; return fail(report, command, "unable to fork", e) ; }
  if (!pid)
  {
    char const *argv[] = { "sh", "-c", command, 0 } ;
    setsid() ;
    signal(SIGPIPE, SIG_DFL) ;
    if (dup2(in, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0) _exit(111) ;
    execve("/bin/sh", (char *const *)argv, (char *const *)envp) ;
    _exit(111) ;
  }
  fd_close(in) ;
  fd_close(p[1]) ;
  clock_gettime(CLOCK_MONOTONIC, &deadline) ;
  deadline.tv_sec += ctx->timeoutprogram ;
  for (;;)
  {
    struct pollfd pfd = { .fd = p[0], .events = POLLIN } ;
    char buf[4096] ;
    ssize_t r ;
    int n = poll(&pfd, 1, ms_left(&deadline)) ;
    if (n < 0) { if (errno == EINTR) continue ; break ; }
    if (!n) { timedout = 1 ; kill(-pid, SIGKILL) ; kill(pid, SIGKILL) ; break ; }
    r = read(p[0], buf, sizeof(buf)) ;
    if (r < 0) { if (errno == EINTR) continue ; break ; }
    if (!r) break ;
    if (out.len < OUTPUT_MAX) stralloc_catb(&out, buf, (size_t)r > OUTPUT_MAX - out.len ? OUTPUT_MAX - out.len : (size_t)r) ;
  }
  fd_close(p[0]) ;
  while (waitpid(pid, &wstat, 0) < 0) if (errno != EINTR) { wstat = 111 << 8 ; break ; }
  stralloc_free(&env) ;

  stralloc_cats(report, "program |") ;
  stralloc_cats(report, command) ;
  if (timedout)
  {
    status = 'Z' ;
    stralloc_cats(report, ": killed after control/timeoutprogram seconds") ;
  }
  else if (WIFSIGNALED(wstat))
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, WTERMSIG(wstat))] = 0 ;
    status = 'Z' ;
    stralloc_cats(report, ": killed by signal ") ;
    stralloc_cats(report, fmt) ;
  }
  else
  {
    int code = WEXITSTATUS(wstat) ;
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, code)] = 0 ;
    status = code == 0 ? 'K' : code == 99 ? 'S' : code == 100 ? 'D' : 'Z' ;
    if (code)
    {
      stralloc_cats(report, ": exit ") ;
      stralloc_cats(report, fmt) ;
    }
  }
  if (status != 'K' && status != 'S' && out.len)
  {
    size_t i ;
    while (out.len && (out.s[out.len - 1] == '\n' || out.s[out.len - 1] == ' ')) out.len-- ;
    for (i = 0 ; i < out.len ; i++) if ((unsigned char)out.s[i] < 32) out.s[i] = ' ' ;
    stralloc_cats(report, ": ") ;
    stralloc_catb(report, out.s, out.len) ;
  }
  stralloc_free(&out) ;
  return status ;
}
