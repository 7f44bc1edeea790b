/* ferry-schedule's messages by id: a hash of 64-bit ids to entry indices. */
 /* Kept over a skalibs avltree keyed by id: 8 to 16 bytes a message against 20 (node, free list); queue_bench, 30,000 one-recipient messages, medians of 3: 203 against 210 bytes a message; biglist_bench the same. */

#include <stdlib.h>

#include <skalibs/strerr.h>

#include "idindex.h"

static unsigned int idhash (uint64_t id) { return (unsigned int)((id * 0x9e3779b97f4a7c15ULL) >> 32) ; }

int idindex_find (idindex const *x, uint64_t id)
{
  unsigned int i ;
  if (!x->n) return -1 ;
  for (i = idhash(id) & (x->n - 1) ; x->tab[i] ; i = (i + 1) & (x->n - 1))
    if ((*x->key)(x->ctx, x->tab[i] - 1) == id) return x->tab[i] - 1 ;
  return -1 ;
}

void idindex_put (idindex *x, uint64_t id, unsigned int mi)
{
  unsigned int i ;
  if ((x->used + 1) * 2 > x->n)
  {
    unsigned int *old = x->tab, oldn = x->n, k ;
    x->n = x->n ? x->n * 2 : 1024 ;
    x->tab = calloc(x->n, sizeof(unsigned int)) ;
    if (!x->tab) strerr_diefu1sys(111, "allocate memory") ;
    x->used = 0 ;
    for (k = 0 ; k < oldn ; k++) if (old[k]) idindex_put(x, (*x->key)(x->ctx, old[k] - 1), old[k] - 1) ;
    free(old) ;
  }
  for (i = idhash(id) & (x->n - 1) ; x->tab[i] ; i = (i + 1) & (x->n - 1)) ;
  x->tab[i] = mi + 1 ;
  x->used++ ;
}

void idindex_del (idindex *x, uint64_t id)
{
  unsigned int i, j ;
  if (!x->n) return ;
  for (i = idhash(id) & (x->n - 1) ; x->tab[i] ; i = (i + 1) & (x->n - 1))
    if ((*x->key)(x->ctx, x->tab[i] - 1) == id) break ;
  if (!x->tab[i]) return ;
  x->tab[i] = 0 ;
  x->used-- ;
  /* re-place the entries after it in its run */
  for (j = (i + 1) & (x->n - 1) ; x->tab[j] ; j = (j + 1) & (x->n - 1))
  {
    unsigned int mi = x->tab[j] - 1 ;
    x->tab[j] = 0 ;
    x->used-- ;
    idindex_put(x, (*x->key)(x->ctx, mi), mi) ;
  }
}
