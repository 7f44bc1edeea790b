/* local_forward: &address lines: the message, with a Delivered-To: line first, injected once
   for all the forward addresses, keeping the envelope sender; the way every local client injects
   (ferry_inject_submit: ferry-injectd on public/inject, else the home's ferry-inject), so that a
   mailbox owner with no access to the queue can forward. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/inject.h>
#include <ferry/inject_run.h>

#include "local.h"

static char fail (stralloc *report, char const *what, int e)
{
  stralloc_cats(report, "forward: unable to ") ;
  stralloc_cats(report, what) ;
  if (e) { stralloc_cats(report, ": ") ; stralloc_cats(report, strerror(e)) ; }
  return 'Z' ;
}

 /* the message of fd (read from offset 0) appended to sa */
static int message_read (stralloc *sa, int fd)
{
  off_t off = 0 ;
  for (;;)
  {
    ssize_t r ;
    if (!stralloc_readyplus(sa, 65536)) return 0 ;
    r = pread(fd, sa->s + sa->len, 65536, off) ;
    if (r < 0) { if (errno == EINTR) continue ; return 0 ; }
    if (!r) return 1 ;
    sa->len += r ;
    off += r ;
  }
}

 /* addresses: each null-terminated */
char local_forward (ferry_local_ctx const *ctx, local_msg const *m, stralloc const *addresses, stralloc *report)
{
  stralloc msg = STRALLOC_ZERO, env = STRALLOC_ZERO ;
  char const *argv[] = { "ferry-inject", ".", 0 } ;
  size_t i ;
  int code ;
  char fmt[UINT_FMT] ;
  char status = 'Z' ;
  if (!stralloc_cats(&msg, "Delivered-To: ") || !stralloc_cats(&msg, m->recipient) || !stralloc_cats(&msg, "\n")
   || !stralloc_catb(&env, "F", 1) || !stralloc_cats(&env, m->sender) || !stralloc_0(&env))
  { status = fail(report, "allocate memory", errno) ; goto end ; }
  for (i = 0 ; i < addresses->len ; i += strlen(addresses->s + i) + 1)
    if (!stralloc_catb(&env, "T", 1) || !stralloc_cats(&env, addresses->s + i) || !stralloc_0(&env))
    { status = fail(report, "allocate memory", errno) ; goto end ; }
  if (!stralloc_0(&env)) { status = fail(report, "allocate memory", errno) ; goto end ; }
  if (!message_read(&msg, m->fd)) { status = fail(report, "read the message", errno) ; goto end ; }
  /* the socket and bin/ are named relative to the home; every delivery enters its own directory
     again before it starts */
  if (chdir(ctx->home.s) < 0) { status = fail(report, "enter the ferry home", errno) ; goto end ; }
  code = ferry_inject_submit("bin/ferry-inject", argv, msg.s, msg.len, env.s, env.len) ;
  stralloc_cats(report, "forwarded to ") ;
  for (i = 0 ; i < addresses->len ; i += strlen(addresses->s + i) + 1)
  {
    if (i) stralloc_cats(report, ", ") ;
    stralloc_cats(report, addresses->s + i) ;
  }
  if (!code) { status = 'K' ; goto end ; }
  if (code < 0)
  {
    /* the server may have queued it before the connection broke: a retry may forward it twice */
    int e = errno ;
    stralloc_cats(report, ": unable to hand it to ferry-injectd (it may have been queued): ") ;
    stralloc_cats(report, strerror(e)) ;
    goto end ;
  }
  fmt[uint_fmt(fmt, code)] = 0 ;
  status = code >= 11 && code <= 40 ? 'D' : 'Z' ;
  stralloc_cats(report, ": not queued: ") ;
  stralloc_cats(report, fmt) ;
  stralloc_cats(report, " ") ;
  stralloc_cats(report, ferry_inject_strerror(code)) ;
 end:
  stralloc_free(&msg) ;
  stralloc_free(&env) ;
  return status ;
}
