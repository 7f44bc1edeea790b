/* smtp-load: smtp-source's load, with STARTTLS, for the relay benchmark (OpenSSL).
     smtp-load [ -d ] [ -T ] -s sessions -m messages -l length -f from -t to -M helo host port
   Forks sessions workers; each sends its share of the messages one after the other, each on a
   connection of its own, or with -d (as smtp-source -d) all of them on one connection: the
   greeting, EHLO, with -T STARTTLS and a full TLS handshake (no session kept or offered: as many
   clients, each new) then EHLO again, then for each message MAIL, RCPT, DATA, the
   message (From, To, Date, Message-Id and Subject lines, then length bytes of body in lines of
   78 X and CRLF, as smtp-source -l), QUIT; one command at a time (no pipelining, as smtp-source).
   The server's certificate is not verified. Any reply not of the class expected, or a failed
   handshake, ends that session with its reason on stderr. Prints one line on stdout,
     messages M handshakes H workers W
   (the messages taken with 250, the handshakes made, the processes it forked), and exits 0 if
   every message was taken, 1 else, 100 for a usage error, 111 for a system one. */

#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define TIMEOUT 120     /* seconds any read or write may wait */

struct conn
{
  int fd ;
  SSL *ssl ;
  size_t len ;
  char buf[4096] ;
} ;

static char const *from, *to, *helo ;
static size_t length ;
static int starttls, keep ;
static struct sockaddr_in peer ;
static SSL_CTX *ctx ;

static void usage (void)
{
  fprintf(stderr, "usage: smtp-load [ -d ] [ -T ] -s sessions -m messages -l length -f from -t to -M helo host port\n") ;
  exit(100) ;
}

static int conn_write (struct conn *c, char const *s, size_t n)
{
  while (n)
  {
    ssize_t w = c->ssl ? SSL_write(c->ssl, s, (int)n) : write(c->fd, s, n) ;
    if (w <= 0)
    {
      if (!c->ssl && w < 0 && errno == EINTR) continue ;
      return 0 ;
    }
    s += w ;
    n -= (size_t)w ;
  }
  return 1 ;
}

 /* one line of a reply, CR LF removed, into line (cut at max - 1); 0 at the end of input */
static int conn_line (struct conn *c, char *line, size_t max)
{
  for (;;)
  {
    char *nl = memchr(c->buf, '\n', c->len) ;
    ssize_t r ;
    if (nl)
    {
      size_t k = (size_t)(nl - c->buf) ;
      size_t n = k && c->buf[k - 1] == '\r' ? k - 1 : k ;
      if (n >= max) n = max - 1 ;
      memcpy(line, c->buf, n) ;
      line[n] = 0 ;
      memmove(c->buf, nl + 1, c->len - k - 1) ;
      c->len -= k + 1 ;
      return 1 ;
    }
    if (c->len == sizeof c->buf) c->len = 0 ;   /* a line that long: its start is dropped */
    r = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len)) : read(c->fd, c->buf + c->len, sizeof c->buf - c->len) ;
    if (r <= 0)
    {
      if (!c->ssl && r < 0 && errno == EINTR) continue ;
      return 0 ;
    }
    c->len += (size_t)r ;
  }
}

 /* a whole reply (its last line in line): its code, 0 at the end of input or on nonsense */
static int reply (struct conn *c, char *line, size_t max)
{
  for (;;)
  {
    if (!conn_line(c, line, max)) { strcpy(line, "(connection closed)") ; return 0 ; }
    if (strlen(line) < 3 || line[0] < '1' || line[0] > '5') return 0 ;
    if (line[3] != '-') return atoi(line) ;
  }
}

 /* send cmd (CR LF added), then its reply: 1 if of the class want (2, 3), else 0 with why */
static int say (struct conn *c, char const *cmd, int want, char const **why, char *line, size_t max)
{
  char out[1024] ;
  int n = snprintf(out, sizeof out, "%s\r\n", cmd) ;
  if (n <= 0 || (size_t)n >= sizeof out || !conn_write(c, out, (size_t)n)) { *why = cmd ; strcpy(line, "(write failed)") ; return 0 ; }
  if (reply(c, line, max) / 100 != want) { *why = cmd ; return 0 ; }
  return 1 ;
}

static void message (char *msg, size_t *len, size_t max, int worker, unsigned long k)
{
  char date[64] ;
  time_t now = time(0) ;
  size_t body = 0, n ;
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", gmtime(&now)) ;
  n = (size_t)snprintf(msg, max, "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\nMessage-Id: <%d.%lu@%s>\r\nSubject: bench\r\n\r\n",
    from, to, date, worker, k, helo) ;
  /* the body as smtp-source -l makes it: length bytes, CR LF counted, lines of 78 X */
  while (body < length)
  {
    size_t line = length - body > 80 ? 78 : (length - body > 2 ? length - body - 2 : 0) ;
    memset(msg + n, 'X', line) ;
    n += line ;
    memcpy(msg + n, "\r\n", 2) ;
    n += 2 ;
    body += line + 2 ;
  }
  memcpy(msg + n, ".\r\n", 3) ;
  *len = n + 3 ;
}

 /* one session: connect, the greeting, EHLO (with -T STARTTLS, the handshake and EHLO again),
    then count messages, numbered k, k + step, ..., each MAIL, RCPT, DATA and the message; QUIT.
    The messages taken with 250; at the first failure its reason on stderr and the session ends. */
static unsigned long session (int worker, unsigned long k, unsigned long step, unsigned long count, char *msg, size_t max, unsigned long *hs)
{
  struct conn c = { .fd = -1, .ssl = 0, .len = 0 } ;
  struct timeval tv = { .tv_sec = TIMEOUT, .tv_usec = 0 } ;
  char line[1024], cmd[600], ehlo[300] ;
  char const *why = "the greeting" ;
  size_t len ;
  unsigned long ok = 0 ;
  int one = 1, failed = 1 ;
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
  if (c.fd < 0) { perror("smtp-load: socket") ; return 0 ; }
  setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ;
  setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) ;
  /* each command and the message go in one write, and the TLS handshake's last flight is
     followed by EHLO at once: no write waits for the peer's delayed ACK */
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ;
  if (connect(c.fd, (struct sockaddr *)&peer, sizeof peer) < 0) { perror("smtp-load: connect") ; close(c.fd) ; return 0 ; }
  if (reply(&c, line, sizeof line) != 220) goto end ;
  snprintf(ehlo, sizeof ehlo, "EHLO %s", helo) ;
  if (!say(&c, ehlo, 2, &why, line, sizeof line)) goto end ;
  if (starttls)
  {
    if (!say(&c, "STARTTLS", 2, &why, line, sizeof line)) goto end ;
    why = "the TLS handshake" ;
    c.ssl = SSL_new(ctx) ;
    if (!c.ssl || !SSL_set_fd(c.ssl, c.fd) || SSL_connect(c.ssl) != 1)
    {
      unsigned long e = ERR_get_error() ;
      snprintf(line, sizeof line, "%s", e ? ERR_reason_error_string(e) : "failed") ;
      goto end ;
    }
    (*hs)++ ;
    if (!say(&c, ehlo, 2, &why, line, sizeof line)) goto end ;
  }
  for (; ok < count ; ok++, k += step)
  {
    snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>", from) ;
    if (!say(&c, cmd, 2, &why, line, sizeof line)) goto end ;
    snprintf(cmd, sizeof cmd, "RCPT TO:<%s>", to) ;
    if (!say(&c, cmd, 2, &why, line, sizeof line)) goto end ;
    if (!say(&c, "DATA", 3, &why, line, sizeof line)) goto end ;
    message(msg, &len, max, worker, k) ;
    why = "the end of the message" ;
    if (!conn_write(&c, msg, len)) { strcpy(line, "(write failed)") ; goto end ; }
    if (reply(&c, line, sizeof line) / 100 != 2) goto end ;
  }
  failed = 0 ;
  why = 0 ;
  say(&c, "QUIT", 2, &why, line, sizeof line) ;
 end:
  if (failed) fprintf(stderr, "smtp-load: worker %d, message %lu: %s: %s\n", worker, k, why, line) ;
  if (c.ssl)
  {
    if (!failed) SSL_shutdown(c.ssl) ;
    SSL_free(c.ssl) ;
  }
  close(c.fd) ;
  return ok ;
}

int main (int argc, char **argv)
{
  unsigned long sessions = 0, messages = 0, sent = 0, hs = 0, workers = 0 ;
  char *msg ;
  size_t max ;
  int p[2], opt, failed = 0 ;
  FILE *in ;
  while ((opt = getopt(argc, argv, "dTs:m:l:f:t:M:")) != -1)
  {
    switch (opt)
    {
      case 'd' : keep = 1 ; break ;
      case 'T' : starttls = 1 ; break ;
      case 's' : sessions = strtoul(optarg, 0, 10) ; break ;
      case 'm' : messages = strtoul(optarg, 0, 10) ; break ;
      case 'l' : length = strtoul(optarg, 0, 10) ; break ;
      case 'f' : from = optarg ; break ;
      case 't' : to = optarg ; break ;
      case 'M' : helo = optarg ; break ;
      default : usage() ;
    }
  }
  if (argc - optind != 2 || !sessions || !messages || !from || !to || !helo
   || strlen(from) > 500 || strlen(to) > 500 || strlen(helo) > 200) usage() ;
  memset(&peer, 0, sizeof peer) ;
  peer.sin_family = AF_INET ;
  peer.sin_port = htons((unsigned short)strtoul(argv[optind + 1], 0, 10)) ;
  if (inet_pton(AF_INET, argv[optind], &peer.sin_addr) != 1) usage() ;
  if (sessions > messages) sessions = messages ;
  max = length + length / 78 * 2 + 2048 ;
  msg = malloc(max) ;
  if (!msg) { perror("smtp-load: malloc") ; return 111 ; }
  signal(SIGPIPE, SIG_IGN) ;
  if (starttls)
  {
    ctx = SSL_CTX_new(TLS_client_method()) ;
    if (!ctx) { ERR_print_errors_fp(stderr) ; return 111 ; }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, 0) ;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF) ;
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET) ;
  }
  if (pipe(p) < 0) { perror("smtp-load: pipe") ; return 111 ; }
  for (unsigned long w = 0 ; w < sessions ; w++)
  {
    /* worker w sends messages w, w + sessions, w + 2 * sessions, ... */
    pid_t pid = fork() ;
    if (pid < 0) { perror("smtp-load: fork") ; failed = 1 ; break ; }
    workers++ ;
    if (!pid)
    {
      unsigned long k, ok = 0, h = 0 ;
      char res[64] ;
      int n ;
      close(p[0]) ;
      if (keep) ok = session((int)w, w, sessions, (messages - w + sessions - 1) / sessions, msg, max, &h) ;
      else for (k = w ; k < messages ; k += sessions) ok += session((int)w, k, sessions, 1, msg, max, &h) ;
      n = snprintf(res, sizeof res, "%lu %lu\n", ok, h) ;
      _exit(write(p[1], res, (size_t)n) == n ? 0 : 111) ;
    }
  }
  close(p[1]) ;
  in = fdopen(p[0], "r") ;
  if (in)
  {
    unsigned long ok, h ;
    while (fscanf(in, "%lu %lu", &ok, &h) == 2) { sent += ok ; hs += h ; }
  }
  for (;;)
  {
    int status ;
    pid_t pid = wait(&status) ;
    if (pid < 0) { if (errno == EINTR) continue ; break ; }
    if (!WIFEXITED(status) || WEXITSTATUS(status)) failed = 1 ;
  }
  printf("messages %lu handshakes %lu workers %lu\n", sent, hs, workers) ;
  return failed || sent != messages ;
}
