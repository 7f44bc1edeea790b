/* idring: when full, the entries are copied in order into an array twice the size; the size is
   a power of two, so that a position is masked, not divided. */

#include <stdlib.h>

#include <skalibs/strerr.h>

#include "idring.h"

void idring_push (idring *r, unsigned int x)
{
  if (r->n == r->cap)
  {
    unsigned int cap = r->cap ? r->cap * 2 : 16, k ;
    unsigned int *a = malloc((size_t)cap * sizeof(unsigned int)) ;
    if (!a) strerr_diefu1sys(111, "allocate memory") ;
    for (k = 0 ; k < r->n ; k++) a[k] = r->a[(r->head + k) & (r->cap - 1)] ;
    free(r->a) ;
    r->a = a ;
    r->cap = cap ;
    r->head = 0 ;
  }
  r->a[(r->head + r->n++) & (r->cap - 1)] = x ;
}

unsigned int idring_pop (idring *r)
{
  unsigned int x = r->a[r->head] ;
  r->head = (r->head + 1) & (r->cap - 1) ;
  r->n-- ;
  return x ;
}

unsigned int idring_at (idring const *r, unsigned int i)
{
  return r->a[(r->head + i) & (r->cap - 1)] ;
}

void idring_filter (idring *r, unsigned int upto, int (*keep) (unsigned int x, void const *ctx), void const *ctx)
{
  /* the kept ones move towards the tail end of the span, the head moves past the gap */
  unsigned int i = upto, w = upto ;
  if (upto > r->n) i = w = r->n ;
  while (i--)
  {
    unsigned int x = r->a[(r->head + i) & (r->cap - 1)] ;
    if ((*keep)(x, ctx)) r->a[(r->head + --w) & (r->cap - 1)] = x ;
  }
  if (!w) return ;
  r->head = (r->head + w) & (r->cap - 1) ;
  r->n -= w ;
}

void idring_free (idring *r)
{
  free(r->a) ;
  r->a = 0 ;
  r->head = r->n = r->cap = 0 ;
}
