/* ferry-schedule, the message and recipient tables: slots handed out and given back, messages found by id. */

#include "schedule.h"

/* ---------- messages by id (idindex.h) ---------- */

uint64_t msg_id (void const *ctx, unsigned int mi) { return ((schedule const *)ctx)->msgs[mi].id ; }

int msg_find (uint64_t id) { return idindex_find(&sched.ids, id) ; }

/* ---------- slots: the recipient and message tables ---------- */

 /* Doubles a table without touching the new slots: pages no slot has used yet stay unmapped, so
    the memory a queue costs follows its size, not the table's (slots are set when handed out). */
static void *table_grow (void *p, unsigned int *cap, size_t size)
{
  unsigned int m = *cap ? *cap * 2 : 64 ;
  void *q = realloc(p, (size_t)m * size) ;
  if (!q) strerr_diefu1sys(111, "allocate memory") ;
  *cap = m ;
  return q ;
}

 /* A free slot: the most recently freed, else the next never used. The recipients' free list is
    threaded through link (no memory of its own), kept over gensetdyn (a 4-byte free-list entry
    for every slot): queue_bench, medians of 3, 203 bytes a recipient either way, within the
    noise; biglist_bench 0.43 s against 0.46 s for 1M recipients. */

unsigned int rcpt_alloc (void)
{
  unsigned int ri ;
  if (sched.freercpt >= 0)
  {
    ri = sched.freercpt ;
    sched.freercpt = sched.rcpts[ri].link ;
    return ri ;
  }
  if (sched.rcpttop == sched.nrcpts) sched.rcpts = table_grow(sched.rcpts, &sched.nrcpts, sizeof(rcpt)) ;
  return sched.rcpttop++ ;
}

#define MSGS_MAX 16000000

unsigned int msg_alloc (void)
{
  uint32_t mi ;
  /* gensetdyn hands a grown table's new slots out lowest first: every slot below msgtop has
     been a message once, its used bit set or cleared (gensetdyn does not zero slots) */
  /* skalibs sizes a gensetdyn's storage in 32 bits: its slots stop well before that */
  if (sched.msgtop >= MSGS_MAX && !genalloc_len(uint32_t, &sched.msgset.freelist))
    strerr_dief1x(111, "more messages in memory at once than ferry-schedule can hold (16,000,000)") ;
  if (!gensetdyn_new(&sched.msgset, &mi)) strerr_diefu1sys(111, "allocate memory") ;
  sched.msgs = GENSETDYN_P(msg, &sched.msgset, 0) ;
  if (mi >= sched.msgtop) sched.msgtop = mi + 1 ;
  return mi ;
}

void msg_free (unsigned int mi)
{
  if (!gensetdyn_delete(&sched.msgset, mi)) strerr_diefu1sys(111, "free a message slot") ;
}

char *xstrdup (char const *s, size_t n)
{
  char *p = malloc(n + 1) ;
  if (!p) strerr_diefu1sys(111, "allocate memory") ;
  memcpy(p, s, n) ;
  p[n] = 0 ;
  return p ;
}

void append_or_die (genalloc *g, void const *p, size_t size)
{
  if (!stralloc_catb(g, (char const *)p, size)) strerr_diefu1sys(111, "allocate memory") ;
}

void push_or_die (genqdyn *q, void const *p)
{
  if (!genqdyn_push(q, p)) strerr_diefu1sys(111, "allocate memory") ;
}
