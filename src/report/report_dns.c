/* report_rua_lookup: the TLSRPT record of a domain (_smtp._tls.DOMAIN TXT) through c-ares, one
   query at a time in a small iopause loop with a deadline. */

#include <string.h>
#include <sys/select.h>
#include <arpa/nameser.h>
#include <ares.h>

#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/dns_servers.h>
#include <ferry/tlsrpt.h>

#include "report.h"

int report_dns_open (void **chan, stralloc *why)
{
  struct ares_options o ;
  ares_channel c ;
  stralloc csv = STRALLOC_ZERO ;
  int r, dnssec = 0 ;
  why->len = 0 ;
  memset(&o, 0, sizeof(o)) ;
  o.timeout = 3000 ;
  o.tries = 3 ;
  if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS || ares_init_options(&c, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS)
  {
    if (!stralloc_cats(why, "unable to initialize c-ares") || !stralloc_0(why)) why->len = 0 ;
    return 0 ;
  }
  r = ferry_dns_servers(&csv, &dnssec, why) ;
  if (r < 0)
  {
    why->len = 0 ;
    if (!stralloc_cats(why, "out of memory") || !stralloc_0(why)) why->len = 0 ;
  }
  else if (r && csv.len > 1 && ares_set_servers_ports_csv(c, csv.s) != ARES_SUCCESS)
  {
    why->len = 0 ;
    if (!stralloc_cats(why, dnssec ? "bad value in control/dnssecservers" : "bad value in control/dnsservers")
     || !stralloc_cats(why, ": write one ip, ip:port or [ip6]:port per line") || !stralloc_0(why)) why->len = 0 ;
    r = 0 ;
  }
  stralloc_free(&csv) ;
  if (r <= 0) { ares_destroy(c) ; return 0 ; }
  *chan = c ;
  return 1 ;
}

void report_dns_close (void *chan)
{
  ares_destroy((ares_channel)chan) ;
  ares_library_cleanup() ;
}

typedef struct query_s query ;
struct query_s
{
  int done ;
  int result ;                 /* report_rua_lookup's */
  char const *name ;
  stralloc *rua ;
  stralloc *why ;
} ;

static void say (query *q, int result, char const *a, char const *b)
{
  q->done = 1 ;
  q->result = result ;
  q->why->len = 0 ;
  if (!stralloc_cats(q->why, a) || !stralloc_cats(q->why, b) || !stralloc_0(q->why))
  {
    q->why->len = 0 ;
    q->result = -1 ;
  }
}

 /* The TXT RRs of the answer, each one's strings joined, given to ferry_tlsrpt_txt: exactly one
    v=TLSRPTv1 record, and a good one, gives its rua. */
static void txt_take (query *q, unsigned char const *abuf, int alen)
{
  struct ares_txt_ext *txt = 0, *t ;
  stralloc rec = STRALLOC_ZERO, rua = STRALLOC_ZERO ;
  unsigned int good = 0, bad = 0 ;
  int r = ares_parse_txt_reply_ext(abuf, alen, &txt) ;
  if (r == ARES_ENODATA) { say(q, 0, "no TXT record at ", q->name) ; return ; }
  if (r != ARES_SUCCESS) { say(q, -1, "unable to parse the answer about ", q->name) ; return ; }
  for (t = txt ; t ; )
  {
    int k ;
    rec.len = 0 ;
    do
    {
      if (!stralloc_catb(&rec, (char const *)t->txt, t->length)) { say(q, -1, "out of memory", "") ; goto end ; }
      t = t->next ;
    } while (t && !t->record_start) ;
    rua.len = 0 ;
    k = ferry_tlsrpt_txt(rec.s ? rec.s : "", rec.len, &rua) ;
    if (k < -1) { say(q, -1, "out of memory", "") ; goto end ; }
    if (k > 0 && !good && !bad)
      if (!stralloc_copyb(q->rua, rua.s, rua.len)) { say(q, -1, "out of memory", "") ; goto end ; }
    if (k > 0) good++ ;
    else if (k < 0) bad++ ;
  }
  if (good + bad > 1) say(q, 0, "more than one v=TLSRPTv1 record at ", q->name) ;
  else if (bad) say(q, 0, "a malformed v=TLSRPTv1 record at ", q->name) ;
  else if (!good) say(q, 0, "no v=TLSRPTv1 record at ", q->name) ;
  else say(q, 1, "", "") ;
 end:
  stralloc_free(&rec) ;
  stralloc_free(&rua) ;
  ares_free_data(txt) ;
}

static void txt_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  query *q = arg ;
  (void)timeouts ;
  if (q->done) return ;
  if (status == ARES_SUCCESS) txt_take(q, abuf, alen) ;
  else if (status == ARES_ENOTFOUND || status == ARES_ENODATA) say(q, 0, "no TXT record at ", q->name) ;
  else if (status == ARES_EBADNAME) say(q, 0, "not a name DNS can look up: ", q->name) ;
  else
  {
    stralloc *why = q->why ;
    say(q, -1, "lookup of ", q->name) ;
    if (q->why->len)
    {
      why->len-- ;
      if (!stralloc_cats(why, ": ") || !stralloc_cats(why, ares_strerror(status)) || !stralloc_0(why)) why->len = 0 ;
    }
  }
}

int report_rua_lookup (void *chan, char const *domain, unsigned int secs, stralloc *rua, stralloc *why)
{
  ares_channel c = chan ;
  char name[12 + strlen(domain)] ;
  query q = { .done = 0, .result = -1, .name = name, .rua = rua, .why = why } ;
  tain deadline ;
  memcpy(name, "_smtp._tls.", 11) ;
  memcpy(name + 11, domain, strlen(domain) + 1) ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, secs) ;
  ares_query(c, name, ns_c_in, ns_t_txt, &txt_cb, &q) ;
  while (!q.done)
  {
    iopause_fd x[ARES_GETSOCK_MAXNUM] ;
    ares_socket_t socks[ARES_GETSOCK_MAXNUM] ;
    unsigned int n = 0, i ;
    int bits = ares_getsock(c, socks, ARES_GETSOCK_MAXNUM) ;
    tain until = deadline ;
    for (i = 0 ; i < ARES_GETSOCK_MAXNUM ; i++)
    {
      short ev = 0 ;
      /* as in ferry-spawn-remote: c-ares's writable bits are read unsigned */
      if ((unsigned int)bits & (1u << i)) ev |= IOPAUSE_READ ;
      if ((unsigned int)bits & (1u << (i + ARES_GETSOCK_MAXNUM))) ev |= IOPAUSE_WRITE ;
      if (!ev) continue ;
      x[n].fd = socks[i] ; x[n].events = ev ; n++ ;
    }
    {
      struct timeval tv, *tvp = ares_timeout(c, 0, &tv) ;
      if (tvp)
      {
        tain a, t ;
        tain_from_millisecs(&a, tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1) ;
        tain_add_g(&t, &a) ;
        if (tain_less(&t, &until)) until = t ;
      }
    }
    if (iopause_g(x, n, &until) < 0)
    {
      ares_cancel(c) ;
      if (!q.done) say(&q, -1, "iopause failed during the lookup of ", name) ;
      break ;
    }
    for (i = 0 ; i < n ; i++)
      if (x[i].revents)
        ares_process_fd(c, x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT) ? (ares_socket_t)x[i].fd : ARES_SOCKET_BAD,
                           x[i].revents & IOPAUSE_WRITE ? (ares_socket_t)x[i].fd : ARES_SOCKET_BAD) ;
    ares_process_fd(c, ARES_SOCKET_BAD, ARES_SOCKET_BAD) ;
    if (!q.done && !tain_future(&deadline))
    {
      q.done = 1 ;
      ares_cancel(c) ;
      say(&q, -1, "no answer in time about ", name) ;
    }
  }
  return q.result ;
}
