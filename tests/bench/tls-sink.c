/* tls-sink: an SMTP sink for the benchmarks, with or without STARTTLS (OpenSSL).
     tls-sink [ -c cert.pem -k key.pem ] [ -p port ] [ -m maxconn ] [ -l log ]
   Listens on 127.0.0.1 (the port given, else one the kernel picks) and prints "port P" on its
   standard output once it listens. One process, non-blocking sockets under poll(2), many SMTP
   sessions at once: 220, EHLO with PIPELINING, 8BITMIME, SIZE and (with -c and -k) STARTTLS,
   then TLS 1.2 or 1.3 with that certificate and key (session tickets and the server session
   cache on, so a client can resume); MAIL, RCPT, DATA, RSET, NOOP, QUIT, pipelined; the data is
   read and thrown away. On SIGTERM or SIGINT it prints its counters on its standard output, one
   "name value" a line, and exits 0:
     connections messages recipients handshakes resumed tls13 handshake_failures handshake_cpu_us
   handshake_cpu_us is the CPU this process spent inside the server side of the handshakes
   (CLOCK_PROCESS_CPUTIME_ID around each SSL_do_handshake call), whole handshakes only.
   With -l, each message taken is a line of the file log: its Subject (the header's value, each
   space an underscore; "-" when it has none), its sender, then each recipient, the addresses as
   the client wrote them between < and >, separated by spaces (written out at exit), so that a run
   can be checked: every recipient of every message once, none twice. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define INSIZE 16384      /* a command line or a piece of data; a longer line ends the session */
#define OUTSIZE 8192      /* replies waiting to go out */
#define OUTROOM 1024      /* input is parsed only while this much room is left for replies */
#define IDLE 300          /* seconds a session may stay silent */
#define ENVSIZE 4096      /* a transaction's addresses, for the log (-l) */
#define LINESIZE 128      /* the part of a header line kept, for the Subject (-l) */

enum state
{
  ST_CMD,                 /* reading commands */
  ST_DATA,                /* reading a message's data */
  ST_STARTTLS,            /* the 220 to STARTTLS going out in clear, then the handshake */
  ST_HANDSHAKE,           /* the server side of the handshake */
  ST_CLOSING              /* the last replies going out, then close */
} ;

struct conn
{
  int fd ;
  enum state state ;
  SSL *ssl ;
  int rwant ;             /* what the last read waits for: POLLIN (or POLLOUT under TLS) */
  int wwant ;             /* the same for the last write */
  int mail, rcpts ;       /* a transaction's MAIL given, its accepted recipients */
  int eom ;               /* how much of CR LF . CR LF the data has ended with */
  size_t envlen ;         /* the transaction's addresses in env (with -l) */
  char env[ENVSIZE] ;
  int inhead ;            /* the data is still in the header (with -l) */
  size_t linelen ;        /* the header line so far in line, the first LINESIZE - 1 bytes */
  char line[LINESIZE] ;
  char subject[LINESIZE] ;
  double hscpu ;          /* CPU seconds in this session's handshake so far */
  time_t last ;
  size_t inlen, outlen ;
  char in[INSIZE] ;
  char out[OUTSIZE] ;
} ;

static unsigned long n_conn, n_msg, n_rcpt, n_hs, n_resumed, n_tls13, n_hsfail ;
static double hs_cpu ;
static volatile sig_atomic_t stop ;
static SSL_CTX *ctx ;
static FILE *envlog ;     /* -l */

static void on_signal (int sig)
{
  (void)sig ;
  stop = 1 ;
}

static double cpu_now (void)
{
  struct timespec t ;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) ;
  return t.tv_sec + t.tv_nsec / 1e9 ;
}

static void die (char const *what)
{
  fprintf(stderr, "tls-sink: fatal: %s: %s\n", what, errno ? strerror(errno) : "failed") ;
  ERR_print_errors_fp(stderr) ;
  exit(111) ;
}

static void reply (struct conn *c, char const *s)
{
  size_t n = strlen(s) ;
  /* input is parsed only with OUTROOM free, and no line adds more than OUTROOM */
  if (c->outlen + n + 2 > OUTSIZE) return ;
  memcpy(c->out + c->outlen, s, n) ;
  memcpy(c->out + c->outlen + n, "\r\n", 2) ;
  c->outlen += n + 2 ;
}

/* the address between < and > of a MAIL or RCPT line into c->env, after a space unless first */
static void env_add (struct conn *c, char const *line, size_t len, int first)
{
  char const *a = memchr(line, '<', len), *b ;
  size_t n ;
  if (!envlog) return ;
  if (first) c->envlen = 0 ;
  if (!a) return ;
  b = memchr(a, '>', len - (a - line)) ;
  if (!b) return ;
  n = b - a - 1 ;
  if (c->envlen + n + 2 > ENVSIZE) return ;
  if (!first) c->env[c->envlen++] = ' ' ;
  memcpy(c->env + c->envlen, a + 1, n) ;
  c->envlen += n ;
}

/* one byte of the data while in the header: a Subject line's value into c->subject */
static void head_byte (struct conn *c, char ch)
{
  if (ch != '\n') { if (c->linelen < LINESIZE - 1) c->line[c->linelen++] = ch ; return ; }
  if (c->linelen && c->line[c->linelen - 1] == '\r') c->linelen-- ;
  if (!c->linelen) c->inhead = 0 ;
  else if (c->linelen > 9 && !strncasecmp(c->line, "Subject: ", 9))
  {
    size_t i ;
    for (i = 9 ; i < c->linelen ; i++) c->subject[i - 9] = c->line[i] == ' ' ? '_' : c->line[i] ;
    c->subject[i - 9] = 0 ;
  }
  c->linelen = 0 ;
}

static int verb (char const *line, size_t len, char const *v)
{
  size_t n = strlen(v) ;
  return len >= n && !strncasecmp(line, v, n) && (len == n || line[n] == ' ' || line[n] == ':') ;
}

/* one command line, CR LF removed */
static void command (struct conn *c, char const *line, size_t len)
{
  if (verb(line, len, "EHLO"))
  {
    reply(c, "250-sink.test") ;
    reply(c, "250-PIPELINING") ;
    reply(c, "250-8BITMIME") ;
    if (ctx && !c->ssl) reply(c, "250-STARTTLS") ;
    reply(c, "250 SIZE 104857600") ;
    c->mail = c->rcpts = 0 ;
  }
  else if (verb(line, len, "HELO")) { reply(c, "250 sink.test") ; c->mail = c->rcpts = 0 ; }
  else if (verb(line, len, "MAIL"))
  {
    if (c->mail) reply(c, "503 5.5.1 nested MAIL") ;
    else { c->mail = 1 ; c->rcpts = 0 ; env_add(c, line, len, 1) ; reply(c, "250 2.1.0 ok") ; }
  }
  else if (verb(line, len, "RCPT"))
  {
    if (!c->mail) reply(c, "503 5.5.1 MAIL first") ;
    else { c->rcpts++ ; env_add(c, line, len, 0) ; reply(c, "250 2.1.5 ok") ; }
  }
  else if (verb(line, len, "DATA"))
  {
    if (!c->rcpts) reply(c, "503 5.5.1 no valid recipients") ;
    else
    {
      reply(c, "354 go ahead") ;
      c->state = ST_DATA ; c->eom = 2 ;
      c->inhead = !!envlog ; c->linelen = 0 ; strcpy(c->subject, "-") ;
    }
  }
  else if (verb(line, len, "RSET")) { c->mail = c->rcpts = 0 ; reply(c, "250 2.0.0 ok") ; }
  else if (verb(line, len, "NOOP")) reply(c, "250 2.0.0 ok") ;
  else if (verb(line, len, "QUIT")) { reply(c, "221 2.0.0 bye") ; c->state = ST_CLOSING ; }
  else if (verb(line, len, "STARTTLS"))
  {
    if (!ctx || c->ssl) reply(c, "502 5.5.1 no STARTTLS here") ;
    else
    {
      reply(c, "220 2.0.0 ready to start TLS") ;
      c->state = ST_STARTTLS ;
      c->mail = c->rcpts = 0 ;
    }
  }
  else reply(c, "502 5.5.2 unknown command") ;
}

/* the data from the start of c->in: returns how many bytes it used; at the end of the data the
   message is counted and the state back to commands. eom: 0 nothing, 1 CR, 2 CR LF, 3 CR LF ".",
   4 CR LF "." CR */
static size_t data (struct conn *c)
{
  size_t i ;
  for (i = 0 ; i < c->inlen ; i++)
  {
    char ch = c->in[i] ;
    if (c->inhead) head_byte(c, ch) ;
    switch (c->eom)
    {
      case 0 : c->eom = ch == '\r' ; break ;
      case 1 : c->eom = ch == '\n' ? 2 : ch == '\r' ; break ;
      case 2 : c->eom = ch == '.' ? 3 : ch == '\r' ; break ;
      case 3 : c->eom = ch == '\r' ? 4 : 0 ; break ;
      case 4 :
        if (ch == '\n')
        {
          n_msg++ ;
          n_rcpt += c->rcpts ;
          if (envlog) fprintf(envlog, "%s %.*s\n", c->subject, (int)c->envlen, c->env) ;
          c->mail = c->rcpts = 0 ;
          c->state = ST_CMD ;
          reply(c, "250 2.0.0 ok: discarded") ;
          return i + 1 ;
        }
        c->eom = ch == '\r' ;
        break ;
    }
  }
  return i ;
}

/* parses what c->in holds while replies have room; 0 if the session must end */
static int parse (struct conn *c)
{
  size_t pos = 0 ;
  while (pos < c->inlen && c->outlen + OUTROOM <= OUTSIZE && (c->state == ST_CMD || c->state == ST_DATA))
  {
    if (c->state == ST_DATA)
    {
      size_t k ;
      memmove(c->in, c->in + pos, c->inlen - pos) ;
      c->inlen -= pos ; pos = 0 ;
      k = data(c) ;
      pos = k ;
      if (c->state == ST_DATA) pos = c->inlen ;
    }
    else
    {
      char *nl = memchr(c->in + pos, '\n', c->inlen - pos) ;
      size_t len ;
      if (!nl) break ;
      len = nl - (c->in + pos) ;
      if (len && c->in[pos + len - 1] == '\r') len-- ;
      command(c, c->in + pos, len) ;
      pos = nl - c->in + 1 ;
    }
  }
  if (c->state == ST_STARTTLS || c->state == ST_CLOSING) pos = c->inlen ;   /* anything pipelined after STARTTLS or QUIT is dropped */
  memmove(c->in, c->in + pos, c->inlen - pos) ;
  c->inlen -= pos ;
  if (c->state == ST_CMD && c->inlen == INSIZE) return 0 ;   /* a command line longer than the buffer */
  return 1 ;
}

/* reads what is there into c->in: 1 something or nothing yet, 0 end of the session */
static int fill (struct conn *c, int *progress)
{
  while (c->inlen < INSIZE)
  {
    if (c->ssl)
    {
      int r = SSL_read(c->ssl, c->in + c->inlen, INSIZE - c->inlen) ;
      if (r > 0) { c->inlen += r ; *progress = 1 ; c->rwant = 0 ; continue ; }
      switch (SSL_get_error(c->ssl, r))
      {
        case SSL_ERROR_WANT_READ : c->rwant = POLLIN ; return 1 ;
        case SSL_ERROR_WANT_WRITE : c->rwant = POLLOUT ; return 1 ;
        default : return 0 ;
      }
    }
    else
    {
      ssize_t r = read(c->fd, c->in + c->inlen, INSIZE - c->inlen) ;
      if (r > 0) { c->inlen += r ; *progress = 1 ; c->rwant = 0 ; continue ; }
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) { c->rwant = POLLIN ; return 1 ; }
      return 0 ;
    }
  }
  c->rwant = 0 ;
  return 1 ;
}

/* writes what c->out holds: 1 written or waiting, 0 end of the session */
static int flush (struct conn *c, int *progress)
{
  while (c->outlen)
  {
    size_t w ;
    if (c->ssl)
    {
      int r = SSL_write(c->ssl, c->out, c->outlen) ;
      if (r <= 0)
      {
        switch (SSL_get_error(c->ssl, r))
        {
          case SSL_ERROR_WANT_READ : c->wwant = POLLIN ; return 1 ;
          case SSL_ERROR_WANT_WRITE : c->wwant = POLLOUT ; return 1 ;
          default : return 0 ;
        }
      }
      w = r ;
    }
    else
    {
      ssize_t r = write(c->fd, c->out, c->outlen) ;
      if (r < 0)
      {
        if (errno == EAGAIN || errno == EINTR) { c->wwant = POLLOUT ; return 1 ; }
        return 0 ;
      }
      w = r ;
    }
    memmove(c->out, c->out + w, c->outlen - w) ;
    c->outlen -= w ;
    *progress = 1 ;
  }
  c->wwant = 0 ;
  return 1 ;
}

/* drives the handshake: 1 done or waiting, 0 failed */
static int handshake (struct conn *c, int *progress)
{
  double t0 = cpu_now() ;
  int r = SSL_do_handshake(c->ssl) ;
  c->hscpu += cpu_now() - t0 ;
  if (r == 1)
  {
    n_hs++ ;
    hs_cpu += c->hscpu ;
    if (SSL_session_reused(c->ssl)) n_resumed++ ;
    if (SSL_version(c->ssl) == TLS1_3_VERSION) n_tls13++ ;
    c->state = ST_CMD ;
    c->rwant = c->wwant = 0 ;
    *progress = 1 ;
    return 1 ;
  }
  switch (SSL_get_error(c->ssl, r))
  {
    case SSL_ERROR_WANT_READ : c->rwant = POLLIN ; return 1 ;
    case SSL_ERROR_WANT_WRITE : c->rwant = POLLOUT ; return 1 ;
    default : n_hsfail++ ; ERR_clear_error() ; return 0 ;
  }
}

/* everything the session can do now without waiting: 0 when it is over */
static int step (struct conn *c)
{
  int progress = 1 ;
  ERR_clear_error() ;
  while (progress)
  {
    progress = 0 ;
    if (c->state == ST_HANDSHAKE)
    {
      if (!handshake(c, &progress)) return 0 ;
      continue ;
    }
    if (!flush(c, &progress)) return 0 ;
    if (c->outlen) break ;
    if (c->state == ST_CLOSING)
    {
      if (c->ssl) SSL_shutdown(c->ssl) ;
      return 0 ;
    }
    if (c->state == ST_STARTTLS)
    {
      c->ssl = SSL_new(ctx) ;
      if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) return 0 ;
      SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) ;
      SSL_set_accept_state(c->ssl) ;
      c->state = ST_HANDSHAKE ;
      c->inlen = 0 ;
      c->hscpu = 0 ;
      progress = 1 ;
      continue ;
    }
    if (!parse(c)) return 0 ;
    if (c->outlen) { progress = 1 ; continue ; }
    if (!fill(c, &progress)) return 0 ;
  }
  return 1 ;
}

static int events (struct conn const *c)
{
  if (c->state == ST_HANDSHAKE) return c->rwant ;
  if (c->outlen) return c->wwant ? c->wwant : POLLOUT ;
  return c->rwant ? c->rwant : POLLIN ;
}

static void end (struct conn *c)
{
  if (c->ssl) SSL_free(c->ssl) ;
  close(c->fd) ;
  free(c) ;
}

int main (int argc, char **argv)
{
  char const *cert = 0, *key = 0 ;
  unsigned int port = 0, maxconn = 1000, nconn = 0, i ;
  struct conn **conns ;
  struct pollfd *pfd ;
  struct sockaddr_in sa ;
  socklen_t salen = sizeof sa ;
  struct sigaction act ;
  int opt, lfd, one = 1 ;

  while ((opt = getopt(argc, argv, "c:k:p:m:l:")) != -1)
    switch (opt)
    {
      case 'c' : cert = optarg ; break ;
      case 'k' : key = optarg ; break ;
      case 'p' : port = strtoul(optarg, 0, 10) ; break ;
      case 'm' : maxconn = strtoul(optarg, 0, 10) ; break ;
      case 'l' :
        envlog = fopen(optarg, "w") ;
        if (!envlog) { fprintf(stderr, "tls-sink: fatal: unable to open %s: %s\n", optarg, strerror(errno)) ; return 111 ; }
        setvbuf(envlog, 0, _IOFBF, 1 << 20) ;
        break ;
      default :
        fprintf(stderr, "usage: tls-sink [ -c cert.pem -k key.pem ] [ -p port ] [ -m maxconn ] [ -l log ]\n") ;
        return 100 ;
    }
  if (!cert != !key || !maxconn) { fprintf(stderr, "tls-sink: fatal: -c and -k go together\n") ; return 100 ; }

  if (cert)
  {
    ctx = SSL_CTX_new(TLS_server_method()) ;
    if (!ctx) die("SSL_CTX_new") ;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) die(cert) ;
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) die(key) ;
    if (SSL_CTX_check_private_key(ctx) != 1) die("the key does not match the certificate") ;
    SSL_CTX_set_session_id_context(ctx, (unsigned char const *)"tls-sink", 8) ;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER) ;
    SSL_CTX_sess_set_cache_size(ctx, 20000) ;
  }

  memset(&act, 0, sizeof act) ;
  act.sa_handler = on_signal ;
  sigemptyset(&act.sa_mask) ;
  sigaction(SIGTERM, &act, 0) ;
  sigaction(SIGINT, &act, 0) ;
  signal(SIGPIPE, SIG_IGN) ;

  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) ;
  if (lfd < 0) die("socket") ;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ;
  memset(&sa, 0, sizeof sa) ;
  sa.sin_family = AF_INET ;
  sa.sin_port = htons(port) ;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK) ;
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind") ;
  if (listen(lfd, 1024) < 0) die("listen") ;
  if (getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0) die("getsockname") ;
  printf("port %u\n", ntohs(sa.sin_port)) ;
  fflush(stdout) ;

  conns = calloc(maxconn, sizeof *conns) ;
  pfd = calloc(maxconn + 1, sizeof *pfd) ;
  if (!conns || !pfd) die("calloc") ;

  while (!stop)
  {
    time_t now ;
    int r ;
    pfd[0].fd = lfd ;
    pfd[0].events = nconn < maxconn ? POLLIN : 0 ;
    for (i = 0 ; i < nconn ; i++)
    {
      pfd[i + 1].fd = conns[i]->fd ;
      pfd[i + 1].events = events(conns[i]) ;
      pfd[i + 1].revents = 0 ;
    }
    r = poll(pfd, nconn + 1, 1000) ;
    if (r < 0)
    {
      if (errno == EINTR) continue ;
      die("poll") ;
    }
    now = time(0) ;
    for (i = nconn ; i-- ;)
    {
      struct conn *c = conns[i] ;
      int ok = 1 ;
      if (pfd[i + 1].revents) { c->last = now ; ok = step(c) ; }
      else if (now - c->last > IDLE) ok = 0 ;
      if (!ok)
      {
        end(c) ;
        conns[i] = conns[--nconn] ;
        pfd[i + 1] = pfd[nconn + 1] ;
      }
    }
    if (pfd[0].revents & POLLIN)
    {
      while (nconn < maxconn)
      {
        struct conn *c ;
        int fd = accept4(lfd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC) ;
        if (fd < 0) break ;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ;
        c = malloc(sizeof *c) ;
        if (!c) { close(fd) ; break ; }
        memset(c, 0, offsetof(struct conn, in)) ;
        c->fd = fd ;
        c->state = ST_CMD ;
        c->last = now ;
        n_conn++ ;
        reply(c, "220 sink.test ESMTP tls-sink") ;
        if (!step(c)) { end(c) ; continue ; }
        conns[nconn++] = c ;
      }
    }
  }
  if (envlog && fclose(envlog) != 0) { fprintf(stderr, "tls-sink: fatal: unable to write the log: %s\n", strerror(errno)) ; return 111 ; }
  printf("connections %lu\nmessages %lu\nrecipients %lu\nhandshakes %lu\nresumed %lu\ntls13 %lu\nhandshake_failures %lu\nhandshake_cpu_us %.0f\n",
         n_conn, n_msg, n_rcpt, n_hs, n_resumed, n_tls13, n_hsfail, hs_cpu * 1e6) ;
  return 0 ;
}
