/* ferry-spawn-remote's TLS: one OpenSSL context, a non-blocking SSL object per connection, the
   handshake and its checks against the destination's policy, the TLS sessions kept for the next
   connection to the same host, and the hosts whose handshake failed under "may". */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include "spawn_remote.h"
#include "tls_ca.h"

#define SESSIONS_MAX 1024

typedef struct tls_session_s tls_session ;
struct tls_session_s
{
  stralloc key ;           /* the connection's tlskey: host, address, port, level and names checked */
  SSL_SESSION *sess ;
  tain used ;
} ;

static SSL_CTX *ctx = 0 ;
static tls_session sessions[SESSIONS_MAX] ;
static unsigned int nsessions = 0 ;

 /* The last OpenSSL error, else the system's, else what. */
static void tls_error (stralloc *why, char const *what)
{
  unsigned long e = ERR_get_error() ;
  char buf[256] ;
  why->len = 0 ;
  if (e)
  {
    char const *r = ERR_reason_error_string(e) ;
    if (!r) { ERR_error_string_n(e, buf, sizeof(buf)) ; r = buf ; }
    if (!stralloc_cats(why, what) || !stralloc_cats(why, r)) nomem() ;
  }
  else if (!stralloc_cats(why, what) || !stralloc_cats(why, errno ? strerror(errno) : "the connection was closed")) nomem() ;
  if (!stralloc_0(why)) nomem() ;
  why->len-- ;
  ERR_clear_error() ;
}

static int session_find (stralloc const *key)
{
  unsigned int i ;
  for (i = 0 ; i < nsessions ; i++)
    if (sessions[i].key.len == key->len && !memcmp(sessions[i].key.s, key->s, key->len)) return i ;
  return -1 ;
}

 /* A new session from the host (TLS 1.3 sends its tickets after the handshake): kept for the
    next connection made with the same key, the one this connection was made with (never its
    address of the moment: an idle connection may have been given to another destination). A
    resumed session keeps the verification of the first handshake, so the key holds all that
    verification depended on: the level, the names checked, and (the cache is emptied when the
    context is replaced) the CAs. */
static int session_new (SSL *ssl, SSL_SESSION *sess)
{
  uintptr_t ci = (uintptr_t)SSL_get_app_data(ssl) ;
  conn const *c ;
  int i ;
  if (!ci || ci > rem.nconns) return 0 ;
  c = rem.conns + ci - 1 ;
  if (c->ssl != ssl || !c->tlskey.len) return 0 ;
  i = session_find(&c->tlskey) ;
  if (i < 0)
  {
    unsigned int k, oldest = 0 ;
    if (nsessions < SESSIONS_MAX) i = nsessions++ ;
    else
    {
      for (k = 1 ; k < nsessions ; k++) if (tain_less(&sessions[k].used, &sessions[oldest].used)) oldest = k ;
      i = oldest ;
    }
    if (!stralloc_copyb(&sessions[i].key, c->tlskey.s, c->tlskey.len)) nomem() ;
  }
  if (sessions[i].sess) SSL_SESSION_free(sessions[i].sess) ;
  sessions[i].sess = sess ;
  tain_copynow(&sessions[i].used) ;
  return 1 ;
}

static void sessions_forget (void)
{
  unsigned int i ;
  for (i = 0 ; i < nsessions ; i++)
  {
    if (sessions[i].sess) SSL_SESSION_free(sessions[i].sess) ;
    sessions[i].sess = 0 ;
    stralloc_free(&sessions[i].key) ;
  }
  nsessions = 0 ;
}

void *tls_prepare (char const *cafile, stralloc *why)
{
  SSL_CTX *n ;
  ERR_clear_error() ;
  n = SSL_CTX_new(TLS_client_method()) ;
  if (!n) { tls_error(why, "unable to create the TLS context: ") ; return 0 ; }
  SSL_CTX_set_min_proto_version(n, TLS1_2_VERSION) ;
  SSL_CTX_set_mode(n, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) ;
  /* a peer that closes without close_notify has closed: SMTP says by itself where the data ends */
  SSL_CTX_set_options(n, SSL_OP_IGNORE_UNEXPECTED_EOF) ;
  SSL_CTX_set_verify(n, SSL_VERIFY_NONE, 0) ;   /* checked after the handshake, as the policy says */
  SSL_CTX_set_session_cache_mode(n, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE) ;
  SSL_CTX_sess_set_new_cb(n, &session_new) ;
  if (!tls_ca_load(n, cafile, why))
  {
    if (!why->len) nomem() ;
    SSL_CTX_free(n) ;
    return 0 ;
  }
  return n ;
}

void tls_discard (void *prepared)
{
  SSL_CTX_free(prepared) ;
}

void tls_commit (void *prepared)
{
  if (ctx) SSL_CTX_free(ctx) ;   /* the connections under way keep their references */
  ctx = prepared ;
  sessions_forget() ;            /* verified under the CAs of before */
}

 /* Is s an address literal? */
static int is_ip (char const *s)
{
  ip46 ip ;
  size_t n = strlen(s) ;
  return n && ip46_scan(s, &ip) == n ;
}

int tls_conn_start (unsigned int ci, stralloc *why)
{
  conn *c = rem.conns + ci ;
  char fmt[ADDR_FMT] ;
  int i ;
  X509_VERIFY_PARAM *param ;
  ERR_clear_error() ;
  c->ssl = SSL_new(ctx) ;
  if (!c->ssl) { tls_error(why, "unable to start TLS: ") ; return 0 ; }
  SSL_set_app_data(c->ssl, (void *)(uintptr_t)(ci + 1)) ;
  if (!SSL_set_fd(c->ssl, c->fd)) { tls_error(why, "unable to start TLS: ") ; return 0 ; }
  SSL_set_connect_state(c->ssl) ;
  param = SSL_get0_param(c->ssl) ;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS) ;
  if (c->level == TLS_SECURE)
  {
    /* the names the policy lists, separated by colons */
    size_t pos = 0 ;
    int first = 1 ;
    while (pos < c->match.len)
    {
      size_t k = 0 ;
      while (pos + k < c->match.len && c->match.s[pos + k] != ':') k++ ;
      if (k)
      {
        char name[256] ;
        size_t kk = k < sizeof(name) ? k : sizeof(name) - 1 ;
        memcpy(name, c->match.s + pos, kk) ; name[kk] = 0 ;
        if (is_ip(name))
        {
          if (!X509_VERIFY_PARAM_set1_ip_asc(param, name)) nomem() ;
        }
        else
        {
          if (!(first ? SSL_set1_host(c->ssl, name) : SSL_add1_host(c->ssl, name))) nomem() ;
          first = 0 ;
        }
      }
      pos += k + 1 ;
    }
  }
  else if (is_ip(c->addr.host))
  {
    if (!X509_VERIFY_PARAM_set1_ip_asc(param, c->addr.host)) nomem() ;
  }
  else if (c->addr.host[0] && !SSL_set1_host(c->ssl, c->addr.host)) nomem() ;
  if (c->addr.host[0] && !is_ip(c->addr.host)) SSL_set_tlsext_host_name(c->ssl, c->addr.host) ;
  /* the key of its TLS session: where, under which level, checked against which names */
  {
    char lv[UINT_FMT] ;
    lv[uint_fmt(lv, (unsigned int)c->level)] = 0 ;
    addr_fmt(fmt, &c->addr) ;
    c->tlskey.len = 0 ;
    if (!stralloc_cats(&c->tlskey, fmt) || !stralloc_catb(&c->tlskey, "\n", 1) || !stralloc_cats(&c->tlskey, lv)
     || !stralloc_catb(&c->tlskey, "\n", 1) || (c->match.len && !stralloc_catb(&c->tlskey, c->match.s, c->match.len))) nomem() ;
  }
  i = session_find(&c->tlskey) ;
  if (i >= 0 && sessions[i].sess)
  {
    if (SSL_SESSION_is_resumable(sessions[i].sess)) SSL_set_session(c->ssl, sessions[i].sess) ;
    /* a TLS 1.3 ticket is for one use: the host sends new ones */
    if (SSL_SESSION_get_protocol_version(sessions[i].sess) >= TLS1_3_VERSION)
    {
      SSL_SESSION_free(sessions[i].sess) ;
      sessions[i].sess = 0 ;
    }
  }
  c->tlsev = IOPAUSE_WRITE ;
  return 1 ;
}

 /* The policy's verdict on a finished handshake, and the connection's description for the texts. */
static int tls_checked (conn *c, stralloc *why)
{
  long v = SSL_get_verify_result(c->ssl) ;
  X509 *peer = SSL_get1_peer_certificate(c->ssl) ;
  int verified = peer && v == X509_V_OK ;
  char const *reason = !peer ? "the host sent no certificate" : X509_verify_cert_error_string(v) ;
  size_t n = 0 ;
  char *d = c->s.tlsdesc ;
  size_t max = sizeof(c->s.tlsdesc) - 1 ;
  if (peer) X509_free(peer) ;
#define DESC(str) do { size_t l_ = strlen(str) ; if (l_ > max - n) l_ = max - n ; memcpy(d + n, (str), l_) ; n += l_ ; } while (0)
  DESC(" over ") ;
  DESC(SSL_get_version(c->ssl)) ;
  DESC(" (") ;
  DESC(SSL_get_cipher_name(c->ssl)) ;
  if (verified) DESC(", certificate verified") ;
  else { DESC(", certificate not verified: ") ; DESC(reason) ; }
  if (SSL_session_reused(c->ssl)) DESC(", session resumed") ;
  DESC(")") ;
  d[n] = 0 ;
#undef DESC
  if (c->level >= TLS_VERIFY && !verified)
  {
    /* the text says it once, in the reason: the description keeps the version and cipher */
    char *cut = strstr(d, ", certificate not verified") ;
    if (cut) { cut[0] = ')' ; cut[1] = 0 ; }
    why->len = 0 ;
    if (!stralloc_cats(why, "the certificate did not verify (control/tlspolicy: ") || !stralloc_cats(why, tls_level_name(c->level))
     || !stralloc_cats(why, "): ") || !stralloc_cats(why, reason) || !stralloc_0(why)) nomem() ;
    return 0 ;
  }
  return 1 ;
}

int tls_handshake (unsigned int ci, stralloc *why)
{
  conn *c = rem.conns + ci ;
  int r ;
  ERR_clear_error() ;
  errno = 0 ;
  r = SSL_connect(c->ssl) ;
  if (r == 1) return tls_checked(c, why) ? 1 : -2 ;
  switch (SSL_get_error(c->ssl, r))
  {
    case SSL_ERROR_WANT_READ : c->tlsev = IOPAUSE_READ ; return 0 ;
    case SSL_ERROR_WANT_WRITE : c->tlsev = IOPAUSE_WRITE ; return 0 ;
    default :
      tls_error(why, "the TLS handshake failed: ") ;
      return -1 ;
  }
}

ssize_t tls_read (conn *c, char *buf, size_t n)
{
  int r ;
  ERR_clear_error() ;
  errno = 0 ;
  r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n) ;
  if (r > 0) { c->tlsev = 0 ; return r ; }
  switch (SSL_get_error(c->ssl, r))
  {
    case SSL_ERROR_WANT_READ : c->tlsev = 0 ; errno = EAGAIN ; return -1 ;
    case SSL_ERROR_WANT_WRITE : c->tlsev = IOPAUSE_WRITE ; errno = EAGAIN ; return -1 ;
    case SSL_ERROR_ZERO_RETURN : return 0 ;
    case SSL_ERROR_SYSCALL : if (!errno) return 0 ; return -1 ;
    default : errno = EPROTO ; return -1 ;
  }
}

ssize_t tls_write (conn *c, char const *buf, size_t n)
{
  int r ;
  /* a write that wanted to be retried goes again with the same length */
  if (c->tlswlen && c->tlswlen <= n) n = c->tlswlen ;
  ERR_clear_error() ;
  errno = 0 ;
  r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n) ;
  if (r > 0) { c->tlswlen = 0 ; c->tlsev = 0 ; return r ; }
  switch (SSL_get_error(c->ssl, r))
  {
    case SSL_ERROR_WANT_READ : c->tlswlen = n ; c->tlsev = IOPAUSE_READ ; errno = EAGAIN ; return -1 ;
    case SSL_ERROR_WANT_WRITE : c->tlswlen = n ; c->tlsev = 0 ; errno = EAGAIN ; return -1 ;
    case SSL_ERROR_SYSCALL : if (!errno) errno = EPIPE ; return -1 ;
    default : errno = EPROTO ; return -1 ;
  }
}

void tls_conn_end (conn *c, int quiet)
{
  if (!c->ssl) return ;
  if (!quiet) SSL_shutdown(c->ssl) ;   /* one try: the close_notify goes if it can */
  SSL_free(c->ssl) ;
  c->ssl = 0 ;
  c->tlsev = 0 ;
  c->tlswlen = 0 ;
}

 /* The hosts whose handshake failed under "may": contacted without STARTTLS for control/tlsbrokentime. */
int tls_broken_is (raddr const *a)
{
  return hostlist_has(rem.tlsbroken, rem.nbroken, a) ;
}

void tls_broken_mark (raddr const *a)
{
  if (rem.brokentime) hostlist_add(rem.tlsbroken, &rem.nbroken, a, rem.brokentime, ": the TLS handshake failed: contacted without TLS for ") ;
}
