/* ferry-spawn-remote's connections: connect, read and write without blocking, the deadlines,
   the message data, and the failures of a host. What to send and what a reply means is the
   SMTP session's (smtp_session.h): this file feeds it and does what it asks. */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>

#include <ferry/array.h>

#include "spawn_remote.h"
#include "remote_metrics.h"

static void conn_write (conn *c, char const *s, size_t n)
{
  if (!stralloc_catb(&c->out, s, n)) nomem() ;
}

static void conn_handshake (unsigned int ci) ;

static ssize_t io_read (conn *c, char *buf, size_t n)
{
  return c->ssl ? tls_read(c, buf, n) : read(c->fd, buf, n) ;
}

static ssize_t io_write (conn *c, char const *buf, size_t n)
{
  return c->ssl ? tls_write(c, buf, n) : write(c->fd, buf, n) ;
}

static void conn_close (unsigned int ci)
{
  conn *c = rem.conns + ci ;
  tls_conn_end(c, 1) ;
  if (c->fd >= 0) fd_close(c->fd) ;
  c->fd = -1 ;
  c->s.state = SMTP_FREE ;
  shaping_conn_close(c) ;
  c->retrysame = 0 ;
  c->in.len = c->out.len = 0 ;
  smtp_reply_reset(&c->reply) ;
}

 /* A QUIT, written if it can be at once, and the connection closed. */
static void conn_quit (unsigned int ci)
{
  conn *c = rem.conns + ci ;
  conn_write(c, "QUIT\r\n", 6) ;
  if (c->out.len) { ssize_t w = io_write(c, c->out.s, c->out.len) ; (void)w ; }
  tls_conn_end(c, 0) ;
  conn_close(ci) ;
}

 /* The deadline of what the connection waits for, by its state. */
static void deadline_set (conn *c)
{
  unsigned int t ;
  switch (c->s.state)
  {
    case SMTP_CONNECTING : t = rem.t_connect ; break ;
    case SMTP_GREETING : t = rem.t_greeting ; break ;
    case SMTP_DATA :
    case SMTP_DOT : t = rem.t_data ; break ;
    case SMTP_IDLE : t = rem.cachetime ; break ;
    default : t = rem.t_command ; break ;
  }
  tain_addsec_g(&c->deadline, t) ;
}

static void err_set (deliv *d, conn const *c, char const *what, char const *more)
{
  d->lasterr.len = 0 ;
  if (!stralloc_cats(&d->lasterr, "host ") || !stralloc_cats(&d->lasterr, c->s.host) || !stralloc_cats(&d->lasterr, c->s.tlsdesc) || !stralloc_cats(&d->lasterr, ": ")
   || !stralloc_cats(&d->lasterr, what) || !stralloc_cats(&d->lasterr, more)) nomem() ;
}

 /* The host failed the delivery (no answer, refused, dropped, not SMTP): try the next host. */
static void conn_fail (unsigned int ci, char const *what, char const *more, int deadhost)
{
  conn *c = rem.conns + ci ;
  int di = c->deliv ;
  if (deadhost) dead_mark(&c->addr) ;
  if (di >= 0)
  {
    deliv *d = DELIV(di) ;
    unsigned int i ;
    err_set(d, c, what, more) ;
    if (c->s.rtlsrefused) d->rtlsfail = 1 ; else d->otherfail = 1 ;
    d->conn = -1 ;
    if (c->s.state == SMTP_DOT)
    {
      /* the end of the data went out: the peer may have the message; never send it elsewhere now */
      static char const why[] = " after the end of the message was sent (the message may have been delivered)" ;
      if (!stralloc_cats(&d->lasterr, why)) nomem() ;
      conn_close(ci) ;
      deliv_finish(di) ;
      return ;
    }
    for (i = 0 ; i < d->nrcpt ; i++) if (d->st[i] == 'A') d->st[i] = 0 ;
    if (c->retrysame) d->tlsretried = 1 ;   /* the same host again, without TLS */
    else if (c->s.reused && c->s.replied <= 1 && !d->retried) d->retried = 1 ;   /* a stale cached connection */
    else { d->tried++ ; d->tlsretried = 0 ; }   /* the next host gets its own chance of TLS */
    conn_close(ci) ;
    deliv_attach(di) ;
    return ;
  }
  conn_close(ci) ;
}

#ifdef SIOCOUTQ
 /* Has the peer's TCP acknowledged every byte written to the connection? */
static int conn_all_acked (int fd)
{
  int n = 0 ;
  return ioctl(fd, SIOCOUTQ, &n) < 0 || n <= 0 ;
}
#else
static int conn_all_acked (int fd) { (void)fd ; return 1 ; }
#endif

 /* The connection broke (closed, reset: err, a write error): the text says where the message
    was. A final dot that the peer's host never received (not acknowledged), or that its program
    never read (the host reset the connection, as a close with unread input does), did not
    deliver the message: the next host may have it. */
static void conn_lost (unsigned int ci, char const *what, char const *more, int err)
{
  conn *c = rem.conns + ci ;
  char const *when = "" ;
  stralloc t = STRALLOC_ZERO ;
  if (c->s.state == SMTP_DOT && !conn_all_acked(c->fd))
  {
    c->s.state = SMTP_DATA ;
    when = " during the message data, before the host received its end (the message was not delivered)" ;
  }
  else if (c->s.state == SMTP_DOT && err == ECONNRESET)
  {
    c->s.state = SMTP_DATA ;
    when = " during the message data: the host dropped it unread, the end included (the message was not delivered)" ;
  }
  else if (c->s.state == SMTP_DATA) when = " during the message data, before its end was sent (the message was not delivered)" ;
  if (!stralloc_cats(&t, more) || !stralloc_cats(&t, when) || !stralloc_0(&t)) nomem() ;
  conn_fail(ci, what, t.s, 0) ;
  stralloc_free(&t) ;
}

static unsigned int conn_new (void)
{
  unsigned int i ;
  for (i = 0 ; i < rem.nconns ; i++) if (rem.conns[i].s.state == SMTP_FREE) break ;
  if (i == rem.nconns)
  {
    unsigned int j, old = rem.nconns ;
    rem.conns = ferry_array_grow(rem.conns, &rem.nconns, sizeof(conn)) ;
    for (j = old ; j < rem.nconns ; j++) { rem.conns[j].s.state = SMTP_FREE ; rem.conns[j].fd = -1 ; rem.conns[j].key = -1 ; }
  }
  return i ;
}

 /* The idle connection, or QUIT when connections are not kept or it carried its shaping key's
    messages=; the delivery is no longer its. */
static void conn_to_idle (unsigned int ci)
{
  conn *c = rem.conns + ci ;
  c->deliv = -1 ;
  if (!rem.cachetime || shaping_conn_spent(c)) { conn_quit(ci) ; return ; }
  shaping_conn_idle(c, 1) ;
  deadline_set(c) ;
}

 /* Lines over 998 octets, or 8-bit data for a host without 8BITMIME: quoted-printable where
    the MIME structure allows (the walk is made once per delivery), else the message is returned.
    0: it cannot go (the results are set). */
static int conversion_decide (unsigned int ci)
{
  conn *c = rem.conns + ci ;
  deliv *d = DELIV(c->deliv) ;
  int to7bit = d->body.eightbit && !c->s.eightbitmime ;
  char const *why = 0 ;
  int v ;
  c->convert = 0 ;
  if (!d->body.longline && !to7bit) return 1 ;
  if (!d->looked)
  {
    if (!mime_look_fd(d->msgfd, &d->look))
    {
      err_set(d, c, "unable to read the message: ", strerror(errno)) ;
      return 0 ;
    }
    d->looked = 1 ;
  }
  v = mime_look_verdict(&d->look, to7bit, &why) ;
  if (v < 0)
  {
    smtp_txn t ;
    deliv_txn(d, &t) ;
    smtp_txn_all(&t, 'D', why, strlen(why)) ;
    return 0 ;
  }
  c->convert = v ? 1 + to7bit : 0 ;
  return 1 ;
}

static void data_start (conn *c)
{
  c->msgoff = 0 ;
  c->msgdone = 0 ;
  c->dstate = (smtp_data)SMTP_DATA_ZERO ;
  if (c->convert) mime_conv_start(&c->mconv, &DELIV(c->deliv)->look, c->convert == 2) ;
  deadline_set(c) ;
}

 /* Feeds the session one event and carries out what it asks, until it waits. */
static void conn_step (unsigned int ci, enum smtp_event ev)
{
  for (;;)
  {
    conn *c = rem.conns + ci ;
    int di = c->deliv ;
    smtp_txn t ;
    if (di >= 0) deliv_txn(DELIV(di), &t) ;
    switch (smtp_session_step(&c->s, ev, &c->reply, di >= 0 ? &t : 0, &rem.helohost, &c->out))
    {
      case SMTP_WAIT : deadline_set(c) ; return ;
      case SMTP_BEGIN :
        /* a policy in testing mode reports the host that goes on without TLS (RFC 8460) */
        if (c->s.tlsmissing && c->pol > POL_OPPORTUNISTIC) policy_report(c, "starttls-not-supported", "") ;
        if (!c->s.tls && !c->s.tlsdesc[0])
        {
          /* the texts say what decided that the message goes in clear */
          size_t n = 0 ;
          char *dsc = c->s.tlsdesc ;
          char const *name = policy_name(c->pol) ;
          memcpy(dsc, " without TLS (", 14) ; n = 14 ;
          memcpy(dsc + n, name, strlen(name)) ; n += strlen(name) ;
          if (c->s.tlsmissing) { memcpy(dsc + n, ": STARTTLS not offered", 22) ; n += 22 ; }
          dsc[n++] = ')' ;
          dsc[n] = 0 ;
        }
        ev = conversion_decide(ci) ? SMTP_EV_BEGIN : SMTP_EV_CANCEL ;
        if (ev == SMTP_EV_BEGIN) c->mails++ ;   /* a MAIL FROM goes: a message for messages= */
        break ;
      case SMTP_SEND_DATA : data_start(c) ; return ;
      case SMTP_DONE :
        conn_to_idle(ci) ;
        if (di >= 0) { DELIV(di)->conn = -1 ; deliv_finish(di) ; }
        return ;
      case SMTP_DONE_CLOSE :
        c->deliv = -1 ;
        conn_close(ci) ;
        if (di >= 0) { DELIV(di)->conn = -1 ; deliv_finish(di) ; }
        return ;
      case SMTP_FAIL :
        if (c->s.tlsmissing && c->pol > POL_OPPORTUNISTIC) policy_report(c, "starttls-not-supported", "") ;
        conn_fail(ci, c->s.why, c->s.whymore, 0) ;
        return ;
      case SMTP_CLOSE : conn_close(ci) ; return ;
      case SMTP_TLS_START :
      {
        stralloc why = STRALLOC_ZERO ;
        /* what the host sent after its 220 came before TLS: never taken as said inside it */
        c->in.len = 0 ;
        c->out.len = 0 ;
        smtp_reply_reset(&c->reply) ;
        deadline_set(c) ;
        if (!tls_conn_start(ci, &why)) conn_fail(ci, why.s, "", 0) ;
        else conn_handshake(ci) ;
        stralloc_free(&why) ;
        return ;
      }
    }
  }
}

 /* A failed handshake. Under "may" (STARTTLS, never TLS from the first byte) the delivery is tried
    again at once on a new connection to the same host, without TLS, and the host is contacted
    without TLS for control/tlsbrokentime; a stricter policy has no plain text to fall back to. */
static void handshake_failed (unsigned int ci, stralloc *why)
{
  conn *c = rem.conns + ci ;
  metrics_tls(c, 0) ;
  policy_report(c, "validation-failure", why->s) ;
  /* no fallback for credentials: they never go in plain text, the next host is tried */
  if (c->s.tlswant == SMTP_TLS_MAY && !c->s.implicit && !c->s.hascreds)
  {
    tls_broken_mark(&c->addr) ;
    if (c->deliv >= 0 && !DELIV(c->deliv)->tlsretried)
    {
      c->retrysame = 1 ;
      if (why->len && why->s[why->len - 1] == 0) why->len-- ;
      if (!stralloc_cats(why, "; trying again without TLS") || !stralloc_0(why)) nomem() ;
    }
  }
  tls_conn_end(c, 1) ;
  conn_fail(ci, why->s, "", 0) ;
}

 /* The handshake goes on as far as it can. */
static void conn_handshake (unsigned int ci)
{
  stralloc why = STRALLOC_ZERO ;
  conn *c = rem.conns + ci ;
  switch (tls_handshake(ci, &why))
  {
    case 0 : break ;
    case 1 :
      metrics_tls(c, 1) ;
      conn_step(ci, SMTP_EV_TLS_DONE) ;
      /* the host may have written already (the greeting, on port 465): it waits in OpenSSL's buffer */
      c = rem.conns + ci ;
      if (c->s.state != SMTP_FREE && c->ssl) conn_read(ci) ;
      break ;
    case -1 : handshake_failed(ci, &why) ; break ;
    default :
      metrics_tls(c, 0) ;
      tls_conn_end(c, 1) ;
      conn_fail(ci, why.s, "", 0) ;
      break ;
  }
  stralloc_free(&why) ;
}

 /* Refills the output with the next block of the message, transformed. */
static int data_fill (conn *c)
{
  deliv *d = DELIV(c->deliv) ;
  stralloc *converted = &rem.converted ;
  char buf[65536] ;
  ssize_t r ;
  if (c->msgdone) return 1 ;
  if (c->convert) c->mconv.look = &d->look ;   /* the deliveries' storage moves when it grows: never keep a pointer into it */
  r = pread(d->msgfd, buf, sizeof(buf), c->msgoff) ;
  if (r < 0) return 0 ;
  if (!r)
  {
    converted->len = 0 ;
    if (c->convert && (!mime_conv_end(&c->mconv, converted) || !smtp_data_transform(&c->dstate, converted->s, converted->len, &c->out))) nomem() ;
    if (!smtp_data_finish(&c->dstate, &c->out)) nomem() ;
    c->msgdone = 1 ;
    return 1 ;
  }
  c->msgoff += r ;
  if (c->convert)
  {
    converted->len = 0 ;
    if (!mime_conv_feed(&c->mconv, buf, r, converted) || !smtp_data_transform(&c->dstate, converted->s, converted->len, &c->out)) nomem() ;
  }
  else if (!smtp_data_transform(&c->dstate, buf, r, &c->out)) nomem() ;
  return 1 ;
}

void conn_read (unsigned int ci)
{
  for (;;)
  {
    conn *c = rem.conns + ci ;
    char buf[8192] ;
    ssize_t r = io_read(c, buf, sizeof(buf)) ;
    if (r < 0)
    {
      if (errno == EAGAIN || errno == EINTR) return ;
      conn_lost(ci, "read error: ", errno == EPROTO ? "TLS protocol error" : strerror(errno), errno) ;
      return ;
    }
    if (!r) { conn_lost(ci, "the connection was closed", c->s.state == SMTP_GREETING ? " before the greeting" : "", 0) ; return ; }
    if (!stralloc_catb(&c->in, buf, r)) nomem() ;
    for (;;)
    {
      size_t used ;
      char const *why ;
      int p = smtp_reply_parse(&c->reply, c->in.s, c->in.len, &used, &why) ;
      if (used) { memmove(c->in.s, c->in.s + used, c->in.len - used) ; c->in.len -= used ; }
      if (p < 0) { conn_fail(ci, "protocol error: ", why, 0) ; return ; }
      if (!p) break ;
      throttle_note(ci) ;
      conn_step(ci, SMTP_EV_REPLY) ;
      if (rem.conns[ci].s.state == SMTP_FREE || rem.conns[ci].fd < 0 || rem.conns[ci].s.state == SMTP_HANDSHAKE) return ;
      c = rem.conns + ci ;
      smtp_reply_reset(&c->reply) ;
    }
    if (c->in.len > READ_MAX) { conn_fail(ci, "protocol error: ", "too much input without a complete reply", 0) ; return ; }
    /* a plain descriptor says when there is more; OpenSSL may hold what it already read, which
       the descriptor would not say: read inside TLS until it has nothing */
    if (!c->ssl) return ;
  }
}

void conn_flush (unsigned int ci)
{
  conn *c = rem.conns + ci ;
  for (;;)
  {
    ssize_t w ;
    if (!c->out.len && c->s.state == SMTP_DATA)
    {
      if (c->msgdone) { conn_step(ci, SMTP_EV_DATA_SENT) ; return ; }
      if (!data_fill(c)) { conn_fail(ci, "unable to read the message: ", strerror(errno), 0) ; return ; }
      continue ;
    }
    if (!c->out.len) return ;
    w = io_write(c, c->out.s, c->out.len) ;
    if (w < 0)
    {
      if (errno == EAGAIN || errno == EINTR) return ;
      conn_lost(ci, "write error: ", strerror(errno), errno) ;
      return ;
    }
    memmove(c->out.s, c->out.s + w, c->out.len - w) ;
    c->out.len -= w ;
    if (c->s.state == SMTP_DATA) { deadline_set(c) ; metrics_sent(w) ; }   /* the peer takes the message: progress */
  }
}

void conn_connected (unsigned int ci)
{
  conn *c = rem.conns + ci ;
  int e = 0 ;
  socklen_t el = sizeof(e) ;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0) e = errno ;
  if (e) { conn_fail(ci, "unable to connect: ", strerror(e), e == ETIMEDOUT) ; return ; }
  metrics_conn_opened(c) ;
  conn_step(ci, SMTP_EV_CONNECTED) ;
}

void conn_timeout (unsigned int ci)
{
  switch (rem.conns[ci].s.state)
  {
    case SMTP_CONNECTING : conn_fail(ci, "timed out connecting", "", 1) ; return ;
    case SMTP_GREETING : conn_fail(ci, "timed out waiting for the greeting", "", 1) ; return ;
    case SMTP_HANDSHAKE :
    {
      stralloc why = STRALLOC_ZERO ;
      if (!stralloc_cats(&why, "timed out in the TLS handshake") || !stralloc_0(&why)) nomem() ;
      handshake_failed(ci, &why) ;
      stralloc_free(&why) ;
      return ;
    }
    case SMTP_IDLE : conn_quit(ci) ; return ;
    case SMTP_DATA : conn_fail(ci, "timed out sending the message", "", 0) ; return ;
    case SMTP_DOT : conn_fail(ci, "timed out waiting for the reply to the end of the message", "", 0) ; return ;
    default : conn_fail(ci, "timed out waiting for a reply", "", 0) ; return ;
  }
}

 /* to = from, which may never have been allocated */
static void copy_of (stralloc *to, stralloc const *from)
{
  to->len = 0 ;
  if (from->len && !stralloc_copyb(to, from->s, from->len)) nomem() ;
}

 /* The TLS policy (policy.c) and the route's credentials, for a new connection to address a. */
static void conn_policy (conn *c, deliv const *d, raddr const *a)
{
  dest const *t = rem.dests + d->dest ;
  policy_decide(c, d, a) ;
  c->s.hascreds = t->hascreds ;
  if (t->hascreds)
  {
    size_t n = t->routehost.len < sizeof(c->s.credhost) - 1 ? t->routehost.len : sizeof(c->s.credhost) - 1 ;
    memcpy(c->s.credhost, t->routehost.s, n) ;
    c->s.credhost[n] = 0 ;
  }
  copy_of(&c->s.authplain64, &t->authplain64) ;
  copy_of(&c->s.authuser64, &t->authuser64) ;
  copy_of(&c->s.authpass64, &t->authpass64) ;
}

 /* Starts a connection to address a of the delivery's destination, for the delivery.
    -1: no socket (errno); 0: it failed at once (the delivery moved on); 1: under way. */
int conn_start (unsigned int di, raddr const *a)
{
  unsigned int ci = conn_new() ;
  conn *c = rem.conns + ci ;
  char fmt[ADDR_FMT] ;
  int fd = socket_tcp46_nbcoe(a->ip.is6) ;
  if (fd < 0) { strerr_warnwu1sys("create a socket") ; return -1 ; }
  {
    /* each write is a whole command group or a block of data: Nagle would only add delay
       (a pipelined group waits for the ACK of the previous one, up to 40 ms) */
    int one = 1 ;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ;
  }
  c->fd = fd ;
  c->addr = *a ;
  c->deliv = di ;
  shaping_conn_open(c, rem.dests[DELIV(di)->dest].key) ;
  c->in.len = c->out.len = 0 ;
  smtp_reply_reset(&c->reply) ;
  addr_fmt(fmt, a) ;
  smtp_session_connect(&c->s, fmt) ;
  conn_policy(c, DELIV(di), a) ;
  DELIV(di)->conn = ci ;
  deadline_set(c) ;
  if (socket_connect46(fd, &a->ip, a->port) < 0 && errno != EINPROGRESS && errno != EWOULDBLOCK)
  {
    conn_fail(ci, "unable to connect: ", strerror(errno), 0) ;
    return 0 ;
  }
  return 1 ;
}

 /* An idle cached connection for the delivery's next try: only to the very host at position
    d->tried of its destination, so that the hosts are tried in their order and a failure moves
    on to the next one (never a less preferred host, never one twice), and of the same shaping
    key (a connection counts in its key). It then names the host as this destination does (its
    MX name). */
int conn_cached_take (unsigned int di, raddr const *a)
{
  unsigned int i ;
  int decided = 0 ;   /* the delivery's policy at a, decided once for every idle connection */
  int key = rem.dests[DELIV(di)->dest].key ;
  for (i = 0 ; i < rem.nconns ; i++)
  {
    conn *c = rem.conns + i ;
    if (c->s.state != SMTP_IDLE || c->key != key || a->port != c->addr.port || !same_ip(&a->ip, &c->addr.ip)) continue ;
    /* the same policy, names and records: a certificate checked against one name says nothing
       of another, and this delivery may reach the host by its own (another domain's MX name) */
    if (!policy_same(c, DELIV(di), a, &decided)) continue ;
    c->addr = *a ;
    addr_fmt(c->s.host, a) ;
    c->deliv = di ;
    shaping_conn_idle(c, 0) ;
    DELIV(di)->conn = i ;
    metrics_conn_reused() ;
    conn_step(i, SMTP_EV_START) ;
    return 1 ;
  }
  return 0 ;
}

 /* The shaping key has as many connections open as it may: one of its idle ones goes. */
void conn_idle_close (int key)
{
  unsigned int i ;
  for (i = 0 ; i < rem.nconns ; i++)
    if (rem.conns[i].s.state == SMTP_IDLE && rem.conns[i].key == key && rem.conns[i].idle) { conn_quit(i) ; return ; }
}

 /* What the connection waits for. */
int conn_events (unsigned int ci)
{
  conn const *c = rem.conns + ci ;
  int ev ;
  if (c->s.state == SMTP_CONNECTING) return IOPAUSE_WRITE ;
  if (c->s.state == SMTP_HANDSHAKE) return c->tlsev ;
  ev = IOPAUSE_READ | c->tlsev ;
  /* a TLS write that waits for input waits for nothing else */
  if ((c->out.len || c->s.state == SMTP_DATA) && !(c->ssl && c->tlswlen && c->tlsev == IOPAUSE_READ)) ev |= IOPAUSE_WRITE ;
  return ev ;
}

 /* The connection's descriptor is ready (revents): the connection goes on. */
void conn_ready (unsigned int ci, int revents)
{
  conn *c = rem.conns + ci ;
  if (c->s.state == SMTP_CONNECTING)
  {
    conn_connected(ci) ;
    return ;
  }
  if (c->s.state == SMTP_HANDSHAKE) { conn_handshake(ci) ; return ; }
  /* inside TLS a read may wait for the descriptor to be writable, and a write for it to be readable */
  if (revents & (IOPAUSE_READ | IOPAUSE_EXCEPT) || (c->ssl && c->tlsev)) conn_read(ci) ;
  c = rem.conns + ci ;
  if (c->s.state != SMTP_FREE && c->s.state != SMTP_CONNECTING && c->s.state != SMTP_HANDSHAKE && (c->out.len || c->s.state == SMTP_DATA)) conn_flush(ci) ;
}
