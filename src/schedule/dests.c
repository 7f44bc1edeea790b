/* ferry-schedule's remote destinations: a table of entries, a hash of their names (namehash.c),
   a stack of free slots and the wake list. */

#include <stdlib.h>
#include <string.h>

#include <skalibs/strerr.h>

#include <ferry/array.h>

#include "dests.h"

static char const *dest_name (void const *ctx, unsigned int i) { return ((desttable const *)ctx)->a[i].name ; }

 /* the hash, told where the names are (DESTTABLE_ZERO cannot name its own table) */
static namehash *names (desttable *t)
{
  t->names.name = &dest_name ; t->names.ctx = t ;
  return &t->names ;
}

int dests_find (desttable *t, char const *dom)
{
  return namehash_find(names(t), dom) ;
}

unsigned int dests_get (desttable *t, char const *dom)
{
  int found = dests_find(t, dom) ;
  unsigned int d ;
  if (found >= 0) return found ;
  if (t->nfreed) d = t->freed[--t->nfreed] ;
  else
  {
    if (t->top == t->n) t->a = ferry_array_grow(t->a, &t->n, sizeof(dest)) ;
    d = t->top++ ;
  }
  memset(t->a + d, 0, sizeof(dest)) ;
  t->a[d].key = -1 ;
  t->a[d].name = namehash_fold(dom) ;
  namehash_put(names(t), d) ;
  return d ;
}

int dests_drop_idle (desttable *t, unsigned int d)
{
  dest *e = t->a + d ;
  if (!e->name || e->inflight || e->failures || e->parked.n || e->waking) return 0 ;
  namehash_del(names(t), d) ;
  free(e->name) ;
  idring_free(&e->parked) ;
  memset(e, 0, sizeof(dest)) ;
  if (t->nfreed == t->afreed) t->freed = ferry_array_grow(t->freed, &t->afreed, sizeof(unsigned int)) ;
  t->freed[t->nfreed++] = d ;
  return 1 ;
}

void dests_park (desttable *t, unsigned int d, unsigned int ri)
{
  idring_push(&t->a[d].parked, ri) ;
}

int dests_unpark (desttable *t, unsigned int d)
{
  idring *r = &t->a[d].parked ;
  unsigned int ri ;
  if (!r->n) return -1 ;
  ri = idring_pop(r) ;
  if (!r->n) idring_free(r) ;   /* a domain that had a burst gives its ring back */
  return (int)ri ;
}

void dests_wake (desttable *t, unsigned int d)
{
  if (t->a[d].waking || !t->a[d].parked.n) return ;
  if (t->nwake == t->awake) t->wake = ferry_array_grow(t->wake, &t->awake, sizeof(unsigned int)) ;
  t->wake[t->nwake++] = d ;
  t->a[d].waking = 1 ;
}

int dests_woken (desttable *t)
{
  unsigned int d ;
  if (!t->nwake) return -1 ;
  d = t->wake[--t->nwake] ;
  t->a[d].waking = 0 ;
  return (int)d ;
}
