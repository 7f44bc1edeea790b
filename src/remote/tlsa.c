/* ferry-spawn-remote's TLSA records (DANE, RFC 7672): "_PORT._tcp.HOST" asked of the validating
   resolvers of control/dnssecservers with the AD bit, each answer kept for its TTL, so that a
   drain to a host costs one lookup per TTL whatever the number of its messages and domains. */

#include <ctype.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <sys/select.h>
#include <ares.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/array.h>
#include <ferry/dns_wire.h>

#include "spawn_remote.h"

#define TTL_MIN 10          /* seconds: an answer is kept at least this long */
#define TTL_MAX 86400       /* and at most this long */
#define TTL_NEGATIVE 300    /* a secure denial (no records) */
#define TTL_FAILED 30       /* a failed lookup: asked again soon, not at every delivery */
#define FORGET_AFTER 600    /* an entry expired this long ago goes */

typedef struct waiter_s waiter ;
struct waiter_s { unsigned int di, gen ; } ;

 /* The usable records: DANE-TA(2) or DANE-EE(3), selector 0 or 1, matching type 0, 1 (SHA-256)
    or 2 (SHA-512) (RFC 7672 3.1: PKIX-TA(0) and PKIX-EE(1) are not used for SMTP). */
int tlsa_usable (ferry_tlsa const *t)
{
  if (!(t->usage == 2 || t->usage == 3) || t->selector > 1) return 0 ;
  /* a digest of the wrong length is malformed: unusable (RFC 7672 3.1) */
  switch (t->mtype)
  {
    case 0 : return t->len > 0 ;
    case 1 : return t->len == 32 ;
    case 2 : return t->len == 64 ;
    default : return 0 ;
  }
}

static unsigned int usable_count (stralloc const *recs)
{
  size_t pos = 0 ;
  unsigned int n = 0 ;
  ferry_tlsa t ;
  while (ferry_tlsa_next(recs->s, recs->len, &pos, &t) > 0)
    if (tlsa_usable(&t)) n++ ;
  return n ;
}

static void entry_set (tlsa_entry *e, int state, unsigned int ttl, char const *why)
{
  if (ttl < TTL_MIN) ttl = TTL_MIN ;
  if (ttl > TTL_MAX) ttl = TTL_MAX ;
  e->state = state ;
  e->usable = state == TLSA_RECORDS ? usable_count(&e->recs) : 0 ;
  e->why.len = 0 ;
  if (why && (!stralloc_cats(&e->why, why) || !stralloc_0(&e->why))) nomem() ;
  tain_addsec_g(&e->expires, ttl) ;
}

 /* The answer: every destination that waited for it goes on. */
static void tlsa_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  unsigned int i = (unsigned int)(uintptr_t)arg ;
  tlsa_entry *e = rem.tlsas + i ;
  ferry_dns_head h ;
  (void)timeouts ;
  if (i >= rem.ntlsas || !e->looking) return ;
  e->looking = 0 ;
  if (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND)
  {
    if (abuf && ferry_dns_head_parse(abuf, alen, &h))
    {
      uint32_t ttl = TTL_MAX ;
      int r ;
      e->recs.len = 0 ;
      r = ferry_dns_tlsa(abuf, alen, &e->recs, &ttl) ;
      if (r == -2) nomem() ;
      if (h.rcode == 2) entry_set(e, TLSA_FAILED, TTL_FAILED, "SERVFAIL (a DNSSEC validation failure, or the servers failed)") ;
      else if (h.rcode != 0 && h.rcode != 3) entry_set(e, TLSA_FAILED, TTL_FAILED, "the resolver refused the query") ;
      else if (r < 0) entry_set(e, TLSA_FAILED, TTL_FAILED, "malformed answer") ;
      else if (!h.ad) { e->recs.len = 0 ; entry_set(e, TLSA_INSECURE, r ? ttl : TTL_NEGATIVE, 0) ; }
      else if (r > 0) entry_set(e, TLSA_RECORDS, ttl, 0) ;
      else entry_set(e, TLSA_NONE, TTL_NEGATIVE, 0) ;
    }
    else entry_set(e, TLSA_FAILED, TTL_FAILED, "no answer") ;
  }
  else if (status == ARES_EBADNAME) entry_set(e, TLSA_NONE, TTL_NEGATIVE, 0) ;   /* longer than a name can be: no records */
  else if (status == ARES_ESERVFAIL) entry_set(e, TLSA_FAILED, TTL_FAILED, "SERVFAIL (a DNSSEC validation failure, or the servers failed)") ;
  else if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) entry_set(e, TLSA_FAILED, 0, ares_strerror(status)) ;
  else entry_set(e, TLSA_FAILED, TTL_FAILED, ares_strerror(status)) ;
  {
    waiter const *w = genalloc_s(waiter, &e->waiters) ;
    unsigned int k, n = genalloc_len(waiter, &e->waiters) ;
    genalloc_setlen(waiter, &e->waiters, 0) ;
    for (k = 0 ; k < n ; k++)
    {
      dest *t = rem.dests + w[k].di ;
      if (w[k].di >= rem.ndests || !t->used || t->gen != w[k].gen || t->state != DS_RESOLVING) continue ;
      t->lookups-- ;
      dns_lookups_done(t) ;
    }
  }
}

static unsigned int entry_find (char const *name)
{
  unsigned int i, freeslot = rem.ntlsas ;
  tain old ;
  tain_addsec_g(&old, -FORGET_AFTER) ;
  for (i = 0 ; i < rem.ntlsas ; i++)
  {
    tlsa_entry *e = rem.tlsas + i ;
    if (e->name.len && !strcmp(e->name.s, name)) return i ;
    if (freeslot == rem.ntlsas && (!e->name.len || (!e->looking && tain_less(&e->expires, &old)))) freeslot = i ;
  }
  if (freeslot == rem.ntlsas)
  {
    rem.tlsas = ferry_array_grow(rem.tlsas, &rem.ntlsas, sizeof(tlsa_entry)) ;   /* the new slots zeroed */
  }
  {
    tlsa_entry *e = rem.tlsas + freeslot ;
    e->name.len = 0 ;
    if (!stralloc_cats(&e->name, name) || !stralloc_0(&e->name)) nomem() ;
    e->state = TLSA_UNKNOWN ;
    e->looking = 0 ;
    e->recs.len = 0 ;
    e->usable = 0 ;
    tain_copynow(&e->expires) ;
    genalloc_setlen(waiter, &e->waiters, 0) ;
  }
  return freeslot ;
}

#define TLSA_NAME_MAX 300

 /* "_PORT._tcp.HOST" in name (TLSA_NAME_MAX bytes), lower case, without a final dot. */
static void tlsa_name (char *name, char const *host, uint16_t port)
{
  size_t k, n, hl = strlen(host) ;
  name[0] = '_' ;
  n = 1 + uint16_fmt(name + 1, port) ;
  memcpy(name + n, "._tcp.", 6) ; n += 6 ;
  if (hl && host[hl - 1] == '.') hl-- ;
  if (hl > TLSA_NAME_MAX - n - 1) hl = TLSA_NAME_MAX - n - 1 ;
  for (k = 0 ; k < hl ; k++) name[n + k] = tolower((unsigned char)host[k]) ;
  name[n + hl] = 0 ;
}

int tlsa_want (unsigned int di, char const *host, uint16_t port)
{
  char name[TLSA_NAME_MAX] ;
  unsigned int i ;
  tlsa_entry *e ;
  tlsa_name(name, host, port) ;
  i = entry_find(name) ;
  e = rem.tlsas + i ;
  if (!e->looking && e->state != TLSA_UNKNOWN && tain_future(&e->expires)) return i ;
  {
    waiter w = { .di = di, .gen = rem.dests[di].gen } ;
    if (!genalloc_append(waiter, &e->waiters, &w)) nomem() ;
  }
  rem.dests[di].lookups++ ;
  if (!e->looking)
  {
    e->looking = 1 ;
    dns_send_ad(e->name.s, 52, &tlsa_cb, (void *)(uintptr_t)i) ;
  }
  return i ;
}

void tlsa_forget_all (void)
{
  unsigned int i ;
  /* the answers stay for the destinations that hold them until they are resolved again (as at
     the end of a TTL), and every next one asks anew; the lookups under way are gone with their
     channel */
  for (i = 0 ; i < rem.ntlsas ; i++)
  {
    tlsa_entry *e = rem.tlsas + i ;
    e->looking = 0 ;
    genalloc_setlen(waiter, &e->waiters, 0) ;
    tain_copynow(&e->expires) ;
  }
}

tlsa_entry const *tlsa_entry_of (raddr const *a)
{
  char name[TLSA_NAME_MAX] ;
  tlsa_entry const *e ;
  if (a->tlsa < 0 || (unsigned int)a->tlsa >= rem.ntlsas) return 0 ;
  e = rem.tlsas + a->tlsa ;
  /* the slot may have gone to another name since */
  tlsa_name(name, a->host, a->port) ;
  return e->name.len && !strcmp(e->name.s, name) ? e : 0 ;
}
