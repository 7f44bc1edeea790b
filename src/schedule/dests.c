/* ferry-schedule's remote destinations: a table of entries, a hash of their names (open
   addressing, linear probing, at most half full), a stack of free slots and the wake list. */

#include <stdlib.h>
#include <string.h>

#include <skalibs/strerr.h>

#include <ferry/array.h>

#include "dests.h"

dest *dests = 0 ;
unsigned int ndests = 0 ;

static unsigned int *tab = 0 ;          /* slots: entry index + 1, 0 empty */
static unsigned int ntab = 0, usedtab = 0 ;
static unsigned int *freed = 0 ;        /* free entries below top */
static unsigned int nfreed = 0, afreed = 0, top = 0 ;
static unsigned int *wake = 0 ;         /* a stack: the order entries wake in does not matter */
static unsigned int nwake = 0, awake = 0 ;

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

static void tab_put (unsigned int d)
{
  unsigned int i ;
  for (i = hash(dests[d].name) & (ntab - 1) ; tab[i] ; i = (i + 1) & (ntab - 1)) ;
  tab[i] = d + 1 ;
  usedtab++ ;
}

static void tab_grow (void)
{
  unsigned int *old = tab, oldn = ntab, k ;
  ntab = ntab ? ntab * 2 : 64 ;
  tab = calloc(ntab, sizeof(unsigned int)) ;
  if (!tab) strerr_diefu1sys(111, "allocate memory") ;
  usedtab = 0 ;
  for (k = 0 ; k < oldn ; k++) if (old[k]) tab_put(old[k] - 1) ;
  free(old) ;
}

int dests_find (char const *dom)
{
  unsigned int i ;
  if (!ntab) return -1 ;
  for (i = hash(dom) & (ntab - 1) ; tab[i] ; i = (i + 1) & (ntab - 1))
    if (same(dests[tab[i] - 1].name, dom)) return tab[i] - 1 ;
  return -1 ;
}

unsigned int dests_get (char const *dom)
{
  int found = dests_find(dom) ;
  size_t len = strlen(dom), k ;
  unsigned int d ;
  if (found >= 0) return found ;
  if (nfreed) d = freed[--nfreed] ;
  else
  {
    if (top == ndests) dests = ferry_array_grow(dests, &ndests, sizeof(dest)) ;
    d = top++ ;
  }
  memset(dests + d, 0, sizeof(dest)) ;
  dests[d].name = malloc(len + 1) ;
  if (!dests[d].name) strerr_diefu1sys(111, "allocate memory") ;
  for (k = 0 ; k <= len ; k++) dests[d].name[k] = lower(dom[k]) ;
  if ((usedtab + 1) * 2 > ntab) tab_grow() ;
  tab_put(d) ;
  return d ;
}

void dests_drop_idle (unsigned int d)
{
  dest *e = dests + d ;
  unsigned int i, j ;
  if (!e->name || e->inflight || e->failures || e->parked.n || e->waking) return ;
  for (i = hash(e->name) & (ntab - 1) ; tab[i] != d + 1 ; i = (i + 1) & (ntab - 1)) ;
  tab[i] = 0 ;
  usedtab-- ;
  /* the entries after it in its run go where a look-up will find them */
  for (j = (i + 1) & (ntab - 1) ; tab[j] ; j = (j + 1) & (ntab - 1))
  {
    unsigned int k = tab[j] - 1 ;
    tab[j] = 0 ;
    usedtab-- ;
    tab_put(k) ;
  }
  free(e->name) ;
  idring_free(&e->parked) ;
  memset(e, 0, sizeof(dest)) ;
  if (nfreed == afreed) freed = ferry_array_grow(freed, &afreed, sizeof(unsigned int)) ;
  freed[nfreed++] = d ;
}

void dests_park (unsigned int d, unsigned int ri)
{
  idring_push(&dests[d].parked, ri) ;
}

int dests_unpark (unsigned int d)
{
  idring *r = &dests[d].parked ;
  unsigned int ri ;
  if (!r->n) return -1 ;
  ri = idring_pop(r) ;
  if (!r->n) idring_free(r) ;   /* a domain that had a burst gives its ring back */
  return (int)ri ;
}

void dests_wake (unsigned int d)
{
  if (dests[d].waking || !dests[d].parked.n) return ;
  if (nwake == awake) wake = ferry_array_grow(wake, &awake, sizeof(unsigned int)) ;
  wake[nwake++] = d ;
  dests[d].waking = 1 ;
}

int dests_woken (void)
{
  unsigned int d ;
  if (!nwake) return -1 ;
  d = wake[--nwake] ;
  dests[d].waking = 0 ;
  return (int)d ;
}
