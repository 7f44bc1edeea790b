/* namehash: the entries after a deleted one in its run are placed again. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/strerr.h>

#include "namehash.h"

static unsigned char lower (unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c ; }

static unsigned int hash (char const *s)
{
  uint32_t h = 2166136261u ;
  for (; *s ; s++) h = (h ^ lower(*s)) * 16777619u ;
  return h ;
}

static int same (char const *a, char const *b)
{
  for (; *a && lower(*a) == lower(*b) ; a++, b++) ;
  return !*a && !*b ;
}

static void place (namehash *h, unsigned int i)
{
  unsigned int j ;
  for (j = hash((*h->name)(h->ctx, i)) & (h->ntab - 1) ; h->tab[j] ; j = (j + 1) & (h->ntab - 1)) ;
  h->tab[j] = i + 1 ;
  h->used++ ;
}

int namehash_find (namehash const *h, char const *s)
{
  unsigned int j ;
  if (!h->ntab) return -1 ;
  for (j = hash(s) & (h->ntab - 1) ; h->tab[j] ; j = (j + 1) & (h->ntab - 1))
    if (same((*h->name)(h->ctx, h->tab[j] - 1), s)) return h->tab[j] - 1 ;
  return -1 ;
}

void namehash_put (namehash *h, unsigned int i)
{
  if ((h->used + 1) * 2 > h->ntab)
  {
    unsigned int *old = h->tab, oldn = h->ntab, k ;
    h->ntab = h->ntab ? h->ntab * 2 : 64 ;
    h->tab = calloc(h->ntab, sizeof(unsigned int)) ;
    if (!h->tab) strerr_diefu1sys(111, "allocate memory") ;
    h->used = 0 ;
    for (k = 0 ; k < oldn ; k++) if (old[k]) place(h, old[k] - 1) ;
    free(old) ;
  }
  place(h, i) ;
}

void namehash_del (namehash *h, unsigned int i)
{
  unsigned int j, k ;
  if (!h->ntab) return ;
  for (j = hash((*h->name)(h->ctx, i)) & (h->ntab - 1) ; h->tab[j] && h->tab[j] != i + 1 ; j = (j + 1) & (h->ntab - 1)) ;
  if (!h->tab[j]) return ;
  h->tab[j] = 0 ;
  h->used-- ;
  for (k = (j + 1) & (h->ntab - 1) ; h->tab[k] ; k = (k + 1) & (h->ntab - 1))
  {
    unsigned int e = h->tab[k] - 1 ;
    h->tab[k] = 0 ;
    h->used-- ;
    place(h, e) ;
  }
}

char *namehash_fold (char const *s)
{
  size_t n = strlen(s), k ;
  char *p = malloc(n + 1) ;
  if (!p) strerr_diefu1sys(111, "allocate memory") ;
  for (k = 0 ; k <= n ; k++) p[k] = lower(s[k]) ;
  return p ;
}
