/* ferry-schedule, the message and recipient tables: slots handed out and given back, messages found by id. */

#include "schedule.h"

/* ---------- messages by id: open addressing, linear probing ---------- */

static unsigned int idhash (uint64_t id) { return (unsigned int)((id * 0x9e3779b97f4a7c15ULL) >> 32) ; }

int msg_find (uint64_t id)
{
  unsigned int i ;
  if (!sched.nidx) return -1 ;
  for (i = idhash(id) & (sched.nidx - 1) ; sched.idtab[i] ; i = (i + 1) & (sched.nidx - 1))
    if (sched.msgs[sched.idtab[i] - 1].id == id) return sched.idtab[i] - 1 ;
  return -1 ;
}

void idx_put (uint64_t id, unsigned int mi)
{
  unsigned int i ;
  if ((sched.usedidx + 1) * 2 > sched.nidx)
  {
    unsigned int *old = sched.idtab, oldn = sched.nidx, k ;
    sched.nidx = sched.nidx ? sched.nidx * 2 : 1024 ;
    sched.idtab = calloc(sched.nidx, sizeof(unsigned int)) ;
    if (!sched.idtab) strerr_diefu1sys(111, "allocate memory") ;
    sched.usedidx = 0 ;
    for (k = 0 ; k < oldn ; k++) if (old[k]) idx_put(sched.msgs[old[k] - 1].id, old[k] - 1) ;
    free(old) ;
  }
  for (i = idhash(id) & (sched.nidx - 1) ; sched.idtab[i] ; i = (i + 1) & (sched.nidx - 1)) ;
  sched.idtab[i] = mi + 1 ;
  sched.usedidx++ ;
}

void idx_del (uint64_t id)
{
  unsigned int i, j ;
  for (i = idhash(id) & (sched.nidx - 1) ; sched.idtab[i] ; i = (i + 1) & (sched.nidx - 1))
    if (sched.msgs[sched.idtab[i] - 1].id == id) break ;
  if (!sched.idtab[i]) return ;
  sched.idtab[i] = 0 ;
  sched.usedidx-- ;
  /* re-place the entries after it in its run */
  for (j = (i + 1) & (sched.nidx - 1) ; sched.idtab[j] ; j = (j + 1) & (sched.nidx - 1))
  {
    unsigned int mi = sched.idtab[j] - 1 ;
    sched.idtab[j] = 0 ;
    sched.usedidx-- ;
    idx_put(sched.msgs[mi].id, mi) ;
  }
}

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
