/* ferry-smtpd's one session: its settings, its run, its log line, then nothing of it left. */

#include <skalibs/allreadwrite.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/control.h>

#include "serve.h"

static void session_log (smtpd_session *s)
{
  stralloc l = STRALLOC_ZERO ;
  char fmt[UINT_FMT] ;
  stralloc_cats(&l, "session client ") ;
  smtpd_client_cat(s, &l) ;
  if (s->helo.len) { stralloc_cats(&l, " helo ") ; smtpd_received_clean(&l, s->helo.s, 255) ; }
  stralloc_cats(&l, " ") ;
  stralloc_cats(&l, smtpd_protocol(s)) ;
  if (s->tlsversion) { stralloc_cats(&l, " tls ") ; stralloc_cats(&l, s->tlsversion) ; }
  if (s->authuser) { stralloc_cats(&l, " auth ") ; smtpd_received_clean(&l, s->authuser, 64) ; }
  stralloc_cats(&l, ": ") ;
  stralloc_catb(&l, fmt, uint_fmt(fmt, s->commands)) ;
  stralloc_cats(&l, " commands, ") ;
  stralloc_catb(&l, fmt, uint_fmt(fmt, s->queued)) ;
  stralloc_cats(&l, " messages queued, ") ;
  stralloc_catb(&l, fmt, uint_fmt(fmt, s->refused)) ;
  stralloc_cats(&l, " refused, ") ;
  stralloc_catb(&l, fmt, uint_fmt(fmt, s->errors)) ;
  stralloc_cats(&l, " errors; ended: ") ;
  stralloc_cats(&l, s->ended) ;
  if (stralloc_0(&l)) smtpd_log(l.s) ;
  stralloc_free(&l) ;
}

 /* The server cannot serve: the client is told to come back later, the log says why. */
static int unavailable (int fd, char const *why, char const *more)
{
  static char const reply[] = "421 4.3.0 service not available: try again later\r\n" ;
  (void)allwrite(fd, reply, sizeof(reply) - 1) ;
  strerr_warnw("unable to serve: ", why, more) ;
  return 0 ;
}

int smtpd_serve (smtpd_session *s, smtpd_secure *x, int keepctx, smtpd_opts const *o, smtpd_conn const *c)
{
  smtpd_config cfg = { .me = 0, .databytes = 0, .maxrcpts = o->maxrcpts, .maxcommands = o->maxcommands,
    .maxerrors = o->maxerrors, .timeout = o->timeout, .remoteip = c->remoteip, .remotehost = c->remotehost,
    .authargv = o->authargv, .authenv = c->env } ;
  stralloc me = STRALLOC_ZERO, err = STRALLOC_ZERO ;
  tain end ;
  int ok = 1 ;
  tain_now_g() ;
  tain_addsec_g(&end, o->maxtime) ;
  /* read at each session: a change applies to the next one */
  if (ferry_control_readline(&me, "me") < 0 || !stralloc_0(&me)) { ok = unavailable(c->fdout, "unable to read ", "control/me") ; goto end ; }
  cfg.me = me.s ;
  switch (ferry_control_readu64("databytes", &cfg.databytes))
  {
    case -1 : ok = unavailable(c->fdout, "unable to read ", "control/databytes") ; goto end ;
    case -2 : ok = unavailable(c->fdout, "bad value in ", "control/databytes") ; goto end ;
  }
  smtpd_session_init(s, &cfg, c->fdin, c->fdout, &end) ;
  if (!smtpd_rcpt_load(&s->rcpt, &err))
  {
    ok = unavailable(c->fdout, stralloc_0(&err) ? err.s : "out of memory", "") ;
    goto end ;
  }
  /* tcpserver's rules (or the server mode's reading of them) say who may relay, as for qmail-smtpd */
  s->rcpt.relayclient = c->relayclient ;
  s->rcpt.relay = !!c->relayclient ;
  /* STARTTLS, SMTPS and AUTH: the hooks, or TLS now (-s) */
  if (smtpd_secure_init(x, s, o->smtps, o->authargv)) smtpd_session_run(s) ;
  session_log(s) ;   /* before the end of TLS and AUTH: it names their version and user */
 end:
  smtpd_secure_end(x, keepctx) ;
  smtpd_session_free(s) ;
  stralloc_free(&me) ;
  stralloc_free(&err) ;
  return ok ;
}
