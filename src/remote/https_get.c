/* https_ctx, https_get: one HTTPS GET under a deadline, the server's certificate verified for
   its host name: a non-blocking connection per address in turn, an OpenSSL client on it, waits
   through iopause. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include "mtasts_fetch.h"
#include "tls_ca.h"

SSL_CTX *https_ctx (char const *cafile, stralloc *why)
{
  SSL_CTX *ctx ;
  ERR_clear_error() ;
  ctx = SSL_CTX_new(TLS_client_method()) ;
  if (!ctx)
  {
    why->len = 0 ;
    if (!stralloc_cats(why, "unable to create the TLS context") || !stralloc_0(why)) why->len = 0 ;
    return 0 ;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ;
  /* a close without close_notify is seen (https_get's *cut): a body that ends at the close could
     have been cut by anyone on the path */
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, 0) ;
  if (!tls_ca_load(ctx, cafile, why))
  {
    SSL_CTX_free(ctx) ;
    return 0 ;
  }
  return ctx ;
}

static int why_set (stralloc *why, char const *a, char const *b, char const *c, char const *d)
{
  why->len = 0 ;
  return stralloc_cats(why, a) && stralloc_cats(why, b) && stralloc_cats(why, c) && stralloc_cats(why, d) && stralloc_0(why) ? 0 : -1 ;
}

 /* OpenSSL's reason for the last failure, else the system's, else what happened. */
static char const *tls_reason (char *buf, size_t n)
{
  unsigned long e = ERR_get_error() ;
  char const *r ;
  if (!e) return errno ? strerror(errno) : "the connection was closed" ;
  r = ERR_reason_error_string(e) ;
  if (!r) { ERR_error_string_n(e, buf, n) ; r = buf ; }
  ERR_clear_error() ;
  return r ;
}

 /* Waits until fd is ready for what OpenSSL wants (SSL_ERROR_WANT_READ or _WRITE): 1, 0 at the
    deadline, -1 for another error. */
static int tls_wait (SSL *ssl, int fd, int r, tain const *deadline)
{
  iopause_fd x = { .fd = fd, .events = 0, .revents = 0 } ;
  switch (SSL_get_error(ssl, r))
  {
    case SSL_ERROR_WANT_READ : x.events = IOPAUSE_READ ; break ;
    case SSL_ERROR_WANT_WRITE : x.events = IOPAUSE_WRITE ; break ;
    default : return -1 ;
  }
  r = iopause_g(&x, 1, deadline) ;
  if (r < 0) return -1 ;
  return r > 0 ;
}

 /* The connection: the first address that takes it, each given its share of the time left. */
static int tcp_connect (ip46 const *addrs, unsigned int naddrs, uint16_t port, char const *host, tain const *deadline, stralloc *why)
{
  unsigned int i ;
  int e = ETIMEDOUT ;
  char fmt[IP46_FMT] ;
  char pfmt[UINT16_FMT] ;
  pfmt[uint16_fmt(pfmt, port)] = 0 ;
  fmt[0] = 0 ;
  for (i = 0 ; i < naddrs && tain_future(deadline) ; i++)
  {
    tain share, dl ;
    int fd = socket_tcp46_nbcoe(addrs[i].is6) ;
    fmt[ip46_fmt(fmt, addrs + i)] = 0 ;
    if (fd < 0) { e = errno ; continue ; }
    tain_sub(&share, deadline, &STAMP) ;
    tain_from_millisecs(&dl, tain_to_millisecs(&share) / (int)(naddrs - i)) ;
    tain_add_g(&dl, &dl) ;
    if (socket_deadlineconnstamp46_g(fd, addrs + i, port, &dl)) return fd ;
    e = errno ;
    fd_close(fd) ;
  }
  why->len = 0 ;
  if (!stralloc_cats(why, "unable to connect to ") || !stralloc_cats(why, host) || !stralloc_cats(why, "[")
   || !stralloc_cats(why, fmt) || !stralloc_cats(why, "]:") || !stralloc_cats(why, pfmt) || !stralloc_cats(why, ": ")
   || !stralloc_cats(why, e == ETIMEDOUT ? "timed out" : strerror(e)) || !stralloc_0(why)) return -2 ;
  return -1 ;
}

int https_get (SSL_CTX *ctx, ip46 const *addrs, unsigned int naddrs, uint16_t port, char const *host,
               char const *path, tain const *deadline, size_t max, stralloc *out, int *more, int *cut, stralloc *why)
{
  stralloc req = STRALLOC_ZERO ;
  SSL *ssl = 0 ;
  char buf[16384] ;
  size_t w = 0 ;
  int fd, r, ret = -1 ;
  *more = 0 ;
  *cut = 0 ;
  out->len = 0 ;
  fd = tcp_connect(addrs, naddrs, port, host, deadline, why) ;
  if (fd == -2) return -1 ;
  if (fd < 0) return 0 ;
  ERR_clear_error() ;
  ssl = SSL_new(ctx) ;
  if (!ssl || !SSL_set_fd(ssl, fd)) { ret = why_set(why, "unable to start TLS: ", tls_reason(buf, sizeof(buf)), "", "") ; goto end ; }
  SSL_set_connect_state(ssl) ;
  X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS) ;
  if (!SSL_set_tlsext_host_name(ssl, host) || !SSL_set1_host(ssl, host)) goto end ;

  /* the handshake */
  for (;;)
  {
    errno = 0 ;
    r = SSL_connect(ssl) ;
    if (r == 1) break ;
    r = tls_wait(ssl, fd, r, deadline) ;
    if (r > 0) continue ;
    if (!r) { ret = why_set(why, "timed out in the TLS handshake with ", host, "", "") ; goto end ; }
    {
      long v = SSL_get_verify_result(ssl) ;
      ret = v != X509_V_OK ? why_set(why, "the certificate of ", host, " did not verify: ", X509_verify_cert_error_string(v))
          : why_set(why, "the TLS handshake with ", host, " failed: ", tls_reason(buf, sizeof(buf))) ;
      goto end ;
    }
  }

  /* the request, whole */
  {
    char pfmt[UINT16_FMT] ;
    pfmt[uint16_fmt(pfmt, port)] = 0 ;
    if (!stralloc_cats(&req, "GET ") || !stralloc_cats(&req, path) || !stralloc_cats(&req, " HTTP/1.1\r\nHost: ") || !stralloc_cats(&req, host)
     || (port != 443 && (!stralloc_cats(&req, ":") || !stralloc_cats(&req, pfmt)))
     || !stralloc_cats(&req, "\r\nUser-Agent: ferry-mtasts-fetch\r\nAccept: text/plain\r\nConnection: close\r\n\r\n")) goto end ;
  }
  while (w < req.len)
  {
    errno = 0 ;
    r = SSL_write(ssl, req.s + w, (int)(req.len - w)) ;
    if (r > 0) { w += (size_t)r ; continue ; }
    r = tls_wait(ssl, fd, r, deadline) ;
    if (r > 0) continue ;
    ret = !r ? why_set(why, "timed out sending the request to ", host, "", "")
             : why_set(why, "unable to send the request to ", host, ": ", tls_reason(buf, sizeof(buf))) ;
    goto end ;
  }

  /* the response, until the server closes, at most max bytes */
  for (;;)
  {
    errno = 0 ;
    r = SSL_read(ssl, buf, sizeof(buf)) ;
    if (r > 0)
    {
      size_t room = max - out->len ;
      if ((size_t)r > room)
      {
        if (!stralloc_catb(out, buf, room)) goto end ;
        *more = 1 ;
        break ;
      }
      if (!stralloc_catb(out, buf, (size_t)r)) goto end ;
      continue ;
    }
    {
      int e = SSL_get_error(ssl, r) ;
      if (e == SSL_ERROR_ZERO_RETURN) break ;
      if ((e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
       || (e == SSL_ERROR_SYSCALL && !errno))
      {
        ERR_clear_error() ;
        *cut = 1 ;
        break ;
      }
    }
    r = tls_wait(ssl, fd, r, deadline) ;
    if (r > 0) continue ;
    ret = !r ? why_set(why, "timed out reading the response of ", host, "", "")
             : why_set(why, "unable to read the response of ", host, ": ", tls_reason(buf, sizeof(buf))) ;
    goto end ;
  }
  if (!*more && !*cut) SSL_shutdown(ssl) ;   /* one try: the close_notify goes if it can */
  ret = 1 ;
 end:
  if (ret < 0) why->len = 0 ;
  if (ssl) SSL_free(ssl) ;
  fd_close(fd) ;
  stralloc_free(&req) ;
  return ret ;
}
