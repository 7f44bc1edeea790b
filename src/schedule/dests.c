/* ferry-schedule's remote destinations: a table of entries, a hash of their names (open
   addressing, linear probing, at most half full), a stack of free slots and the wake list. */

#include <stdlib.h>
#include <string.h>

#include <skalibs/strerr.h>

#include <ferry/array.h>

#include "dests.h"

static unsigned char lower (unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c ; }

static unsigned int hash (char const *s)
{
  uint32_t h = 2166136261u ;
  for (; *s ; s++) h = (h ^ lower(*s)) * 16777619u ;
  return h ;
}

 /* Names are stored folded; dom is folded as it is compared. */
static int same (char const *name, char const *dom)
{
  for (; *dom ; name++, dom++) if (*name != (char)lower(*dom)) return 0 ;
  return !*name ;
}

static void tab_put (desttable *t, unsigned int d)
{
  unsigned int i ;
  for (i = hash(t->a[d].name) & (t->ntab - 1) ; t->tab[i] ; i = (i + 1) & (t->ntab - 1)) ;
  t->tab[i] = d + 1 ;
  t->usedtab++ ;
}

static void tab_grow (desttable *t)
{
  unsigned int *old = t->tab, oldn = t->ntab, k ;
  t->ntab = t->ntab ? t->ntab * 2 : 64 ;
  t->tab = calloc(t->ntab, sizeof(unsigned int)) ;
  if (!t->tab) strerr_diefu1sys(111, "allocate memory") ;
  t->usedtab = 0 ;
  for (k = 0 ; k < oldn ; k++) if (old[k]) tab_put(t, old[k] - 1) ;
  free(old) ;
}

int dests_find (desttable const *t, char const *dom)
{
  unsigned int i ;
  if (!t->ntab) return -1 ;
  for (i = hash(dom) & (t->ntab - 1) ; t->tab[i] ; i = (i + 1) & (t->ntab - 1))
    if (same(t->a[t->tab[i] - 1].name, dom)) return t->tab[i] - 1 ;
  return -1 ;
}

unsigned int dests_get (desttable *t, char const *dom)
{
  int found = dests_find(t, dom) ;
  size_t len = strlen(dom), k ;
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
  t->a[d].name = malloc(len + 1) ;
  if (!t->a[d].name) strerr_diefu1sys(111, "allocate memory") ;
  for (k = 0 ; k <= len ; k++) t->a[d].name[k] = lower(dom[k]) ;
  if ((t->usedtab + 1) * 2 > t->ntab) tab_grow(t) ;
  tab_put(t, d) ;
  return d ;
}

int dests_drop_idle (desttable *t, unsigned int d)
{
  dest *e = t->a + d ;
  unsigned int i, j ;
  if (!e->name || e->inflight || e->failures || e->parked.n || e->waking) return 0 ;
  for (i = hash(e->name) & (t->ntab - 1) ; t->tab[i] != d + 1 ; i = (i + 1) & (t->ntab - 1)) ;
  t->tab[i] = 0 ;
  t->usedtab-- ;
  /* the entries after it in its run go where a look-up will find them */
  for (j = (i + 1) & (t->ntab - 1) ; t->tab[j] ; j = (j + 1) & (t->ntab - 1))
  {
    unsigned int k = t->tab[j] - 1 ;
    t->tab[j] = 0 ;
    t->usedtab-- ;
    tab_put(t, k) ;
  }
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
