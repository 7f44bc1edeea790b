/* ferry-spawn-remote's destinations: one per domain, its route (control/smtproutes or the
   domain's MX), its addresses and the deliveries that wait for them. */

#include <string.h>

#include <skalibs/genalloc.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/array.h>
#include <ferry/route.h>

#include <ferry/smtp_auth.h>
#include "spawn_remote.h"

int same_ip (ip46 const *a, ip46 const *b)
{
  return a->is6 == b->is6 && !memcmp(a->ip, b->ip, a->is6 ? 16 : 4) ;
}

 /* "name[ip]:port", as the texts and the log name a host; s has ADDR_FMT bytes. */
size_t addr_fmt (char *s, raddr const *a)
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

 /* A NUL that ends a stralloc's text is not part of it. */
static void unterminate (stralloc *sa)
{
  if (sa->len && !sa->s[sa->len - 1]) sa->len-- ;
}

 /* The destination's TLS policy (control/tlspolicy) and its route's credentials (control/smtpauth).
    routehost: the route's host as control/smtproutes writes it, or 0. */
static void dest_policy_set (dest *t, char const *routehost)
{
  stralloc user = STRALLOC_ZERO, pass = STRALLOC_ZERO ;
  char bare[256] ;
  char const *key = 0 ;
  t->routehost.len = t->match.len = 0 ;
  t->authplain64.len = t->authuser64.len = t->authpass64.len = 0 ;
  t->hascreds = 0 ;
  if (routehost)
  {
    size_t n = strlen(routehost) ;
    if (!stralloc_copyb(&t->routehost, routehost, n)) nomem() ;
    if (n && routehost[0] == '[' && routehost[n - 1] == ']') { routehost++ ; n -= 2 ; }
    if (n >= sizeof(bare)) n = sizeof(bare) - 1 ;
    memcpy(bare, routehost, n) ; bare[n] = 0 ;
    key = bare ;
  }
  {
    int r = tls_policy_find(rem.tlspolicy.s, rem.tlspolicy.len, t->name.s, key, &t->level, &t->match) ;
    if (r < 0) nomem() ;
    /* no line: DANE where a validating resolver is trusted */
    if (!r && rem.dnssec) t->level = TLS_DANE ;
  }
  unterminate(&t->match) ;
  if (!stralloc_0(&t->match)) nomem() ;   /* tls.c reads it as a string */
  t->match.len-- ;
  if (t->routehost.len)
  {
    int r ;
    if (!stralloc_0(&t->routehost)) nomem() ;
    t->routehost.len-- ;
    r = smtp_auth_find(rem.smtpauth.s, rem.smtpauth.len, t->routehost.s, &user, &pass) ;
    if (r < 0) nomem() ;
    if (r)
    {
      t->hascreds = 1 ;
      if (!smtp_auth_plain(user.s, pass.s, &t->authplain64) || !smtp_auth_b64(user.s, &t->authuser64) || !smtp_auth_b64(pass.s, &t->authpass64)) nomem() ;
      unterminate(&t->authplain64) ; unterminate(&t->authuser64) ; unterminate(&t->authpass64) ;
    }
  }
  /* the copies of the credentials are wiped before their memory goes */
  if (user.s) memset(user.s, 0, user.a) ;
  if (pass.s) memset(pass.s, 0, pass.a) ;
  stralloc_free(&user) ;
  stralloc_free(&pass) ;
}

void dest_resolve (unsigned int di)
{
  dest *t = rem.dests + di ;
  stralloc host = STRALLOC_ZERO ;
  uint16_t port = rem.smtpport ;
  t->state = DS_RESOLVING ;
  t->gen++ ;
  genalloc_setlen(raddr, &t->addrs, 0) ;
  t->lookups = 0 ;
  t->anytemp = 0 ;
  t->implicit = 0 ;
  t->mxsecure = 0 ;
  t->fromroute = 0 ;
  t->sts = -1 ;
  t->stswait = 0 ;
  t->dnserr.len = 0 ;
  t->mxnames.len = 0 ;
  t->shaped = 0 ;
  switch (ferry_route_find(rem.routes.s, rem.routes.len, t->name.s, &host, &port, rem.smtpport))
  {
    case 1 :
    {
      ip46 ip ;
      char *h = host.s ;
      size_t hl = strlen(h) ;
      dest_policy_set(t, h) ;
      t->fromroute = 1 ;
      t->mxsecure = 1 ;   /* the route is the administrator's: DANE applies if the host's addresses validate */
      if (h[0] == '[') { h[hl - 1] = 0 ; h++ ; hl -= 2 ; }
      if (ip46_scan(h, &ip) == hl)
      {
        dns_addr_add(t, &ip, port, 0, h, 0, -1) ;
        dns_lookups_done(t) ;
      }
      else
      {
        t->implicit = 2 ;
        t->lookups++ ;
        dns_addr_lookup(di, h, port, 0, dane_may(t)) ;
        t = rem.dests + di ;
        t->lookups-- ;
        dns_lookups_done(t) ;
      }
      break ;
    }
    case 0 :
      dest_policy_set(t, 0) ;
      t->lookups++ ;   /* until both lookups have started: an answer from a cache may come at once */
      dns_mx_lookup(di) ;
      if (rem.dests[di].level != TLS_NONE) sts_lookup(di) ;
      t = rem.dests + di ;
      t->lookups-- ;
      dns_lookups_done(t) ;
      break ;
    default : nomem() ;
  }
  stralloc_free(&host) ;
}

unsigned int dest_get (char const *name, size_t n)
{
  unsigned int i, freeslot = rem.ndests ;
  dest *t ;
  for (i = 0 ; i < rem.ndests ; i++)
  {
    if (!rem.dests[i].used) { if (freeslot == rem.ndests) freeslot = i ; continue ; }
    if (rem.dests[i].name.len == n + 1 && !memcmp(rem.dests[i].name.s, name, n)) return i ;
  }
  if (freeslot == rem.ndests) rem.dests = ferry_array_grow(rem.dests, &rem.ndests, sizeof(dest)) ;
  i = freeslot ;
  t = rem.dests + i ;
  t->used = 1 ;
  t->state = DS_NEW ;
  t->name.len = 0 ;
  if (!stralloc_catb(&t->name, name, n) || !stralloc_0(&t->name)) nomem() ;
  genalloc_setlen(raddr, &t->addrs, 0) ;
  t->active = 0 ;
  t->whead = t->wtail = -1 ;
  t->nwaiting = 0 ;
  t->shaped = 0 ;
  t->key = -1 ;
  return i ;
}

 /* Idle destinations are forgotten after their cache time. */
void dests_forget_idle (void)
{
  unsigned int i ;
  for (i = 0 ; i < rem.ndests ; i++)
  {
    dest *t = rem.dests + i ;
    if (t->used && !t->nwaiting && !t->active && t->state != DS_RESOLVING && !tain_future(&t->expires) && t->state != DS_NEW)
    {
      t->used = 0 ;
      t->state = DS_NEW ;
    }
  }
}

 /* New settings: routes may have changed, every destination is resolved again when it is next used. */
void dests_expire_all (void)
{
  unsigned int i ;
  /* the policy and credentials at once, for those being resolved too (by the route they had) */
  for (i = 0 ; i < rem.ndests ; i++) if (rem.dests[i].used && rem.dests[i].state != DS_NEW)
  {
    dest *t = rem.dests + i ;
    stralloc rh = STRALLOC_ZERO ;
    if (t->routehost.len && (!stralloc_copyb(&rh, t->routehost.s, t->routehost.len) || !stralloc_0(&rh))) nomem() ;
    dest_policy_set(t, rh.len ? rh.s : 0) ;
    stralloc_free(&rh) ;
  }
  for (i = 0 ; i < rem.ndests ; i++) if (rem.dests[i].used && rem.dests[i].state != DS_RESOLVING)
  {
    tain_copynow(&rem.dests[i].expires) ;
    if (rem.dests[i].state == DS_FAILED) rem.dests[i].state = DS_NEW ;
  }
}
