/* ferry_tls_why, ferry_tls_handshake, ferry_tls_read, ferry_tls_write: OpenSSL's non-blocking
   steps as a loop on iopause wants them, for both ends of SMTP. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>

#include <ferry/tls.h>

int ferry_tls_why (stralloc *why, char const *what)
{
  unsigned long e = ERR_get_error() ;
  char buf[256] ;
  char const *r ;
  if (e)
  {
    r = ERR_reason_error_string(e) ;
    if (!r) { ERR_error_string_n(e, buf, sizeof(buf)) ; r = buf ; }
  }
  else r = errno ? strerror(errno) : "the connection was closed" ;
  ERR_clear_error() ;
  why->len = 0 ;
  if (!stralloc_cats(why, what) || !stralloc_cats(why, r) || !stralloc_0(why)) return 0 ;
  why->len-- ;
  return 1 ;
}

int ferry_tls_handshake (SSL *ssl, int *ev)
{
  int r ;
  ERR_clear_error() ;
  errno = 0 ;
  r = SSL_do_handshake(ssl) ;
  if (r == 1) return 1 ;   /* *ev left as it was: a caller may still look at it */
  switch (SSL_get_error(ssl, r))
  {
    case SSL_ERROR_WANT_READ : *ev = IOPAUSE_READ ; return 0 ;
    case SSL_ERROR_WANT_WRITE : *ev = IOPAUSE_WRITE ; return 0 ;
    default : return -1 ;
  }
}

ssize_t ferry_tls_read (SSL *ssl, char *buf, size_t n, int *ev)
{
  int r ;
  ERR_clear_error() ;
  errno = 0 ;
  r = SSL_read(ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n) ;
  if (r > 0) { *ev = 0 ; return r ; }
  switch (SSL_get_error(ssl, r))
  {
    case SSL_ERROR_WANT_READ : *ev = 0 ; errno = EAGAIN ; return -1 ;
    case SSL_ERROR_WANT_WRITE : *ev = IOPAUSE_WRITE ; errno = EAGAIN ; return -1 ;
    case SSL_ERROR_ZERO_RETURN : return 0 ;
    case SSL_ERROR_SYSCALL : if (!errno) return 0 ; return -1 ;
    default : errno = EPROTO ; return -1 ;
  }
}

ssize_t ferry_tls_write (SSL *ssl, char const *buf, size_t n, int *ev, size_t *wlen)
{
  int r ;
  if (*wlen && *wlen <= n) n = *wlen ;
  ERR_clear_error() ;
  errno = 0 ;
  r = SSL_write(ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n) ;
  if (r > 0) { *wlen = 0 ; *ev = 0 ; return r ; }
  switch (SSL_get_error(ssl, r))
  {
    case SSL_ERROR_WANT_READ : *wlen = n ; *ev = IOPAUSE_READ ; errno = EAGAIN ; return -1 ;
    case SSL_ERROR_WANT_WRITE : *wlen = n ; *ev = 0 ; errno = EAGAIN ; return -1 ;
    case SSL_ERROR_SYSCALL : if (!errno) errno = EPIPE ; return -1 ;
    default : errno = EPROTO ; return -1 ;
  }
}
