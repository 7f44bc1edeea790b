/* ferry-qstat: the queue in numbers: messages per stage, recipients per channel and state, and
   the age of the waiting recipients per destination domain (as Postfix's qshape shows); and
   the queue manager's shaping keys, from its metrics snapshot. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>


#include <ferry/addr.h>

#include "admin.h"

#define USAGE "ferry-qstat [ -j ] [ -n rows ] [ home ]"
#define NBUCKETS 11
 /* upper bounds in minutes; the last bucket is everything older */
static uint64_t const bound[NBUCKETS - 1] = { 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560 } ;
static char const *const bname[NBUCKETS] = { "5", "10", "20", "40", "80", "160", "320", "640", "1280", "2560", "2560+" } ;

typedef struct dom_s dom ;
struct dom_s
{
  char *name ;
  uint64_t total ;
  uint64_t b[NBUCKETS] ;
} ;

typedef struct stats_s stats ;
struct stats_s
{
  uint64_t now ;
  uint64_t msgs, newmsgs, held, bounce, deleting, damaged, bytes ;
  uint64_t rc[2][3] ;           /* [local, remote][pending, deferred, held] */
  dom *d ;
  unsigned int nd, ad ;
  dom all ;
} ;

static stralloc out = STRALLOC_ZERO ;
static void nomem (void) { strerr_diefu1sys(111, "allocate memory") ; }
static void cats (char const *s) { if (!stralloc_cats(&out, s)) nomem() ; }
static void catu (uint64_t u) { char f[UINT64_FMT] ; if (!stralloc_catb(&out, f, uint64_fmt(f, u))) nomem() ; }
static void catpad (char const *s, size_t w, int right)
{
  size_t n = strlen(s) ;
  if (right) while (n < w) { cats(" ") ; n++ ; }
  cats(s) ;
  if (!right) while (n < w) { cats(" ") ; n++ ; }
}
static void catupad (uint64_t u, size_t w)
{
  char f[UINT64_FMT] ;
  f[uint64_fmt(f, u)] = 0 ;
  catpad(f, w, 1) ;
}

 /* domains in a small open hash: the queue has few destinations compared to messages */
static unsigned int *tab = 0, ntab = 0 ;

static unsigned int hash (char const *s)
{
  unsigned int h = 5381 ;
  for (; *s ; s++) { char c = *s >= 'A' && *s <= 'Z' ? *s + 32 : *s ; h = h * 33 + (unsigned char)c ; }
  return h ;
}

static dom *dom_get (stats *st, char const *name)
{
  unsigned int i ;
  if ((st->nd + 1) * 2 > ntab)
  {
    unsigned int k, n = ntab ? ntab * 2 : 256 ;
    free(tab) ;
    tab = calloc(n, sizeof(unsigned int)) ;
    if (!tab) nomem() ;
    ntab = n ;
    for (k = 0 ; k < st->nd ; k++)
    {
      for (i = hash(st->d[k].name) & (ntab - 1) ; tab[i] ; i = (i + 1) & (ntab - 1)) ;
      tab[i] = k + 1 ;
    }
  }
  for (i = hash(name) & (ntab - 1) ; tab[i] ; i = (i + 1) & (ntab - 1))
    if (!strcasecmp(st->d[tab[i] - 1].name, name)) return st->d + tab[i] - 1 ;
  if (st->nd == st->ad)
  {
    st->ad = st->ad ? st->ad * 2 : 64 ;
    st->d = realloc(st->d, st->ad * sizeof(dom)) ;
    if (!st->d) nomem() ;
  }
  memset(st->d + st->nd, 0, sizeof(dom)) ;
  st->d[st->nd].name = strdup(name) ;
  if (!st->d[st->nd].name) nomem() ;
  /* lower case; control bytes from a damaged file never reach a terminal */
  for (char *p = st->d[st->nd].name ; *p ; p++)
  {
    if (*p >= 'A' && *p <= 'Z') *p += 32 ;
    else if ((unsigned char)*p < 32 || *p == 127) *p = '?' ;
  }
  tab[i] = ++st->nd ;
  return st->d + st->nd - 1 ;
}

static int count (qmsg const *m, void *data)
{
  stats *st = data ;
  unsigned int i, b ;
  uint64_t mins = (st->now > m->birth ? st->now - m->birth : 0) / 60 ;
  for (b = 0 ; b < NBUCKETS - 1 && mins >= bound[b] ; b++) ;
  st->msgs++ ;
  st->bytes += m->size ;
  if (!m->prepared) st->newmsgs++ ;
  if (m->held) st->held++ ;
  if (m->bounce) st->bounce++ ;
  if (m->deleting) st->deleting++ ;
  if (m->damage) st->damaged++ ;
  for (i = 0 ; i < m->n ; i++)
  {
    qrcpt const *r = m->r + i ;
    char const *at ;
    dom *d ;
    if (r->status != 'T') continue ;
    if (r->channel == 'L' || r->channel == 'R')
      st->rc[r->channel == 'R'][m->held ? 2 : r->next > st->now ? 1 : 0]++ ;
    at = ferry_addr_domain(r->addr) ;
    d = dom_get(st, *at ? at : "(no domain)") ;
    d->total++ ; d->b[b]++ ;
    st->all.total++ ; st->all.b[b]++ ;
  }
  return 0 ;
}

static int bytotal (void const *a, void const *b)
{
  dom const *x = a, *y = b ;
  return x->total < y->total ? 1 : x->total > y->total ? -1 : strcmp(x->name, y->name) ;
}

static void text_row (dom const *d, char const *name, size_t w)
{
  unsigned int b ;
  catpad(name, w, 0) ;
  catupad(d->total, 8) ;
  for (b = 0 ; b < NBUCKETS ; b++) catupad(d->b[b], 7) ;
  cats("\n") ;
}

static void json_row (dom const *d)
{
  unsigned int b ;
  cats("{\"total\":") ; catu(d->total) ; cats(",\"ages\":{") ;
  for (b = 0 ; b < NBUCKETS ; b++) { if (b) cats(",") ; cats("\"") ; cats(bname[b]) ; cats("\":") ; catu(d->b[b]) ; }
  cats("}}") ;
}

/* ---------- the shaping keys ---------- */

static int bywork (void const *a, void const *b)
{
  shapekey const *x = a, *y = b ;
  uint64_t wx = x->waiting + x->inflight, wy = y->waiting + y->inflight ;
  return wx < wy ? 1 : wx > wy ? -1 : strcmp(x->key, y->key) ;
}

 /* messages per second, in the unit that shows it best */
static void rate_fmt (char *buf, size_t n, double v)
{
  if (v >= 1 || v <= 0) snprintf(buf, n, "%.4g/s", v > 0 ? v : 0) ;
  else if (v * 60 >= 1) snprintf(buf, n, "%.4g/m", v * 60) ;
  else snprintf(buf, n, "%.4g/h", v * 3600) ;
}

static void catdouble (double v)
{
  char buf[64] ;
  snprintf(buf, sizeof buf, "%.6g", v) ;
  cats(buf) ;
}

static void shaping_json (shapekey const *k, unsigned int n, int have, uint64_t age)
{
  unsigned int i ;
  cats(",\"shaping_snapshot_age\":") ;
  if (have) catu(age) ; else cats("null") ;
  cats(",\"shaping\":[") ;
  for (i = 0 ; i < n ; i++)
  {
    if (i) cats(",") ;
    cats("{\"key\":") ; if (!json_cat(&out, k[i].key)) nomem() ;
    cats(",\"connections\":") ; catu(k[i].conn) ; cats(",\"connections_configured\":") ; catu(k[i].conf) ;
    cats(",\"inflight\":") ; catu(k[i].inflight) ; cats(",\"waiting\":") ; catu(k[i].waiting) ;
    cats(",\"rate_limit_per_second\":") ; if (k[i].hasratelimit) catdouble(k[i].ratelimit) ; else cats("null") ;
    cats(",\"rate_per_second\":") ; if (k[i].hasrate) catdouble(k[i].rate) ; else cats("null") ;
    cats(",\"suspended\":") ; cats(k[i].suspended ? "true" : "false") ;
    cats(",\"daily_sent\":") ; if (k[i].hasdaily) catu(k[i].dailysent) ; else cats("null") ;
    cats(",\"daily_cap\":") ; if (k[i].hascap) catu(k[i].dailycap) ; else cats("null") ;
    cats("}") ;
  }
  cats("]") ;
}

static void shaping_text (shapekey const *k, unsigned int n, int have, int why, uint64_t age, unsigned int rows)
{
  unsigned int i ;
  size_t w = 24 ;
  if (!have)
  {
    cats("\nshaping: the queue manager is not running (") ;
    if (why == ENOENT) cats("no metrics/schedule/metrics.prom") ;
    else if (!why) { cats("its last snapshot is ") ; catu(age) ; cats(" seconds old") ; }
    else { cats("metrics/schedule/metrics.prom: ") ; cats(strerror(why)) ; }
    cats(")\n") ;
    return ;
  }
  cats("\nshaping keys (the queue manager's snapshot, ") ; catu(age) ; cats(" s old)") ;
  if (!n) { cats(": none busy, none suspended, no table\n") ; return ; }
  cats(":\n") ;
  for (i = 0 ; i < n && i < rows ; i++) if (strlen(k[i].key) + 1 > w) w = strlen(k[i].key) + 1 ;
  catpad("key", w, 0) ; catpad("connections", 12, 1) ; catpad("out", 6, 1) ; catpad("limit", 11, 1) ; catpad("rate", 11, 1) ;
  catpad("waiting", 9, 1) ; catpad("daily", 16, 1) ; cats("\n") ;
  for (i = 0 ; i < n && i < rows ; i++)
  {
    char buf[64] ;
    size_t m ;
    catpad(k[i].key, w, 0) ;
    m = uint64_fmt(buf, k[i].conn) ; buf[m++] = '/' ; buf[m + uint64_fmt(buf + m, k[i].conf)] = 0 ;
    catpad(buf, 12, 1) ;
    catupad(k[i].inflight, 6) ;
    if (k[i].hasratelimit) rate_fmt(buf, sizeof buf, k[i].ratelimit) ; else memcpy(buf, "-", 2) ;
    catpad(buf, 11, 1) ;
    if (k[i].hasrate) rate_fmt(buf, sizeof buf, k[i].rate) ; else memcpy(buf, "-", 2) ;
    catpad(buf, 11, 1) ;
    catupad(k[i].waiting, 9) ;
    if (k[i].hascap)
    {
      m = uint64_fmt(buf, k[i].dailysent) ; buf[m++] = '/' ; buf[m + uint64_fmt(buf + m, k[i].dailycap)] = 0 ;
    }
    else if (k[i].hasdaily) buf[uint64_fmt(buf, k[i].dailysent)] = 0 ;
    else memcpy(buf, "-", 2) ;
    catpad(buf, 16, 1) ;
    if (k[i].suspended) cats("  suspended") ;
    cats("\n") ;
  }
  if (n > rows) { cats("(") ; catu(n - rows) ; cats(" more keys; -n to show more)\n") ; }
}

int main (int argc, char const *const *argv)
{
  stats st ;
  unsigned int split, rows = 20, i, b, nkeys = 0 ;
  int json = 0, have, why = 0 ;
  shapekey *keys = 0 ;
  uint64_t age = 0 ;
  memset(&st, 0, sizeof(st)) ;
  PROG = "ferry-qstat" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "jn:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'j' : json = 1 ; break ;
        case 'n' : if (!uint0_scan(l.arg, &rows)) strerr_dief1x(100, "-n wants a number of rows") ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc > 1) strerr_dieusage(100, USAGE) ;
  split = queue_enter(argc ? argv[0] : 0) ;
  st.now = time(0) ;
  if (qwalk(split, &count, &st) < 0) strerr_diefu1sys(111, "read the queue") ;
  if (st.nd) qsort(st.d, st.nd, sizeof(dom), &bytotal) ;
  have = shaping_read(&keys, &nkeys, &age) ;
  if (!have) why = errno ;
  if (why == ENOMEM) strerr_diefu1sys(111, "read metrics/schedule/metrics.prom") ;
  if (have && age >= METRICS_UP_SECONDS) { shaping_free(keys, nkeys) ; keys = 0 ; nkeys = 0 ; have = 0 ; }
  if (nkeys) qsort(keys, nkeys, sizeof(shapekey), &bywork) ;
  if (json)
  {
    cats("{\"messages\":") ; catu(st.msgs) ; cats(",\"bytes\":") ; catu(st.bytes) ;
    cats(",\"stages\":{\"new\":") ; catu(st.newmsgs) ; cats(",\"held\":") ; catu(st.held) ;
    cats(",\"notifications_pending\":") ; catu(st.bounce) ; cats(",\"deleting\":") ; catu(st.deleting) ;
    cats(",\"damaged\":") ; catu(st.damaged) ; cats("}") ;
    for (i = 0 ; i < 2 ; i++)
    {
      cats(i ? ",\"remote\":{" : ",\"local\":{") ;
      cats("\"pending\":") ; catu(st.rc[i][0]) ; cats(",\"deferred\":") ; catu(st.rc[i][1]) ; cats(",\"held\":") ; catu(st.rc[i][2]) ; cats("}") ;
    }
    cats(",\"age_minutes_upper_bounds\":[") ;
    for (b = 0 ; b < NBUCKETS ; b++) { if (b) cats(",") ; cats("\"") ; cats(bname[b]) ; cats("\"") ; }
    cats("],\"all\":") ; json_row(&st.all) ;
    cats(",\"domains\":{") ;
    for (i = 0 ; i < st.nd ; i++) { if (i) cats(",") ; if (!json_cat(&out, st.d[i].name)) nomem() ; cats(":") ; json_row(st.d + i) ; }
    cats("}") ;
    shaping_json(keys, nkeys, have, age) ;
    cats("}\n") ;
  }
  else
  {
    size_t w = 24 ;
    cats("messages ") ; catu(st.msgs) ; cats(" (") ; catu(st.bytes) ; cats(" bytes): new ") ; catu(st.newmsgs) ;
    cats(", held ") ; catu(st.held) ; cats(", notifications pending ") ; catu(st.bounce) ;
    cats(", being deleted ") ; catu(st.deleting) ; cats(", damaged ") ; catu(st.damaged) ; cats("\n") ;
    for (i = 0 ; i < 2 ; i++)
    {
      cats(i ? "remote recipients: pending " : "local recipients: pending ") ; catu(st.rc[i][0]) ;
      cats(", deferred ") ; catu(st.rc[i][1]) ; cats(", held ") ; catu(st.rc[i][2]) ; cats("\n") ;
    }
    cats("\nrecipients waiting, by destination domain and age in minutes (up to):\n") ;
    for (i = 0 ; i < st.nd && i < rows ; i++) if (strlen(st.d[i].name) + 1 > w) w = strlen(st.d[i].name) + 1 ;
    catpad("domain", w, 0) ; catpad("total", 8, 1) ;
    for (b = 0 ; b < NBUCKETS ; b++) catpad(bname[b], 7, 1) ;
    cats("\n") ;
    text_row(&st.all, "TOTAL", w) ;
    for (i = 0 ; i < st.nd && i < rows ; i++) text_row(st.d + i, st.d[i].name, w) ;
    if (st.nd > rows) { cats("(") ; catu(st.nd - rows) ; cats(" more domains; -n to show more)\n") ; }
    shaping_text(keys, nkeys, have, why, age, rows) ;
  }
  if (keys) shaping_free(keys, nkeys) ;
  if (buffer_putflush(buffer_1, out.s, out.len) < 0) strerr_diefu1sys(111, "write to stdout") ;
  return 0 ;
}
