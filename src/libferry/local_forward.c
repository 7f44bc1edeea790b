/* ferry_local_forward: &address lines: the message, with a Delivered-To: line first, injected once
   for all the forward addresses, keeping the envelope sender. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/local.h>

static char fail (stralloc *report, char const *what, int e)
{
  stralloc_cats(report, "forward: unable to ") ;
  stralloc_cats(report, what) ;
  if (e) { stralloc_cats(report, ": ") ; stralloc_cats(report, strerror(e)) ; }
  return 'Z' ;
}

 /* addresses: each null-terminated */
char ferry_local_forward (ferry_local_ctx const *ctx, ferry_local_msg const *m, stralloc const *addresses, stralloc *report)
{
  ferry_local_msg fm = { .fd = m->fd, .sender = m->sender, .recipient = m->recipient, .prefix = STRALLOC_ZERO } ;
  stralloc env = STRALLOC_ZERO, prog = STRALLOC_ZERO ;
  int mp[2], ep[2], wstat, code ;
  size_t i ;
  pid_t pid ;
  char fmt[UINT_FMT] ;
  char status = 'Z' ;
  if (!stralloc_cats(&fm.prefix, "Delivered-To: ") || !stralloc_cats(&fm.prefix, m->recipient) || !stralloc_cats(&fm.prefix, "\n")
   || !stralloc_catb(&env, "F", 1) || !stralloc_cats(&env, m->sender) || !stralloc_0(&env))
  { status = fail(report, "allocate memory", errno) ; goto end ; }
  for (i = 0 ; i < addresses->len ; i += strlen(addresses->s + i) + 1)
    if (!stralloc_catb(&env, "T", 1) || !stralloc_cats(&env, addresses->s + i) || !stralloc_0(&env))
    { status = fail(report, "allocate memory", errno) ; goto end ; }
  if (!stralloc_0(&env)
   || !stralloc_copyb(&prog, ctx->home.s, strlen(ctx->home.s)) || !stralloc_cats(&prog, "/bin/ferry-inject") || !stralloc_0(&prog))
  { status = fail(report, "allocate memory", errno) ; goto end ; }
  if (pipe(mp) < 0) { status = fail(report, "make a pipe", errno) ; goto end ; }
  if (pipe(ep) < 0) { status = fail(report, "make a pipe", errno) ; fd_close(mp[0]) ; fd_close(mp[1]) ; goto end ; }
  pid = fork() ;
  if (pid < 0) { status = fail(report, "fork", errno) ; fd_close(mp[0]) ; fd_close(mp[1]) ; fd_close(ep[0]) ; fd_close(ep[1]) ; goto end ; }
  if (!pid)
  {
    char const *argv[] = { "ferry-inject", ctx->home.s, 0 } ;
    if (dup2(mp[0], 0) < 0 || dup2(ep[0], 1) < 0) _exit(111) ;
    close(mp[0]) ; close(mp[1]) ; close(ep[0]) ; close(ep[1]) ;
    execv(prog.s, (char *const *)argv) ;
    _exit(120) ;
  }
  fd_close(mp[0]) ; fd_close(ep[0]) ;
  ferry_local_copy(mp[1], &fm, 0) ;   /* a write error shows in ferry-inject's exit code */
  fd_close(mp[1]) ;
  if (allwrite(ep[1], env.s, env.len) < env.len) { }
  fd_close(ep[1]) ;
  while (waitpid(pid, &wstat, 0) < 0) if (errno != EINTR) { wstat = 111 << 8 ; break ; }
  code = WIFEXITED(wstat) ? WEXITSTATUS(wstat) : 111 ;
  stralloc_cats(report, "forwarded to ") ;
  for (i = 0 ; i < addresses->len ; i += strlen(addresses->s + i) + 1)
  {
    if (i) stralloc_cats(report, ", ") ;
    stralloc_cats(report, addresses->s + i) ;
  }
  if (!code) { status = 'K' ; goto end ; }
  fmt[uint_fmt(fmt, code)] = 0 ;
  status = code >= 11 && code <= 40 ? 'D' : 'Z' ;
  stralloc_cats(report, code == 120 ? ": unable to run " : ": ferry-inject exited ") ;
  stralloc_cats(report, code == 120 ? prog.s : fmt) ;
 end:
  stralloc_free(&env) ;
  stralloc_free(&prog) ;
  stralloc_free(&fm.prefix) ;
  return status ;
}
