/* ferry-spawn-remote's MTA-STS (RFC 8461): the "_mta-sts" TXT record of a destination looked up
   with its MX records; the policy read from the cache that ferry-mtasts-fetch owns (mtasts/DOMAIN);
   a fetch run in the background when the record names a policy the cache does not hold. A
   destination with no usable policy in the cache waits for the fetch (bounded by the fetcher's
   alarm); one with a policy goes on with it while a newer one is fetched. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <ares.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>

#include <ferry/mta_sts.h>

#include "spawn_remote.h"
#include "remote_metrics.h"

#define FETCH_MAX 16          /* fetches at once; more wait their turn */
#define FAILED_MAX 1024
#define FAIL_WAIT 300         /* seconds a domain whose fetch failed is not fetched again */
#define REFRESH_AFTER 86400   /* a cached policy older than this is fetched again in the background */
#define CACHE_MAX 131072      /* a cache file larger than this is not read */
#define DOMAIN_MAX 253

typedef struct fetch_s fetch ;
struct fetch_s { pid_t pid ; char domain[DOMAIN_MAX + 1] ; } ;

typedef struct failed_s failed ;
struct failed_s { char domain[DOMAIN_MAX + 1] ; tain until ; } ;

typedef struct txtq_s txtq ;
struct txtq_s { unsigned int di, gen ; } ;

static fetch running[FETCH_MAX] ;
static unsigned int nrunning = 0 ;
static stralloc queued = STRALLOC_ZERO ;   /* domains waiting for a fetch slot, each terminated */
static failed fails[FAILED_MAX] ;
static unsigned int nfails = 0 ;

 /* A domain whose name can be a file name in mtasts/: ASCII letters, digits, - and _, labels
    separated by single dots. Others (IDNs in UTF-8 among them) get no MTA-STS. */
static int name_ok (char const *s)
{
  size_t i, n = strlen(s) ;
  if (!n || n > DOMAIN_MAX || s[0] == '.' || s[n - 1] == '.') return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (c == '.') { if (s[i + 1] == '.') return 0 ; }
    else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0 ;
  }
  return 1 ;
}

 /* The destination's domain as MTA-STS names it: without a final dot; 0 if it cannot have a
    policy here (name_ok). */
static char const *sts_domain (dest const *t, char *dom)
{
  size_t n = t->name.len ? t->name.len - 1 : 0 ;   /* name.len counts its NUL */
  if (n && t->name.s[n - 1] == '.') n-- ;
  if (n > DOMAIN_MAX) return 0 ;
  memcpy(dom, t->name.s, n) ;
  dom[n] = 0 ;
  return name_ok(dom) ? dom : 0 ;
}

static int failed_recently (char const *domain)
{
  unsigned int i ;
  for (i = 0 ; i < nfails ; i++)
    if (!strcmp(fails[i].domain, domain)) return tain_future(&fails[i].until) ;
  return 0 ;
}

static void failed_mark (char const *domain)
{
  unsigned int i, oldest = 0 ;
  for (i = 0 ; i < nfails ; i++)
  {
    if (!strcmp(fails[i].domain, domain)) break ;
    if (tain_less(&fails[i].until, &fails[oldest].until)) oldest = i ;
  }
  if (i == nfails)
  {
    if (nfails < FAILED_MAX) i = nfails++ ;
    else i = oldest ;
    strcpy(fails[i].domain, domain) ;
  }
  tain_addsec_g(&fails[i].until, FAIL_WAIT) ;
}

static int fetch_spawn (char const *domain)
{
  char const *argv[] = { "bin/ferry-mtasts-fetch", domain, 0 } ;
  pid_t pid = child_run(argv, rem.mtaststime + 5) ;
  if (!pid) return 0 ;
  running[nrunning].pid = pid ;
  strcpy(running[nrunning].domain, domain) ;
  nrunning++ ;
  return 1 ;
}

 /* 2: a fetch of the domain is running; 1: it will, when a slot is free; 0: none (it failed a
    moment ago, or no fork). */
static int fetch_start (char const *domain)
{
  unsigned int i ;
  size_t pos ;
  for (i = 0 ; i < nrunning ; i++) if (!strcmp(running[i].domain, domain)) return 2 ;
  for (pos = 0 ; pos < queued.len ; pos += strlen(queued.s + pos) + 1)
    if (!strcmp(queued.s + pos, domain)) return 1 ;
  if (failed_recently(domain)) return 0 ;
  if (nrunning < FETCH_MAX) return fetch_spawn(domain) ? 2 : 0 ;
  if (!stralloc_cats(&queued, domain) || !stralloc_0(&queued)) nomem() ;
  return 1 ;
}

 /* The cached policy of t, into t->stspolicy: 1 if it is there and unexpired (id and fetched
    set), else 0. */
static int cache_read (dest *t, char *id, uint64_t *fetched)
{
  char fn[DOMAIN_MAX + 8] ;
  char dom[DOMAIN_MAX + 1] ;
  stralloc sa = STRALLOC_ZERO, why = STRALLOC_ZERO ;
  char const *body ;
  size_t bodylen ;
  int fd, r = 0 ;
  ssize_t n ;
  if (!sts_domain(t, dom)) return 0 ;
  memcpy(fn, "mtasts/", 7) ;
  strcpy(fn + 7, dom) ;
  fd = open(fn, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) ;
  if (fd < 0)
  {
    if (errno != ENOENT) strerr_warnwu2sys("read ", fn) ;
    return 0 ;
  }
  if (!stralloc_ready(&sa, CACHE_MAX + 1)) nomem() ;
  n = allread(fd, sa.s, CACHE_MAX + 1) ;
  fd_close(fd) ;
  if (n < 0 || n > CACHE_MAX) { strerr_warnwu2x("read the MTA-STS cache file ", fn) ; goto end ; }
  sa.len = n ;
  r = ferry_sts_cache_parse(sa.s, sa.len, id, fetched, &body, &bodylen, &t->stspolicy, &why) ;
  if (r < 0) nomem() ;
  if (!r) { strerr_warnw4x("the MTA-STS cache file ", fn, " is damaged and ignored: ", why.s) ; goto end ; }
  r = *fetched + t->stspolicy.max_age > (uint64_t)time(0) ;
 end:
  stralloc_free(&sa) ;
  stralloc_free(&why) ;
  return r ;
}

 /* The policy of t as the cache holds it now, or none. */
static void cache_use (dest *t)
{
  char id[33] ;
  uint64_t fetched ;
  if (cache_read(t, id, &fetched) && t->stspolicy.mode != STS_MODE_NONE)
  {
    t->sts = t->stspolicy.mode ;
    memcpy(t->stsid, id, sizeof(t->stsid)) ;
  }
  else t->sts = -1 ;
}

 /* What the TXT record says (txtid: the policy it names, or 0: none, or the lookup failed). */
static void sts_decide (unsigned int di, char const *txtid)
{
  dest *t = rem.dests + di ;
  char id[33], dom[DOMAIN_MAX + 1] ;
  uint64_t fetched ;
  int valid = cache_read(t, id, &fetched) ;
  if (!sts_domain(t, dom)) return ;
  if (valid && (!txtid || !strcmp(id, txtid)))
  {
    /* the policy of the cache; refreshed in the background when it is old (RFC 8461 10.2): past
       half its life, or a day */
    uint64_t half = t->stspolicy.max_age / 2 ;
    if (txtid && (uint64_t)time(0) - fetched > (half < REFRESH_AFTER ? half : REFRESH_AFTER)) fetch_start(dom) ;
  }
  else if (txtid)
  {
    /* a policy the cache does not hold: fetched; waited for if there is none to use meanwhile
       and the fetch runs now (one that waits for a slot is not waited for: the wait stays bounded) */
    int started = fetch_start(dom) ;
    if (!valid)
    {
      if (started == 2) { t->stswait = 1 ; t->lookups++ ; }
      return ;
    }
  }
  else return ;
  if (t->stspolicy.mode != STS_MODE_NONE)
  {
    t->sts = t->stspolicy.mode ;
    memcpy(t->stsid, id, sizeof(t->stsid)) ;
  }
}

static void txt_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  txtq *q = arg ;
  dest *t = rem.dests + q->di ;
  (void)timeouts ;
  if (q->di < rem.ndests && t->used && t->gen == q->gen && t->state == DS_RESOLVING)
  {
    char id[33] ;
    int nsts = 0, good = 0 ;
    struct ares_txt_ext *txt = 0 ;
    if (status == ARES_SUCCESS && ares_parse_txt_reply_ext(abuf, alen, &txt) == ARES_SUCCESS)
    {
      /* a record is the concatenation of its strings; exactly one STSv1 record, or no policy (RFC 8461 3.1) */
      stralloc rec = STRALLOC_ZERO ;
      struct ares_txt_ext *x ;
      for (x = txt ; x ; x = x->next)
      {
        if (x->record_start) rec.len = 0 ;
        if (!stralloc_catb(&rec, (char const *)x->txt, x->length)) nomem() ;
        if (!x->next || x->next->record_start)
        {
          char rid[33] ;
          int r = ferry_sts_txt(rec.s, rec.len, rid) ;
          if (r) nsts++ ;
          if (r > 0) { good = 1 ; memcpy(id, rid, sizeof(id)) ; }
        }
      }
      stralloc_free(&rec) ;
      ares_free_data(txt) ;
    }
    sts_decide(q->di, nsts == 1 && good ? id : 0) ;
    t = rem.dests + q->di ;
    t->lookups-- ;
    dns_lookups_done(t) ;
  }
  free(q) ;
}

void sts_lookup (unsigned int di)
{
  dest *t = rem.dests + di ;
  char name[DOMAIN_MAX + 11], dom[DOMAIN_MAX + 1] ;
  txtq *q ;
  if (!sts_domain(t, dom)) return ;
  q = malloc(sizeof(txtq)) ;
  if (!q) nomem() ;
  q->di = di ;
  q->gen = t->gen ;
  memcpy(name, "_mta-sts.", 9) ;
  strcpy(name + 9, dom) ;
  t->lookups++ ;
  ares_query(rem.chan, name, ns_c_in, ns_t_txt, &txt_cb, q) ;
  metrics_dns(1) ;
}

void sts_child_done (pid_t pid, int wstat)
{
  unsigned int i, k ;
  char domain[DOMAIN_MAX + 1] ;
  for (i = 0 ; i < nrunning ; i++) if (running[i].pid == pid) break ;
  if (i == nrunning) return ;
  strcpy(domain, running[i].domain) ;
  running[i] = running[--nrunning] ;
  if (!WIFEXITED(wstat) || WEXITSTATUS(wstat))
  {
    failed_mark(domain) ;
    if (!WIFEXITED(wstat)) strerr_warnw3x("ferry-mtasts-fetch ", domain, ": killed (it took longer than control/timeoutmtasts)") ;
  }
  /* the destinations that waited for it take what the cache holds now */
  for (k = 0 ; k < rem.ndests ; k++)
  {
    dest *t = rem.dests + k ;
    char dom[DOMAIN_MAX + 1] ;
    if (!t->used || t->state != DS_RESOLVING || !t->stswait || !sts_domain(t, dom) || strcmp(dom, domain)) continue ;
    t->stswait = 0 ;
    cache_use(t) ;
    t->lookups-- ;
    dns_lookups_done(t) ;
  }
  /* the next that waited for a slot */
  while (queued.len && nrunning < FETCH_MAX)
  {
    char next[DOMAIN_MAX + 1] ;
    size_t l = strlen(queued.s) ;
    memcpy(next, queued.s, l + 1) ;
    memmove(queued.s, queued.s + l + 1, queued.len - l - 1) ;
    queued.len -= l + 1 ;
    fetch_spawn(next) ;   /* nobody waits for a fetch that waited for its slot */
  }
}

 /* enforce (RFC 8461 4.1): only the MX hosts the policy names, but those DANE authenticates
    (DANE wins where it applies, section 2). The number of addresses left. */
unsigned int sts_filter (dest *t)
{
  raddr *v = genalloc_s(raddr, &t->addrs) ;
  unsigned int i, n = genalloc_len(raddr, &t->addrs), kept = 0 ;
  for (i = 0 ; i < n ; i++)
  {
    tlsa_entry const *e = v[i].secure ? tlsa_entry_of(v + i) : 0 ;
    if ((e && e->state == TLSA_RECORDS && e->usable) || ferry_sts_mx_match(&t->stspolicy, v[i].host)) v[kept++] = v[i] ;
  }
  genalloc_setlen(raddr, &t->addrs, kept) ;
  return kept ;
}
