/* ferry-smtpd: ferry's SMTP server, one process per connection under tcpserver (fd 0 from the
   client, fd 1 to it), handing each message to the queue through ferry-injectd. */

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/home.h>

#include "secure.h"
#include "smtpd.h"

#define USAGE "ferry-smtpd [ -s ] [ -t timeout ] [ -T maxtime ] [ -r maxrcpts ] [ -c maxcommands ] [ -e maxerrors ] [ home [ checkpassword prog... ] ]"

 /* The server cannot start: the client is told to come back later, the log says why. */
static void unavailable (char const *why, char const *more) __attribute__((noreturn)) ;
static void unavailable (char const *why, char const *more)
{
  static char const reply[] = "421 4.3.0 service not available: try again later\r\n" ;
  (void)allwrite(1, reply, sizeof(reply) - 1) ;
  strerr_dief2x(111, why, more) ;
}

static unsigned int number (char const *s, char const *what, unsigned int min)
{
  unsigned int n ;
  if (!uint0_scan(s, &n) || n < min) strerr_dief3x(100, "-", what, ": wants a whole number (see the usage): " USAGE) ;
  return n ;
}

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

int main (int argc, char const *const *argv)
{
  static smtpd_session s ;
  static smtpd_secure secure = SMTPD_SECURE_ZERO ;
  int smtps = 0 ;
  smtpd_config cfg = { .me = 0, .databytes = 0, .maxrcpts = 100, .maxcommands = 1000, .maxerrors = 10, .timeout = 300,
    .remoteip = 0, .remotehost = 0, .authargv = 0 } ;
  unsigned int maxtime = 3600 ;
  stralloc me = STRALLOC_ZERO, err = STRALLOC_ZERO ;
  char const *home ;
  tain end ;
  PROG = "ferry-smtpd" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "st:T:r:c:e:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 's' : smtps = 1 ; break ;
        case 't' : cfg.timeout = number(l.arg, "t", 1) ; break ;
        case 'T' : maxtime = number(l.arg, "T", 1) ; break ;
        case 'r' : cfg.maxrcpts = number(l.arg, "r", 1) ; break ;
        case 'c' : cfg.maxcommands = number(l.arg, "c", 1) ; break ;
        case 'e' : cfg.maxerrors = number(l.arg, "e", 1) ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  home = ferry_home(argc ? argv[0] : 0) ;
  if (argc > 1) cfg.authargv = argv + 1 ;
  cfg.remoteip = getenv("TCPREMOTEIP") ;
  cfg.remotehost = getenv("TCPREMOTEHOST") ;
  /* a client that leaves while a reply is written is an error of that write, not a signal */
  signal(SIGPIPE, SIG_IGN) ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&end, maxtime) ;

  if (chdir(home) < 0) unavailable("unable to enter the home ", home) ;
  if (ferry_control_readline(&me, "me") < 0 || !stralloc_0(&me)) unavailable("unable to read ", "control/me") ;
  cfg.me = me.s ;
  switch (ferry_control_readu64("databytes", &cfg.databytes))
  {
    case -1 : unavailable("unable to read ", "control/databytes") ;
    case -2 : unavailable("bad value in ", "control/databytes") ;
  }
  smtpd_session_init(&s, &cfg, &end) ;
  if (!smtpd_rcpt_load(&s.rcpt, &err))
  {
    if (!stralloc_0(&err)) unavailable("out of memory", "") ;
    unavailable(err.s, "") ;
  }
  /* tcpserver's rules (or the environment) say who may relay, as for qmail-smtpd */
  s.rcpt.relayclient = getenv("RELAYCLIENT") ;
  s.rcpt.relay = !!s.rcpt.relayclient ;
  /* STARTTLS, SMTPS and AUTH: the hooks, or TLS now (-s) */
  if (smtpd_secure_init(&secure, &s, smtps, cfg.authargv)) smtpd_session_run(&s) ;
  session_log(&s) ;   /* before the end of TLS and AUTH: it names their version and user */
  smtpd_secure_end(&secure, 0) ;
  return 0 ;
}
