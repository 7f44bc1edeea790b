/* ferry-schedule's metrics: the counters of its events and the shaping keys' state, as a
   Prometheus text snapshot, metrics/schedule/metrics.prom (ferry/metrics.h), written at most
   once a second while something changes, every 5 seconds anyway (its age says the queue manager
   runs), and at stop (ferry/metrics_snap.h). ferry-metrics serves it; ferry-qstat and ferry-qctl
   read it. */

#include <ferry/metrics.h>

#include "schedule.h"

static uint32_t const bound[DELAY_BOUNDS] = { 1, 5, 15, 60, 300, 900, 3600, 14400, 86400 } ;
static char const *const resultname[3] = { "success", "deferral", "failure" } ;

void metrics_result (int ch, unsigned int mi, int result, unsigned int n, uint32_t now)
{
  sched.c.results[ch][result] += n ;
  if (result == RESULT_SUCCESS)
  {
    uint32_t birth = sched.msgs[mi].birth, d = now > birth ? now - birth : 0 ;
    unsigned int b ;
    for (b = 0 ; b < DELAY_BOUNDS && d > bound[b] ; b++) ;
    sched.c.delay[ch][b] += n ;
    sched.c.delaysum[ch] += (uint64_t)d * n ;
  }
  sched.snap.changed = 1 ;
}

/* ---------- the text ---------- */

static void nomem (void) { strerr_diefu1sys(111, "allocate memory") ; }

static void family (stralloc *sa, char const *name, char const *type, char const *help)
{
  if (!ferry_prom_family(sa, name, type, help)) nomem() ;
}

static void sample (stralloc *sa, char const *name, char const *labels, uint64_t v)
{
  if (!ferry_prom_sample(sa, name, labels, v)) nomem() ;
}

static void sampled (stralloc *sa, char const *name, char const *labels, double v)
{
  if (!ferry_prom_sample_double(sa, name, labels, v)) nomem() ;
}

 /* 'k1="v1"' or 'k1="v1",k2="v2"' (k2 0: one label), in lab, null-terminated. */
static char const *labels (stralloc *lab, char const *k1, char const *v1, char const *k2, char const *v2)
{
  lab->len = 0 ;
  if (!ferry_prom_label(lab, k1, v1)) nomem() ;
  if (k2 && (!stralloc_catb(lab, ",", 1) || !ferry_prom_label(lab, k2, v2))) nomem() ;
  if (!stralloc_0(lab)) nomem() ;
  return lab->s ;
}

static void queue_part (stralloc *sa, stralloc *lab)
{
  static char const *const states[5] = { "ready", "deferred", "inflight", "held", "waiting" } ;
  unsigned int ch, s, b ;
  family(sa, "ferry_queue_messages", "gauge", "Messages in the queue manager's tables.") ;
  sample(sa, "ferry_queue_messages", "", sched.livemsgs) ;
  family(sa, "ferry_queue_recipients", "gauge", "Recipients to deliver, by channel and state: ready (due now), deferred (waiting for their next attempt), inflight, held (their message is held), waiting (held back by a limit or a suspension).") ;
  for (ch = 0 ; ch < 2 ; ch++)
  {
    uint64_t v[5] ;
    v[0] = sched.nready[ch] ;
    v[1] = sched.due.nch[ch] ;
    v[2] = sched.flyingr[ch] ;
    v[4] = ch == CH_REMOTE ? sched.nparked : 0 ;
    /* held: the open ones in none of the others (out of every list while their message is held) */
    v[3] = sched.opench[ch] > v[0] + v[1] + v[2] + v[4] ? sched.opench[ch] - v[0] - v[1] - v[2] - v[4] : 0 ;
    for (s = 0 ; s < 5 ; s++) sample(sa, "ferry_queue_recipients", labels(lab, "channel", chname[ch], "state", states[s]), v[s]) ;
  }
  family(sa, "ferry_deliveries_started_total", "counter", "Deliveries started (the log's \"starting delivery\" lines).") ;
  for (ch = 0 ; ch < 2 ; ch++) sample(sa, "ferry_deliveries_started_total", labels(lab, "channel", chname[ch], 0, 0), sched.c.started[ch]) ;
  family(sa, "ferry_recipient_results_total", "counter", "Recipients' delivery results; a deferral that expired counts as a failure.") ;
  for (ch = 0 ; ch < 2 ; ch++) for (s = 0 ; s < 3 ; s++)
    sample(sa, "ferry_recipient_results_total", labels(lab, "channel", chname[ch], "result", resultname[s]), sched.c.results[ch][s]) ;
  family(sa, "ferry_delivery_delay_seconds", "histogram", "Seconds from a message's arrival to a recipient's successful delivery.") ;
  for (ch = 0 ; ch < 2 ; ch++)
  {
    uint64_t cum = 0 ;
    for (b = 0 ; b <= DELAY_BOUNDS ; b++)
    {
      char f[UINT_FMT] ;
      cum += sched.c.delay[ch][b] ;
      if (b < DELAY_BOUNDS) f[uint_fmt(f, bound[b])] = 0 ; else memcpy(f, "+Inf", 5) ;
      sample(sa, "ferry_delivery_delay_seconds_bucket", labels(lab, "channel", chname[ch], "le", f), cum) ;
    }
    sample(sa, "ferry_delivery_delay_seconds_sum", labels(lab, "channel", chname[ch], 0, 0), sched.c.delaysum[ch]) ;
    sample(sa, "ferry_delivery_delay_seconds_count", lab->s, cum) ;
  }
  family(sa, "ferry_messages_loaded_total", "counter", "Messages loaded: at start and as they are prepared.") ;
  sample(sa, "ferry_messages_loaded_total", "", sched.c.loaded) ;
  family(sa, "ferry_messages_finished_total", "counter", "Messages finished, their files removed (the log's \"end msg\" lines).") ;
  sample(sa, "ferry_messages_finished_total", "", sched.c.finished) ;
  family(sa, "ferry_mark_syncs_total", "counter", "Syncs of the recipients' marks: one per round of the loop that changed some.") ;
  sample(sa, "ferry_mark_syncs_total", "", sched.c.marksyncs) ;
  family(sa, "ferry_bytes_delivered_total", "counter", "Message bytes (as sent on the wire) of the delivery requests with at least one success.") ;
  for (ch = 0 ; ch < 2 ; ch++) sample(sa, "ferry_bytes_delivered_total", labels(lab, "channel", chname[ch], 0, 0), sched.c.bytes[ch]) ;
}

/* ---------- the shaping keys ---------- */

 /* A key shown: an entry of the key table (k), and/or a destination (d), -1 when none. */
typedef struct row_s row ;
struct row_s { int k, d ; } ;

static row *rows_list (unsigned int *n)
{
  uint64_t today = shape_today() ;
  unsigned int i, m = 0 ;
  row *r = malloc(((size_t)sched.keys.top + sched.dests.top + 1) * sizeof(row)) ;
  if (!r) nomem() ;
  for (i = 0 ; i < sched.keys.top ; i++)
  {
    key const *K = sched.keys.a + i ;
    if (!K->name) continue ;
    if (!K->tabled && !K->suspended && !K->lowered && !K->inflight && !K->parked.n && !(K->daysent && K->day == today)) continue ;
    r[m].k = i ;
    r[m].d = strchr(K->name, ':') ? -1 : dests_find(&sched.dests, K->name) ;
    m++ ;
  }
  /* the domains alone, with no entry, while they have something out or waiting */
  for (i = 0 ; i < sched.dests.top ; i++)
  {
    dest const *e = sched.dests.a + i ;
    if (!e->name || (!e->inflight && !e->parked.n) || e->key >= 0 || keys_find(&sched.keys, e->name) >= 0) continue ;
    r[m].k = -1 ;
    r[m].d = i ;
    m++ ;
  }
  *n = m ;
  return r ;
}

static char const *row_name (row const *r)
{
  return r->k >= 0 ? sched.keys.a[r->k].name : sched.dests.a[r->d].name ;
}

enum { V_INFLIGHT, V_WAITING, V_CONN, V_CONF, V_SUSPENDED, V_DAILY, V_NUMBERS } ;

static uint64_t row_value (row const *r, int what)
{
  key const *K = r->k >= 0 ? sched.keys.a + r->k : 0 ;
  dest const *e = r->d >= 0 ? sched.dests.a + r->d : 0 ;
  switch (what)
  {
    case V_INFLIGHT : return K ? K->inflight : e->inflight ;
    case V_WAITING : return (K ? K->parked.n : 0) + (e ? e->parked.n : 0) ;
    case V_CONN : return K ? key_conn(K) : sched.perdest ;
    case V_CONF : return K ? key_conf_conn(K) : sched.perdest ;
    case V_SUSPENDED : return K ? K->suspended : e->suspended ;
    case V_DAILY : return K && K->day == shape_today() ? K->daysent : 0 ;
  }
  return 0 ;
}

static void keys_part (stralloc *sa, stralloc *lab)
{
  static struct { char const *name, *help ; int what ; } const g[] =
  {
    { "ferry_shaping_inflight", "Deliveries out under the shaping key.", V_INFLIGHT },
    { "ferry_shaping_waiting", "Recipients the key's limits or a suspension hold back.", V_WAITING },
    { "ferry_shaping_connections", "The key's deliveries at once now (lowered after a throttling reply).", V_CONN },
    { "ferry_shaping_connections_configured", "The key's connections setting (else control/concurrencydestination).", V_CONF },
    { "ferry_shaping_suspended", "1 while the key (or domain) is suspended.", V_SUSPENDED },
    { "ferry_shaping_daily_sent", "Messages sent under the key this shaping day.", V_DAILY },
  } ;
  unsigned int n, i, j, s ;
  row *r = rows_list(&n) ;
  uint32_t now = time(0) ;
  for (j = 0 ; j < sizeof(g) / sizeof(g[0]) ; j++)
  {
    family(sa, g[j].name, "gauge", g[j].help) ;
    for (i = 0 ; i < n ; i++)
    {
      if (g[j].what == V_DAILY && r[i].k < 0) continue ;
      sample(sa, g[j].name, labels(lab, "key", row_name(r + i), 0, 0), row_value(r + i, g[j].what)) ;
    }
  }
  family(sa, "ferry_shaping_rate_limit_per_second", "gauge", "The key's rate now, in messages per second (lowered after a throttling reply); keys with a rate.") ;
  for (i = 0 ; i < n ; i++) if (r[i].k >= 0 && sched.keys.a[r[i].k].lim.rate)
  {
    key const *K = sched.keys.a + r[i].k ;
    sampled(sa, "ferry_shaping_rate_limit_per_second", labels(lab, "key", K->name, 0, 0), (double)key_rate(K) / ferry_shaping_unit_seconds(K->lim.rateunit)) ;
  }
  family(sa, "ferry_shaping_rate_per_second", "gauge", "Messages sent under the key in the last 60 seconds, divided by 60.") ;
  for (i = 0 ; i < n ; i++) if (r[i].k >= 0)
    sampled(sa, "ferry_shaping_rate_per_second", labels(lab, "key", row_name(r + i), 0, 0), (double)persec_sum(&sched.keys.a[r[i].k].sent, now) / 60.0) ;
  family(sa, "ferry_shaping_daily_cap", "gauge", "The key's daily setting: messages per shaping day; keys with one.") ;
  for (i = 0 ; i < n ; i++) if (r[i].k >= 0 && sched.keys.a[r[i].k].lim.daily)
    sample(sa, "ferry_shaping_daily_cap", labels(lab, "key", row_name(r + i), 0, 0), sched.keys.a[r[i].k].lim.daily) ;
  family(sa, "ferry_shaping_results_total", "counter", "Recipients' delivery results under the key.") ;
  for (i = 0 ; i < n ; i++) if (r[i].k >= 0) for (s = 0 ; s < 3 ; s++)
    sample(sa, "ferry_shaping_results_total", labels(lab, "key", row_name(r + i), "result", resultname[s]), sched.keys.a[r[i].k].results[s]) ;
  family(sa, "ferry_shaping_throttles_total", "counter", "Throttling replies from the key's hosts.") ;
  for (i = 0 ; i < n ; i++) if (r[i].k >= 0)
    sample(sa, "ferry_shaping_throttles_total", labels(lab, "key", row_name(r + i), 0, 0), sched.keys.a[r[i].k].throttles) ;
  free(r) ;
}

/* ---------- the snapshot ---------- */

int metrics_fill (stralloc *sa)
{
  stralloc lab = STRALLOC_ZERO ;
  queue_part(sa, &lab) ;
  keys_part(sa, &lab) ;
  stralloc_free(&lab) ;
  return 1 ;
}
