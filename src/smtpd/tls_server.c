/* ferry-smtpd's TLS server: the context, the handshake with a deadline, and the TLS stream for
   the buffered I/O layer. */

#include <errno.h>
#include <string.h>

#include <openssl/ssl.h>

#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/tls.h>

#include "tls_server.h"

int smtpd_tls_init (smtpd_tls *t, stralloc *why)
{
  t->ctx = ferry_tls_server_ctx(SMTPD_TLS_CERT, SMTPD_TLS_KEY, &t->cert, why) ;
  if (!t->ctx && !why->len && (!stralloc_cats(why, "out of memory") || !stralloc_0(why))) return 0 ;
  return !!t->ctx ;
}

int smtpd_tls_event (smtpd_tls const *t, int reading)
{
  return t->ev ? t->ev : reading ? IOPAUSE_READ : IOPAUSE_WRITE ;
}

int smtpd_tls_fd (smtpd_tls const *t, int reading)
{
  return smtpd_tls_event(t, reading) == IOPAUSE_READ ? t->rfd : t->wfd ;
}

 /* Waits for what the last step wants, at most until deadline: 1, or -1 errno (ETIMEDOUT). */
static int tls_wait (smtpd_tls const *t, int reading, tain const *deadline)
{
  iopause_fd x ;
  x.fd = smtpd_tls_fd(t, reading) ;
  x.events = smtpd_tls_event(t, reading) ;
  for (;;)
  {
    int r = iopause_g(&x, 1, deadline) ;
    if (r > 0) return 1 ;
    if (!r) { errno = ETIMEDOUT ; return -1 ; }
    if (errno != EINTR) return -1 ;
  }
}

static void why_set (stralloc *why, char const *s)
{
  why->len = 0 ;
  if (!stralloc_cats(why, s) || !stralloc_0(why)) why->len = 0 ;
  else why->len-- ;
}

int smtpd_tls_handshake (smtpd_tls *t, tain const *deadline, stralloc *why)
{
  int r ;
  if (!t->ctx) { why_set(why, "no TLS context") ; return 0 ; }
  t->ssl = SSL_new(t->ctx) ;
  if (!t->ssl || !SSL_set_rfd(t->ssl, t->rfd) || !SSL_set_wfd(t->ssl, t->wfd))
  {
    if (!ferry_tls_why(why, "unable to start TLS: ")) why->len = 0 ;
    return 0 ;
  }
  if (ndelay_on(t->rfd) < 0 || ndelay_on(t->wfd) < 0)
  {
    why_set(why, "unable to make the socket non-blocking") ;
    return 0 ;
  }
  /* as much as the socket has, at once: a record in one read, not a header and a body in two
     (every read tries SSL_read before it waits, so what is read ahead is never left waiting) */
  SSL_set_read_ahead(t->ssl, 1) ;
  SSL_set_accept_state(t->ssl) ;
  t->ev = 0 ;
  t->wlen = 0 ;
  for (;;)
  {
    r = ferry_tls_handshake(t->ssl, &t->ev) ;
    if (r > 0) break ;
    if (r < 0)
    {
      if (!ferry_tls_why(why, "the TLS handshake failed: ")) why->len = 0 ;
      return 0 ;
    }
    if (tls_wait(t, 1, deadline) < 0)
    {
      if (errno == ETIMEDOUT) why_set(why, "the TLS handshake timed out") ;
      else if (!ferry_tls_why(why, "the TLS handshake failed: ")) why->len = 0 ;
      return 0 ;
    }
  }
  t->ev = 0 ;
  t->on = 1 ;
  {
    char const *v = SSL_get_version(t->ssl), *c = SSL_get_cipher_name(t->ssl) ;
    size_t n = strlen(v), m = strlen(c) ;
    if (n >= sizeof(t->version)) n = sizeof(t->version) - 1 ;
    if (m >= sizeof(t->cipher)) m = sizeof(t->cipher) - 1 ;
    memcpy(t->version, v, n) ; t->version[n] = 0 ;
    memcpy(t->cipher, c, m) ; t->cipher[m] = 0 ;
    t->bits = SSL_get_cipher_bits(t->ssl, 0) ;
  }
  return 1 ;
}

ssize_t smtpd_tls_read (smtpd_tls *t, char *buf, size_t n)
{
  return ferry_tls_read(t->ssl, buf, n, &t->ev) ;
}

ssize_t smtpd_tls_write (smtpd_tls *t, char const *buf, size_t n)
{
  return ferry_tls_write(t->ssl, buf, n, &t->ev, &t->wlen) ;
}

size_t smtpd_tls_pending (smtpd_tls const *t)
{
  int n = t->ssl ? SSL_pending(t->ssl) : 0 ;
  return n > 0 ? (size_t)n : 0 ;
}

ssize_t smtpd_tls_read_until (smtpd_tls *t, char *buf, size_t n, tain const *deadline)
{
  for (;;)
  {
    ssize_t r = smtpd_tls_read(t, buf, n) ;
    if (r >= 0 || errno != EAGAIN) return r ;
    if (tls_wait(t, 1, deadline) < 0) return -1 ;
  }
}

ssize_t smtpd_tls_write_all (smtpd_tls *t, char const *buf, size_t n, tain const *deadline)
{
  size_t w = 0 ;
  while (w < n)
  {
    ssize_t r = smtpd_tls_write(t, buf + w, n - w) ;
    if (r > 0) { w += r ; continue ; }
    if (r == 0) { errno = EPIPE ; return -1 ; }
    if (errno != EAGAIN || tls_wait(t, 0, deadline) < 0) return -1 ;
  }
  return (ssize_t)n ;
}

int smtpd_tls_describe (smtpd_tls const *t, stralloc *sa)
{
  char fmt[UINT_FMT] ;
  int alg = 0 ;
  if (t->ssl) SSL_get_cipher_bits(t->ssl, &alg) ;
  return stralloc_cats(sa, t->version) && stralloc_cats(sa, " with cipher ") && stralloc_cats(sa, t->cipher)
    && stralloc_cats(sa, " (") && stralloc_catb(sa, fmt, uint_fmt(fmt, (unsigned int)t->bits))
    && stralloc_cats(sa, "/") && stralloc_catb(sa, fmt, uint_fmt(fmt, (unsigned int)alg))
    && stralloc_cats(sa, " bits)") ;
}

void smtpd_tls_end (smtpd_tls *t)
{
  if (t->ssl)
  {
    if (t->on) SSL_shutdown(t->ssl) ;   /* one try: the close_notify goes if it can */
    SSL_free(t->ssl) ;
    t->ssl = 0 ;
  }
  if (t->ctx) SSL_CTX_free(t->ctx) ;
  t->ctx = 0 ;
  t->on = 0 ;
}
