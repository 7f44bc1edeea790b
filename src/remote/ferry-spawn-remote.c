/* ferry-spawn-remote: the remote channel. Requests on fd 0, answers on fd 1, log on fd 2.
   One process, no child per delivery: c-ares for DNS and non-blocking SMTP connections, all in
   one iopause loop; idle connections are kept a few seconds and reused. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/nameser.h>
#include <linux/sockios.h>
#include <ares.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/array.h>
#include <ferry/control.h>
#include <ferry/frame.h>
#include <ferry/home.h>
#include <ferry/queue.h>
#include <ferry/route.h>
#include <ferry/spawner.h>

#include "mime_conv.h"
#include "remote.h"

#define USAGE "ferry-spawn-remote [ home ]"
#define DEST_CACHE 60        /* seconds a resolved destination is kept */
#define WAITING_MAX 100000   /* stop reading requests while this many deliveries wait */
#define DEAD_MAX 4096
#define READ_MAX 65536       /* a peer that sends more than this without a full reply is dropped */
#define TEXT_MAX 900

enum { DS_NEW, DS_RESOLVING, DS_READY, DS_FAILED } ;
enum { C_FREE, C_CONNECTING, C_GREETING, C_EHLO, C_HELO, C_TRANS, C_DATA, C_DOT, C_IDLE } ;

typedef struct raddr_s raddr ;
struct raddr_s
{
  ip46 ip ;
  uint16_t port ;
  unsigned int pref ;
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
  raddr *addrs ;
  unsigned int naddrs, acap ;
  tain expires ;
  unsigned int lookups ;
  unsigned int gen ;
  int anytemp ;
  int implicit ;          /* no MX: the domain's own addresses */
  stralloc dnserr ;
  unsigned int active ;
  int whead, wtail ;
  unsigned int nwaiting ;
} ;

typedef struct deliv_s deliv ;
struct deliv_s
{
  int used ;
  stralloc payload ;
  size_t sender ;
  size_t *rcpt ;
  unsigned int nrcpt ;
  char *st ;              /* per recipient: 0 open, 'A' accepted by RCPT, 'K' 'Z' 'H' 'D' final */
  stralloc *text ;
  uint64_t id ;
  int msgfd ;
  int givenfd ;           /* the message as ferry-schedule opened it (io.passfd), until deliv_scan takes it */
  uint64_t size ;
  int eightbit ;
  int longline ;          /* a line over 998 octets */
  int looked ;            /* look holds the MIME walk (mime_conv.h) */
  mime_look look ;
  int utf8 ;
  unsigned int dest ;
  unsigned int tried ;    /* index of the address being tried */
  int retried ;           /* a reused connection failed at RSET: one fresh try on the same host */
  stralloc lasterr ;
  int conn ;
  int next ;
} ;

typedef struct conn_s conn ;
struct conn_s
{
  int state ;
  int fd ;
  raddr addr ;
  int deliv ;
  tain deadline ;
  int esmtp, pipelining, eightbitmime, smtputf8, hassize ;
  uint64_t sizemax ;     /* with hassize: the peer's limit, 0 for none */
  unsigned long serial ; /* tells a new connection in the same slot from the old one */
  stralloc in ;
  smtp_reply reply ;
  stralloc out ;
  char plan[FERRY_REQUEST_RCPT_MAX + 10] ;       /* the transaction: R RSET, M MAIL, T RCPT, D DATA, . end, X ignored */
  unsigned int planrcpt[FERRY_REQUEST_RCPT_MAX + 10] ;
  unsigned int nplan, sent, replied ;
  int reused ;
  int mailok ;
  unsigned int accepted ;
  int toomany ;           /* a RCPT was refused as one too many: the open recipients go in another transaction */
  off_t msgoff ;
  smtp_data dstate ;
  int msgdone ;
  int convert ;           /* 0 as it is, 1 long lines to quoted-printable, 2 and 8-bit too */
  mime_conv mconv ;
} ;

static stralloc routes = STRALLOC_ZERO ;
static stralloc helohost = STRALLOC_ZERO ;
static unsigned int split, concurrency, perdest, cachetime, deadtime ;
static unsigned int t_connect, t_greeting, t_command, t_data ;
static uint16_t smtpport ;
static ares_channel chan ;

static dest *dests = 0 ;
static unsigned int ndests = 0 ;
static deliv *delivs = 0 ;
static unsigned int ndelivs = 0 ;
static conn *conns = 0 ;
static unsigned int nconns = 0 ;
static unsigned int active = 0, waiting = 0 ;
static ferry_spawner io = FERRY_SPAWNER_ZERO ;
static unsigned long serials = 0 ;
static stralloc converted = STRALLOC_ZERO ;

typedef struct dead_s dead ;
struct dead_s { ip46 ip ; uint16_t port ; tain until ; } ;
static dead deadhosts[DEAD_MAX] ;
static unsigned int ndead = 0 ;

static void nomem (void)
{
  strerr_diefu1sys(111, "allocate memory") ;
}

static int same_ip (ip46 const *a, ip46 const *b)
{
  return a->is6 == b->is6 && !memcmp(a->ip, b->ip, a->is6 ? 16 : 4) ;
}

static size_t addr_fmt (char *s, raddr const *a)
{
  size_t n = 0 ;
  size_t hl = strlen(a->host) ;
  memcpy(s, a->host, hl) ; n += hl ;
  s[n++] = '[' ;
  n += ip46_fmt(s + n, &a->ip) ;
  s[n++] = ']' ;
  s[n++] = ':' ;
  n += uint16_fmt(s + n, a->port) ;
  s[n] = 0 ;
  return n ;
}

 /* Dead hosts: a host that timed out is skipped for deadhosttime seconds. */
static int is_dead (raddr const *a)
{
  unsigned int i ;
  for (i = 0 ; i < ndead ; i++)
    if (deadhosts[i].port == a->port && same_ip(&deadhosts[i].ip, &a->ip))
      return tain_future(&deadhosts[i].until) ;
  return 0 ;
}

static void mark_dead (raddr const *a)
{
  unsigned int i, oldest = 0 ;
  if (!deadtime) return ;
  for (i = 0 ; i < ndead ; i++)
  {
    if (deadhosts[i].port == a->port && same_ip(&deadhosts[i].ip, &a->ip)) break ;
    if (tain_less(&deadhosts[i].until, &deadhosts[oldest].until)) oldest = i ;
  }
  if (i == ndead) { if (ndead < DEAD_MAX) ndead++ ; else i = oldest ; }
  deadhosts[i].ip = a->ip ;
  deadhosts[i].port = a->port ;
  tain_addsec_g(&deadhosts[i].until, deadtime) ;
  {
    char fmt[300 + IP46_FMT] ;
    char t[UINT_FMT] ;
    addr_fmt(fmt, a) ;
    t[uint_fmt(t, deadtime)] = 0 ;
    strerr_warnw(fmt, " timed out: skipped for ", t, " seconds") ;
  }
}

 /* The control frames of doc/protocols.html: "!deadhosts" lists the hosts being skipped,
    "!undead\0TARGET" forgets one (ip or ip:port) or all, "!reread" reads the settings again.
    The answer repeats the first field. */
static char const *reread (stralloc *why) ;

static void control_take (char const *p, size_t n)
{
  char const *f[3] ;
  int nf = ferry_fields_split(p, n, f, 3) ;
  size_t mark ;
  unsigned int i ;
  if (!ferry_frame_begin(&io.out, &mark)) nomem() ;
  if (nf >= 1 && !strcmp(f[0], "!deadhosts"))
  {
    if (!ferry_field_cats(&io.out, f[0])) nomem() ;
    for (i = 0 ; i < ndead ; i++)
    {
      char line[IP46_FMT + UINT64_FMT * 2 + 64] ;
      size_t k = 0 ;
      tain left ;
      if (!tain_future(&deadhosts[i].until)) continue ;
      tain_sub(&left, &deadhosts[i].until, &STAMP) ;
      k += ip46_fmt(line + k, &deadhosts[i].ip) ;
      line[k++] = ':' ;
      k += uint16_fmt(line + k, deadhosts[i].port) ;
      memcpy(line + k, " skipped for ", 13) ; k += 13 ;
      k += uint64_fmt(line + k, tai_sec(tain_secp(&left)) + 1) ;
      memcpy(line + k, " more seconds", 13) ; k += 13 ;
      if (!ferry_field_cat(&io.out, line, k)) nomem() ;
    }
  }
  else if (nf == 2 && !strcmp(f[0], "!undead"))
  {
    unsigned int removed = 0 ;
    int all = !strcmp(f[1], "all") ;
    ip46 ip ;
    uint16_t port = 0 ;
    size_t k = all ? 0 : ip46_scan(f[1], &ip) ;
    if (!all && (!k || (f[1][k] && (f[1][k] != ':' || !uint160_scan(f[1] + k + 1, &port)))))
    {
      if (!ferry_field_cats(&io.out, f[0]) || !ferry_field_cats(&io.out, "not an address: give ip, ip:port or all")) nomem() ;
      if (!ferry_frame_end(&io.out, mark)) nomem() ;
      return ;
    }
    for (i = 0 ; i < ndead ; )
    {
      if (all || (same_ip(&deadhosts[i].ip, &ip) && (!port || deadhosts[i].port == port)))
      {
        deadhosts[i] = deadhosts[--ndead] ;
        removed++ ;
      }
      else i++ ;
    }
    {
      char num[UINT_FMT + 40] ;
      size_t m = uint_fmt(num, removed) ;
      memcpy(num + m, removed == 1 ? " host forgotten" : " hosts forgotten", removed == 1 ? 15 : 16) ;
      m += removed == 1 ? 15 : 16 ;
      if (!ferry_field_cats(&io.out, f[0]) || !ferry_field_cat(&io.out, num, m)) nomem() ;
      strerr_warni(f[1], ": forgotten as a dead host, on request") ;
    }
  }
  else if (nf == 1 && !strcmp(f[0], "!reread"))
  {
    stralloc why = STRALLOC_ZERO ;
    char const *done = reread(&why) ;
    if (!ferry_field_cats(&io.out, f[0])) nomem() ;
    if (done ? !ferry_field_cats(&io.out, done) : !stralloc_insertb(&why, 0, "kept the old settings: ", 23) || !ferry_field_cats(&io.out, why.s)) nomem() ;
    stralloc_free(&why) ;
  }
  else if (!ferry_field_cats(&io.out, "!unknown")) nomem() ;
  if (!ferry_frame_end(&io.out, mark)) nomem() ;
}

/* ---------- answers ---------- */


static void rcpt_set (deliv *d, unsigned int i, char status, char const *s, size_t n)
{
  d->st[i] = status ;
  d->text[i].len = 0 ;
  if (!stralloc_catb(&d->text[i], &status, 1) || !stralloc_catb(&d->text[i], s, n > TEXT_MAX ? TEXT_MAX : n)) nomem() ;
}

 /* Every recipient without a final result gets status and text. */
static void rcpt_all (deliv *d, char status, char const *s, size_t n)
{
  unsigned int i ;
  for (i = 0 ; i < d->nrcpt ; i++) if (!d->st[i] || d->st[i] == 'A') rcpt_set(d, i, status, s, n) ;
}

static void deliv_finish (unsigned int di)
{
  deliv *d = delivs + di ;
  unsigned int i ;
  if (d->lasterr.len) rcpt_all(d, 'Z', d->lasterr.s, d->lasterr.len) ;
  else rcpt_all(d, 'Z', "no result (internal error)", 25) ;
  if (!ferry_answer_cat(&io.out, d->payload.s, d->text, d->nrcpt)) nomem() ;
  if (d->msgfd >= 0) fd_close(d->msgfd) ;
  d->msgfd = -1 ;
  if (d->givenfd >= 0) fd_close(d->givenfd) ;
  d->givenfd = -1 ;
  for (i = 0 ; i < d->nrcpt ; i++) stralloc_free(&d->text[i]) ;
  if (d->conn >= 0) conns[d->conn].deliv = -1 ;
  d->conn = -1 ;
  d->used = 0 ;
  if (dests[d->dest].active) dests[d->dest].active-- ;
  active-- ;
}

/* ---------- destinations and DNS ---------- */

typedef struct lookup_s lookup ;
struct lookup_s
{
  unsigned int di ;
  unsigned int gen ;
  unsigned int pref ;
  uint16_t port ;
  char host[256] ;
} ;

static void dest_fail (dest *t, char status, char const *a, char const *b)
{
  t->state = DS_FAILED ;
  t->failstatus = status ;
  t->failtext.len = 0 ;
  if (!stralloc_cats(&t->failtext, a) || !stralloc_cats(&t->failtext, b)) nomem() ;
  tain_addsec_g(&t->expires, status == 'D' ? DEST_CACHE : 0) ;
}

static void addr_add (dest *t, ip46 const *ip, uint16_t port, unsigned int pref, char const *host)
{
  raddr *a ;
  unsigned int i ;
  for (i = 0 ; i < t->naddrs ; i++)
    if (t->addrs[i].port == port && same_ip(&t->addrs[i].ip, ip)) return ;
  if (t->naddrs == t->acap) t->addrs = ferry_array_grow(t->addrs, &t->acap, sizeof(raddr)) ;
  a = t->addrs + t->naddrs++ ;
  a->ip = *ip ;
  a->port = port ;
  a->pref = pref ;
  strncpy(a->host, host, sizeof(a->host) - 1) ;
  a->host[sizeof(a->host) - 1] = 0 ;
}

 /* Preference order; hosts of equal preference in random order (RFC 5321 5.1). */
static void addrs_order (dest *t)
{
  unsigned int i, j ;
  for (i = 1 ; i < t->naddrs ; i++)
    for (j = i ; j && t->addrs[j-1].pref > t->addrs[j].pref ; j--)
    { raddr x = t->addrs[j] ; t->addrs[j] = t->addrs[j-1] ; t->addrs[j-1] = x ; }
  for (i = 0 ; i < t->naddrs ; i = j)
  {
    for (j = i + 1 ; j < t->naddrs && t->addrs[j].pref == t->addrs[i].pref ; j++) ;
    /* shuffle by host name groups would keep a host's addresses together: shuffle the hosts */
    if (j - i > 1)
    {
      unsigned int k ;
      for (k = j - 1 ; k > i ; k--)
      {
        unsigned int r = i + (unsigned int)(random() % (k - i + 1)) ;
        if (strcmp(t->addrs[k].host, t->addrs[r].host))
        { raddr x = t->addrs[k] ; t->addrs[k] = t->addrs[r] ; t->addrs[r] = x ; }
      }
    }
  }
}

static void lookups_done (dest *t)
{
  if (t->lookups || t->state != DS_RESOLVING) return ;
  if (t->naddrs)
  {
    addrs_order(t) ;
    t->state = DS_READY ;
    tain_addsec_g(&t->expires, DEST_CACHE) ;
  }
  else if (t->anytemp) dest_fail(t, 'H', "DNS lookup failed: ", t->dnserr.s ? t->dnserr.s : "") ;
  else if (t->implicit == 2) dest_fail(t, 'D', "5.4.4 no route: the host control/smtproutes names for this domain has no address: ", t->name.s) ;
  else if (t->implicit) dest_fail(t, 'D', "5.1.2 no route: the domain has no MX and no address records: ", t->name.s) ;
  else dest_fail(t, 'D', "5.4.4 no route: no MX host of the domain has an address: ", t->name.s) ;
}

static void addr_cb (void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
  lookup *lk = arg ;
  dest *t = dests + lk->di ;
  (void)timeouts ;
  if (t->used && t->gen == lk->gen && t->state == DS_RESOLVING)
  {
    if (status == ARES_SUCCESS && res)
    {
      struct ares_addrinfo_node *n ;
      for (n = res->nodes ; n ; n = n->ai_next)
      {
        ip46 ip ;
        if (n->ai_family == AF_INET) ip46_from_ip4(&ip, (char const *)&((struct sockaddr_in *)n->ai_addr)->sin_addr) ;
        else if (n->ai_family == AF_INET6) ip46_from_ip6(&ip, (char const *)&((struct sockaddr_in6 *)n->ai_addr)->sin6_addr) ;
        else continue ;
        addr_add(t, &ip, lk->port, lk->pref, lk->host) ;
      }
    }
    else if (status != ARES_ENOTFOUND && status != ARES_ENODATA)
    {
      t->anytemp = 1 ;
      t->dnserr.len = 0 ;
      if (!stralloc_cats(&t->dnserr, lk->host) || !stralloc_cats(&t->dnserr, ": ") || !stralloc_cats(&t->dnserr, ares_strerror(status)) || !stralloc_0(&t->dnserr)) nomem() ;
    }
    t->lookups-- ;
    lookups_done(t) ;
  }
  if (res) ares_freeaddrinfo(res) ;
  free(lk) ;
}

static void addr_lookup (unsigned int di, char const *host, uint16_t port, unsigned int pref)
{
  struct ares_addrinfo_hints hints ;
  lookup *lk = malloc(sizeof(lookup)) ;
  if (!lk) nomem() ;
  lk->di = di ; lk->gen = dests[di].gen ; lk->pref = pref ; lk->port = port ;
  strncpy(lk->host, host, sizeof(lk->host) - 1) ;
  lk->host[sizeof(lk->host) - 1] = 0 ;
  memset(&hints, 0, sizeof(hints)) ;
  hints.ai_family = AF_UNSPEC ;
  hints.ai_socktype = SOCK_STREAM ;
  dests[di].lookups++ ;
  ares_getaddrinfo(chan, host, 0, &hints, &addr_cb, lk) ;
}

static void mx_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  lookup *lk = arg ;
  dest *t = dests + lk->di ;
  (void)timeouts ;
  if (t->used && t->gen == lk->gen && t->state == DS_RESOLVING)
  {
    /* the MX query stays counted until the address lookups it starts are counted too */
    if (status == ARES_SUCCESS)
    {
      struct ares_mx_reply *mx = 0, *m ;
      int r = ares_parse_mx_reply(abuf, alen, &mx) ;
      if (r == ARES_SUCCESS)
      {
        unsigned int count = 0, null = 0 ;
        for (m = mx ; m ; m = m->next) { count++ ; if (!m->host[0] || !strcmp(m->host, ".")) null++ ; }
        if (null)
          dest_fail(t, 'D', "5.1.10 the domain publishes a null MX (RFC 7505): it accepts no mail: ", t->name.s) ;
        else
        {
          unsigned int di = lk->di ;
          for (m = mx ; m ; m = m->next) addr_lookup(di, m->host, smtpport, m->priority) ;
          t = dests + di ;
        }
        ares_free_data(mx) ;
      }
      else if (r == ARES_ENODATA) { t->implicit = 1 ; addr_lookup(lk->di, t->name.s, smtpport, 0) ; }
      else
      {
        t->anytemp = 1 ;
        dest_fail(t, 'H', "DNS: unable to parse the MX records of ", t->name.s) ;
      }
    }
    else if (status == ARES_ENODATA) { t->implicit = 1 ; addr_lookup(lk->di, t->name.s, smtpport, 0) ; }
    else if (status == ARES_ENOTFOUND) dest_fail(t, 'D', "5.1.2 no route: the domain does not exist: ", t->name.s) ;
    else
    {
      t->dnserr.len = 0 ;
      if (!stralloc_cats(&t->dnserr, "MX lookup of ") || !stralloc_cats(&t->dnserr, t->name.s) || !stralloc_cats(&t->dnserr, ": ")
       || !stralloc_cats(&t->dnserr, ares_strerror(status)) || !stralloc_0(&t->dnserr)) nomem() ;
      dest_fail(t, 'H', "DNS lookup failed: ", t->dnserr.s) ;
    }
    t = dests + lk->di ;
    t->lookups-- ;
    lookups_done(t) ;
  }
  free(lk) ;
}

static void dest_resolve (unsigned int di)
{
  dest *t = dests + di ;
  stralloc host = STRALLOC_ZERO ;
  uint16_t port = smtpport ;
  t->state = DS_RESOLVING ;
  t->gen++ ;
  t->naddrs = 0 ;
  t->lookups = 0 ;
  t->anytemp = 0 ;
  t->implicit = 0 ;
  t->dnserr.len = 0 ;
  switch (ferry_route_find(routes.s, routes.len, t->name.s, &host, &port, smtpport))
  {
    case 1 :
    {
      ip46 ip ;
      char *h = host.s ;
      size_t hl = strlen(h) ;
      if (h[0] == '[') { h[hl - 1] = 0 ; h++ ; hl -= 2 ; }
      if (ip46_scan(h, &ip) == hl)
      {
        addr_add(t, &ip, port, 0, h) ;
        lookups_done(t) ;
      }
      else { t->implicit = 2 ; t->lookups++ ; addr_lookup(di, h, port, 0) ; t = dests + di ; t->lookups-- ; lookups_done(t) ; }
      break ;
    }
    case 0 :
    {
      lookup *lk = malloc(sizeof(lookup)) ;
      if (!lk) nomem() ;
      lk->di = di ; lk->gen = t->gen ; lk->pref = 0 ; lk->port = smtpport ; lk->host[0] = 0 ;
      t->lookups++ ;
      ares_query(chan, t->name.s, ns_c_in, ns_t_mx, &mx_cb, lk) ;
      break ;
    }
    default : nomem() ;
  }
  stralloc_free(&host) ;
}

static unsigned int dest_get (char const *name, size_t n)
{
  unsigned int i, freeslot = ndests ;
  for (i = 0 ; i < ndests ; i++)
  {
    if (!dests[i].used) { if (freeslot == ndests) freeslot = i ; continue ; }
    if (dests[i].name.len == n + 1 && !memcmp(dests[i].name.s, name, n)) return i ;
  }
  if (freeslot == ndests) dests = ferry_array_grow(dests, &ndests, sizeof(dest)) ;
  i = freeslot ;
  dests[i].used = 1 ;
  dests[i].state = DS_NEW ;
  dests[i].name.len = 0 ;
  if (!stralloc_catb(&dests[i].name, name, n) || !stralloc_0(&dests[i].name)) nomem() ;
  dests[i].naddrs = 0 ;
  dests[i].active = 0 ;
  dests[i].whead = dests[i].wtail = -1 ;
  dests[i].nwaiting = 0 ;
  return i ;
}

/* ---------- requests ---------- */

static int needs_utf8 (char const *s)
{
  for (; *s ; s++) if ((unsigned char)*s >= 128) return 1 ;
  return 0 ;
}

static void deliv_wait (unsigned int di)
{
  deliv *d = delivs + di ;
  dest *t = dests + d->dest ;
  d->next = -1 ;
  if (t->wtail >= 0) delivs[t->wtail].next = di ; else t->whead = di ;
  t->wtail = di ;
  t->nwaiting++ ;
  waiting++ ;
}

static void request_take (char const *p, size_t n)
{
  ferry_request q ;
  char numbuf[11] ;
  char const *why = ferry_request_check(p, n, &q, numbuf) ;
  char const *at ;
  char dom[256] ;
  size_t i, dl ;
  unsigned int di, k ;
  deliv *d ;
  int mfd ;
  if (n && p[0] == '!') { control_take(p, n) ; return ; }
  /* every delivery request from ferry-start's socket carries its message's descriptor */
  mfd = io.passfd ? ferry_spawner_fd(&io) : -1 ;
  if (why) { if (mfd >= 0) fd_close(mfd) ; ferry_spawner_refuse(&io, q.num, why) ; return ; }
  if (q.nrcpt > FERRY_REQUEST_RCPT_MAX) { if (mfd >= 0) fd_close(mfd) ; ferry_spawner_refuse(&io, q.num, "more recipients in one request than the protocol allows (doc/protocols.html)") ; return ; }
  at = strrchr(q.rcpt, '@') ;
  dl = at ? strlen(at + 1) : 0 ;
  if (!dl || dl > 255) { if (mfd >= 0) fd_close(mfd) ; ferry_spawner_refuse(&io, q.num, "the first recipient has no domain") ; return ; }
  for (i = 0 ; i < dl ; i++) { char c = at[1 + i] ; dom[i] = c >= 'A' && c <= 'Z' ? c + 32 : c ; }

  for (di = 0 ; di < ndelivs ; di++) if (!delivs[di].used) break ;
  if (di == ndelivs) delivs = ferry_array_grow(delivs, &ndelivs, sizeof(deliv)) ;
  d = delivs + di ;
  d->used = 1 ;
  d->id = q.id ;
  d->msgfd = -1 ;
  d->givenfd = mfd ;
  d->conn = -1 ;
  d->tried = 0 ;
  d->retried = 0 ;
  d->lasterr.len = 0 ;
  d->payload.len = 0 ;
  if (!stralloc_catb(&d->payload, p, n)) nomem() ;
  d->sender = q.sender - p ;
  d->nrcpt = q.nrcpt ;
  d->rcpt = realloc(d->rcpt, q.nrcpt * sizeof(size_t)) ;
  d->st = realloc(d->st, q.nrcpt) ;
  d->text = realloc(d->text, q.nrcpt * sizeof(stralloc)) ;
  if (!d->rcpt || !d->st || !d->text) nomem() ;
  d->utf8 = needs_utf8(q.sender) ;
  d->dest = dest_get(dom, dl) ;
  for (k = 0, i = q.rcpt - p ; i < n ; i += strlen(p + i) + 1, k++)
  {
    char const *r = d->payload.s + i ;
    char const *ra = strrchr(r, '@') ;
    d->rcpt[k] = i ;
    d->st[k] = 0 ;
    d->text[k] = stralloc_zero ;
    if (needs_utf8(r)) d->utf8 = 1 ;
    if (!ra || strlen(ra + 1) != dl || strncasecmp(ra + 1, dom, dl))
    {
      static char const text[] = "4.3.5 this recipient is not in the domain of its request (a queue manager bug)" ;
      rcpt_set(d, k, 'Z', text, sizeof(text) - 1) ;
    }
  }
  deliv_wait(di) ;
}

/* ---------- connections ---------- */

static void conn_write (conn *c, char const *s, size_t n)
{
  if (!stralloc_catb(&c->out, s, n)) nomem() ;
}

static void conn_close (unsigned int ci)
{
  conn *c = conns + ci ;
  if (c->fd >= 0) fd_close(c->fd) ;
  c->fd = -1 ;
  c->state = C_FREE ;
  c->in.len = c->out.len = 0 ;
  smtp_reply_reset(&c->reply) ;
}

static void deliv_attach (unsigned int di) ;

static void err_set (deliv *d, conn const *c, char const *what, char const *more)
{
  char fmt[300 + IP46_FMT] ;
  addr_fmt(fmt, &c->addr) ;
  d->lasterr.len = 0 ;
  if (!stralloc_cats(&d->lasterr, "host ") || !stralloc_cats(&d->lasterr, fmt) || !stralloc_cats(&d->lasterr, ": ")
   || !stralloc_cats(&d->lasterr, what) || !stralloc_cats(&d->lasterr, more)) nomem() ;
}

 /* The host failed the delivery (no answer, refused, dropped, not SMTP): try the next host. */
static void conn_fail (unsigned int ci, char const *what, char const *more, int deadhost)
{
  conn *c = conns + ci ;
  int di = c->deliv ;
  if (deadhost) mark_dead(&c->addr) ;
  if (di >= 0)
  {
    deliv *d = delivs + di ;
    unsigned int i ;
    err_set(d, c, what, more) ;
    d->conn = -1 ;
    if (c->state == C_DOT)
    {
      /* the end of the data went out: the peer may have the message; never send it elsewhere now */
      static char const why[] = " after the end of the message was sent (the message may have been delivered)" ;
      if (!stralloc_cats(&d->lasterr, why)) nomem() ;
      conn_close(ci) ;
      deliv_finish(di) ;
      return ;
    }
    for (i = 0 ; i < d->nrcpt ; i++) if (d->st[i] == 'A') d->st[i] = 0 ;
    if (c->reused && c->replied <= 1 && !d->retried) d->retried = 1 ;   /* a stale cached connection */
    else d->tried++ ;
    conn_close(ci) ;
    deliv_attach(di) ;
    return ;
  }
  conn_close(ci) ;
}

#ifdef SIOCOUTQ
 /* Has the peer's TCP acknowledged every byte written to the connection? */
static int conn_all_acked (int fd)
{
  int n = 0 ;
  return ioctl(fd, SIOCOUTQ, &n) < 0 || n <= 0 ;
}
#else
static int conn_all_acked (int fd) { (void)fd ; return 1 ; }
#endif

 /* The connection broke (closed, reset: err, a write error): the text says where the message
    was. A final dot that the peer's host never received (not acknowledged), or that its program
    never read (the host reset the connection, as a close with unread input does), did not
    deliver the message: the next host may have it. */
static void conn_lost (unsigned int ci, char const *what, char const *more, int err)
{
  conn *c = conns + ci ;
  char const *when = "" ;
  stralloc t = STRALLOC_ZERO ;
  if (c->state == C_DOT && !conn_all_acked(c->fd))
  {
    c->state = C_DATA ;
    when = " during the message data, before the host received its end (the message was not delivered)" ;
  }
  else if (c->state == C_DOT && err == ECONNRESET)
  {
    c->state = C_DATA ;
    when = " during the message data: the host dropped it unread, the end included (the message was not delivered)" ;
  }
  else if (c->state == C_DATA) when = " during the message data, before its end was sent (the message was not delivered)" ;
  if (!stralloc_cats(&t, more) || !stralloc_cats(&t, when) || !stralloc_0(&t)) nomem() ;
  conn_fail(ci, what, t.s, 0) ;
  stralloc_free(&t) ;
}

static unsigned int conn_new (void)
{
  unsigned int i ;
  for (i = 0 ; i < nconns ; i++) if (conns[i].state == C_FREE) break ;
  if (i == nconns)
  {
    unsigned int j, old = nconns ;
    conns = ferry_array_grow(conns, &nconns, sizeof(conn)) ;
    for (j = old ; j < nconns ; j++) { conns[j].state = C_FREE ; conns[j].fd = -1 ; }
  }
  return i ;
}

static void plan_send_next (conn *c) ;
static void conn_to_idle (unsigned int ci) ;
static int conversion_decide (unsigned int ci) ;

static void transaction_start (unsigned int ci)
{
  conn *c = conns + ci ;
  deliv *d = delivs + c->deliv ;
  unsigned int i, open = 0 ;
  for (i = 0 ; i < d->nrcpt ; i++) if (!d->st[i]) open++ ;
  if (!open) { conn_to_idle(ci) ; deliv_finish(d - delivs) ; return ; }
  if (c->hassize && c->sizemax && d->size > c->sizemax)
  {
    char a[UINT64_FMT], b[UINT64_FMT] ;
    err_set(d, c, "", "") ;
    a[uint64_fmt(a, d->size)] = 0 ; b[uint64_fmt(b, c->sizemax)] = 0 ;
    d->lasterr.len = 0 ;
    if (!stralloc_cats(&d->lasterr, "5.3.4 the message (") || !stralloc_cats(&d->lasterr, a)
     || !stralloc_cats(&d->lasterr, " bytes) is larger than the host takes (SIZE ") || !stralloc_cats(&d->lasterr, b)
     || !stralloc_cats(&d->lasterr, ")")) nomem() ;
    rcpt_all(d, 'D', d->lasterr.s, d->lasterr.len) ;
    conn_to_idle(ci) ;
    deliv_finish(d - delivs) ;
    return ;
  }
  if (d->utf8 && !c->smtputf8)
  {
    static char const text[] = "5.6.7 an address needs SMTPUTF8, which the host does not offer" ;
    rcpt_all(d, 'D', text, sizeof(text) - 1) ;
    conn_to_idle(ci) ;
    deliv_finish(d - delivs) ;
    return ;
  }
  if (!conversion_decide(ci)) return ;
  c->state = C_TRANS ;
  c->nplan = c->sent = c->replied = 0 ;
  c->mailok = 0 ;
  c->accepted = 0 ;
  c->toomany = 0 ;
  c->out.len = 0 ;
  if (c->reused) c->plan[c->nplan++] = 'R' ;
  c->plan[c->nplan++] = 'M' ;
  for (i = 0 ; i < d->nrcpt ; i++) if (!d->st[i]) { c->planrcpt[c->nplan] = i ; c->plan[c->nplan++] = 'T' ; }
  c->plan[c->nplan++] = 'D' ;
  plan_send_next(c) ;
  tain_addsec_g(&c->deadline, t_command) ;
}

 /* Lines over 998 octets, or 8-bit data for a host without 8BITMIME: quoted-printable where
    the MIME structure allows (the walk is made once per delivery), else the message is returned.
    0: the delivery is finished. */
static int conversion_decide (unsigned int ci)
{
  conn *c = conns + ci ;
  deliv *d = delivs + c->deliv ;
  int to7bit = d->eightbit && !c->eightbitmime ;
  char const *why = 0 ;
  int v ;
  c->convert = 0 ;
  if (!d->longline && !to7bit) return 1 ;
  if (!d->looked)
  {
    if (!mime_look_fd(d->msgfd, &d->look))
    {
      err_set(d, c, "unable to read the message: ", strerror(errno)) ;
      conn_to_idle(ci) ;
      deliv_finish(d - delivs) ;
      return 0 ;
    }
    d->looked = 1 ;
  }
  v = mime_look_verdict(&d->look, to7bit, &why) ;
  if (v < 0)
  {
    rcpt_all(d, 'D', why, strlen(why)) ;
    conn_to_idle(ci) ;
    deliv_finish(d - delivs) ;
    return 0 ;
  }
  c->convert = v ? 1 + to7bit : 0 ;
  return 1 ;
}

static void command_cat (conn *c, char kind, unsigned int rcpt)
{
  deliv *d = delivs + c->deliv ;
  switch (kind)
  {
    case 'R' : conn_write(c, "RSET\r\n", 6) ; break ;
    case 'M' :
    {
      char fmt[UINT64_FMT] ;
      conn_write(c, "MAIL FROM:<", 11) ;
      conn_write(c, d->payload.s + d->sender, strlen(d->payload.s + d->sender)) ;
      conn_write(c, ">", 1) ;
      if (c->hassize)
      {
        conn_write(c, " SIZE=", 6) ;
        conn_write(c, fmt, uint64_fmt(fmt, d->size)) ;
      }
      if (d->eightbit && c->eightbitmime) conn_write(c, " BODY=8BITMIME", 14) ;
      if (d->utf8 && c->smtputf8) conn_write(c, " SMTPUTF8", 9) ;
      conn_write(c, "\r\n", 2) ;
      break ;
    }
    case 'T' :
      conn_write(c, "RCPT TO:<", 9) ;
      conn_write(c, d->payload.s + d->rcpt[rcpt], strlen(d->payload.s + d->rcpt[rcpt])) ;
      conn_write(c, ">\r\n", 3) ;
      break ;
    case 'D' : conn_write(c, "DATA\r\n", 6) ; break ;
  }
}

 /* With PIPELINING every command goes at once; without, one per reply. */
static void plan_send_next (conn *c)
{
  if (c->pipelining)
    while (c->sent < c->nplan) { command_cat(c, c->plan[c->sent], c->planrcpt[c->sent]) ; c->sent++ ; }
  else if (c->sent < c->nplan && c->sent == c->replied)
  {
    command_cat(c, c->plan[c->sent], c->planrcpt[c->sent]) ;
    c->sent++ ;
  }
}

static char code_status (unsigned int code)
{
  return code < 300 ? 'K' : code < 500 ? 'Z' : 'D' ;
}

 /* A refusal: D when permanent; when temporary, H (the destination's failure, doc/protocols.html)
    for a refused MAIL or a 421 at any stage, else Z (this recipient's or this message's). */
static char refusal_status (unsigned int code, int atmail)
{
  if (code_status(code) == 'D') return 'D' ;
  return atmail || code == 421 ? 'H' : 'Z' ;
}

static void reply_text (conn *c, stralloc *sa, char const *inreplyto)
{
  char fmt[300 + IP46_FMT] ;
  addr_fmt(fmt, &c->addr) ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, "host ") || !stralloc_cats(sa, fmt) || !stralloc_cats(sa, " said: ")
   || !smtp_reply_oneline(&c->reply, sa, 600)
   || (inreplyto && (!stralloc_cats(sa, " (in reply to ") || !stralloc_cats(sa, inreplyto) || !stralloc_cats(sa, ")"))))
    nomem() ;
}

static void transaction_start (unsigned int ci) ;

 /* A refusal of RCPT that says the transaction has all the recipients the host takes (RFC 5321
    4.5.3.1.10: 452, or 4.5.3): that recipient and those not sent yet go in the next transaction. */
static int too_many (smtp_reply const *r)
{
  char const *t = r->text.s ;
  size_t n = r->text.len ;
  int enhanced = n >= 9 && t[4] >= '2' && t[4] <= '5' && t[5] == '.' ;
  /* 4.5.3 says it; a bare 452 may mean it (RFC 5321 4.5.3.1.10). A 452 with another
     enhanced code (4.2.2 mailbox full, 4.3.1 out of storage) is that recipient's own failure */
  if (enhanced) return r->code / 100 == 4 && !memcmp(t + 4, "4.5.3", 5) && (n == 9 || t[9] == ' ') ;
  return r->code == 452 ;
}

static void conn_to_idle (unsigned int ci)
{
  conn *c = conns + ci ;
  c->deliv = -1 ;
  if (!cachetime) { conn_write(c, "QUIT\r\n", 6) ; if (c->out.len) { ssize_t w = write(c->fd, c->out.s, c->out.len) ; (void)w ; } conn_close(ci) ; return ; }
  c->state = C_IDLE ;
  c->reused = 1 ;
  tain_addsec_g(&c->deadline, cachetime) ;
}

static void transaction_end (unsigned int ci)
{
  conn *c = conns + ci ;
  int di = c->deliv ;
  if (di >= 0 && c->toomany && c->accepted)
  {
    /* the host took some and said no more: the rest in a new transaction, on this connection
       (a transaction without progress ends the delivery: its open recipients are Z) */
    c->reused = 1 ;
    transaction_start(ci) ;
    return ;
  }
  conn_to_idle(ci) ;
  if (di >= 0) { delivs[di].conn = -1 ; deliv_finish(di) ; }
}

static void data_start (conn *c)
{
  c->state = C_DATA ;
  c->msgoff = 0 ;
  c->msgdone = 0 ;
  c->dstate = (smtp_data)SMTP_DATA_ZERO ;
  if (c->convert) mime_conv_start(&c->mconv, &delivs[c->deliv].look, c->convert == 2) ;
  tain_addsec_g(&c->deadline, t_data) ;
}

 /* Refills the output with the next block of the message, transformed. */
static int data_fill (conn *c)
{
  deliv *d = delivs + c->deliv ;
  char buf[65536] ;
  ssize_t r ;
  if (c->msgdone) return 1 ;
  if (c->convert) c->mconv.look = &d->look ;   /* delivs moves when it grows: never keep a pointer into it */
  r = pread(d->msgfd, buf, sizeof(buf), c->msgoff) ;
  if (r < 0) return 0 ;
  if (!r)
  {
    converted.len = 0 ;
    if (c->convert && (!mime_conv_end(&c->mconv, &converted) || !smtp_data_transform(&c->dstate, converted.s, converted.len, &c->out))) nomem() ;
    if (!smtp_data_finish(&c->dstate, &c->out)) nomem() ;
    c->msgdone = 1 ;
    return 1 ;
  }
  c->msgoff += r ;
  if (c->convert)
  {
    converted.len = 0 ;
    if (!mime_conv_feed(&c->mconv, buf, r, &converted) || !smtp_data_transform(&c->dstate, converted.s, converted.len, &c->out)) nomem() ;
  }
  else if (!smtp_data_transform(&c->dstate, buf, r, &c->out)) nomem() ;
  return 1 ;
}

static void handle_trans_reply (unsigned int ci)
{
  conn *c = conns + ci ;
  deliv *d = delivs + c->deliv ;
  char kind = c->plan[c->replied] ;
  unsigned int rc = c->planrcpt[c->replied] ;
  unsigned int code = c->reply.code ;
  stralloc t = STRALLOC_ZERO ;
  c->replied++ ;
  switch (kind)
  {
    case 'R' :
      if (code / 100 != 2) { stralloc_free(&t) ; conn_fail(ci, "RSET refused on a cached connection", "", 0) ; return ; }
      break ;
    case 'M' :
      c->mailok = code / 100 == 2 ;
      if (!c->mailok)
      {
        reply_text(c, &t, "MAIL FROM") ;
        rcpt_all(d, refusal_status(code, 1), t.s, t.len) ;
        if (!c->pipelining) { stralloc_free(&t) ; transaction_end(ci) ; return ; }
      }
      break ;
    case 'T' :
      if (!c->mailok) break ;
      if (code / 100 == 2) { d->st[rc] = 'A' ; c->accepted++ ; }
      else if (too_many(&c->reply))
      {
        /* left open for the next transaction; without pipelining no other RCPT goes out */
        stralloc cmd = STRALLOC_ZERO ;
        if (!stralloc_cats(&cmd, "RCPT TO:<") || !stralloc_cats(&cmd, d->payload.s + d->rcpt[rc]) || !stralloc_cats(&cmd, ">") || !stralloc_0(&cmd)) nomem() ;
        reply_text(c, &d->lasterr, cmd.s) ;
        stralloc_free(&cmd) ;
        c->toomany = 1 ;
        if (!c->pipelining && c->plan[c->nplan - 1] == 'D') { c->plan[c->sent] = 'D' ; c->nplan = c->sent + 1 ; }
      }
      else
      {
        stralloc cmd = STRALLOC_ZERO ;
        if (!stralloc_cats(&cmd, "RCPT TO:<") || !stralloc_cats(&cmd, d->payload.s + d->rcpt[rc]) || !stralloc_cats(&cmd, ">") || !stralloc_0(&cmd)) nomem() ;
        reply_text(c, &t, cmd.s) ;
        rcpt_set(d, rc, refusal_status(code, 0), t.s, t.len) ;
        stralloc_free(&cmd) ;
      }
      if (!c->pipelining && c->replied == c->nplan - 1 && !c->accepted) { stralloc_free(&t) ; transaction_end(ci) ; return ; }
      break ;
    case 'D' :
      if (code == 354)
      {
        if (c->mailok && c->accepted) { data_start(c) ; stralloc_free(&t) ; return ; }
        /* a 354 with nobody to deliver to (pipelined): end the empty data at once */
        conn_write(c, ".\r\n", 3) ;
        c->plan[c->nplan] = 'X' ; c->nplan++ ; c->sent++ ;
        break ;
      }
      if (c->mailok && c->accepted)
      {
        unsigned int i ;
        reply_text(c, &t, "DATA") ;
        /* those accepted; the ones left by a "too many" stay open */
        for (i = 0 ; i < d->nrcpt ; i++) if (d->st[i] == 'A' || (!d->st[i] && !c->toomany)) rcpt_set(d, i, refusal_status(code, 0), t.s, t.len) ;
      }
      stralloc_free(&t) ;
      transaction_end(ci) ;
      return ;
    case '.' :
    {
      unsigned int i ;
      char s = code_status(code) == 'K' ? 'K' : refusal_status(code, 0) ;
      reply_text(c, &t, s == 'K' ? 0 : "end of data") ;
      for (i = 0 ; i < d->nrcpt ; i++) if (d->st[i] == 'A') rcpt_set(d, i, s, t.s, t.len) ;
      stralloc_free(&t) ;
      transaction_end(ci) ;
      return ;
    }
    case 'X' :
      stralloc_free(&t) ;
      transaction_end(ci) ;
      return ;
  }
  stralloc_free(&t) ;
  plan_send_next(c) ;
  tain_addsec_g(&c->deadline, t_command) ;
}

static void ehlo_parse (conn *c)
{
  char const *p ;
  size_t pl ;
  c->esmtp = 1 ;
  c->pipelining = smtp_ehlo_has(&c->reply, "PIPELINING", 0, 0) ;
  c->eightbitmime = smtp_ehlo_has(&c->reply, "8BITMIME", 0, 0) ;
  c->smtputf8 = smtp_ehlo_has(&c->reply, "SMTPUTF8", 0, 0) ;
  c->hassize = smtp_ehlo_has(&c->reply, "SIZE", &p, &pl) ;
  c->sizemax = 0 ;
  if (c->hassize && pl && pl < 24)
  {
    char buf[24] ;
    uint64_t u = 0 ;
    memcpy(buf, p, pl) ; buf[pl] = 0 ;
    if (uint640_scan(buf, &u) == pl) c->sizemax = u ;
  }
}

static void hello (conn *c, char const *verb, int state)
{
  conn_write(c, verb, 5) ;
  conn_write(c, helohost.s, helohost.len) ;
  conn_write(c, "\r\n", 2) ;
  c->state = state ;
  tain_addsec_g(&c->deadline, t_command) ;
}

static void handle_reply (unsigned int ci)
{
  conn *c = conns + ci ;
  unsigned int code = c->reply.code ;
  switch (c->state)
  {
    case C_GREETING :
      if (code / 100 != 2)
      {
        stralloc t = STRALLOC_ZERO ;
        if (!smtp_reply_oneline(&c->reply, &t, 400) || !stralloc_0(&t)) nomem() ;
        conn_fail(ci, "greeted with ", t.s, 0) ;
        stralloc_free(&t) ;
        return ;
      }
      hello(c, "EHLO ", C_EHLO) ;
      return ;
    case C_EHLO :
      if (code / 100 == 2) { ehlo_parse(c) ; transaction_start(ci) ; return ; }
      if (code / 100 == 5)
      {
        hello(c, "HELO ", C_HELO) ;
        return ;
      }
      conn_fail(ci, "EHLO refused temporarily", "", 0) ;
      return ;
    case C_HELO :
      if (code / 100 != 2) { conn_fail(ci, "HELO refused", "", 0) ; return ; }
      c->esmtp = c->pipelining = c->eightbitmime = c->smtputf8 = c->hassize = 0 ;
      transaction_start(ci) ;
      return ;
    case C_TRANS :
    case C_DOT :
      handle_trans_reply(ci) ;
      return ;
    case C_DATA :
    {
      /* the peer refuses while the message is still going out: its reply is the result */
      deliv *d = delivs + c->deliv ;
      stralloc t = STRALLOC_ZERO ;
      unsigned int i ;
      char st = refusal_status(code, 0) ;
      reply_text(c, &t, "the message data") ;
      for (i = 0 ; i < d->nrcpt ; i++) if (d->st[i] == 'A') rcpt_set(d, i, st, t.s, t.len) ;
      stralloc_free(&t) ;
      c->deliv = -1 ;
      d->conn = -1 ;
      conn_close(ci) ;
      deliv_finish(d - delivs) ;
      return ;
    }
    case C_IDLE :
    default :
      /* 421 on an idle connection, or a reply nobody asked for: drop the connection */
      if (c->deliv >= 0) conn_fail(ci, "an unexpected reply", "", 0) ;
      else conn_close(ci) ;
      return ;
  }
}

static void conn_read (unsigned int ci)
{
  conn *c = conns + ci ;
  char buf[8192] ;
  ssize_t r = read(c->fd, buf, sizeof(buf)) ;
  if (r < 0)
  {
    if (errno == EAGAIN || errno == EINTR) return ;
    conn_lost(ci, "read error: ", strerror(errno), errno) ;
    return ;
  }
  if (!r) { conn_lost(ci, "the connection was closed", c->state == C_GREETING ? " before the greeting" : "", 0) ; return ; }
  if (!stralloc_catb(&c->in, buf, r)) nomem() ;
  for (;;)
  {
    size_t used ;
    char const *why ;
    int p = smtp_reply_parse(&c->reply, c->in.s, c->in.len, &used, &why) ;
    if (used) { memmove(c->in.s, c->in.s + used, c->in.len - used) ; c->in.len -= used ; }
    if (p < 0) { conn_fail(ci, "protocol error: ", why, 0) ; return ; }
    if (!p) break ;
    if (c->state == C_TRANS && c->replied >= c->sent)
    {
      conn_fail(ci, "protocol error: ", "a reply nobody asked for", 0) ;
      return ;
    }
    handle_reply(ci) ;
    if (conns[ci].state == C_FREE || conns[ci].fd < 0) return ;
    c = conns + ci ;
    smtp_reply_reset(&c->reply) ;
  }
  if (c->in.len > READ_MAX) conn_fail(ci, "protocol error: ", "too much input without a complete reply", 0) ;
}

static void conn_flush (unsigned int ci)
{
  conn *c = conns + ci ;
  for (;;)
  {
    ssize_t w ;
    if (!c->out.len && c->state == C_DATA)
    {
      if (c->msgdone)
      {
        c->state = C_DOT ;
        c->plan[c->nplan] = '.' ; c->planrcpt[c->nplan] = 0 ;
        c->replied = c->nplan ; c->nplan++ ; c->sent = c->nplan ;
        tain_addsec_g(&c->deadline, t_data) ;
        return ;
      }
      if (!data_fill(c)) { conn_fail(ci, "unable to read the message: ", strerror(errno), 0) ; return ; }
      continue ;
    }
    if (!c->out.len) return ;
    w = write(c->fd, c->out.s, c->out.len) ;
    if (w < 0)
    {
      if (errno == EAGAIN || errno == EINTR) return ;
      conn_lost(ci, "write error: ", strerror(errno), errno) ;
      return ;
    }
    memmove(c->out.s, c->out.s + w, c->out.len - w) ;
    c->out.len -= w ;
    if (c->state == C_DATA) tain_addsec_g(&c->deadline, t_data) ;   /* the peer takes the message: progress */
  }
}

static void conn_connected (unsigned int ci)
{
  conn *c = conns + ci ;
  int e = 0 ;
  socklen_t el = sizeof(e) ;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0) e = errno ;
  if (e) { conn_fail(ci, "unable to connect: ", strerror(e), e == ETIMEDOUT) ; return ; }
  c->state = C_GREETING ;
  tain_addsec_g(&c->deadline, t_greeting) ;
}

static void conn_timeout (unsigned int ci)
{
  conn *c = conns + ci ;
  switch (c->state)
  {
    case C_CONNECTING : conn_fail(ci, "timed out connecting", "", 1) ; return ;
    case C_GREETING : conn_fail(ci, "timed out waiting for the greeting", "", 1) ; return ;
    case C_IDLE :
      conn_write(c, "QUIT\r\n", 6) ;
      { ssize_t w = write(c->fd, c->out.s, c->out.len) ; (void)w ; }
      conn_close(ci) ;
      return ;
    case C_DATA : conn_fail(ci, "timed out sending the message", "", 0) ; return ;
    case C_DOT : conn_fail(ci, "timed out waiting for the reply to the end of the message", "", 0) ; return ;
    default : conn_fail(ci, "timed out waiting for a reply", "", 0) ; return ;
  }
}

 /* Starts a connection to address ai of the delivery's destination, for the delivery. */
static int conn_start (unsigned int di, raddr const *a)
{
  unsigned int ci = conn_new() ;
  conn *c = conns + ci ;
  int fd = socket_tcp46_nbcoe(a->ip.is6) ;
  if (fd < 0) { strerr_warnwu1sys("create a socket") ; return -1 ; }
  {
    /* each write is a whole command group or a block of data: Nagle would only add delay
       (a pipelined group waits for the ACK of the previous one, up to 40 ms) */
    int one = 1 ;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ;
  }
  c->fd = fd ;
  c->addr = *a ;
  c->deliv = di ;
  c->reused = 0 ;
  c->in.len = c->out.len = 0 ;
  smtp_reply_reset(&c->reply) ;
  c->esmtp = c->pipelining = c->eightbitmime = c->smtputf8 = c->hassize = 0 ;
  c->sizemax = 0 ;
  c->serial = ++serials ;
  delivs[di].conn = ci ;
  c->state = C_CONNECTING ;
  tain_addsec_g(&c->deadline, t_connect) ;
  if (socket_connect46(fd, &a->ip, a->port) < 0 && errno != EINPROGRESS && errno != EWOULDBLOCK)
  {
    conn_fail(ci, "unable to connect: ", strerror(errno), 0) ;
    return 0 ;
  }
  return 1 ;
}

 /* Reads the message once: its size (counting the CR each LF will get) and whether it is 8-bit. */
static int deliv_scan (deliv *d)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  char buf[65536] ;
  uint64_t lf = 0, total = 0, linelen = 0 ;
  int lastcr = 0 ;
  ssize_t r ;
  if (io.passfd)
  {
    /* the queue manager opened it: this user cannot read the queue (doc/security.html) */
    struct stat st ;
    d->msgfd = d->givenfd ;
    d->givenfd = -1 ;
    if (d->msgfd < 0 || fstat(d->msgfd, &st) < 0 || !S_ISREG(st.st_mode))
    {
      if (d->msgfd >= 0) fd_close(d->msgfd) ;
      d->msgfd = -1 ;
      d->lasterr.len = 0 ;
      if (!stralloc_cats(&d->lasterr, "the queue manager could not open the message (its log says why)")) nomem() ;
      return 0 ;
    }
    /* the id is the message file's inode: a descriptor of another message is never sent */
    if ((uint64_t)st.st_ino != d->id)
      strerr_dief1x(111, "a request came with the descriptor of another message: the requests and their descriptors are out of step") ;
  }
  else
  {
    ferry_queue_path(fn, "mess", d->id, split) ;
    d->msgfd = open(fn, O_RDONLY | O_CLOEXEC) ;
  }
  if (d->msgfd < 0)
  {
    d->lasterr.len = 0 ;
    if (!stralloc_cats(&d->lasterr, "unable to open ") || !stralloc_cats(&d->lasterr, fn) || !stralloc_cats(&d->lasterr, ": ")
     || !stralloc_cats(&d->lasterr, strerror(errno))) nomem() ;
    return 0 ;
  }
  d->eightbit = 0 ;
  d->longline = 0 ;
  d->looked = 0 ;
  while ((r = read(d->msgfd, buf, sizeof(buf))) > 0)
  {
    ssize_t i ;
    for (i = 0 ; i < r ; i++)
    {
      unsigned char ch = buf[i] ;
      if (ch == '\n')
      {
        lf++ ;
        if (linelen - lastcr > MIME_LINE_MAX) d->longline = 1 ;
        linelen = 0 ;
      }
      else
      {
        if (ch >= 128) d->eightbit = 1 ;
        linelen++ ;
      }
      lastcr = ch == '\r' ;
    }
    total += r ;
  }
  if (linelen - lastcr > MIME_LINE_MAX) d->longline = 1 ;
  d->size = total + lf ;
  return 1 ;
}

 /* An idle cached connection for the delivery's next try: only to the very host at position
    d->tried of its destination, so that the hosts are tried in their order and a failure moves
    on to the next one (never a less preferred host, never one twice). It then names the host as
    this destination does (its MX name). */
static int cached_take (unsigned int di)
{
  deliv *d = delivs + di ;
  dest *t = dests + d->dest ;
  raddr const *a = t->addrs + d->tried ;
  unsigned int i ;
  for (i = 0 ; i < nconns ; i++)
  {
    conn *c = conns + i ;
    if (c->state != C_IDLE || a->port != c->addr.port || !same_ip(&a->ip, &c->addr.ip)) continue ;
    c->addr = *a ;
    c->deliv = di ;
    d->conn = i ;
    transaction_start(i) ;
    return 1 ;
  }
  return 0 ;
}

static void deliv_attach (unsigned int di)
{
  deliv *d = delivs + di ;
  dest *t = dests + d->dest ;
  if (d->msgfd < 0 && !deliv_scan(d)) { deliv_finish(di) ; return ; }
  for (; d->tried < t->naddrs ; d->tried++)
  {
    raddr const *a = t->addrs + d->tried ;
    if (is_dead(a))
    {
      char fmt[300 + IP46_FMT] ;
      addr_fmt(fmt, a) ;
      if (!d->lasterr.len && (!stralloc_cats(&d->lasterr, "host ") || !stralloc_cats(&d->lasterr, fmt)
       || !stralloc_cats(&d->lasterr, ": skipped: it timed out within control/deadhosttime seconds"))) nomem() ;
      continue ;
    }
    /* a stale cached connection already failed this delivery: a fresh one from now on */
    if (!d->retried && cached_take(di)) return ;
    if (conn_start(di, a) < 0)
    {
      /* this machine's failure (no socket: EMFILE...), not the destination's: Z, no backoff */
      stralloc why = STRALLOC_ZERO ;
      if (!stralloc_cats(&why, "unable to create a socket: ") || !stralloc_cats(&why, strerror(errno))) nomem() ;
      rcpt_all(d, 'Z', why.s, why.len) ;
      stralloc_free(&why) ;
      deliv_finish(di) ;
      return ;
    }
    return ;
  }
  {
    stralloc t2 = STRALLOC_ZERO ;
    if (!stralloc_cats(&t2, "no host of ") || !stralloc_cats(&t2, t->name.s) || !stralloc_cats(&t2, " took the message; last: ")
     || !stralloc_catb(&t2, d->lasterr.s, d->lasterr.len)) nomem() ;
    if (!stralloc_copyb(&d->lasterr, t2.s, t2.len)) nomem() ;
    stralloc_free(&t2) ;
  }
  /* every host refused, failed or was skipped before MAIL was taken: the destination's failure */
  rcpt_all(d, 'H', d->lasterr.s, d->lasterr.len) ;
  deliv_finish(di) ;
}

/* ---------- the scheduler of deliveries onto connections ---------- */

static void pump (void)
{
  unsigned int i ;
  for (i = 0 ; i < ndests ; i++)
  {
    dest *t = dests + i ;
    if (!t->used || !t->nwaiting) continue ;
    if (t->state == DS_RESOLVING) continue ;
    if (t->state == DS_NEW || (t->state == DS_READY && !tain_future(&t->expires) && !t->active)
     || (t->state == DS_FAILED && t->failstatus == 'D' && !tain_future(&t->expires)))
    {
      dest_resolve(i) ;
      t = dests + i ;
      if (t->state == DS_RESOLVING) continue ;
    }
    if (t->state == DS_FAILED)
    {
      /* the deliveries that waited for this answer get it; a temporary failure is not kept */
      if (t->failstatus != 'D') t->state = DS_NEW ;
      while (t->whead >= 0)
      {
        int di = t->whead ;
        deliv *d = delivs + di ;
        t->whead = d->next ;
        t->nwaiting-- ; waiting-- ;
        rcpt_all(d, t->failstatus, t->failtext.s, t->failtext.len) ;
        active++ ; t->active++ ;
        deliv_finish(di) ;
      }
      t->wtail = -1 ;
      continue ;
    }
    while (t->whead >= 0 && active < concurrency && t->active < perdest)
    {
      int di = t->whead ;
      t->whead = delivs[di].next ;
      if (t->whead < 0) t->wtail = -1 ;
      t->nwaiting-- ; waiting-- ;
      active++ ; t->active++ ;
      deliv_attach(di) ;
      t = dests + i ;
    }
  }
  /* forget idle destinations after their cache time */
  for (i = 0 ; i < ndests ; i++)
  {
    dest *t = dests + i ;
    if (t->used && !t->nwaiting && !t->active && t->state != DS_RESOLVING && !tain_future(&t->expires) && t->state != DS_NEW)
    {
      t->used = 0 ;
      t->state = DS_NEW ;
    }
  }
}

/* ---------- settings ---------- */

 /* Reads every setting. 1: all good, and in use from now on; 0: why says what is wrong (terminated),
    and the settings in use stay as they were. */
static int load (int initial, stralloc *why)
{
  static char const *const names[] = { "concurrencyremote", "concurrencydestination", "connectioncache", "deadhosttime",
    "smtpport", "timeoutconnect", "timeoutgreeting", "timeoutcommand", "timeoutdata" } ;
  uint64_t v[9] ;
  stralloc newroutes = STRALLOC_ZERO, newhelo = STRALLOC_ZERO, sa = STRALLOC_ZERO, csv = STRALLOC_ZERO ;
  unsigned int line, i ;
  int ok = 0 ;
  for (i = 0 ; i < 9 ; i++)
  {
    int r = ferry_control_u64_why(names[i], v + i, why) ;
    if (r < 0) nomem() ;
    if (!r) goto end ;
  }
  why->len = 0 ;
  if (ferry_control_readline(&newhelo, "helohost") < 0)
  {
    if (!stralloc_cats(why, "unable to read control/helohost: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  if (!newhelo.len)
  {
    if (!stralloc_cats(why, "control/helohost (or control/me) is empty") || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  if (ferry_control_readfile(&newroutes, "smtproutes") < 0)
  {
    if (!stralloc_cats(why, "unable to read control/smtproutes: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  line = ferry_route_check(newroutes.s, newroutes.len) ;
  if (line)
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, line)] = 0 ;
    if (!stralloc_cats(why, "control/smtproutes:") || !stralloc_cats(why, fmt)
     || !stralloc_cats(why, ": bad route: write domain:host[:port], .domain:host, :host or domain:") || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  if (ferry_control_readfile(&sa, "dnsservers") < 0)
  {
    if (!stralloc_cats(why, "unable to read control/dnsservers: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  {
    size_t pos = 0 ;
    while (pos < sa.len)
    {
      size_t k = pos ;
      while (k < sa.len && sa.s[k] != '\n') k++ ;
      {
        size_t a = pos, b = k ;
        while (a < b && (sa.s[a] == ' ' || sa.s[a] == '\t')) a++ ;
        while (b > a && (sa.s[b-1] == ' ' || sa.s[b-1] == '\t' || sa.s[b-1] == '\r')) b-- ;
        if (b > a && sa.s[a] != '#')
          if ((csv.len && !stralloc_catb(&csv, ",", 1)) || !stralloc_catb(&csv, sa.s + a, b - a)) nomem() ;
      }
      pos = k + 1 ;
    }
  }
  /* the last check, as it changes c-ares' servers when it succeeds (and nothing when it fails) */
  if (csv.len)
  {
    if (!stralloc_0(&csv)) nomem() ;
    if (ares_set_servers_ports_csv(chan, csv.s) != ARES_SUCCESS)
    {
      if (!stralloc_cats(why, "bad value in control/dnsservers: write one ip, ip:port or [ip6]:port per line") || !stralloc_0(why)) nomem() ;
      goto end ;
    }
  }
  /* all good: in use from now on; routes may have changed: every destination is resolved again
     when it is next used */
  for (i = 0 ; i < ndests ; i++) if (dests[i].used && dests[i].state != DS_RESOLVING)
  {
    tain_copynow(&dests[i].expires) ;
    if (dests[i].state == DS_FAILED) dests[i].state = DS_NEW ;
  }
  /* under ferry-start this user cannot enter the queue: every message comes open, no split needed */
  if (initial) split = access("queue/split", F_OK) < 0 && errno == EACCES ? 0 : ferry_queue_split_or_die(111) ;
  concurrency = v[0] ; perdest = v[1] ; cachetime = v[2] ; deadtime = v[3] ; smtpport = v[4] ;
  t_connect = v[5] ; t_greeting = v[6] ; t_command = v[7] ; t_data = v[8] ;
  if (!stralloc_copyb(&helohost, newhelo.s, newhelo.len) || !stralloc_copyb(&routes, newroutes.s, newroutes.len)) nomem() ;
  ok = 1 ;
 end:
  stralloc_free(&newroutes) ;
  stralloc_free(&newhelo) ;
  stralloc_free(&sa) ;
  stralloc_free(&csv) ;
  return ok ;
}

 /* SIGHUP, or the queue manager's "!reread" frame: the settings read again, or the old ones kept.
    The log says which; so does what is returned (for the frame's answer). */
static char const *reread (stralloc *why)
{
  if (load(0, why))
  {
    strerr_warni("settings read again") ;
    return "settings read again" ;
  }
  strerr_warnw("keeping the old settings: ", why->s) ;
  return 0 ;
}

int main (int argc, char const *const *argv)
{
  iopause_fd *x = 0 ;
  int *xconn = 0 ;
  unsigned int xn = 0 ;
  int eof = 0, spfd ;
  PROG = "ferry-spawn-remote" ;
  if (argc > 2) strerr_dieusage(100, USAGE) ;
  if (chdir(ferry_home(argc > 1 ? argv[1] : 0)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  sig_ignore(SIGPIPE) ;
  if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) strerr_dief1x(111, "unable to initialize c-ares") ;
  {
    struct ares_options o ;
    memset(&o, 0, sizeof(o)) ;
    o.timeout = 3000 ;
    o.tries = 2 ;
    if (ares_init_options(&chan, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) strerr_dief1x(111, "unable to initialize c-ares") ;
  }
  tain_now_set_stopwatch_g() ;
  {
    tain now ;
    tain_now(&now) ;
    srandom((unsigned int)(tain_to_millisecs(&now) ^ getpid())) ;
  }
  {
    stralloc why = STRALLOC_ZERO ;
    if (!load(1, &why)) strerr_dief1x(111, why.s) ;
    stralloc_free(&why) ;
  }
  spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefu1sys(111, "selfpipe_init") ;
  if (!selfpipe_trap(SIGHUP) || !selfpipe_trap(SIGTERM)) strerr_diefu1sys(111, "trap signals") ;
  if (ndelay_on(0) < 0 || ndelay_on(1) < 0) strerr_diefu1sys(111, "set fds 0 and 1 non-blocking") ;
  {
    /* ferry-start's socket: the requests carry the messages' descriptors; a pipe (by hand): it opens them */
    int type ;
    socklen_t len = sizeof(type) ;
    io.passfd = getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ;
  }

  for (;;)
  {
    unsigned int n = 0, i, nares ;
    int idx0 = -1, idx1 = -1 ;
    ares_socket_t socks[ARES_GETSOCK_MAXNUM] ;
    int bits ;
    tain deadline = TAIN_INFINITE ;
    int anyconn = 0 ;
    for (i = 0 ; i < nconns ; i++) if (conns[i].state != C_FREE && conns[i].state != C_IDLE) anyconn = 1 ;
    if (eof && !waiting && !active && !io.out.len && !anyconn) break ;
    if (xn < nconns + ARES_GETSOCK_MAXNUM + 3)
    {
      xn = nconns + ARES_GETSOCK_MAXNUM + 3 ;
      x = realloc(x, xn * sizeof(iopause_fd)) ;
      xconn = realloc(xconn, xn * sizeof(int)) ;
      if (!x || !xconn) nomem() ;
    }
    x[n].fd = spfd ; x[n].events = IOPAUSE_READ ; xconn[n] = -1 ; n++ ;
    if (!eof && waiting < WAITING_MAX) { idx0 = n ; x[n].fd = 0 ; x[n].events = IOPAUSE_READ ; xconn[n] = -1 ; n++ ; }
    if (io.out.len) { idx1 = n ; x[n].fd = 1 ; x[n].events = IOPAUSE_WRITE ; xconn[n] = -1 ; n++ ; }
    bits = ares_getsock(chan, socks, ARES_GETSOCK_MAXNUM) ;
    nares = n ;
    for (i = 0 ; i < ARES_GETSOCK_MAXNUM ; i++)
    {
      short ev = 0 ;
      /* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign bit: unsigned here */
      if ((unsigned int)bits & (1u << i)) ev |= IOPAUSE_READ ;
      if ((unsigned int)bits & (1u << (i + ARES_GETSOCK_MAXNUM))) ev |= IOPAUSE_WRITE ;
      if (!ev) continue ;
      x[n].fd = socks[i] ; x[n].events = ev ; xconn[n] = -2 ; n++ ;
    }
    {
      struct timeval tv, *tvp = ares_timeout(chan, 0, &tv) ;
      if (tvp)
      {
        tain a ;
        tain_from_millisecs(&a, tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1) ;
        tain_add_g(&deadline, &a) ;
      }
    }
    for (i = 0 ; i < nconns ; i++)
    {
      conn *c = conns + i ;
      if (c->state == C_FREE) continue ;
      x[n].fd = c->fd ;
      x[n].events = c->state == C_CONNECTING ? IOPAUSE_WRITE : IOPAUSE_READ ;
      if (c->out.len || c->state == C_DATA) x[n].events |= IOPAUSE_WRITE ;
      xconn[n] = i ;
      n++ ;
      if (tain_less(&c->deadline, &deadline)) deadline = c->deadline ;
    }
    if (iopause_g(x, n, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;

    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
      {
        if (sig == SIGHUP) { stralloc why = STRALLOC_ZERO ; reread(&why) ; stralloc_free(&why) ; }
        else if (sig == SIGTERM) eof = 1 ;
      }
    }
    /* DNS: sockets that are ready, then c-ares' own timeouts */
    for (i = nares ; i < n && xconn[i] == -2 ; i++)
      if (x[i].revents)
        ares_process_fd(chan, x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT) ? (ares_socket_t)x[i].fd : ARES_SOCKET_BAD,
                              x[i].revents & IOPAUSE_WRITE ? (ares_socket_t)x[i].fd : ARES_SOCKET_BAD) ;
    ares_process_fd(chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD) ;

    for (i = 0 ; i < n ; i++)
    {
      int ci = xconn[i] ;
      conn *c ;
      if (ci < 0 || !x[i].revents) continue ;
      c = conns + ci ;
      if (c->state == C_FREE || c->fd != x[i].fd) continue ;
      if (c->state == C_CONNECTING) { conn_connected(ci) ; if (conns[ci].state == C_FREE) continue ; c = conns + ci ; }
      if (x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT) && c->state != C_CONNECTING) conn_read(ci) ;
      if (conns[ci].state != C_FREE && conns[ci].state != C_CONNECTING && (conns[ci].out.len || conns[ci].state == C_DATA)) conn_flush(ci) ;
    }
    /* deadlines, and writes queued by what happened above */
    tain_now_g() ;
    for (i = 0 ; i < nconns ; i++)
    {
      if (conns[i].state == C_FREE) continue ;
      if (!tain_future(&conns[i].deadline)) conn_timeout(i) ;
      else if (conns[i].state != C_CONNECTING && conns[i].out.len) conn_flush(i) ;
    }

    if (idx1 >= 0 && x[idx1].revents & (IOPAUSE_WRITE | IOPAUSE_EXCEPT) && !ferry_spawner_write(&io))
      strerr_diefu1sys(111, "write answers") ;
    if (idx0 >= 0 && x[idx0].revents & IOPAUSE_READ)
    {
      int r = ferry_spawner_read(&io, &request_take) ;
      if (r < 0) strerr_diefu1sys(111, "read requests") ;
      if (!r) eof = 1 ;
    }
    pump() ;
    if (eof && !waiting && !active)
      for (i = 0 ; i < nconns ; i++) if (conns[i].state == C_IDLE) conn_timeout(i) ;
  }
  free(x) ;
  free(xconn) ;
  ares_destroy(chan) ;
  ares_library_cleanup() ;
  return 0 ;
}
