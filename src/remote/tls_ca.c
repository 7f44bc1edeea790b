/* tls_ca_load: the CAs of control/tlscafile, or the system's store, into an OpenSSL context. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <skalibs/stralloc.h>

#include "tls_ca.h"

int tls_ca_load (SSL_CTX *ctx, char const *cafile, stralloc *why)
{
  unsigned long e ;
  char buf[256] ;
  char const *r ;
  if (!(cafile && cafile[0]))
  {
    /* the system's store as a directory of hashed names: a CA is read when a chain needs it, not
       the whole bundle at each start and reread (about 15 ms of CPU, with the loop stopped) */
    char const *dir = getenv(X509_get_default_cert_dir_env()) ;
    if (!dir || !dir[0]) dir = X509_get_default_cert_dir() ;
    if (!SSL_CTX_load_verify_dir(ctx, dir)) ERR_clear_error() ;   /* no store: nothing verifies, which the texts say */
    return 1 ;
  }
  if (SSL_CTX_load_verify_locations(ctx, cafile, 0)) return 1 ;
  e = ERR_get_error() ;
  r = e ? ERR_reason_error_string(e) : 0 ;
  if (e && !r) { ERR_error_string_n(e, buf, sizeof(buf)) ; r = buf ; }
  if (!r) r = errno ? strerror(errno) : "unknown error" ;
  ERR_clear_error() ;
  why->len = 0 ;
  if (!stralloc_cats(why, "unable to load control/tlscafile (") || !stralloc_cats(why, cafile) || !stralloc_cats(why, "): ")
   || !stralloc_cats(why, r) || !stralloc_0(why)) why->len = 0 ;
  return 0 ;
}
