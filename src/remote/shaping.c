/* ferry-spawn-remote's traffic shaping (doc/ferry-shaping.html): control/shaping.cdb, the key of
   each destination told to the queue manager ("!shaping", "!shape"), and what only connections
   can enforce per key: messages per connection, never more open connections than the key's
   connections, new connections per second, minute or hour. The keys are a hash by name: a
   delivery costs the same with 10,000 of them. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/select.h>
#include <ares.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>

#include <ferry/array.h>
#include <ferry/frame.h>
#include <ferry/shaping.h>

#include "spawn_remote.h"

#define TABLE "control/shaping.cdb"

typedef struct shkey_s shkey ;
struct shkey_s
{
  stralloc name ;         /* terminated */
  ferry_shaping sh ;      /* its limits, as the table had them when a destination last resolved to it */
  unsigned int open ;     /* its connections in every state but free */
  unsigned int idle ;     /* of which idle */
  tain token ;            /* newconns: when its bucket (of one token) is full again */
  int whead, wtail ;      /* the deliveries that wait for a connection, in order */
  char why ;              /* what the first of them waits for: 't' a token, 'c' a connection */
  int poked ;             /* a connection of the key went idle or closed since the last look */
  int waitpos ;           /* its place in waitkeys, -1 none */
  int next ;              /* the next key of its hash bucket, -1 none */
} ;

 /* The table in use, and the one settings_load prepares. */
typedef struct table_s table ;
struct table_s
{
  int on ;                /* the file exists: shaping is on */
  cdb c ;
  dev_t dev ;
  ino_t ino ;
  struct timespec mtime ;
} ;

static table cur = { .on = 0, .c = CDB_ZERO }, prep = { .on = 0, .c = CDB_ZERO } ;
static shkey *keys = 0 ;
static unsigned int nkeys = 0, akeys = 0 ;
static int *buckets = 0 ;
static unsigned int nbuckets = 0 ;
static unsigned int *waitkeys = 0 ;   /* the keys that have deliveries waiting */
static unsigned int nwaitkeys = 0, awaitkeys = 0 ;
static int serving = -1 ;             /* the waiting delivery shaping_pump is trying again */
static stralloc keyname = STRALLOC_ZERO ;

static uint32_t hash (char const *s, size_t n)
{
  uint32_t h = 2166136261u ;
  while (n--) { h ^= (unsigned char)*s++ ; h *= 16777619u ; }
  return h ;
}

static void buckets_make (unsigned int n)
{
  unsigned int i ;
  free(buckets) ;
  nbuckets = n ;
  buckets = malloc(n * sizeof(int)) ;
  if (!buckets) nomem() ;
  for (i = 0 ; i < n ; i++) buckets[i] = -1 ;
  for (i = 0 ; i < nkeys ; i++)
  {
    uint32_t b = hash(keys[i].name.s, keys[i].name.len) % n ;
    keys[i].next = buckets[b] ;
    buckets[b] = i ;
  }
}

 /* The key of that name, made if it is new. Keys are never forgotten: there are as many as
    the table has lines (and lines it had while the channel ran). */
static unsigned int key_get (char const *name, size_t n)
{
  uint32_t h = hash(name, n) ;
  shkey *y ;
  int i ;
  if (nbuckets)
    for (i = buckets[h % nbuckets] ; i >= 0 ; i = keys[i].next)
      if (keys[i].name.len == n && !memcmp(keys[i].name.s, name, n)) return i ;
  if (nkeys == akeys) keys = ferry_array_grow(keys, &akeys, sizeof(shkey)) ;
  y = keys + nkeys ;
  if (!stralloc_catb(&y->name, name, n) || !stralloc_0(&y->name)) nomem() ;
  y->name.len-- ;
  y->whead = y->wtail = -1 ;
  y->waitpos = -1 ;
  tain_copynow(&y->token) ;
  nkeys++ ;
  if (nkeys > nbuckets) buckets_make(nbuckets ? 2 * nbuckets : 64) ;
  else
  {
    y->next = buckets[h % nbuckets] ;
    buckets[h % nbuckets] = nkeys - 1 ;
  }
  return nkeys - 1 ;
}

static void frame (char const *a, char const *b, char const *c, char const *d)
{
  size_t mark ;
  if (!ferry_frame_begin(&rem.io.out, &mark) || !ferry_field_cats(&rem.io.out, a) || !ferry_field_cats(&rem.io.out, b)
   || (c && !ferry_field_cats(&rem.io.out, c)) || (d && !ferry_field_cats(&rem.io.out, d)) || !ferry_frame_end(&rem.io.out, mark)) nomem() ;
}

 /* The file as it is now into t (not on: there is none). 1, or 0 with errno. */
static int table_open (table *t)
{
  struct stat st ;
  t->on = 0 ;
  if (stat(TABLE, &st) < 0) return errno == ENOENT ;
  if (!cdb_init(&t->c, TABLE)) return errno == ENOENT ;
  t->on = 1 ;
  t->dev = st.st_dev ;
  t->ino = st.st_ino ;
  t->mtime = st.st_mtim ;
  return 1 ;
}

static void table_use (table *t)
{
  if (cur.on) cdb_free(&cur.c) ;
  cur = *t ;
  t->on = 0 ;
  frame("!shaping", cur.on ? "on" : "off", 0, 0) ;
}

int shaping_prepare (stralloc *why)
{
  shaping_discard() ;
  if (table_open(&prep)) return 1 ;
  if (!stralloc_cats(why, "unable to read " TABLE ": ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
  return 0 ;
}

void shaping_discard (void)
{
  if (prep.on) cdb_free(&prep.c) ;
  prep.on = 0 ;
}

void shaping_commit (void)
{
  table_use(&prep) ;
}

void shaping_check (void)
{
  struct stat st ;
  table t = { .on = 0, .c = CDB_ZERO } ;
  int there = stat(TABLE, &st) == 0 ;
  if (!there && errno != ENOENT) return ;
  if (there == cur.on && (!there || (st.st_dev == cur.dev && st.st_ino == cur.ino
   && st.st_mtim.tv_sec == cur.mtime.tv_sec && st.st_mtim.tv_nsec == cur.mtime.tv_nsec))) return ;
  if (!table_open(&t))
  {
    strerr_warnwu2sys("read " TABLE ", keeping the table in use", "") ;
    return ;
  }
  table_use(&t) ;
  strerr_warni(cur.on ? "control/shaping.cdb changed: every destination is resolved again" : "control/shaping.cdb is gone: shaping is off") ;
  dests_expire_all() ;
}

void shaping_mx_note (dest *t, struct ares_mx_reply const *mx)
{
  struct ares_mx_reply const *m ;
  unsigned int last = 0 ;
  int any = 1 ;
  t->mxnames.len = 0 ;
  /* preference order; hosts of equal preference in the order of the answer */
  while (any)
  {
    unsigned int low = 0 ;
    any = 0 ;
    for (m = mx ; m ; m = m->next)
      if ((!t->mxnames.len || m->priority > last) && (!any || m->priority < low)) { low = m->priority ; any = 1 ; }
    if (!any) break ;
    for (m = mx ; m ; m = m->next)
      if (m->priority == low && (!stralloc_cats(&t->mxnames, m->host) || !stralloc_0(&t->mxnames))) nomem() ;
    last = low ;
  }
}

void shaping_dest (unsigned int di)
{
  dest *t = rem.dests + di ;
  ferry_shaping sh ;
  stralloc text = STRALLOC_ZERO ;
  int r = 0 ;
  t->shaped = 1 ;
  t->key = -1 ;
  if (!cur.on) return ;
  r = ferry_shaping_find(&cur.c, t->name.s, t->fromroute ? t->routehost.s : 0, t->fromroute ? 0 : t->mxnames.s, t->fromroute ? 0 : t->mxnames.len, &keyname, &sh) ;
  if (r < 0)
  {
    if (errno == ENOMEM) nomem() ;
    strerr_warnw(TABLE " has a broken record: ", t->name.s, " is its own key") ;
  }
  if (r > 0)
  {
    unsigned int k = key_get(keyname.s, keyname.len) ;
    keys[k].sh = sh ;
    t->key = k ;
    if (!ferry_shaping_settings_fmt(&text, &sh)) nomem() ;
  }
  if (!stralloc_0(&text)) nomem() ;
  frame("!shape", t->name.s, r > 0 ? keyname.s : t->name.s, text.s) ;
  stralloc_free(&text) ;
}

static void waitkeys_add (unsigned int k)
{
  if (keys[k].waitpos >= 0) return ;
  if (nwaitkeys == awaitkeys) waitkeys = ferry_array_grow(waitkeys, &awaitkeys, sizeof(unsigned int)) ;
  keys[k].waitpos = nwaitkeys ;
  waitkeys[nwaitkeys++] = k ;
}

static void waitkeys_remove (unsigned int k)
{
  int p = keys[k].waitpos ;
  if (p < 0) return ;
  waitkeys[p] = waitkeys[--nwaitkeys] ;
  keys[waitkeys[p]].waitpos = p ;
  keys[k].waitpos = -1 ;
}

 /* The delivery waits on the key for a connection, behind the others (the one shaping_pump
    tries again: first again): 0. why: what it waits for, 0 for its turn. */
static int key_wait (unsigned int k, unsigned int di, char why)
{
  shkey *y = keys + k ;
  deliv *d = DELIV(di) ;
  if (serving == (int)di)
  {
    d->next = y->whead ;
    y->whead = di ;
    if (y->wtail < 0) y->wtail = di ;
  }
  else
  {
    d->next = -1 ;
    if (y->wtail >= 0) DELIV(y->wtail)->next = di ; else y->whead = di ;
    y->wtail = di ;
  }
  if (why) y->why = why ;
  waitkeys_add(k) ;
  return 0 ;
}

static void interval (tain *iv, uint64_t n, char unit)
{
  uint64_t ns = (uint64_t)ferry_shaping_unit_seconds(unit) * 1000000000u / n ;
  struct timespec ts = { .tv_sec = ns / 1000000000u, .tv_nsec = ns % 1000000000u } ;
  tain_relative_from_timespec(iv, &ts) ;
}

int shaping_connect (unsigned int di)
{
  int k = rem.dests[DELIV(di)->dest].key ;
  shkey *y ;
  if (k < 0) return 1 ;
  y = keys + k ;
  /* those that wait go first */
  if (y->whead >= 0 && serving != (int)di) return key_wait(k, di, 0) ;
  if (y->sh.connections && y->open >= y->sh.connections && !y->idle) return key_wait(k, di, 'c') ;
  if (y->sh.newconns && tain_future(&y->token)) return key_wait(k, di, 't') ;
  if (y->sh.connections && y->open >= y->sh.connections) conn_idle_close(k) ;
  if (y->sh.newconns)
  {
    tain iv ;
    interval(&iv, y->sh.newconns, y->sh.newconnsunit) ;
    tain_add_g(&y->token, &iv) ;
  }
  return 1 ;
}

void shaping_pump (void)
{
  unsigned int i = 0 ;
  while (i < nwaitkeys)
  {
    unsigned int k = waitkeys[i] ;
    shkey *y = keys + k ;
    if (!y->poked && !(y->why == 't' && !tain_future(&y->token))) { i++ ; continue ; }
    y->poked = 0 ;
    while (y->whead >= 0)
    {
      int di = y->whead ;
      y->whead = DELIV(di)->next ;
      if (y->whead < 0) y->wtail = -1 ;
      serving = di ;
      deliv_attach(di) ;
      serving = -1 ;
      y = keys + k ;
      if (y->whead == di) break ;   /* it waits again: so do those behind it */
    }
    if (y->whead < 0) waitkeys_remove(k) ;   /* waitkeys[i] is another key now */
    else i++ ;
  }
}

void shaping_deadline (tain *deadline)
{
  unsigned int i ;
  for (i = 0 ; i < nwaitkeys ; i++)
  {
    shkey const *y = keys + waitkeys[i] ;
    if (y->why == 't' && tain_future(&y->token) && tain_less(&y->token, deadline)) *deadline = y->token ;
  }
}

void shaping_conn_open (conn *c, int k)
{
  c->key = k ;
  c->idle = 0 ;
  c->mails = 0 ;
  if (k >= 0) keys[k].open++ ;
}

void shaping_conn_idle (conn *c, int idle)
{
  if (c->idle == idle) return ;
  c->idle = idle ;
  if (c->key < 0) return ;
  if (idle) { keys[c->key].idle++ ; keys[c->key].poked = 1 ; }
  else keys[c->key].idle-- ;
}

void shaping_conn_close (conn *c)
{
  shaping_conn_idle(c, 0) ;
  if (c->key >= 0)
  {
    keys[c->key].open-- ;
    keys[c->key].poked = 1 ;
  }
  c->key = -1 ;
}

int shaping_conn_spent (conn const *c)
{
  return c->key >= 0 && keys[c->key].sh.messages && c->mails >= keys[c->key].sh.messages ;
}
