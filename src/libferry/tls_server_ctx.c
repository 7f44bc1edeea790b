/* ferry_tls_server_ctx: the SMTP server's OpenSSL context, from its certificate and key files. */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <skalibs/stralloc.h>

#include <ferry/tls.h>

 /* TLS 1.2: only forward-secret AEAD suites (TLS 1.3 has only those) */
#define CIPHERS12 "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!PSK:!SRP"

static int why3 (stralloc *why, char const *a, char const *b, char const *c)
{
  why->len = 0 ;
  if (!stralloc_cats(why, a) || !stralloc_cats(why, b) || !stralloc_cats(why, c) || !stralloc_0(why)) return 0 ;
  why->len-- ;
  return 1 ;
}

 /* A file the server needs: there, readable, not empty. 0 with why. */
static int file_there (char const *fn, stralloc *why)
{
  struct stat st ;
  if (stat(fn, &st) < 0)
  {
    why3(why, fn, errno == ENOENT ? ": no such file" : ": ", errno == ENOENT ? "" : strerror(errno)) ;
    return 0 ;
  }
  if (!S_ISREG(st.st_mode)) { why3(why, fn, ": not a regular file", "") ; return 0 ; }
  if (!st.st_size) { why3(why, fn, ": empty", "") ; return 0 ; }
  return 1 ;
}

 /* OpenSSL's error, after "FILE: what: " */
static void why_ssl (stralloc *why, char const *fn, char const *what)
{
  stralloc pre = STRALLOC_ZERO ;
  if (!why3(&pre, fn, ": ", what) || !ferry_tls_why(why, pre.s)) why->len = 0 ;
  stralloc_free(&pre) ;
}

static void cert_facts (SSL_CTX *ctx, ferry_tls_cert *cert)
{
  X509 *x = SSL_CTX_get0_certificate(ctx) ;
  STACK_OF(X509) *chain = 0 ;
  struct tm tm ;
  if (!x) return ;
  X509_NAME_oneline(X509_get_subject_name(x), cert->subject, sizeof(cert->subject)) ;
  if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
    strftime(cert->notafter, sizeof(cert->notafter), "%Y-%m-%d %H:%M:%S UTC", &tm) ;
  cert->expired = X509_cmp_current_time(X509_get0_notAfter(x)) <= 0 || X509_cmp_current_time(X509_get0_notBefore(x)) >= 0 ;
  SSL_CTX_get0_chain_certs(ctx, &chain) ;
  cert->chain = 1 + (chain ? (unsigned int)sk_X509_num(chain) : 0) ;
}

int ferry_tls_server_files (char const *certfile, char const *keyfile, stralloc *why)
{
  struct stat st ;
  int fd ;
  if (!file_there(certfile, why) || !file_there(keyfile, why)) return 0 ;
  if (stat(keyfile, &st) == 0 && st.st_mode & 0004)
  {
    why3(why, keyfile, ": readable by others: a private key must not be (chmod 640)", "") ;
    return 0 ;
  }
  /* readable by this process: opened, not read */
  fd = open(certfile, O_RDONLY | O_CLOEXEC) ;
  if (fd < 0) { why3(why, certfile, ": ", strerror(errno)) ; return 0 ; }
  close(fd) ;
  fd = open(keyfile, O_RDONLY | O_CLOEXEC) ;
  if (fd < 0) { why3(why, keyfile, ": ", strerror(errno)) ; return 0 ; }
  close(fd) ;
  return 1 ;
}

SSL_CTX *ferry_tls_server_ctx (char const *certfile, char const *keyfile, ferry_tls_cert *cert, stralloc *why)
{
  SSL_CTX *ctx ;
  if (!ferry_tls_server_files(certfile, keyfile, why)) return 0 ;
  ERR_clear_error() ;
  ctx = SSL_CTX_new(TLS_server_method()) ;
  if (!ctx) { if (!ferry_tls_why(why, "unable to create the TLS context: ")) why->len = 0 ; return 0 ; }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ;
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET
    | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF) ;
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) ;
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF) ;
  SSL_CTX_set_num_tickets(ctx, 0) ;
  SSL_CTX_set_dh_auto(ctx, 1) ;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, 0) ;
  if (!SSL_CTX_set_cipher_list(ctx, CIPHERS12))
  {
    if (!ferry_tls_why(why, "unable to set the TLS 1.2 ciphers: ")) why->len = 0 ;
    goto err ;
  }
  if (!SSL_CTX_use_certificate_chain_file(ctx, certfile)) { why_ssl(why, certfile, "not a PEM certificate chain: ") ; goto err ; }
  cert_facts(ctx, cert) ;
  if (!SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM))
  {
    /* OpenSSL checks the pair as it loads the key */
    int mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH ;
    why_ssl(why, keyfile, mismatch ? "not the key of the certificate: " : "not a PEM private key: ") ;
    goto err ;
  }
  if (!SSL_CTX_check_private_key(ctx)) { why_ssl(why, keyfile, "not the key of the certificate: ") ; goto err ; }
  return ctx ;
 err:
  SSL_CTX_free(ctx) ;
  return 0 ;
}
