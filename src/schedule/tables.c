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

 /* A free slot: the most recently freed, else the next never used. */

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

unsigned int msg_alloc (void)
{
  if (sched.nfreemsgs) return sched.freemsgs[--sched.nfreemsgs] ;
  if (sched.msgtop == sched.nmsgs) sched.msgs = table_grow(sched.msgs, &sched.nmsgs, sizeof(msg)) ;
  return sched.msgtop++ ;
}

void msg_free (unsigned int mi)
{
  if (sched.nfreemsgs == sched.afreemsgs) sched.freemsgs = table_grow(sched.freemsgs, &sched.afreemsgs, sizeof(unsigned int)) ;
  sched.freemsgs[sched.nfreemsgs++] = mi ;
}

char *xstrdup (char const *s, size_t n)
{
  char *p = malloc(n + 1) ;
  if (!p) strerr_diefu1sys(111, "allocate memory") ;
  memcpy(p, s, n) ;
  p[n] = 0 ;
  return p ;
}
