/* ferry-smtpd's STARTTLS, SMTPS and AUTH: the session's hooks, the transport that STARTTLS swaps
   in, the log lines of TLS and AUTH (never a password). */

#include <errno.h>
#include <string.h>

#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/tls.h>

#include "secure.h"

static ssize_t tls_recv (void *ctx, char *s, size_t n, int *wantwrite)
{
  smtpd_tls *t = ctx ;
  ssize_t r = smtpd_tls_read(t, s, n) ;
  *wantwrite = r < 0 && t->ev == IOPAUSE_WRITE ;
  return r ;
}

static ssize_t tls_send (void *ctx, char const *s, size_t n, int *wantwrite)
{
  smtpd_tls *t = ctx ;
  ssize_t r = smtpd_tls_write(t, s, n) ;
  *wantwrite = !(r < 0 && t->ev == IOPAUSE_READ) ;
  return r ;
}

static size_t tls_pending (void *ctx)
{
  return smtpd_tls_pending(ctx) ;
}

 /* "client HOST[IP]: " then the pieces, into x->why, terminated: for the log. */
static char const *about (smtpd_secure *x, smtpd_session const *s, char const *a, char const *b)
{
  x->why.len = 0 ;
  if (!stralloc_cats(&x->why, "client ") || !smtpd_client_cat(s, &x->why) || !stralloc_cats(&x->why, ": ")
   || !stralloc_cats(&x->why, a) || !stralloc_cats(&x->why, b) || !stralloc_0(&x->why)) return "out of memory" ;
  return x->why.s ;
}

 /* Now and at most the timeout of one wait, not past the session's end. */
static void deadline_set (smtpd_session const *s, tain *d)
{
  tain_now_g() ;
  tain_addsec_g(d, s->cfg->timeout) ;
  if (tain_less(&s->io.end, d)) *d = s->io.end ;
}

 /* The handshake, then TLS under the session: 1; 0 the connection ends (logged). */
static int tls_on (smtpd_secure *x, smtpd_session *s)
{
  smtpd_transport t ;
  tain deadline ;
  deadline_set(s, &deadline) ;
  if (!smtpd_tls_handshake(&x->tls, &deadline, &x->reply))
  {
    strerr_warnw(about(x, s, x->reply.s, "")) ;
    s->ended = "the TLS handshake failed" ;
    return 0 ;
  }
  t.recv = &tls_recv ;
  t.send = &tls_send ;
  t.pending = &tls_pending ;
  t.ctx = &x->tls ;
  smtpd_io_transport(&s->io, &t) ;
  s->tls = 1 ;
  s->tlsversion = x->tls.version ;
  s->tlscipher = x->tls.cipher ;
  if (x->authargv) s->authmechs = "PLAIN LOGIN" ;
  x->reply.len = 0 ;
  if (!stralloc_cats(&x->reply, "TLS ") || !smtpd_tls_describe(&x->tls, &x->reply) || !stralloc_0(&x->reply)) return 1 ;
  smtpd_log(about(x, s, x->reply.s, "")) ;
  return 1 ;
}

 /* The context from control/smtpdcert and control/smtpdkey, once per process: 1, or 0 logged. */
static int tls_load (smtpd_secure *x)
{
  x->why.len = 0 ;
  if (!smtpd_tls_init(&x->tls, &x->why))
  {
    strerr_warnw("no TLS: ", x->why.s, ": STARTTLS refused (454)") ;
    return 0 ;
  }
  if (x->tls.cert.expired)
    strerr_warnw(SMTPD_TLS_CERT, ": the certificate is out of its validity (it ends ", x->tls.cert.notafter, "): used all the same") ;
  return 1 ;
}

static int starttls (smtpd_session *s, smtpd_command const *c)
{
  smtpd_secure *x = s->ext ;
  size_t early ;
  if (c->arglen) { smtpd_session_reply(s, "501 5.5.4 syntax: STARTTLS") ; return 1 ; }
  if (s->inmail) { smtpd_session_reply(s, "503 5.5.1 STARTTLS is not allowed in a mail transaction") ; return 1 ; }
  /* the client must wait for the 220 before it starts TLS: bytes already here were sent in clear
     to be read as if inside TLS (CVE-2011-0411): never read */
  if (!x->tls.ctx && !tls_load(x))
  {
    /* the files were there when STARTTLS was offered, but they do not load */
    smtpd_session_reply(s, "454 4.7.0 TLS not available due to a temporary reason") ;
    return 1 ;
  }
  early = smtpd_io_buffered(&s->io) ;
  smtpd_session_reply(s, "220 2.0.0 ready to start TLS") ;
  if (!smtpd_io_flush(&s->io)) { s->ended = s->io.timedout ? "timeout writing to the client" : "the client closed the connection" ; return 0 ; }
  if (early)
  {
    char fmt[SIZE_FMT] ;
    fmt[size_fmt(fmt, early)] = 0 ;
    strerr_warnw(about(x, s, fmt, " bytes sent after STARTTLS before TLS: discarded (a command injection?)")) ;
  }
  smtpd_io_discard(&s->io) ;
  if (!tls_on(x, s)) return 0 ;
  smtpd_session_restart(s) ;
  return 1 ;
}

static void wipe (stralloc *sa)
{
  if (sa->s) memset(sa->s, 0, sa->a) ;
  sa->len = 0 ;
}

 /* The log line of an AUTH's verdict: the user (printable, cut) when known, never the password. */
static void auth_log (smtpd_secure *x, smtpd_session const *s, char const *what, char const *why, int warn)
{
  stralloc sa = STRALLOC_ZERO ;
  if (stralloc_cats(&sa, "AUTH")
   && (!x->auth.user.len || (stralloc_cats(&sa, " user ") && smtpd_auth_user_log(&x->auth, &sa)))
   && stralloc_cats(&sa, what) && stralloc_cats(&sa, why) && stralloc_0(&sa))
  {
    if (warn) strerr_warnw(about(x, s, sa.s, "")) ;
    else smtpd_log(about(x, s, sa.s, "")) ;
  }
  stralloc_free(&sa) ;
}

static int auth (smtpd_session *s, smtpd_command const *c)
{
  smtpd_secure *x = s->ext ;
  int next, r, verdict ;
  tain deadline ;
  /* RFC 4954 4: PLAIN and LOGIN send the password in clear; only inside TLS */
  if (!s->tls) { smtpd_session_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism") ; return 1 ; }
  if (s->authenticated) { smtpd_session_reply(s, "503 5.5.1 already authenticated") ; return 1 ; }
  if (s->greeted != 2) { smtpd_session_reply(s, "503 5.5.1 send EHLO first") ; return 1 ; }
  if (s->inmail) { smtpd_session_reply(s, "503 5.5.1 AUTH is not allowed in a mail transaction") ; return 1 ; }
  next = smtpd_auth_begin(&x->auth, c->arg, c->arglen, &x->reply) ;
  wipe(&s->line) ;   /* an initial response holds the password */
  while (next == SMTPD_AUTH_CONTINUE)
  {
    if (!stralloc_0(&x->reply)) { next = SMTPD_AUTH_NOMEM ; break ; }
    smtpd_session_reply(s, x->reply.s) ;
    if (!smtpd_io_flush(&s->io)) { smtpd_auth_clear(&x->auth) ; s->ended = "the client closed the connection" ; return 0 ; }
    r = smtpd_io_getline(&s->io, &x->line, SMTPD_AUTH_LINE_MAX + 2) ;
    if (r <= 0)
    {
      smtpd_auth_clear(&x->auth) ;
      wipe(&x->line) ;
      s->ended = r < 0 && s->io.timedout ? "timeout" : "the client closed the connection" ;
      return 0 ;
    }
    next = r == 2 ? smtpd_auth_response(&x->auth, "", SMTPD_AUTH_LINE_MAX + 1, &x->reply)
                  : smtpd_auth_response(&x->auth, x->line.s, x->line.len, &x->reply) ;
    wipe(&x->line) ;
  }
  if (next == SMTPD_AUTH_NOMEM)
  {
    smtpd_auth_clear(&x->auth) ;
    smtpd_session_reply(s, "421 4.3.0 out of memory") ;
    s->ended = "out of memory" ;
    return 0 ;
  }
  if (next == SMTPD_AUTH_FAILED)
  {
    if (!stralloc_0(&x->reply)) { s->ended = "out of memory" ; return 0 ; }
    smtpd_session_reply(s, x->reply.s) ;
    auth_log(x, s, ": the exchange failed: ", x->reply.s, 1) ;
    if (smtpd_auth_exhausted(&x->auth)) { s->ended = "too many failed AUTH" ; return 0 ; }
    return 1 ;
  }
  deadline_set(s, &deadline) ;
  /* the program's text into x->line (about() writes x->why) */
  verdict = smtpd_auth_run(x->authargv, s->cfg->authenv, x->auth.user.s, x->auth.pass.s, &deadline, &x->line) ;
  r = smtpd_auth_result(&x->auth, verdict, &x->reply) ;
  if (r < 0 || !stralloc_0(&x->reply)) { smtpd_session_reply(s, "421 4.3.0 out of memory") ; s->ended = "out of memory" ; return 0 ; }
  smtpd_session_reply(s, x->reply.s) ;
  if (r)
  {
    x->user.len = 0 ;
    if (smtpd_auth_user_log(&x->auth, &x->user) && stralloc_0(&x->user)) s->authuser = x->user.s ;
    s->authenticated = 1 ;
    s->rcpt.relay = 1 ;
    auth_log(x, s, ": accepted", "", 0) ;
    return 1 ;
  }
  auth_log(x, s, ": refused: ", x->line.len ? x->line.s : "", verdict == 1 ? 0 : 1) ;
  x->line.len = 0 ;
  if (smtpd_auth_exhausted(&x->auth)) { s->ended = "too many failed AUTH" ; return 0 ; }
  return 1 ;
}

int smtpd_secure_init (smtpd_secure *x, smtpd_session *s, int smtps, char const *const *authargv)
{
  x->tls.rfd = s->io.fdin ;
  x->tls.wfd = s->io.fdout ;
  x->authargv = authargv && authargv[0] ? authargv : 0 ;
  s->ext = x ;
  if (x->authargv) s->auth = &auth ;
  if (smtps)
  {
    /* TLS from the first byte: the context now */
    if (!x->tls.ctx && !smtpd_tls_init(&x->tls, &x->why))
    {
      strerr_warnw("no TLS: ", x->why.s, ": the SMTPS connection is closed") ;
      s->ended = "no TLS" ;
      return 0 ;
    }
    if (x->tls.cert.expired)
      strerr_warnw(SMTPD_TLS_CERT, ": the certificate is out of its validity (it ends ", x->tls.cert.notafter, "): used all the same") ;
    return tls_on(x, s) ;
  }
  /* STARTTLS: offered when the files are there (a context already loaded, or a look at them
     without parsing); the context is made only when a client asks for TLS */
  if (!x->tls.ctx && !ferry_tls_server_files(SMTPD_TLS_CERT, SMTPD_TLS_KEY, &x->why))
  {
    strerr_warnw("no TLS: ", x->why.s, ": STARTTLS not offered") ;
    return 1 ;
  }
  s->starttls = &starttls ;
  return 1 ;
}

void smtpd_secure_end (smtpd_secure *x, int keepctx)
{
  static smtpd_secure const zero = SMTPD_SECURE_ZERO ;
  SSL_CTX *ctx = keepctx ? x->tls.ctx : 0 ;
  ferry_tls_cert cert = x->tls.cert ;
  if (keepctx) x->tls.ctx = 0 ;
  smtpd_tls_end(&x->tls) ;
  smtpd_auth_clear(&x->auth) ;
  stralloc_free(&x->auth.pass) ;
  stralloc_free(&x->auth.user) ;
  wipe(&x->line) ;
  stralloc_free(&x->line) ;
  stralloc_free(&x->reply) ;
  stralloc_free(&x->why) ;
  stralloc_free(&x->user) ;
  /* nothing of this connection stays: back to zero, but for the context a worker keeps */
  *x = zero ;
  if (ctx) { x->tls.ctx = ctx ; x->tls.cert = cert ; }
}
