/* ferry-schedule, traffic shaping: the remote channel's !shaping and !shape frames (!throttle:
   adaptive.c), the domains whose key it told, and the wait for its word at start. */

#include "schedule.h"

#define NS 1000000000ULL
#define SHAPING_WAIT 10         /* seconds the remote deliveries wait at start for the channel's !shaping */
#define DOMAINS_KEEP 3600       /* seconds a told domain is kept after its last !shape and its destination's end */
#define DOMAINS_MAX 100000      /* told domains kept at most; then those idle for DOMAINS_KEEP_FULL go */
#define DOMAINS_KEEP_FULL 120   /* (the channel forgets a destination idle for a minute, and tells it again) */

 /* The loop's deadline: the end of the wait at start, a key's timer, the day file's write. */
void shape_deadline (tain *deadline)
{
  uint64_t at ;
  tain a ;
  if (sched.shapinghold)
  {
    uint32_t now = time(0) ;
    tain_addsec_g(&a, sched.shapingwait > now ? (int)(sched.shapingwait - now) : 0) ;
    if (tain_less(&a, deadline)) *deadline = a ;
  }
  if (timeheap_top(&sched.keys.timers, &at) >= 0)
  {
    uint64_t now = shape_now(), rel = at > now ? at - now : 0 ;
    tain r = TAIN_ZERO ;
    r.sec.x = rel / NS ;
    r.nano = rel % NS ;
    tain_add_g(&a, &r) ;
    if (tain_less(&a, deadline)) *deadline = a ;
  }
  if (sched.daydirty)
  {
    uint32_t now = time(0) ;
    tain_addsec_g(&a, sched.daysaved + 10 > now ? (int)(sched.daysaved + 10 - now) : 0) ;
    if (tain_less(&a, deadline)) *deadline = a ;
  }
}

 /* At start, with control/shaping.cdb there, remote deliveries wait for the channel to say
    whether it shapes (a delivery sent before would escape its key's limits), SHAPING_WAIT
    seconds at most. */
void shape_start (void)
{
  if (access("control/shaping.cdb", F_OK) < 0) return ;
  sched.shapinghold = 1 ;
  sched.shapingwait = time(0) + SHAPING_WAIT ;
}

int shape_remote_ready (void)
{
  if (time(0) < sched.shapingwait) return 0 ;
  sched.shapinghold = 0 ;
  logs("ferry-schedule: warning: ferry-spawn-remote did not say whether it shapes traffic: taken as off") ; logend() ;
  return 1 ;
}

 /* SIGHUP: concurrencydestination, the default of a key's connections, may be higher. */
void shape_reread (void)
{
  key_wake_all() ;
}

/* ---------- the channel's frames ---------- */

static int same_limits (ferry_shaping const *a, ferry_shaping const *b)
{
  return a->connections == b->connections && a->rate == b->rate && a->rateunit == b->rateunit
   && a->burst == b->burst && a->daily == b->daily && a->messages == b->messages && a->newconns == b->newconns
   && a->newconnsunit == b->newconnsunit ;
}

 /* The key's limits from the channel's table (sh 0: none any more). */
static void key_configure (unsigned int k, ferry_shaping const *sh)
{
  static ferry_shaping const none = FERRY_SHAPING_ZERO ;
  key *K = sched.keys.a + k ;
  if (!sh && K->tabled) K->lowered = 0 ;   /* a table's key that is gone: its lowering with it */
  K->tabled = !!sh ;
  if (!sh) sh = &none ;
  if (same_limits(&K->lim, sh)) return ;
  if (K->lim.rateunit != sh->rateunit) K->rate = 0 ;
  K->lim = *sh ;
  if (K->lowered && K->lim.rate && (!K->rate || K->rate > K->lim.rate)) K->rate = K->lim.rate ;
  key_retime(K) ;
  keys_wake(&sched.keys, k) ;
  sched.snap.changed = 1 ;
}

static void domains_sweep (uint32_t keep)
{
  uint32_t now = time(0) ;
  unsigned int i ;
  for (i = 0 ; i < sched.domains.top ; i++)
  {
    domkey *dk = sched.domains.a + i ;
    int k ;
    if (!dk->name || dk->seen + keep > now || dests_find(&sched.dests, dk->name) >= 0) continue ;
    k = dk->key ;
    domains_free(&sched.domains, i) ;
    key_unref(k) ;
  }
  sched.domainswept = now ;
}

 /* !shaping on|off: the channel has a table, or none (every domain alone). */
static void shaping_set (int on)
{
  unsigned int d, i ;
  sched.shapinghold = 0 ;
  if (on == sched.shaping) return ;
  sched.shaping = on ;
  logs("ferry-schedule: ferry-spawn-remote: shaping ") ; logs(on ? "on" : "off") ; logend() ;
  sched.snap.changed = 1 ;
  if (on)
  {
    /* each domain's key is told when the channel resolves it; one delivery at a time until then */
    for (d = 0 ; d < sched.dests.top ; d++) if (sched.dests.a[d].name) sched.dests.a[d].known = 0 ;
    return ;
  }
  for (i = 0 ; i < sched.domains.top ; i++) if (sched.domains.a[i].name)
  {
    int k = sched.domains.a[i].key ;
    domains_free(&sched.domains, i) ;
    key_unref(k) ;
  }
  for (i = 0 ; i < sched.keys.top ; i++) if (sched.keys.a[i].name && sched.keys.a[i].tabled) key_configure(i, 0) ;
  for (d = 0 ; d < sched.dests.top ; d++) if (sched.dests.a[d].name)
  {
    dest *e = sched.dests.a + d ;
    e->known = 0 ;
    dest_setkey(d, keys_find(&sched.keys, e->name)) ;
  }
  for (i = 0 ; i < sched.keys.top ; i++) if (sched.keys.a[i].name) key_check(i) ;
}

 /* !shape DOMAIN KEY SETTINGS: the domain's key, told when the channel resolved it. */
static void shape_take (char const *dom, char const *name, char const *settings)
{
  ferry_shaping sh ;
  int k = -1, tk = -1, d ;
  uint32_t now = time(0) ;
  if (!sched.shaping || !dom[0]) return ;
  if (settings[0])
  {
    char const *why = name[0] ? ferry_shaping_settings(settings, strlen(settings), &sh) : "no key" ;
    if (why)
    {
      logs("ferry-schedule: warning: ferry-spawn-remote gave key ") ; logclean(name) ; logs(" bad settings (") ; logclean(why) ;
      logs("): ignored") ; logend() ;
      return ;
    }
    tk = k = keys_get(&sched.keys, name) ;
    key_configure(k, &sh) ;
  }
  else if ((k = keys_find(&sched.keys, dom)) >= 0 && sched.keys.a[k].tabled) key_configure(k, 0) ;
  if (sched.domains.live >= DOMAINS_MAX) domains_sweep(DOMAINS_KEEP_FULL) ;
  else if (now >= sched.domainswept + 300) domains_sweep(DOMAINS_KEEP) ;
  if (domains_find(&sched.domains, dom) >= 0 || sched.domains.live < DOMAINS_MAX)
  {
    unsigned int i = domains_get(&sched.domains, dom) ;
    if (sched.domains.a[i].key != tk)
    {
      int old = sched.domains.a[i].key ;
      key_ref(tk) ;
      sched.domains.a[i].key = tk ;
      key_unref(old) ;
    }
    sched.domains.a[i].seen = now ;
  }
  d = dests_find(&sched.dests, dom) ;
  if (d >= 0)
  {
    sched.dests.a[d].known = 1 ;
    dest_setkey(d, k) ;
    dests_wake(&sched.dests, d) ;
  }
  if (k >= 0) key_check(k) ;
  sched.snap.changed = 1 ;
}

int shape_frame (char const *p, size_t n)
{
  char const *f[5] ;
  int nf, shaping, shape, throttle ;
  if (!n || p[n - 1]) return 0 ;
  shaping = !strcmp(p, "!shaping") ; shape = !strcmp(p, "!shape") ; throttle = !strcmp(p, "!throttle") ;
  if (!shaping && !shape && !throttle) return 0 ;
  nf = ferry_fields_split(p, n, f, 5) ;
  if (shaping && nf == 2 && (!strcmp(f[1], "on") || !strcmp(f[1], "off"))) shaping_set(f[1][1] == 'n') ;
  else if (shape && nf == 4) shape_take(f[1], f[2], f[3]) ;
  else if (throttle && nf == 4) throttle_take(f[1], f[3]) ;
  else strerr_warnw("a malformed ", p, " frame from ferry-spawn-remote: ignored") ;
  return 1 ;
}
