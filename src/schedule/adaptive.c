/* ferry-schedule, adaptive shaping: a throttling reply (the channel's !throttle) lowers its
   key's connections and rate; after control/shapingrecovery seconds without another, they rise
   a step every shapingrecovery seconds back to the key's limits, each change logged. */

#include "schedule.h"

#define NS 1000000000ULL

/* ---------- adaptive: lowered by a throttling reply, raised step by step ---------- */

static void lograte (uint64_t r, char unit)
{
  char u[3] = { '/', unit, 0 } ;
  logu(r) ; logs(u) ;
}

static void key_lower (unsigned int k, char const *text, uint64_t now)
{
  key *K = sched.keys.a + k ;
  unsigned int c = key_conn(K) ;
  uint64_t r = key_rate(K) ;
  K->conn = shape_lower_conn(c) ;
  K->rate = K->lim.rate ? shape_lower_rate(K->lim.rate, r) : 0 ;
  K->lowered = 1 ;
  K->epoch++ ;
  K->nextstep = now + sched.recovery * NS ;
  key_retime(K) ;
  key_schedule(k, now, 0) ;
  logs("shaping ") ; logclean(K->name) ; logs(": lowered: connections ") ; logu(c) ; logs(" -> ") ; logu(K->conn) ;
  if (K->lim.rate) { logs(", rate ") ; lograte(r, K->lim.rateunit) ; logs(" -> ") ; lograte(K->rate, K->lim.rateunit) ; }
  logs(": ") ; logclean(text) ; logend() ;
  sched.snap.changed = 1 ;
}

void key_step (unsigned int k, uint64_t now)
{
  key *K = sched.keys.a + k ;
  unsigned int conf = key_conf_conn(K), c = key_conn(K), nc = shape_raise_conn(conf, c) ;
  uint64_t r = key_rate(K), nr = K->lim.rate ? shape_raise_rate(K->lim.rate, r) : 0 ;
  if (nc != c || nr != r)
  {
    logs("shaping ") ; logclean(K->name) ; logs(": raised: connections ") ; logu(c) ; logs(" -> ") ; logu(nc) ;
    if (K->lim.rate) { logs(", rate ") ; lograte(r, K->lim.rateunit) ; logs(" -> ") ; lograte(nr, K->lim.rateunit) ; }
    logend() ;
  }
  K->conn = nc ;
  K->rate = nr ;
  if (nc >= conf && nr >= K->lim.rate)
  {
    K->lowered = 0 ;
    logs("shaping ") ; logclean(K->name) ; logs(": back to its limits") ; logend() ;
  }
  else K->nextstep = now + sched.recovery * NS ;
  key_retime(K) ;
  keys_wake(&sched.keys, k) ;
  sched.snap.changed = 1 ;
}

 /* !throttle DELIVERY DOMAIN TEXT: a host of the delivery's destination throttled it. */
void throttle_take (char const *num, char const *text)
{
  uint64_t fi ;
  flight *fl ;
  key *K ;
  if (uint640_scan(num, &fi) != strlen(num) || !num[0] || fi >= sched.nflights || !sched.flights[fi].used || sched.flights[fi].ch != CH_REMOTE)
  {
    strerr_warnw("a !throttle for no remote delivery out, from ferry-spawn-remote: ignored") ;
    return ;
  }
  fl = sched.flights + fi ;
  if (fl->throttled) return ;
  fl->throttled = 1 ;
  /* a domain alone gets a key of its own, which keeps its lowered limits */
  if (fl->key < 0) dest_setkey(fl->dest, keys_get(&sched.keys, sched.dests.a[fl->dest].name)) ;
  K = sched.keys.a + fl->key ;
  K->throttles++ ;
  sched.snap.changed = 1 ;
  if (fl->epoch < K->epoch) return ;   /* sent before its key's last lowering, which counted it */
  key_lower(fl->key, text, shape_now()) ;
}

