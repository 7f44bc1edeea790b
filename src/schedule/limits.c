/* ferry-schedule, the limits of traffic shaping: each destination's key, the keys' limits when
   a recipient comes up (suspension, connections, the token bucket, the daily cap), and what wakes
   the recipients they hold (a delivery's end, a timer). A recipient a limit holds is parked: not
   deferred, nothing written, its next attempt unchanged (doc/ferry-schedule.html, "Traffic
   shaping"). */

#include "schedule.h"

#define NS 1000000000ULL

/* ---------- clocks and limits ---------- */

 /* A monotonic clock in nanoseconds (the loop's stopwatch), never 0. */
uint64_t shape_now (void)
{
  static uint64_t base = 0 ;
  tain_now_g() ;
  if (!base) base = STAMP.sec.x - 1 ;
  return (STAMP.sec.x - base) * NS + STAMP.nano ;
}

 /* The shaping day's number, from the precise clock that its timers use (time() may lag the
    second by a tick). */
uint64_t shape_today (void)
{
  struct timespec ts ;
  clock_gettime(CLOCK_REALTIME, &ts) ;
  return (uint64_t)ts.tv_sec / sched.shapingday ;
}

 /* When the next shaping day starts, on the monotonic clock. */
uint64_t nextday_at (uint64_t now)
{
  struct timespec ts ;
  uint64_t wall, next ;
  clock_gettime(CLOCK_REALTIME, &ts) ;
  wall = (uint64_t)ts.tv_sec * NS + ts.tv_nsec ;
  next = ((uint64_t)ts.tv_sec / sched.shapingday + 1) * sched.shapingday * NS ;
  return now + (next - wall) ;
}

unsigned int key_conf_conn (key const *K)
{
  return K->lim.connections ? K->lim.connections : sched.perdest ;
}

unsigned int key_conn (key const *K)
{
  unsigned int c = key_conf_conn(K) ;
  return K->lowered && K->conn < c ? K->conn : c ;
}

uint64_t key_rate (key const *K)
{
  return K->lowered && K->rate && K->rate < K->lim.rate ? K->rate : K->lim.rate ;
}

void key_retime (key *K)
{
  uint64_t r = key_rate(K) ;
  K->tb.interval = r ? bucket_interval(r, K->lim.rateunit) : 0 ;
  K->tb.burst = K->lim.burst ? K->lim.burst : 1 ;
}

void key_day (key *K)
{
  uint64_t today = shape_today() ;
  if (K->day != today) { K->day = today ; K->daysent = 0 ; }
}

/* ---------- keys: kept while something needs them ---------- */

void key_check (unsigned int k)
{
  key *K = sched.keys.a + k ;
  if (!K->name || K->refs || K->inflight || K->parked.n || K->waking || K->suspended || K->lowered) return ;
  if (K->daysent && K->day == shape_today()) return ;   /* its count of the day holds its cap */
  keys_free(&sched.keys, k) ;
  sched.snap.changed = 1 ;
}

void key_ref (int k) { if (k >= 0) sched.keys.a[k].refs++ ; }
void key_unref (int k) { if (k >= 0) { sched.keys.a[k].refs-- ; key_check(k) ; } }

static void key_park (unsigned int k, unsigned int ri)
{
  keys_park(&sched.keys, k, ri) ;
  sched.rcpts[ri].link = -3 ;
  sched.nparked++ ;
}

 /* Every recipient the key holds back to the ready list: its limits are no longer theirs. */
unsigned int key_release (unsigned int k)
{
  unsigned int n = 0 ;
  int ri ;
  while ((ri = keys_unpark(&sched.keys, k)) >= 0) if (sched.rcpts[ri].link == -3) { ready_push(ri) ; n++ ; }
  return n ;
}

 /* How many of its held recipients may go now. */
static unsigned int key_room (unsigned int k, uint64_t now)
{
  key *K = sched.keys.a + k ;
  unsigned int c = key_conn(K), room ;
  if (K->suspended || K->inflight >= c) return 0 ;
  room = c - K->inflight ;
  if (K->tb.interval)
  {
    unsigned int t = bucket_tokens(&K->tb, now) ;
    if (t < room) room = t ;
  }
  if (K->lim.daily)
  {
    key_day(K) ;
    if (K->daysent >= K->lim.daily) return 0 ;
    if (K->lim.daily - K->daysent < room) room = K->lim.daily - K->daysent ;
  }
  return room ;
}

 /* The key's timer: its next step up, and, while it holds recipients that only time lets go,
    the next token or the next day. pending: recipients let go that have not taken their token
    yet. */
void key_schedule (unsigned int k, uint64_t now, unsigned int pending)
{
  key *K = sched.keys.a + k ;
  uint64_t at = UINT64_MAX ;
  if (K->lowered) at = K->nextstep ;
  if (K->parked.n && !K->suspended && K->inflight + pending < key_conn(K))
  {
    bucket b = K->tb ;
    uint64_t t ;
    if (b.interval && pending) b.tat = (b.tat > now ? b.tat : now) + (uint64_t)pending * b.interval ;
    t = bucket_next(&b, now) ;
    if (t > now && t < at) at = t ;
    if (K->lim.daily)
    {
      key_day(K) ;
      if (K->daysent + pending >= K->lim.daily && (t = nextday_at(now)) < at) at = t ;
    }
  }
  if (at == UINT64_MAX) timeheap_del(&sched.keys.timers, k) ;
  else timeheap_set(&sched.keys.timers, k, at) ;
}

void key_wake_all (void)
{
  unsigned int k ;
  for (k = 0 ; k < sched.keys.top ; k++) if (sched.keys.a[k].name) keys_wake(&sched.keys, k) ;
}

 /* A message sent under key k: a token, one of the day, one of the last minute. */
static void key_charge (unsigned int k, uint64_t now)
{
  key *K = sched.keys.a + k ;
  persec_add(&K->sent, time(0)) ;
  if (K->tb.interval) bucket_take(&K->tb, now) ;
  key_day(K) ;
  K->daysent++ ;
  sched.daydirty = 1 ;
}

/* ---------- destinations and their keys ---------- */

void dest_park (unsigned int d, unsigned int ri)
{
  dests_park(&sched.dests, d, ri) ;
  sched.rcpts[ri].link = -3 ;
  sched.nparked++ ;
}

 /* Drops the destination if nothing keeps it (dests.h). A told domain's key is kept an hour from
    then: from its last use, not from when it was told. */
void dest_idle (unsigned int d)
{
  dest *e = sched.dests.a + d ;
  int k = e->key ;
  if (sched.shaping && e->known && !e->inflight && !e->failures && !e->parked.n && !e->waking)
  {
    int i = domains_find(&sched.domains, e->name) ;
    if (i >= 0) sched.domains.a[i].seen = time(0) ;
  }
  if (dests_drop_idle(&sched.dests, d)) key_unref(k) ;
}

 /* How many of its parked recipients may go back now. Under a key, all: the key holds them. */
unsigned int dest_room (unsigned int d)
{
  dest *e = sched.dests.a + d ;
  if (e->suspended) return 0 ;
  if (sched.shaping && !e->known) return e->inflight ? 0 : 1 ;
  if (e->key >= 0) return UINT_MAX ;
  return sched.perdest > e->inflight ? sched.perdest - e->inflight : 0 ;
}

 /* The destination goes under key k (-1: the domain alone): its deliveries out count there from
    now on, so the key's limits hold at once; what its old key held goes back to be looked at. */
void dest_setkey (unsigned int d, int k)
{
  dest *e = sched.dests.a + d ;
  int old = e->key ;
  unsigned int i ;
  if (old == k) return ;
  uint64_t now = 0 ;
  for (i = 0 ; i < sched.nflights ; i++)
  {
    flight *fl = sched.flights + i ;
    if (!fl->used || fl->ch != CH_REMOTE || fl->dest != d || fl->key == k) continue ;
    if (fl->key >= 0) sched.keys.a[fl->key].inflight-- ;
    else if (k >= 0)
    {
      /* sent before its key was known (a first contact): its token and its count of the day */
      if (!now) now = shape_now() ;
      key_charge(k, now) ;
    }
    fl->key = k ;
    if (k >= 0) { sched.keys.a[k].inflight++ ; fl->epoch = sched.keys.a[k].epoch ; }
  }
  key_ref(k) ;
  e->key = k ;
  if (old >= 0)
  {
    key_release(old) ;
    key_unref(old) ;
  }
  dests_wake(&sched.dests, d) ;
}

 /* The key of a told domain. */
static int domain_told (char const *dom, int *k)
{
  int i = domains_find(&sched.domains, dom) ;
  if (i < 0) return 0 ;
  *k = sched.domains.a[i].key ;
  return 1 ;
}

 /* A new destination: its key (told, or a key of the domain's own: lowered, suspended) and
    whether the domain is suspended. Nothing to look up without keys. */
void dest_attach (unsigned int d)
{
  dest *e = sched.dests.a + d ;
  int k = -1 ;
  e->attached = 1 ;
  if (sched.shaping && domain_told(e->name, &k)) e->known = 1 ;
  if (k < 0 && sched.keys.live) k = keys_find(&sched.keys, e->name) ;
  if (k >= 0) { e->key = k ; key_ref(k) ; }
  if (sched.nsuspdom)
  {
    int s = k >= 0 && !strcmp(sched.keys.a[k].name, e->name) ? k : keys_find(&sched.keys, e->name) ;
    e->suspended = s >= 0 && sched.keys.a[s].suspended ;
  }
}

 /* May recipient ri go to destination d now (its domain suspended, its key not told, or under
    a key)? When not, it is parked where what holds it wakes it. */
int shape_admit (unsigned int d, unsigned int ri)
{
  dest *e = sched.dests.a + d ;
  key *K ;
  if (e->suspended) { dest_park(d, ri) ; return 0 ; }
  if (sched.shaping && !e->known)
  {
    /* its first contact goes; the rest wait for the channel to tell the domain's key */
    if (e->inflight) { dest_park(d, ri) ; return 0 ; }
    return 1 ;
  }
  if (e->key < 0)
  {
    if (e->inflight >= sched.perdest) { dest_park(d, ri) ; return 0 ; }
    return 1 ;
  }
  K = sched.keys.a + e->key ;
  if (K->suspended || K->inflight >= key_conn(K)) { key_park(e->key, ri) ; return 0 ; }
  if (K->tb.interval || K->lim.daily)
  {
    uint64_t now = shape_now() ;
    int full = K->tb.interval && !bucket_tokens(&K->tb, now) ;
    if (!full && K->lim.daily) { key_day(K) ; full = K->daysent >= K->lim.daily ; }
    if (full) { key_park(e->key, ri) ; key_schedule(e->key, now, 0) ; return 0 ; }
  }
  return 1 ;
}

 /* A delivery sent under its key: one more out, and charged. */
void shape_sent (unsigned int fi)
{
  unsigned int k = sched.flights[fi].key ;
  sched.keys.a[k].inflight++ ;
  key_charge(k, sched.keys.a[k].tb.interval ? shape_now() : 0) ;
}

 /* Its answer: a slot of its key is free. */
void shape_answer (unsigned int fi)
{
  flight *fl = sched.flights + fi ;
  if (fl->key >= 0)
  {
    sched.keys.a[fl->key].inflight-- ;
    keys_wake(&sched.keys, fl->key) ;
    key_check(fl->key) ;
  }
  if (fl->firstcontact && sched.shaping && !sched.dests.a[fl->dest].known)
  {
    /* answered without a !shape (the channel knew the destination from before its table):
       the domain counts alone, rather than one delivery at a time */
    sched.dests.a[fl->dest].known = 1 ;
  }
}

/* ---------- the loop's part: timers and wake-ups ---------- */

void shape_wake (void)
{
  keytable *t = &sched.keys ;
  uint64_t now, at ;
  int k ;
  if (!t->timers.n && !t->nwake) return ;
  now = shape_now() ;
  while ((k = timeheap_top(&t->timers, &at)) >= 0 && at <= now)
  {
    timeheap_del(&t->timers, k) ;
    if (t->a[k].lowered && t->a[k].nextstep <= now) key_step(k, now) ;
    keys_wake(t, k) ;
    key_schedule(k, now, 0) ;
    key_check(k) ;
  }
  while ((k = keys_woken(t)) >= 0)
  {
    unsigned int room = key_room(k, now), moved = 0 ;
    while (moved < room)
    {
      int ri = keys_unpark(t, k) ;
      if (ri < 0) break ;
      if (sched.rcpts[ri].link != -3) continue ;   /* taken out another way meanwhile */
      ready_push(ri) ;
      moved++ ;
    }
    key_schedule(k, now, moved) ;
    key_check(k) ;
  }
}

