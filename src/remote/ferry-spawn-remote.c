/* ferry-spawn-remote: the remote channel. Requests on fd 0, answers on fd 1, log on fd 2.
   One process, no child per delivery: c-ares for DNS and non-blocking SMTP connections, all in
   one iopause loop; idle connections are kept a few seconds and reused. Its parts: settings.c,
   dns.c, destinations.c, deadhosts.c, deliveries.c, connections.c, smtp_session.c, tls.c (OpenSSL,
   in the same loop), tls_policy.c and smtp_auth.c (the control files of TLS and AUTH), policy.c
   (what decides a connection's TLS), tlsa.c (DANE's records), sts.c (MTA-STS), children.c
   (ferry-mtasts-fetch and ferry-tlsrpt in the background), shaping.c (control/shaping.cdb and
   the limits per key that connections enforce), throttle.c (throttling replies, told). */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <ares.h>

#include <skalibs/djbunix.h>
#include <skalibs/gensetdyn.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>

#include <ferry/frame.h>
#include <ferry/home.h>
#include <ferry/loop.h>
#include <ferry/spawner.h>

#include "spawn_remote.h"
#include "remote_metrics.h"

#define USAGE "ferry-spawn-remote [ home ]"

remote rem =
{
  .routes = STRALLOC_ZERO,
  .helohost = STRALLOC_ZERO,
  .dests = 0,
  .ndests = 0,
  .delivs = GENSETDYN_INIT(deliv, 16, 1, 1),
  .conns = 0,
  .nconns = 0,
  .active = 0,
  .waiting = 0,
  .io = FERRY_SPAWNER_ZERO,
  .converted = STRALLOC_ZERO,
  .ndead = 0,
  .askfd = -1,
  .askbuf = STRALLOC_ZERO,
  .rptfd = -1
} ;

void nomem (void)
{
  strerr_diefu1sys(111, "allocate memory") ;
}

 /* The control frames of doc/protocols.html: "!deadhosts" and "!undead" (deadhosts.c),
    "!reread" reads the settings again. The answer repeats the first field. */
void control_take (char const *p, size_t n)
{
  char const *f[3] ;
  int nf = ferry_fields_split(p, n, f, 3) ;
  size_t mark ;
  if (nf == 1 && !strcmp(f[0], "!reread"))
  {
    /* read before the answer begins: the settings may send frames of their own ("!shaping") */
    stralloc why = STRALLOC_ZERO ;
    char const *done = settings_reread(&why) ;
    if (!ferry_frame_begin(&rem.io.out, &mark) || !ferry_field_cats(&rem.io.out, f[0])) nomem() ;
    if (done ? !ferry_field_cats(&rem.io.out, done) : !stralloc_insertb(&why, 0, "kept the old settings: ", 23) || !ferry_field_cats(&rem.io.out, why.s)) nomem() ;
    stralloc_free(&why) ;
    if (!ferry_frame_end(&rem.io.out, mark)) nomem() ;
    return ;
  }
  if (!ferry_frame_begin(&rem.io.out, &mark)) nomem() ;
  if (dead_control(f, nf, &rem.io.out)) ;
  else if (!ferry_field_cats(&rem.io.out, "!unknown")) nomem() ;
  if (!ferry_frame_end(&rem.io.out, mark)) nomem() ;
}

int main (int argc, char const *const *argv)
{
  iopause_fd *x = 0 ;
  int *xconn = 0 ;
  unsigned int xn = 0 ;
  int eof = 0, spfd ;
  PROG = "ferry-spawn-remote" ;
  ferry_member_enter(argc, argv, USAGE) ;
  if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) strerr_dief1x(111, "unable to initialize c-ares") ;
  /* the c-ares channel: made with the settings (dns.c) */
  {
    tain now ;
    tain_now(&now) ;
    srandom((unsigned int)(tain_to_millisecs(&now) ^ getpid())) ;
  }
  {
    stralloc why = STRALLOC_ZERO ;
    if (!settings_load(1, &why)) strerr_dief1x(111, why.s) ;
    stralloc_free(&why) ;
  }
  {
    static int const sigs[] = { SIGHUP, SIGTERM, SIGCHLD, 0 } ;
    spfd = ferry_loop_setup(sigs) ;
  }
  {
    /* ferry-start's socket: the requests carry the messages' descriptors; a pipe (by hand): it opens them */
    int type ;
    socklen_t len = sizeof(type) ;
    rem.io.passfd = getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ;
  }
  dead_ask_open() ;
  tlsrpt_daily() ;

  for (;;)
  {
    unsigned int n = 0, i, nares ;
    int idx0 = -1, idx1 = -1, idxask = -1 ;
    ares_socket_t socks[ARES_GETSOCK_MAXNUM] ;
    int bits ;
    tain deadline = TAIN_INFINITE ;
    int anyconn = 0 ;
    for (i = 0 ; i < rem.nconns ; i++) if (rem.conns[i].s.state != SMTP_FREE && rem.conns[i].s.state != SMTP_IDLE) anyconn = 1 ;
    if (eof && !rem.waiting && !rem.active && !rem.io.out.len && !anyconn) break ;
    if (xn < rem.nconns + ARES_GETSOCK_MAXNUM + 4)
    {
      xn = rem.nconns + ARES_GETSOCK_MAXNUM + 4 ;
      x = realloc(x, xn * sizeof(iopause_fd)) ;
      xconn = realloc(xconn, xn * sizeof(int)) ;
      if (!x || !xconn) nomem() ;
    }
    x[n].fd = spfd ; x[n].events = IOPAUSE_READ ; xconn[n] = -1 ; n++ ;
    if (!eof && rem.waiting < WAITING_MAX) { idx0 = n ; x[n].fd = 0 ; x[n].events = IOPAUSE_READ ; xconn[n] = -1 ; n++ ; }
    if (rem.io.out.len) { idx1 = n ; x[n].fd = 1 ; x[n].events = IOPAUSE_WRITE ; xconn[n] = -1 ; n++ ; }
    if (rem.askfd >= 0) { idxask = n ; x[n].fd = rem.askfd ; x[n].events = IOPAUSE_READ ; xconn[n] = -1 ; n++ ; }
    bits = ares_getsock(rem.chan, socks, ARES_GETSOCK_MAXNUM) ;
    nares = n ;
    for (i = 0 ; i < ARES_GETSOCK_MAXNUM ; i++)
    {
      short ev = 0 ;
      /* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign bit: unsigned here */
      if ((unsigned int)bits & (1u << i)) ev |= IOPAUSE_READ ;
      if ((unsigned int)bits & (1u << (i + ARES_GETSOCK_MAXNUM))) ev |= IOPAUSE_WRITE ;
      if (!ev) continue ;
      x[n].fd = socks[i] ; x[n].events = ev ; xconn[n] = -2 ; n++ ;
    }
    {
      struct timeval tv, *tvp = ares_timeout(rem.chan, 0, &tv) ;
      if (tvp)
      {
        tain a ;
        tain_from_millisecs(&a, tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1) ;
        tain_add_g(&deadline, &a) ;
      }
    }
    {
      /* the second after the next UTC midnight: the day's TLS reports (tlsrpt_daily) go then,
         even when nothing else wakes the loop */
      tain m ;
      tain_addsec_g(&m, 86401 - (unsigned int)((uint64_t)time(0) % 86400)) ;
      if (tain_less(&m, &deadline)) deadline = m ;
    }
    metrics_deadline(&deadline) ;
    shaping_deadline(&deadline) ;   /* deliveries waiting for a new connection's token */
    for (i = 0 ; i < rem.nconns ; i++)
    {
      conn *c = rem.conns + i ;
      if (c->s.state == SMTP_FREE) continue ;
      x[n].fd = c->fd ;
      x[n].events = conn_events(i) ;
      xconn[n] = i ;
      n++ ;
      if (tain_less(&c->deadline, &deadline)) deadline = c->deadline ;
    }
    if (iopause_g(x, n, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;

    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
      {
        if (sig == SIGHUP) { stralloc why = STRALLOC_ZERO ; settings_reread(&why) ; stralloc_free(&why) ; }
        else if (sig == SIGTERM) eof = 1 ;
        else if (sig == SIGCHLD) children_reap() ;
      }
    }
    /* DNS: sockets that are ready, then c-ares' own timeouts */
    for (i = nares ; i < n && xconn[i] == -2 ; i++)
      if (x[i].revents)
        ares_process_fd(rem.chan, x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT) ? (ares_socket_t)x[i].fd : ARES_SOCKET_BAD,
                              x[i].revents & IOPAUSE_WRITE ? (ares_socket_t)x[i].fd : ARES_SOCKET_BAD) ;
    ares_process_fd(rem.chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD) ;

    for (i = 0 ; i < n ; i++)
    {
      int ci = xconn[i] ;
      conn *c ;
      if (ci < 0 || !x[i].revents) continue ;
      c = rem.conns + ci ;
      if (c->s.state == SMTP_FREE || c->fd != x[i].fd) continue ;
      conn_ready(ci, x[i].revents) ;
    }
    /* deadlines, and writes queued by what happened above */
    tain_now_g() ;
    for (i = 0 ; i < rem.nconns ; i++)
    {
      if (rem.conns[i].s.state == SMTP_FREE) continue ;
      if (!tain_future(&rem.conns[i].deadline)) conn_timeout(i) ;
      else if (rem.conns[i].s.state != SMTP_CONNECTING && rem.conns[i].s.state != SMTP_HANDSHAKE && rem.conns[i].out.len) conn_flush(i) ;
    }

    if (idx1 >= 0 && x[idx1].revents & (IOPAUSE_WRITE | IOPAUSE_EXCEPT) && !ferry_spawner_write(&rem.io))
      strerr_diefu1sys(111, "write answers") ;
    if (idxask >= 0 && x[idxask].revents & IOPAUSE_READ) dead_ask_read() ;
    if (idx0 >= 0 && x[idx0].revents & IOPAUSE_READ)
    {
      int r = ferry_spawner_read(&rem.io, &request_take) ;
      if (r < 0) strerr_diefu1sys(111, "read requests") ;
      if (!r) eof = 1 ;
    }
    deliveries_pump() ;
    tlsrpt_daily() ;
    metrics_run(0) ;
    if (eof && !rem.waiting && !rem.active)
      for (i = 0 ; i < rem.nconns ; i++) if (rem.conns[i].s.state == SMTP_IDLE) conn_timeout(i) ;
  }
  metrics_run(1) ;
  free(x) ;
  free(xconn) ;
  ares_destroy(rem.chan) ;
  ares_library_cleanup() ;
  return 0 ;
}
