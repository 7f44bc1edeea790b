/* ferry-spawn-remote's counters, and its snapshot metrics/remote/metrics.prom (doc/ferry-metrics.html). */

#include <stdint.h>
#include <string.h>

#include <openssl/ssl.h>

#include <skalibs/stralloc.h>

#include <ferry/metrics.h>
#include <ferry/metrics_snap.h>

#include "spawn_remote.h"
#include "remote_metrics.h"

 /* the policies as the texts name them (policy_name), in the order they are listed */
static char const *const polnames[] = { "none", "opportunistic", "sts-testing", "sts", "pkix", "dane", 0 } ;

static uint64_t opened, reused, tlsok, tlsfailed, tlsresumed, bytes, queries ;
static uint64_t bypol[POL_DANE + 1] ;
static uint64_t openlast ;

static int fill (stralloc *sa) ;
static ferry_metrics_snap snap = FERRY_METRICS_SNAP_ZERO("metrics/remote", &fill) ;

void metrics_conn_opened (conn const *c)
{
  opened++ ;
  if ((unsigned int)c->pol <= POL_DANE) bypol[c->pol]++ ;
  snap.changed = 1 ;
}

void metrics_conn_reused (void)
{
  reused++ ;
  snap.changed = 1 ;
}

void metrics_tls (conn const *c, int ok)
{
  if (!ok) tlsfailed++ ;
  else
  {
    tlsok++ ;
    if (c->ssl && SSL_session_reused(c->ssl)) tlsresumed++ ;
  }
  snap.changed = 1 ;
}

void metrics_sent (size_t n)
{
  bytes += n ;
  snap.changed = 1 ;
}

void metrics_dns (unsigned int n)
{
  queries += n ;
  snap.changed = 1 ;
}

static uint64_t open_now (void)
{
  uint64_t n = 0 ;
  unsigned int i ;
  for (i = 0 ; i < rem.nconns ; i++) if (rem.conns[i].s.state != SMTP_FREE) n++ ;
  return n ;
}

static int counter (stralloc *sa, char const *name, char const *help, uint64_t v)
{
  return ferry_prom_family(sa, name, "counter", help) && ferry_prom_sample(sa, name, "", v) ;
}

static int fill (stralloc *sa)
{
  stralloc lab = STRALLOC_ZERO ;
  unsigned int i ;
  int ok = counter(sa, "ferry_remote_connections_opened_total", "SMTP connections made (TCP connected)", opened)
    && ferry_prom_family(sa, "ferry_remote_connections_open", "gauge", "SMTP connections open now, busy or idle")
    && ferry_prom_sample(sa, "ferry_remote_connections_open", "", openlast)
    && counter(sa, "ferry_remote_connections_reused_total", "deliveries that took an idle cached connection", reused)
    && ferry_prom_family(sa, "ferry_remote_tls_handshakes_total", "counter", "TLS handshakes ended, by result")
    && ferry_prom_sample(sa, "ferry_remote_tls_handshakes_total", "result=\"ok\"", tlsok)
    && ferry_prom_sample(sa, "ferry_remote_tls_handshakes_total", "result=\"failed\"", tlsfailed)
    && counter(sa, "ferry_remote_tls_resumed_total", "TLS handshakes that resumed a cached session", tlsresumed)
    && ferry_prom_family(sa, "ferry_remote_tls_policy_total", "counter", "SMTP connections made, by what decided their TLS") ;
  for (i = 0 ; ok && polnames[i] ; i++)
  {
    uint64_t n = 0 ;
    unsigned int p ;
    for (p = 0 ; p <= POL_DANE ; p++) if (!strcmp(policy_name(p), polnames[i])) n += bypol[p] ;
    lab.len = 0 ;
    ok = ferry_prom_label(&lab, "policy", polnames[i]) && stralloc_0(&lab) && ferry_prom_sample(sa, "ferry_remote_tls_policy_total", lab.s, n) ;
  }
  stralloc_free(&lab) ;
  return ok
    && counter(sa, "ferry_remote_bytes_sent_total", "message bytes sent in DATA, as on the wire", bytes)
    && counter(sa, "ferry_remote_dns_queries_total", "DNS queries asked (an address lookup asks two: A and AAAA)", queries) ;
}

void metrics_deadline (tain *deadline)
{
  ferry_metrics_snap_deadline(&snap, deadline) ;
}

void metrics_run (int force)
{
  uint64_t n = open_now() ;
  if (n != openlast) { openlast = n ; snap.changed = 1 ; }
  ferry_metrics_snap_run(&snap, force) ;
}
