/* ferry-spawn-remote's DNS: the MX records of a destination, then its hosts' A and AAAA
   records, through c-ares; the addresses in the order they are tried. With control/dnssecservers
   every query asks for the AD bit and the answers say whether they validated: the MX records'
   and each address's security decide whether DANE applies (RFC 7672 2.2), and the hosts it may
   apply to have their TLSA records looked up too (tlsa.c). */

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/nameser.h>
#include <sys/select.h>
#include <ares.h>

#include <skalibs/genalloc.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>

#include <ferry/dns_wire.h>

#include "spawn_remote.h"
#include "remote_metrics.h"

#define ADDRTTLS_MAX 64

 /* One query in flight: which destination (and which of its resolutions) it is for. */
typedef struct lookup_s lookup ;
struct lookup_s
{
  unsigned int di ;
  unsigned int gen ;
  unsigned int pref ;
  uint16_t port ;
  int tlsa ;             /* the host's TLSA entry when DANE may apply, else -1 */
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

void dns_addr_add (dest *t, ip46 const *ip, uint16_t port, unsigned int pref, char const *host, int secure, int tlsa)
{
  raddr a ;
  raddr const *v = genalloc_s(raddr, &t->addrs) ;
  size_t i, n = genalloc_len(raddr, &t->addrs) ;
  for (i = 0 ; i < n ; i++)
    if (v[i].port == port && same_ip(&v[i].ip, ip)) return ;
  a.ip = *ip ;
  a.port = port ;
  a.pref = pref ;
  a.secure = secure ;
  a.tlsa = tlsa ;
  strncpy(a.host, host, sizeof(a.host) - 1) ;
  a.host[sizeof(a.host) - 1] = 0 ;
  if (!genalloc_append(raddr, &t->addrs, &a)) nomem() ;
}

 /* Preference order; hosts of equal preference in random order (RFC 5321 5.1). */
static void addrs_order (dest *t)
{
  raddr *v = genalloc_s(raddr, &t->addrs) ;
  unsigned int n = genalloc_len(raddr, &t->addrs) ;
  unsigned int i, j ;
  for (i = 1 ; i < n ; i++)
    for (j = i ; j && v[j-1].pref > v[j].pref ; j--)
    { raddr x = v[j] ; v[j] = v[j-1] ; v[j-1] = x ; }
  for (i = 0 ; i < n ; i = j)
  {
    for (j = i + 1 ; j < n && v[j].pref == v[i].pref ; j++) ;
    /* shuffle by host name groups would keep a host's addresses together: shuffle the hosts */
    if (j - i > 1)
    {
      unsigned int k ;
      for (k = j - 1 ; k > i ; k--)
      {
        unsigned int r = i + (unsigned int)(random() % (k - i + 1)) ;
        if (strcmp(v[k].host, v[r].host))
        { raddr x = v[k] ; v[k] = v[r] ; v[r] = x ; }
      }
    }
  }
}

void dns_lookups_done (dest *t)
{
  if (t->lookups || t->state != DS_RESOLVING) return ;
  if (t->sts == STS_MODE_ENFORCE && genalloc_len(raddr, &t->addrs) && !sts_filter(t))
  {
    dest_fail(t, 'H', "no MX host of the domain matches its MTA-STS policy (mode enforce, id ", t->stsid) ;
    if (!stralloc_cats(&t->failtext, "): ") || !stralloc_cats(&t->failtext, t->name.s)) nomem() ;
    return ;
  }
  if (genalloc_len(raddr, &t->addrs))
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
  dest *t = rem.dests + lk->di ;
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
        dns_addr_add(t, &ip, lk->port, lk->pref, lk->host, 0, lk->tlsa) ;
      }
    }
    else if (status != ARES_ENOTFOUND && status != ARES_ENODATA)
    {
      t->anytemp = 1 ;
      t->dnserr.len = 0 ;
      if (!stralloc_cats(&t->dnserr, lk->host) || !stralloc_cats(&t->dnserr, ": ") || !stralloc_cats(&t->dnserr, ares_strerror(status)) || !stralloc_0(&t->dnserr)) nomem() ;
    }
    t->lookups-- ;
    dns_lookups_done(t) ;
  }
  if (res) ares_freeaddrinfo(res) ;
  free(lk) ;
}

static lookup *lookup_new (unsigned int di, char const *host, uint16_t port, unsigned int pref, int tlsa)
{
  lookup *lk = malloc(sizeof(lookup)) ;
  if (!lk) nomem() ;
  lk->di = di ; lk->gen = rem.dests[di].gen ; lk->pref = pref ; lk->port = port ; lk->tlsa = tlsa ;
  strncpy(lk->host, host, sizeof(lk->host) - 1) ;
  lk->host[sizeof(lk->host) - 1] = 0 ;
  return lk ;
}

int dns_channel_new (ares_channel *c, char const *csv, int dnssec)
{
  struct ares_options o ;
  memset(&o, 0, sizeof(o)) ;
  o.timeout = 3000 ;
  o.tries = 2 ;
  /* a validating resolver's SERVFAIL is its verdict (bogus), the same at every such server: taken
     as it is, and named so in the texts, rather than tried at the next server */
  o.flags = dnssec ? ARES_FLAG_NOCHECKRESP : 0 ;
  if (ares_init_options(c, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS) != ARES_SUCCESS) strerr_dief1x(111, "unable to initialize c-ares") ;
  if (csv && ares_set_servers_ports_csv(*c, csv) != ARES_SUCCESS)
  {
    ares_destroy(*c) ;
    return 0 ;
  }
  return 1 ;
}

void dns_channel_replace (ares_channel c, int dnssec)
{
  ares_channel old = rem.chan ;
  unsigned int i ;
  rem.chan = c ;
  rem.dnssec = dnssec ;
  /* the lookups under way are made again, of the new servers; the answers of the old ones
     (their destruction calls every callback) are for generations gone */
  for (i = 0 ; i < rem.ndests ; i++)
  {
    dest *t = rem.dests + i ;
    if (!t->used || t->state != DS_RESOLVING) continue ;
    t->gen++ ;
    t->state = DS_NEW ;
    t->lookups = 0 ;
    t->stswait = 0 ;
  }
  tlsa_forget_all() ;
  if (old) ares_destroy(old) ;
}

void dns_send_ad (char const *name, int type, ares_callback cb, void *arg)
{
  unsigned char *q ;
  int qlen ;
  /* EDNS0 with room for a signed answer; AD asked (RFC 6840 5.7): the resolver says whether it validated */
  int r = ares_create_query(name, ns_c_in, type, 0, 1, &q, &qlen, 1232) ;
  if (r == ARES_ENOMEM) nomem() ;
  /* a name that cannot be asked (too long): answered at once, as c-ares answers its own queries */
  if (r != ARES_SUCCESS) { (*cb)(arg, r, 0, 0, 0) ; return ; }
  if (qlen > 3) q[3] |= 0x20 ;
  ares_send(rem.chan, q, qlen, cb, arg) ;
  metrics_dns(1) ;
  ares_free_string(q) ;
}

 /* A raw answer's status as ares_query gives it (no such name, no records of the type), and
    whether a trusted resolver validated it. */
static int answer_status (int status, unsigned char const *abuf, int alen, int *secure)
{
  ferry_dns_head h ;
  *secure = 0 ;
  if (status != ARES_SUCCESS || !abuf || !ferry_dns_head_parse(abuf, alen, &h)) return status ;
  *secure = rem.dnssec && h.ad ;
  switch (h.rcode)
  {
    case 0 : return h.an ? ARES_SUCCESS : ARES_ENODATA ;
    case 2 : return ARES_ESERVFAIL ;
    case 3 : return ARES_ENOTFOUND ;
    case 5 : return ARES_EREFUSED ;
    default : return ARES_EBADRESP ;
  }
}

static void addr_fail (dest *t, char const *host, int status)
{
  t->anytemp = 1 ;
  t->dnserr.len = 0 ;
  if (!stralloc_cats(&t->dnserr, host) || !stralloc_cats(&t->dnserr, ": ") || !stralloc_cats(&t->dnserr, ares_strerror(status)) || !stralloc_0(&t->dnserr)) nomem() ;
}

 /* An A or AAAA answer to a query of dns_send_ad. */
static void addr_raw_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen, int is6)
{
  lookup *lk = arg ;
  dest *t = rem.dests + lk->di ;
  (void)timeouts ;
  if (t->used && t->gen == lk->gen && t->state == DS_RESOLVING)
  {
    int secure ;
    status = answer_status(status, abuf, alen, &secure) ;
    if (status == ARES_SUCCESS)
    {
      struct ares_addrttl a4[ADDRTTLS_MAX] ;
      struct ares_addr6ttl a6[ADDRTTLS_MAX] ;
      int i, n = ADDRTTLS_MAX ;
      int r = is6 ? ares_parse_aaaa_reply(abuf, alen, 0, a6, &n) : ares_parse_a_reply(abuf, alen, 0, a4, &n) ;
      if (r == ARES_SUCCESS)
        for (i = 0 ; i < n ; i++)
        {
          ip46 ip ;
          if (is6) ip46_from_ip6(&ip, (char const *)&a6[i].ip6addr) ;
          else ip46_from_ip4(&ip, (char const *)&a4[i].ipaddr) ;
          dns_addr_add(t, &ip, lk->port, lk->pref, lk->host, secure, lk->tlsa) ;
        }
      else if (r != ARES_ENODATA) addr_fail(t, lk->host, r) ;
    }
    else if (status != ARES_ENOTFOUND && status != ARES_ENODATA) addr_fail(t, lk->host, status) ;
    t->lookups-- ;
    dns_lookups_done(t) ;
  }
  free(lk) ;
}

static void a_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  addr_raw_cb(arg, status, timeouts, abuf, alen, 0) ;
}

static void aaaa_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  addr_raw_cb(arg, status, timeouts, abuf, alen, 1) ;
}

void dns_addr_lookup (unsigned int di, char const *host, uint16_t port, unsigned int pref, int dane)
{
  struct ares_addrinfo_hints hints ;
  lookup *lk ;
  int tlsa = dane ? tlsa_want(di, host, port) : -1 ;
  if (rem.dnssec)
  {
    /* two queries, as each answer's AD bit is needed: getaddrinfo does not give it */
    rem.dests[di].lookups += 2 ;
    dns_send_ad(host, ns_t_a, &a_cb, lookup_new(di, host, port, pref, tlsa)) ;
    dns_send_ad(host, ns_t_aaaa, &aaaa_cb, lookup_new(di, host, port, pref, tlsa)) ;
    return ;
  }
  lk = lookup_new(di, host, port, pref, tlsa) ;
  memset(&hints, 0, sizeof(hints)) ;
  hints.ai_family = AF_UNSPEC ;
  hints.ai_socktype = SOCK_STREAM ;
  rem.dests[di].lookups++ ;
  ares_getaddrinfo(rem.chan, host, 0, &hints, &addr_cb, lk) ;
  metrics_dns(2) ;
}

int dane_may (dest const *t)
{
  return rem.dnssec && t->level != TLS_NONE && t->mxsecure ;
}

static void mx_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  lookup *lk = arg ;
  dest *t = rem.dests + lk->di ;
  (void)timeouts ;
  if (t->used && t->gen == lk->gen && t->state == DS_RESOLVING)
  {
    /* the MX query stays counted until the address lookups it starts are counted too */
    int secure ;
    status = answer_status(status, abuf, alen, &secure) ;
    /* DANE applies only below validated MX records (or a validated denial of them) */
    t->mxsecure = secure ;
    if (status == ARES_SUCCESS)
    {
      struct ares_mx_reply *mx = 0, *m ;
      int r = ares_parse_mx_reply(abuf, alen, &mx) ;
      if (r == ARES_SUCCESS)
      {
        unsigned int null = 0 ;
        for (m = mx ; m ; m = m->next) if (!m->host[0] || !strcmp(m->host, ".")) null++ ;
        if (null)
          dest_fail(t, 'D', "5.1.10 the domain publishes a null MX (RFC 7505): it accepts no mail: ", t->name.s) ;
        else
        {
          shaping_mx_note(t, mx) ;
          for (m = mx ; m ; m = m->next) dns_addr_lookup(lk->di, m->host, rem.smtpport, m->priority, dane_may(t)) ;
        }
        ares_free_data(mx) ;
      }
      else if (r == ARES_ENODATA) { t->implicit = 1 ; dns_addr_lookup(lk->di, t->name.s, rem.smtpport, 0, dane_may(t)) ; }
      else
      {
        t->anytemp = 1 ;
        dest_fail(t, 'H', "DNS: unable to parse the MX records of ", t->name.s) ;
      }
    }
    else if (status == ARES_ENODATA) { t->implicit = 1 ; dns_addr_lookup(lk->di, t->name.s, rem.smtpport, 0, dane_may(t)) ; }
    else if (status == ARES_ENOTFOUND) dest_fail(t, 'D', "5.1.2 no route: the domain does not exist: ", t->name.s) ;
    else if (status == ARES_EBADNAME) dest_fail(t, 'D', "5.1.2 no route: the domain is not a name DNS can look up: ", t->name.s) ;
    else
    {
      t->dnserr.len = 0 ;
      if (!stralloc_cats(&t->dnserr, "MX lookup of ") || !stralloc_cats(&t->dnserr, t->name.s) || !stralloc_cats(&t->dnserr, ": ")
       || !stralloc_cats(&t->dnserr, ares_strerror(status)) || !stralloc_0(&t->dnserr)) nomem() ;
      dest_fail(t, 'H', "DNS lookup failed: ", t->dnserr.s) ;
    }
    t = rem.dests + lk->di ;
    t->lookups-- ;
    dns_lookups_done(t) ;
  }
  free(lk) ;
}

void dns_mx_lookup (unsigned int di)
{
  lookup *lk = lookup_new(di, "", rem.smtpport, 0, -1) ;
  rem.dests[di].lookups++ ;
  if (rem.dnssec) dns_send_ad(rem.dests[di].name.s, ns_t_mx, &mx_cb, lk) ;
  else { ares_query(rem.chan, rem.dests[di].name.s, ns_c_in, ns_t_mx, &mx_cb, lk) ; metrics_dns(1) ; }
}
