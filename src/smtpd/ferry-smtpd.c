/* ferry-smtpd: ferry's SMTP server, handing each message to the queue through ferry-injectd:
   a server of its own with -l (a pool of preforked workers, server.c), or one process per
   connection under tcpserver (fd 0 from the client, fd 1 to it). */

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

#include "serve.h"
#include "server.h"

#define USAGE "ferry-smtpd [ -l ip:port [ -P workers ] [ -u maxuse ] [ -x rules.cdb ] ] [ -s ] [ -t timeout ] [ -T maxtime ] [ -r maxrcpts ] [ -c maxcommands ] [ -e maxerrors ] [ home [ checkpassword prog... ] ]"

static unsigned int number (char const *s, char const *what, unsigned int min)
{
  unsigned int n ;
  if (!uint0_scan(s, &n) || n < min) strerr_dief3x(100, "-", what, ": wants a whole number (see the usage): " USAGE) ;
  return n ;
}

int main (int argc, char const *const *argv)
{
  static smtpd_session s ;
  static smtpd_secure secure = SMTPD_SECURE_ZERO ;
  smtpd_opts o = SMTPD_OPTS_ZERO ;
  smtpd_server sv = SMTPD_SERVER_ZERO ;
  int serveropts = 0 ;
  char const *home ;
  PROG = "ferry-smtpd" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "st:T:r:c:e:l:P:u:x:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 's' : o.smtps = 1 ; break ;
        case 't' : o.timeout = number(l.arg, "t", 1) ; break ;
        case 'T' : o.maxtime = number(l.arg, "T", 1) ; break ;
        case 'r' : o.maxrcpts = number(l.arg, "r", 1) ; break ;
        case 'c' : o.maxcommands = number(l.arg, "c", 1) ; break ;
        case 'e' : o.maxerrors = number(l.arg, "e", 1) ; break ;
        case 'l' : sv.listen = l.arg ; break ;
        case 'P' : sv.workers = number(l.arg, "P", 1) ; serveropts = 1 ; break ;
        case 'u' : sv.maxuse = number(l.arg, "u", 1) ; serveropts = 1 ; break ;
        case 'x' : sv.rules = l.arg ; serveropts = 1 ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (serveropts && !sv.listen) strerr_dief1x(100, "-P, -u and -x go with -l: " USAGE) ;
  if (sv.workers > 10000) strerr_dief1x(100, "-P: at most 10000 workers") ;
  home = ferry_home(argc ? argv[0] : 0) ;
  if (argc > 1) o.authargv = argv + 1 ;
  /* a client that leaves while a reply is written is an error of that write, not a signal */
  signal(SIGPIPE, SIG_IGN) ;
  tain_now_set_stopwatch_g() ;
  if (sv.listen)
  {
    if (chdir(home) < 0) strerr_diefu2sys(111, "enter the home ", home) ;
    smtpd_server_run(&sv, &o) ;
  }
  if (chdir(home) < 0)
  {
    static char const reply[] = "421 4.3.0 service not available: try again later\r\n" ;
    (void)allwrite(1, reply, sizeof(reply) - 1) ;
    strerr_diefu2sys(111, "enter the home ", home) ;
  }
  {
    /* under tcpserver: the connection's facts and its rules' variables are in the environment */
    smtpd_conn c = { .fdin = 0, .fdout = 1, .remoteip = getenv("TCPREMOTEIP"), .remotehost = getenv("TCPREMOTEHOST"),
      .relayclient = getenv("RELAYCLIENT"), .env = 0 } ;
    return smtpd_serve(&s, &secure, 0, &o, &c) ? 0 : 111 ;
  }
}
