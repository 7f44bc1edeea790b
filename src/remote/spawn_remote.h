/* ferry-spawn-remote's state and the functions of its files: settings, DNS, destinations,
   dead hosts, deliveries, connections (the SMTP session itself is smtp_session.h). */
#ifndef FERRY_SPAWN_REMOTE_H
#define FERRY_SPAWN_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/select.h>
#include <ares.h>

#include <skalibs/genalloc.h>
#include <skalibs/gensetdyn.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <ferry/spawner.h>

#include <ferry/body.h>
#include "mime_conv.h"
#include "remote.h"
#include "smtp_session.h"
#include <ferry/tls_policy.h>
#include <ferry/mta_sts.h>
#include <ferry/dns_wire.h>

#define DEST_CACHE 60        /* seconds a resolved destination is kept */
#define WAITING_MAX 100000   /* stop reading requests while this many deliveries wait */
#define DEAD_MAX 4096
#define READ_MAX 65536       /* a peer that sends more than this without a full reply is dropped */
#define ADDR_FMT (SMTP_HOST_MAX)

enum { DS_NEW, DS_RESOLVING, DS_READY, DS_FAILED } ;

 /* What decided a connection's TLS, weakest first (policy.c): none (control/tlspolicy), opportunistic
    (may, encrypt, dane without usable records), sts-testing, dane-unusable (TLSA records, none
    usable: TLS without checks), sts (enforce), pkix (verify, secure), dane (usable TLSA records). */
enum tls_pol { POL_NONE, POL_OPPORTUNISTIC, POL_STS_TESTING, POL_DANE_UNUSABLE, POL_STS, POL_PKIX, POL_DANE } ;

typedef struct raddr_s raddr ;
struct raddr_s
{
  ip46 ip ;
  uint16_t port ;
  unsigned int pref ;
  int secure ;            /* its address record validated (DNSSEC, control/dnssecservers) */
  int tlsa ;              /* its TLSA records' entry (tlsa.c) when DANE may apply, else -1 */
  char host[256] ;
} ;

typedef struct dest_s dest ;
struct dest_s
{
  int used ;
  stralloc name ;
  int state ;
  char failstatus ;
  stralloc failtext ;
  genalloc addrs ;        /* raddr, in the order they are tried */
  tain expires ;
  unsigned int lookups ;
  unsigned int gen ;
  int anytemp ;
  int implicit ;          /* no MX: the domain's own addresses */
  stralloc dnserr ;
  unsigned int active ;
  int whead, wtail ;
  unsigned int nwaiting ;
  int mxsecure ;          /* its MX records (or their absence) validated */
  int fromroute ;         /* its route is control/smtproutes' (MTA-STS applies only to MX delivery) */
  int sts ;               /* its MTA-STS policy: -1 none, else an enum sts_mode (mta_sts.h) */
  ferry_sts_policy stspolicy ;
  char stsid[33] ;
  unsigned int stswait ;  /* a policy fetch it waits for (sts.c) */
  enum tls_level level ;  /* control/tlspolicy's for it */
  stralloc match ;        /* the names secure checks, colon-separated */
  stralloc routehost ;    /* the host of its route (as control/smtproutes writes it), else empty */
  int hascreds ;          /* control/smtpauth has credentials for the route's host */
  stralloc authplain64, authuser64, authpass64 ;
  stralloc mxnames ;      /* its MX hosts, each ended by a null byte, in preference order (shaping.c) */
  int shaped ;            /* its key is decided for this resolution, and told */
  int key ;               /* its shaping key (shaping.c), -1: no line of control/shaping applies */
} ;

typedef struct deliv_s deliv ;
struct deliv_s
{
  stralloc payload ;
  char const *sender ;    /* into payload */
  char const **rcpt ;     /* into payload */
  unsigned int nrcpt ;
  char *st ;              /* per recipient: 0 open, 'A' accepted by RCPT, 'K' 'Z' 'H' 'D' final */
  stralloc *text ;
  uint64_t id ;
  int msgfd ;
  int givenfd ;           /* the message as ferry-schedule opened it (io.passfd), until deliv_open takes it */
  ferry_body body ;      /* its body facts, from the request (the injector counted them) */
  int looked ;            /* look holds the MIME walk (mime_conv.h) */
  mime_look look ;
  int utf8 ;
  int requiretls ;        /* the request's T: the message asks for REQUIRETLS */
  unsigned int dest ;
  unsigned int tried ;    /* index of the address being tried */
  int retried ;           /* a reused connection failed at RSET: one fresh try on the same host */
  int tlsretried ;        /* a TLS handshake failed under "may": one try without TLS on the same host */
  int rtlsfail, otherfail ;   /* a host failed it for REQUIRETLS; one failed it for another reason */
  stralloc lasterr ;
  stralloc throttle ;     /* the first throttling reply a host gave it (throttle.c), for "!throttle" */
  int conn ;
  int next ;              /* the next delivery waiting for its destination, or on its shaping key */
} ;

typedef struct conn_s conn ;
struct conn_s
{
  smtp_session s ;        /* s.state SMTP_FREE: the slot is free */
  int fd ;
  raddr addr ;
  int deliv ;
  tain deadline ;
  stralloc in ;
  smtp_reply reply ;
  stralloc out ;
  off_t msgoff ;
  smtp_data dstate ;
  int msgdone ;
  int convert ;           /* 0 as it is, 1 long lines to quoted-printable, 2 and 8-bit too */
  mime_conv mconv ;
  struct ssl_st *ssl ;    /* inside TLS, or during the handshake; else 0 */
  int tlsev ;             /* what OpenSSL waits for (IOPAUSE_READ, IOPAUSE_WRITE) before it can go on */
  size_t tlswlen ;        /* the length of a TLS write to be retried */
  enum tls_level level ;  /* the policy it was made under: reused only for the same policy */
  enum tls_pol pol ;      /* what decided its TLS (policy.c) */
  stralloc match ;        /* the names its certificate is checked against, colon-separated */
  stralloc tlsa ;         /* under pol dane: the usable TLSA records (ferry_dns_tlsa's format) */
  stralloc poldesc ;      /* the policy as texts name it, terminated: s.policy points there */
  stralloc domain ;       /* the destination it was made for, terminated */
  char stsid[33] ;        /* under pol sts or sts-testing: the id of the policy */
  int reported ;          /* its result is in the day's TLS report */
  int fromroute ;         /* made for a route of control/smtproutes: its results go in no TLS report */
  int daneusage ;         /* under pol dane, verified: the usage of the record that matched (2, 3), else -1 */
  stralloc tlskey ;       /* its TLS session's key in the cache (tls.c) */
  int retrysame ;         /* its failure is to be tried again on the same host (TLS fell back) */
  int key ;               /* its shaping key (its destination's when it was made), -1 none */
  int idle ;              /* idle, counted so in its key */
  unsigned int mails ;    /* the transactions it began (MAIL FROM sent) */
} ;

typedef struct tlsa_entry_s tlsa_entry ;
struct tlsa_entry_s
{
  stralloc name ;         /* "_PORT._tcp.HOST", lower case, terminated */
  int state ;             /* TLSA_UNKNOWN ... TLSA_FAILED */
  int looking ;           /* a lookup is under way (state: the answer of before) */
  stralloc recs ;         /* every record, as ferry_dns_tlsa writes them */
  unsigned int usable ;   /* how many are DANE-TA(2) or DANE-EE(3) with a known selector and matching type */
  stralloc why ;          /* TLSA_FAILED: what failed, terminated */
  tain expires ;
  genalloc waiters ;      /* unsigned int pairs: the destinations (index, gen) waiting for the answer */
} ;
enum { TLSA_UNKNOWN, TLSA_NONE, TLSA_INSECURE, TLSA_RECORDS, TLSA_FAILED } ;

typedef struct dead_s dead ;
struct dead_s { ip46 ip ; uint16_t port ; tain until ; } ;

 /* The program's one state. A global, as the callbacks of c-ares and of ferry_spawner_read
    take no context of ours. */
typedef struct remote_s remote ;
struct remote_s
{
  stralloc routes ;
  stralloc helohost ;
  unsigned int split, cachetime, deadtime ;
  unsigned int t_connect, t_greeting, t_command, t_data ;
  uint16_t smtpport ;
  ares_channel chan ;
  dest *dests ;           /* looked up by name and walked every turn of the loop: a plain array */
  unsigned int ndests ;
  gensetdyn delivs ;      /* deliv */
  conn *conns ;           /* walked by index every turn of the loop: a plain array */
  unsigned int nconns ;
  unsigned int active, waiting ;
  ferry_spawner io ;
  stralloc converted ;
  dead deadhosts[DEAD_MAX] ;   /* bounded: the oldest goes when it is full */
  unsigned int ndead ;
  int askfd ;             /* remote/ask, ferry-qctl's questions; -1 none */
  stralloc askbuf ;
  stralloc tlspolicy ;    /* control/tlspolicy, checked */
  stralloc smtpauth ;     /* control/smtpauth, checked */
  unsigned int brokentime ;
  dead tlsbroken[DEAD_MAX] ;   /* hosts whose TLS handshake failed under "may" */
  unsigned int nbroken ;
  int dnssec ;            /* control/dnssecservers: lookups ask for the AD bit, and trust it */
  stralloc servers ;      /* the servers of rem.chan, as ferry_dns_servers gave them */
  tlsa_entry *tlsas ;     /* the TLSA cache (tlsa.c) */
  unsigned int ntlsas ;
  unsigned int mtastsport, mtaststime ;
  int rptfd ;             /* tlsrpt/DAY, open for appending; -1 none */
  char rptday[11] ;       /* its day, YYYY-MM-DD */
} ;
extern remote rem ;

#define DELIV(i) GENSETDYN_P(deliv, &rem.delivs, (i))

extern void nomem (void) ;
extern int same_ip (ip46 const *a, ip46 const *b) ;
extern size_t addr_fmt (char *s, raddr const *a) ;

 /* ferry-spawn-remote.c */
extern void control_take (char const *p, size_t n) ;

 /* settings.c */
extern int settings_load (int initial, stralloc *why) ;
extern char const *settings_reread (stralloc *why) ;

 /* dns.c */
extern void dns_addr_add (dest *t, ip46 const *ip, uint16_t port, unsigned int pref, char const *host, int secure, int tlsa) ;
extern void dns_lookups_done (dest *t) ;
extern void dns_addr_lookup (unsigned int di, char const *host, uint16_t port, unsigned int pref, int dane) ;
extern void dns_mx_lookup (unsigned int di) ;
extern void dns_send_ad (char const *name, int type, ares_callback cb, void *arg) ;   /* a query asking for the AD bit */
extern int dns_channel_new (ares_channel *c, char const *csv, int dnssec) ;   /* csv 0: /etc/resolv.conf's servers; 0: csv is bad */
extern void dns_channel_replace (ares_channel c, int dnssec) ;   /* in use from now on: what was asked of the old one is asked again */
extern int dane_may (dest const *t) ;   /* may DANE apply to its hosts (by its MX records' security)? */

 /* destinations.c */
extern unsigned int dest_get (char const *name, size_t n) ;
extern void dest_resolve (unsigned int di) ;
extern void dests_forget_idle (void) ;
extern void dests_expire_all (void) ;

 /* deadhosts.c */
extern int hostlist_has (dead const *v, unsigned int n, raddr const *a) ;
extern void hostlist_add (dead *v, unsigned int *n, raddr const *a, unsigned int secs, char const *what) ;   /* logs "HOST" what "SECS seconds" */
extern int dead_is (raddr const *a) ;
extern void dead_mark (raddr const *a) ;
extern int dead_control (char const *const *f, int nf, stralloc *out) ;
extern void dead_ask_open (void) ;
extern void dead_ask_read (void) ;

 /* deliveries.c */
extern void request_take (char const *p, size_t n) ;
extern void deliv_finish (unsigned int di) ;
extern void deliv_attach (unsigned int di) ;
extern void deliveries_pump (void) ;
extern void deliv_txn (deliv *d, smtp_txn *t) ;

 /* connections.c */
extern int conn_start (unsigned int di, raddr const *a) ;
extern void conn_idle_close (int key) ;   /* one idle connection of the shaping key ends (QUIT) */
extern int conn_cached_take (unsigned int di, raddr const *a) ;
extern void conn_connected (unsigned int ci) ;
extern void conn_read (unsigned int ci) ;
extern void conn_flush (unsigned int ci) ;
extern void conn_timeout (unsigned int ci) ;
extern int conn_events (unsigned int ci) ;
extern void conn_ready (unsigned int ci, int revents) ;

 /* shaping.c (doc/ferry-shaping.html) */
extern int shaping_prepare (stralloc *why) ;   /* control/shaping.cdb opened for settings_load; 0: why */
extern void shaping_commit (void) ;    /* the prepared table in use, "!shaping" sent */
extern void shaping_discard (void) ;
extern void shaping_check (void) ;     /* before a destination resolves: another table is taken, every destination expired */
extern void shaping_mx_note (dest *t, struct ares_mx_reply const *mx) ;
extern void shaping_dest (unsigned int di) ;   /* a destination resolved: its key decided, "!shape" sent */
extern int shaping_connect (unsigned int di) ;   /* may the delivery open a connection now? 0: it waits on its key */
extern void shaping_pump (void) ;      /* the waiting deliveries whose key can go */
extern void shaping_deadline (tain *deadline) ;
extern void shaping_conn_open (conn *c, int key) ;
extern void shaping_conn_idle (conn *c, int idle) ;
extern void shaping_conn_close (conn *c) ;
extern int shaping_conn_spent (conn const *c) ;   /* has it carried its key's messages= ? */

 /* throttle.c */
extern void throttle_note (unsigned int ci) ;   /* the reply just read: a throttling one is kept for the delivery */
extern void throttle_send (deliv const *d) ;    /* "!throttle", before the delivery's answer, if it met one */

 /* tlsa.c */
extern int tlsa_want (unsigned int di, char const *host, uint16_t port) ;   /* the entry's index; counts a lookup of di if one starts or is under way */
extern tlsa_entry const *tlsa_entry_of (raddr const *a) ;
extern void tlsa_forget_all (void) ;   /* other servers: every answer expired, no lookup under way */
extern int tlsa_usable (ferry_tlsa const *t) ;   /* DANE-TA or DANE-EE, a known selector, a well-formed digest */   /* 0 if none (or its slot went to another name) */

 /* policy.c */
extern char const *policy_name (enum tls_pol) ;
extern int policy_usable (deliv const *d, raddr const *a, stralloc *why) ;   /* 0: the host is not to be used (why says so) */
extern void policy_decide (conn *c, deliv const *d, raddr const *a) ;   /* c->pol, level, match, tlsa, poldesc, s.tlswant... */
extern int policy_same (conn const *c, deliv const *d, raddr const *a, int *decided) ;
extern void policy_report (conn *c, char const *result, char const *detail) ;   /* once per connection: a line of tlsrpt/DAY */

 /* sts.c */
extern void sts_lookup (unsigned int di) ;
extern void sts_child_done (pid_t pid, int wstat) ;
extern unsigned int sts_filter (dest *t) ;   /* enforce: the hosts the policy does not name are dropped; how many are left */

 /* children.c: ferry-mtasts-fetch and ferry-tlsrpt, run in the background */
extern pid_t child_run (char const *const *argv, unsigned int bound) ;   /* 0: not started (logged) */
extern void children_reap (void) ;
extern void tlsrpt_daily (void) ;

 /* tls.c */
extern void *tls_prepare (char const *cafile, stralloc *why) ;   /* a new context, or 0 (why) */
extern void tls_commit (void *prepared) ;    /* in use from now on; the sessions of before forgotten */
extern void tls_discard (void *prepared) ;
extern int tls_conn_start (unsigned int ci, stralloc *why) ;
extern int tls_handshake (unsigned int ci, stralloc *why) ;   /* 1 done, 0 under way, -1 failed, -2 the policy refused the certificate */
extern ssize_t tls_read (conn *c, char *buf, size_t n) ;
extern ssize_t tls_write (conn *c, char const *buf, size_t n) ;
extern void tls_conn_end (conn *c, int quiet) ;
extern int tls_broken_is (raddr const *a) ;
extern void tls_broken_mark (raddr const *a) ;

#endif
