/* ferry-schedule's shaping keys and told domains: tables of entries, each with a hash of names,
   a stack of free slots; the keys' wake list. */

#include <stdlib.h>
#include <string.h>

#include <skalibs/strerr.h>

#include <ferry/array.h>

#include "keys.h"

/* ---------- keys ---------- */

static char const *key_name (void const *ctx, unsigned int i) { return ((keytable const *)ctx)->a[i].name ; }

 /* the hash, told where the names are (an initializer cannot name its own table) */
static namehash *key_names (keytable *t)
{
  t->names.name = &key_name ; t->names.ctx = t ;
  return &t->names ;
}

int keys_find (keytable *t, char const *name)
{
  return namehash_find(key_names(t), name) ;
}

unsigned int keys_get (keytable *t, char const *name)
{
  int found = keys_find(t, name) ;
  unsigned int k ;
  if (found >= 0) return found ;
  if (t->nfreed) k = t->freed[--t->nfreed] ;
  else
  {
    if (t->top == t->n) t->a = ferry_array_grow(t->a, &t->n, sizeof(key)) ;
    k = t->top++ ;
  }
  memset(t->a + k, 0, sizeof(key)) ;
  t->a[k].name = namehash_fold(name) ;
  t->a[k].tb.burst = 1 ;
  namehash_put(key_names(t), k) ;
  t->live++ ;
  return k ;
}

void keys_free (keytable *t, unsigned int k)
{
  key *K = t->a + k ;
  namehash_del(key_names(t), k) ;
  timeheap_del(&t->timers, k) ;
  free(K->name) ;
  idring_free(&K->parked) ;
  memset(K, 0, sizeof(key)) ;
  if (t->nfreed == t->afreed) t->freed = ferry_array_grow(t->freed, &t->afreed, sizeof(unsigned int)) ;
  t->freed[t->nfreed++] = k ;
  t->live-- ;
}

void keys_park (keytable *t, unsigned int k, unsigned int ri)
{
  idring_push(&t->a[k].parked, ri) ;
}

int keys_unpark (keytable *t, unsigned int k)
{
  idring *r = &t->a[k].parked ;
  unsigned int ri ;
  if (!r->n) return -1 ;
  ri = idring_pop(r) ;
  if (!r->n) idring_free(r) ;
  return (int)ri ;
}

void keys_wake (keytable *t, unsigned int k)
{
  if (t->a[k].waking || !t->a[k].parked.n) return ;
  if (t->nwake == t->awake) t->wake = ferry_array_grow(t->wake, &t->awake, sizeof(unsigned int)) ;
  t->wake[t->nwake++] = k ;
  t->a[k].waking = 1 ;
}

int keys_woken (keytable *t)
{
  unsigned int k ;
  if (!t->nwake) return -1 ;
  k = t->wake[--t->nwake] ;
  t->a[k].waking = 0 ;
  return (int)k ;
}

/* ---------- told domains ---------- */

static char const *dom_name (void const *ctx, unsigned int i) { return ((domtable const *)ctx)->a[i].name ; }

static namehash *dom_names (domtable *t)
{
  t->names.name = &dom_name ; t->names.ctx = t ;
  return &t->names ;
}

int domains_find (domtable *t, char const *dom)
{
  return namehash_find(dom_names(t), dom) ;
}

unsigned int domains_get (domtable *t, char const *dom)
{
  int found = domains_find(t, dom) ;
  unsigned int i ;
  if (found >= 0) return found ;
  if (t->nfreed) i = t->freed[--t->nfreed] ;
  else
  {
    if (t->top == t->n) t->a = ferry_array_grow(t->a, &t->n, sizeof(domkey)) ;
    i = t->top++ ;
  }
  t->a[i].name = namehash_fold(dom) ;
  t->a[i].key = -1 ;
  t->a[i].seen = 0 ;
  namehash_put(dom_names(t), i) ;
  t->live++ ;
  return i ;
}

void domains_free (domtable *t, unsigned int i)
{
  namehash_del(dom_names(t), i) ;
  free(t->a[i].name) ;
  t->a[i].name = 0 ;
  t->a[i].key = -1 ;
  if (t->nfreed == t->afreed) t->freed = ferry_array_grow(t->freed, &t->afreed, sizeof(unsigned int)) ;
  t->freed[t->nfreed++] = i ;
  t->live-- ;
}
