/* The certificate authorities a TLS client of ferry trusts: control/tlscafile, or the system's
   store. Shared by ferry-spawn-remote (tls.c) and ferry-mtasts-fetch. */
#ifndef FERRY_REMOTE_TLS_CA_H
#define FERRY_REMOTE_TLS_CA_H

#include <openssl/ssl.h>

#include <skalibs/stralloc.h>

 /* Loads into ctx the CAs of cafile (a PEM file, control/tlscafile's value), or when cafile is
    0 or empty the system's store as a directory of hashed names (SSL_CERT_DIR, else OpenSSL's
    default: /etc/ssl/certs), whose CAs are read when a chain needs them. No store is no error:
    nothing verifies then. 1 done; 0 the file could not be loaded: why (terminated) says so. */
extern int tls_ca_load (SSL_CTX *ctx, char const *cafile, stralloc *why) ;

#endif
