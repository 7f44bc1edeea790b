/* ferry-spawn-remote's DNS: the MX records of a destination, then its hosts' A and AAAA
   records, through c-ares; the addresses in the order they are tried. */

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
#include <skalibs/tai.h>

#include "spawn_remote.h"

 /* One query in flight: which destination (and which of its resolutions) it is for. */
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

void dns_addr_add (dest *t, ip46 const *ip, uint16_t port, unsigned int pref, char const *host)
{
  raddr a ;
  raddr const *v = genalloc_s(raddr, &t->addrs) ;
  size_t i, n = genalloc_len(raddr, &t->addrs) ;
  for (i = 0 ; i < n ; i++)
    if (v[i].port == port && same_ip(&v[i].ip, ip)) return ;
  a.ip = *ip ;
  a.port = port ;
  a.pref = pref ;
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
        dns_addr_add(t, &ip, lk->port, lk->pref, lk->host) ;
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

static lookup *lookup_new (unsigned int di, char const *host, uint16_t port, unsigned int pref)
{
  lookup *lk = malloc(sizeof(lookup)) ;
  if (!lk) nomem() ;
  lk->di = di ; lk->gen = rem.dests[di].gen ; lk->pref = pref ; lk->port = port ;
  strncpy(lk->host, host, sizeof(lk->host) - 1) ;
  lk->host[sizeof(lk->host) - 1] = 0 ;
  return lk ;
}

void dns_addr_lookup (unsigned int di, char const *host, uint16_t port, unsigned int pref)
{
  struct ares_addrinfo_hints hints ;
  lookup *lk = lookup_new(di, host, port, pref) ;
  memset(&hints, 0, sizeof(hints)) ;
  hints.ai_family = AF_UNSPEC ;
  hints.ai_socktype = SOCK_STREAM ;
  rem.dests[di].lookups++ ;
  ares_getaddrinfo(rem.chan, host, 0, &hints, &addr_cb, lk) ;
}

static void mx_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  lookup *lk = arg ;
  dest *t = rem.dests + lk->di ;
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
        unsigned int null = 0 ;
        for (m = mx ; m ; m = m->next) if (!m->host[0] || !strcmp(m->host, ".")) null++ ;
        if (null)
          dest_fail(t, 'D', "5.1.10 the domain publishes a null MX (RFC 7505): it accepts no mail: ", t->name.s) ;
        else
          for (m = mx ; m ; m = m->next) dns_addr_lookup(lk->di, m->host, rem.smtpport, m->priority) ;
        ares_free_data(mx) ;
      }
      else if (r == ARES_ENODATA) { t->implicit = 1 ; dns_addr_lookup(lk->di, t->name.s, rem.smtpport, 0) ; }
      else
      {
        t->anytemp = 1 ;
        dest_fail(t, 'H', "DNS: unable to parse the MX records of ", t->name.s) ;
      }
    }
    else if (status == ARES_ENODATA) { t->implicit = 1 ; dns_addr_lookup(lk->di, t->name.s, rem.smtpport, 0) ; }
    else if (status == ARES_ENOTFOUND) dest_fail(t, 'D', "5.1.2 no route: the domain does not exist: ", t->name.s) ;
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
  lookup *lk = lookup_new(di, "", rem.smtpport, 0) ;
  rem.dests[di].lookups++ ;
  ares_query(rem.chan, rem.dests[di].name.s, ns_c_in, ns_t_mx, &mx_cb, lk) ;
}
