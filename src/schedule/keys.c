/* ferry-schedule's shaping keys and told domains: tables of entries, each with a hash of names,
   a stack of free slots; the keys' wake list. */

#include <stdlib.h>
#include <string.h>

#include <skalibs/strerr.h>

#include <ferry/array.h>

#include "keys.h"

static char *lowerdup (char const *s)
{
  size_t n = strlen(s), k ;
  char *p = malloc(n + 1) ;
  if (!p) strerr_diefu1sys(111, "allocate memory") ;
  for (k = 0 ; k <= n ; k++) p[k] = s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k] ;
  return p ;
}

/* ---------- keys ---------- */

static char const *key_name (void const *ctx, unsigned int i) { return ((keytable const *)ctx)->a[i].name ; }

int keys_find (keytable *t, char const *name)
{
  t->names.name = &key_name ; t->names.ctx = t ;
  return namehash_find(&t->names, name) ;
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
  t->a[k].name = lowerdup(name) ;
  t->a[k].tb.burst = 1 ;
  namehash_put(&t->names, k) ;
  t->live++ ;
  return k ;
}

void keys_free (keytable *t, unsigned int k)
{
  key *K = t->a + k ;
  t->names.name = &key_name ; t->names.ctx = t ;
  namehash_del(&t->names, k) ;
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

int domains_find (domtable *t, char const *dom)
{
  t->names.name = &dom_name ; t->names.ctx = t ;
  return namehash_find(&t->names, dom) ;
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
  t->a[i].name = lowerdup(dom) ;
  t->a[i].key = -1 ;
  t->a[i].seen = 0 ;
  namehash_put(&t->names, i) ;
  t->live++ ;
  return i ;
}

void domains_free (domtable *t, unsigned int i)
{
  t->names.name = &dom_name ; t->names.ctx = t ;
  namehash_del(&t->names, i) ;
  free(t->a[i].name) ;
  t->a[i].name = 0 ;
  t->a[i].key = -1 ;
  if (t->nfreed == t->afreed) t->freed = ferry_array_grow(t->freed, &t->afreed, sizeof(unsigned int)) ;
  t->freed[t->nfreed++] = i ;
  t->live-- ;
}
