/* ferry-smtpd's message: DATA and BDAT read through the transform and checked against the bounds,
   then handed to the queue (ferry-injectd, else ferry-inject); 250 only once it is committed. */

#include <errno.h>
#include <string.h>
#include <time.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/inject.h>
#include <ferry/inject_run.h>

#include "smtpd.h"

#define TOOBIG "552 5.3.4 the message is larger than this server takes"

 /* The Received: line first, the transform at its start. 0 on running out of memory. */
static int begin (smtpd_session *s)
{
  smtpd_received r ;
  smtpd_data zero = SMTPD_DATA_ZERO ;
  s->data = zero ;
  s->toobig = 0 ;
  s->octets = 0 ;
  s->msg.len = 0 ;
  r.helo = s->helo.len ? s->helo.s : 0 ;
  r.remotehost = s->cfg->remotehost ;
  r.remoteip = s->cfg->remoteip ;
  r.me = s->cfg->me ;
  r.protocol = smtpd_protocol(s) ;
  r.tlsversion = s->tlsversion ;
  r.tlscipher = s->tlscipher ;
  r.rcpt = s->nrcpts == 1 ? s->rcpts.s : 0 ;
  r.when = time(0) ;
  if (!smtpd_received_fmt(&s->msg, &r)) return 0 ;
  return 1 ;
}

 /* control/databytes counts every byte ferry-inject is given, this Received: line too */
static void bound (smtpd_session *s)
{
  if (s->cfg->databytes && s->msg.len > s->cfg->databytes)
  {
    s->toobig = 1 ;
    stralloc_free(&s->msg) ;
  }
}

 /* The message's log line: who, what, and how it ended. */
static void log_message (smtpd_session *s, char const *result, char const *more)
{
  stralloc *l = &s->scratch ;
  size_t i = 0 ;
  char fmt[UINT64_FMT] ;
  l->len = 0 ;
  stralloc_cats(l, "message from <") ;
  smtpd_received_clean(l, s->sender.s ? s->sender.s : "", 256) ;
  stralloc_cats(l, "> to") ;
  while (i < s->rcpts.len)
  {
    stralloc_cats(l, " <") ;
    smtpd_received_clean(l, s->rcpts.s + i, 256) ;
    stralloc_cats(l, ">") ;
    i += strlen(s->rcpts.s + i) + 1 ;
  }
  stralloc_cats(l, " octets ") ;
  stralloc_catb(l, fmt, uint64_fmt(fmt, s->octets)) ;
  stralloc_cats(l, " client ") ;
  smtpd_client_cat(s, l) ;
  stralloc_cats(l, " ") ;
  stralloc_cats(l, smtpd_protocol(s)) ;
  if (s->tlsversion)
  {
    stralloc_cats(l, " tls ") ;
    stralloc_cats(l, s->tlsversion) ;
    stralloc_cats(l, " ") ;
    stralloc_cats(l, s->tlscipher ? s->tlscipher : "unknown") ;
  }
  if (s->authuser)
  {
    stralloc_cats(l, " auth ") ;
    smtpd_received_clean(l, s->authuser, 256) ;
  }
  stralloc_cats(l, ": ") ;
  stralloc_cats(l, result) ;
  if (more) { stralloc_cats(l, ": ") ; stralloc_cats(l, more) ; }
  if (stralloc_0(l)) smtpd_log(l->s) ;
}

 /* The client left or timed out in the middle of a message: nothing was handed to the queue. */
static int aborted (smtpd_session *s, int r)
{
  char const *why = !r ? "the client closed the connection in the middle of the message"
    : s->io.timedout ? "timeout in the middle of the message" : "read error in the middle of the message" ;
  log_message(s, "aborted, nothing queued", why) ;
  s->ended = why ;
  if (r < 0 && s->io.timedout)
  {
    smtpd_session_reply(s, "421 4.4.2 timeout: closing connection") ;
    smtpd_io_flush(&s->io) ;
  }
  smtpd_session_reset(s) ;
  return 0 ;
}

 /* The end of a message: refused, or handed to the queue; the reply; the transaction is over. */
static void finish (smtpd_session *s)
{
  stralloc answer = STRALLOC_ZERO ;
  char const *reply ;
  unsigned char f = s->data.flags ;
  if (s->toobig) reply = TOOBIG ;
  else if (f & SMTPD_DATA_NUL) reply = "554 5.6.0 the message has a NUL byte" ;
  else if (f & (SMTPD_DATA_BARELF | SMTPD_DATA_BARECR)) reply = "554 5.6.0 the message has a bare LF or CR: every line must end in CRLF (RFC 5321 2.3.8)" ;
  else
  {
    char const *argv[] = { "ferry-inject", ".", 0 } ;
    int code ;
    if (!stralloc_0(&s->env)) code = -1 ;
    else code = ferry_inject_submit_answer("bin/ferry-inject", argv, s->msg.s, s->msg.len, s->env.s, s->env.len, s->cfg->timeout, &answer) ;
    if (!code)
    {
      s->queued++ ;
      s->unqueued = 0 ;
      log_message(s, answer.len ? answer.s : "queued", 0) ;
      s->scratch.len = 0 ;
      if (!stralloc_cats(&s->scratch, "250 2.0.0 ok: ") || !stralloc_cats(&s->scratch, answer.len ? answer.s : "queued") || !stralloc_0(&s->scratch))
        smtpd_session_reply(s, "250 2.0.0 ok: queued") ;
      else smtpd_session_reply(s, s->scratch.s) ;
      goto end ;
    }
    if (code == FERRY_INJECT_TOOBIG) reply = TOOBIG ;
    else reply = "451 4.3.0 the message could not be queued: try again later" ;
    {
      /* the log says why: the server's answer, ferry-inject's code, or the system's error */
      stralloc why = STRALLOC_ZERO ;
      char fmt[UINT_FMT] ;
      if (code < 0) stralloc_cats(&why, strerror(errno)) ;
      else
      {
        stralloc_cats(&why, "code ") ;
        stralloc_catb(&why, fmt, uint_fmt(fmt, code)) ;
        stralloc_cats(&why, ", ") ;
        stralloc_cats(&why, answer.len ? answer.s : ferry_inject_strerror(code)) ;
      }
      if (stralloc_0(&why)) log_message(s, reply, why.s) ;
      stralloc_free(&why) ;
    }
    s->refused++ ;
    smtpd_session_reply(s, reply) ;
    goto end ;
  }
  s->refused++ ;
  log_message(s, "refused", reply) ;
  smtpd_session_reply(s, reply) ;
 end:
  stralloc_free(&answer) ;
  smtpd_session_reset(s) ;
}

int smtpd_message_data (smtpd_session *s, smtpd_command const *c)
{
  int done = 0 ;
  if (!s->inmail) { smtpd_session_reply(s, "503 5.5.1 send MAIL first") ; return 1 ; }
  if (s->bdat) { smtpd_session_reply(s, "503 5.5.1 DATA after BDAT") ; return 1 ; }
  if (!s->nrcpts) { smtpd_session_reply(s, "554 5.5.1 no valid recipients") ; return 1 ; }
  if (c->arglen) { smtpd_session_reply(s, "501 5.5.4 syntax: DATA") ; return 1 ; }
  if (!begin(s)) { smtpd_session_reply(s, "451 4.3.0 out of memory") ; return 1 ; }
  smtpd_session_reply(s, "354 go ahead: end with <CRLF>.<CRLF>") ;
  if (!smtpd_io_flush(&s->io)) return aborted(s, -1) ;
  while (!done)
  {
    char const *in ;
    size_t n, used ;
    int r = smtpd_io_peek(&s->io, &in, &n) ;
    if (r <= 0) return aborted(s, r) ;
    if (s->toobig) s->scratch.len = 0 ;
    used = smtpd_data_dot(&s->data, in, n, s->toobig ? &s->scratch : &s->msg, &done) ;
    if (!used) { smtpd_session_reply(s, "421 4.3.0 out of memory") ; s->ended = "out of memory" ; return 0 ; }
    smtpd_io_consume(&s->io, used) ;
    s->octets += used ;
    if (!s->toobig) bound(s) ;
  }
  finish(s) ;
  return 1 ;
}

int smtpd_message_bdat (smtpd_session *s, smtpd_command const *c)
{
  uint64_t size, chunk ;
  int last ;
  char const *fail = 0 ;
  if (!smtpd_bdat_parse(c->arg, c->arglen, &chunk, &last)) { smtpd_session_reply(s, "501 5.5.4 syntax: BDAT octets [LAST]") ; return 1 ; }
  if (!s->inmail) fail = "503 5.5.1 send MAIL first" ;
  else if (!s->nrcpts) fail = "554 5.5.1 no valid recipients" ;
  else if (s->bdatfail) fail = s->bdatfail ;
  else if (!s->bdat)
  {
    if (!begin(s)) fail = "451 4.3.0 out of memory" ;
    s->bdat = 1 ;
  }
  size = chunk ;
  /* the chunk is read whatever the answer: its bytes are no commands */
  while (size)
  {
    char const *in ;
    size_t n ;
    int r = smtpd_io_peek(&s->io, &in, &n) ;
    if (r <= 0) return aborted(s, r) ;
    if (n > size) n = size ;
    if (!fail && !s->toobig)
    {
      if (!smtpd_data_chunk(&s->data, in, n, &s->msg)) fail = "451 4.3.0 out of memory" ;
      else bound(s) ;
    }
    smtpd_io_consume(&s->io, n) ;
    s->octets += n ;
    size -= n ;
  }
  if (!fail && s->toobig) fail = TOOBIG ;
  if (fail)
  {
    /* RFC 3030: a failed chunk fails the message; the next ones get the same until it ends */
    if (s->inmail && s->nrcpts)
    {
      if (!s->bdatfail)
      {
        s->refused++ ;
        log_message(s, "refused", fail) ;
      }
      s->bdatfail = fail ;
    }
    smtpd_session_reply(s, fail) ;
    if (last && s->inmail) smtpd_session_reset(s) ;
    return 1 ;
  }
  if (!last)
  {
    char fmt[UINT64_FMT] ;
    s->scratch.len = 0 ;
    if (stralloc_cats(&s->scratch, "250 2.0.0 ") && stralloc_catb(&s->scratch, fmt, uint64_fmt(fmt, chunk))
     && stralloc_cats(&s->scratch, " octets taken") && stralloc_0(&s->scratch)) smtpd_session_reply(s, s->scratch.s) ;
    else smtpd_session_reply(s, "250 2.0.0 ok") ;
    return 1 ;
  }
  if (!smtpd_data_chunk_end(&s->data, &s->msg)) { smtpd_session_reply(s, "451 4.3.0 out of memory") ; smtpd_session_reset(s) ; return 1 ; }
  finish(s) ;
  return 1 ;
}
