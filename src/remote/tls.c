/* ferry-spawn-remote's TLS: one OpenSSL context, a non-blocking SSL object per connection, the
   handshake and its checks against the destination's policy, the TLS sessions kept for the next
   connection to the same host, and the hosts whose handshake failed under "may". */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/dns_wire.h>
#include <ferry/tls.h>

#include "spawn_remote.h"
#include "tls_ca.h"

#define SESSIONS_MAX 1024

typedef struct tls_session_s tls_session ;
struct tls_session_s
{
  stralloc key ;           /* the connection's tlskey: host, address, port, level, policy, names and records checked */
  SSL_SESSION *sess ;
  int daneusage ;          /* the DANE usage its first handshake matched, or -1: a resumption says it again */
  tain used ;
} ;

static SSL_CTX *ctx = 0 ;
static tls_session sessions[SESSIONS_MAX] ;
static unsigned int nsessions = 0 ;

 /* The last OpenSSL error, else the system's, else what. */
static void tls_error (stralloc *why, char const *what)
{
  if (!ferry_tls_why(why, what)) nomem() ;
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
  {
    /* TLS 1.2 makes its session inside the handshake, before tls_checked */
    uint8_t usage ;
    int u = c->daneusage ;
    if (u < 0 && !SSL_session_reused(ssl) && SSL_get0_dane_tlsa(ssl, &usage, 0, 0, 0, 0) >= 0) u = usage ;
    sessions[i].daneusage = u ;
  }
  tain_copynow(&sessions[i].used) ;
  return 1 ;
}

 /* A refused connection's session is never resumed: its verdict would come back with it. */
static void session_drop (stralloc const *key)
{
  int i = session_find(key) ;
  if (i < 0) return ;
  if (sessions[i].sess) SSL_SESSION_free(sessions[i].sess) ;
  sessions[i].sess = 0 ;
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
  if (SSL_CTX_dane_enable(n) <= 0) { tls_error(why, "unable to enable DANE: ") ; SSL_CTX_free(n) ; return 0 ; }
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
  if (c->pol == POL_DANE)
  {
    /* RFC 7672: DANE-EE(3) checks the key or certificate alone, DANE-TA(2) a chain to the record's
       TA and the names (the host, the destination); no date check for DANE-EE */
    size_t pos = 0 ;
    ferry_tlsa t ;
    if (SSL_dane_enable(c->ssl, c->addr.host) <= 0) { tls_error(why, "unable to start DANE: ") ; return 0 ; }
    SSL_dane_set_flags(c->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS) ;
    if (c->domain.len && strcasecmp(c->domain.s, c->addr.host) && !SSL_add1_host(c->ssl, c->domain.s)) nomem() ;
    while (ferry_tlsa_next(c->tlsa.s, c->tlsa.len, &pos, &t) > 0)
      if (SSL_dane_tlsa_add(c->ssl, t.usage, t.selector, t.mtype, t.data, t.len) < 0) ERR_clear_error() ;   /* a record OpenSSL cannot use is skipped */
  }
  else if (c->pol == POL_PKIX || c->pol == POL_STS || c->pol == POL_STS_TESTING)
  {
    /* the names the policy checks, separated by colons */
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
  /* the key of its TLS session: where, under which level and policy, checked against which
     names and records */
  {
    char lv[UINT_FMT] ;
    lv[uint_fmt(lv, (unsigned int)c->level * 16 + (unsigned int)c->pol)] = 0 ;
    addr_fmt(fmt, &c->addr) ;
    c->tlskey.len = 0 ;
    if (!stralloc_cats(&c->tlskey, fmt) || !stralloc_catb(&c->tlskey, "\n", 1) || !stralloc_cats(&c->tlskey, lv)
     || !stralloc_catb(&c->tlskey, "\n", 1) || (c->match.len && !stralloc_catb(&c->tlskey, c->match.s, c->match.len))
     || !stralloc_catb(&c->tlskey, "\n", 1) || (c->tlsa.len && !stralloc_catb(&c->tlskey, c->tlsa.s, c->tlsa.len))) nomem() ;
  }
  c->daneusage = -1 ;
  i = session_find(&c->tlskey) ;
  if (i >= 0 && sessions[i].sess)
  {
    c->daneusage = sessions[i].daneusage ;
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

 /* The result type of RFC 8460 for a certificate that did not verify. */
static char const *report_result (conn const *c, long v)
{
  if (c->pol == POL_DANE) return "validation-failure" ;
  switch (v)
  {
    case X509_V_ERR_HOSTNAME_MISMATCH : case X509_V_ERR_IP_ADDRESS_MISMATCH : return "certificate-host-mismatch" ;
    case X509_V_ERR_CERT_HAS_EXPIRED : case X509_V_ERR_CERT_NOT_YET_VALID : return "certificate-expired" ;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT : case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN :
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY : case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT :
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE : case X509_V_ERR_CERT_UNTRUSTED : return "certificate-not-trusted" ;
    default : return "validation-failure" ;
  }
}

 /* The policy's verdict on a finished handshake, and the connection's description for the texts:
    " over VERSION (CIPHER, POLICY: VERDICT[, session resumed])". */
static int tls_checked (conn *c, stralloc *why)
{
  long v = SSL_get_verify_result(c->ssl) ;
  X509 *peer = SSL_get1_peer_certificate(c->ssl) ;
  int verified = peer && v == X509_V_OK ;
  int required = c->pol == POL_DANE || c->pol == POL_STS || c->pol == POL_PKIX ;
  char const *reason = !peer ? "the host sent no certificate" : X509_verify_cert_error_string(v) ;
  size_t n = 0 ;
  char *d = c->s.tlsdesc ;
  size_t max = sizeof(c->s.tlsdesc) - 1 ;
  if (peer) X509_free(peer) ;
  /* a resumed session keeps the verdict of its first handshake, made with the same records (its key holds them) */
  int resumed = SSL_session_reused(c->ssl) ;
  if (c->pol == POL_DANE && verified && (resumed ? c->daneusage < 0 : SSL_get0_dane_authority(c->ssl, 0, 0) < 0)) { verified = 0 ; reason = "no TLSA record matched" ; }
#define DESC(str) do { size_t l_ = strlen(str) ; if (l_ > max - n) l_ = max - n ; memcpy(d + n, (str), l_) ; n += l_ ; } while (0)
  DESC(" over ") ;
  DESC(SSL_get_version(c->ssl)) ;
  DESC(" (") ;
  DESC(SSL_get_cipher_name(c->ssl)) ;
  DESC(", ") ;
  DESC(policy_name(c->pol)) ;
  DESC(": ") ;
  if (c->pol == POL_DANE && verified)
  {
    uint8_t usage = 0 ;
    if (!resumed && SSL_get0_dane_tlsa(c->ssl, &usage, 0, 0, 0, 0) >= 0) c->daneusage = usage ;
    DESC(c->daneusage == 2 ? "verified by DANE-TA" : c->daneusage == 3 ? "verified by DANE-EE" : "verified by DANE") ;
  }
  else if (c->pol == POL_DANE_UNUSABLE) DESC("no usable TLSA records, certificate not checked") ;
  else if (verified) DESC("certificate verified") ;
  else if (!required) { DESC("certificate not verified: ") ; DESC(reason) ; }
  else DESC("certificate not verified") ;
  if (resumed) DESC(", session resumed") ;
  DESC(")") ;
  d[n] = 0 ;
#undef DESC
  if (required && !verified)
  {
    why->len = 0 ;
    if (!stralloc_cats(why, "the certificate did not verify (") || !stralloc_cats(why, c->poldesc.s)
     || !stralloc_cats(why, "): ") || !stralloc_cats(why, reason) || !stralloc_0(why)) nomem() ;
    policy_report(c, report_result(c, v), reason) ;
    session_drop(&c->tlskey) ;
    return 0 ;
  }
  /* a policy in testing mode reports what enforce would have refused (RFC 8461 5, RFC 8460) */
  if (c->pol == POL_STS_TESTING && !verified) policy_report(c, report_result(c, v), reason) ;
  policy_report(c, "success", "") ;
  c->s.tlsverified = required ;   /* REQUIRETLS: verified as a policy requires it */
  return 1 ;
}

int tls_handshake (unsigned int ci, stralloc *why)
{
  conn *c = rem.conns + ci ;
  int r = ferry_tls_handshake(c->ssl, &c->tlsev) ;
  if (r > 0) return tls_checked(c, why) ? 1 : -2 ;
  if (!r) return 0 ;
  tls_error(why, "the TLS handshake failed: ") ;
  return -1 ;
}

ssize_t tls_read (conn *c, char *buf, size_t n)
{
  return ferry_tls_read(c->ssl, buf, n, &c->tlsev) ;
}

ssize_t tls_write (conn *c, char const *buf, size_t n)
{
  return ferry_tls_write(c->ssl, buf, n, &c->tlsev, &c->tlswlen) ;
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
