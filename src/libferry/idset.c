/* ferry_idset_has, ferry_idset_add, ferry_idset_del: a set of message ids (ferry/idset.h). A
   sorted array moves half of itself at each change, a cost that grows with the square of the
   ids held: thousands of them while a queue of 100,000 messages is prepared. */

#include <stdlib.h>
#include <string.h>

#include <ferry/idset.h>

#define EMPTY (~(uint64_t)0)

static size_t slot_of (uint64_t id, size_t n)
{
  return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & (n - 1) ;
}

int ferry_idset_has (ferry_idset const *s, uint64_t id)
{
  size_t i ;
  if (id == EMPTY) return s->top ;
  if (!s->n) return 0 ;
  for (i = slot_of(id, s->n) ; s->tab[i] != EMPTY ; i = (i + 1) & (s->n - 1))
    if (s->tab[i] == id) return 1 ;
  return 0 ;
}

static void place (uint64_t *tab, size_t n, uint64_t id)
{
  size_t i ;
  for (i = slot_of(id, n) ; tab[i] != EMPTY ; i = (i + 1) & (n - 1)) ;
  tab[i] = id ;
}

int ferry_idset_add (ferry_idset *s, uint64_t id)
{
  if (id == EMPTY) { s->top = 1 ; return 1 ; }
  if (ferry_idset_has(s, id)) return 1 ;
  if ((s->used + 1) * 2 > s->n)
  {
    size_t n = s->n ? s->n * 2 : 256, k ;
    uint64_t *tab = malloc(n * sizeof(uint64_t)) ;
    if (!tab) return 0 ;
    memset(tab, 0xff, n * sizeof(uint64_t)) ;
    for (k = 0 ; k < s->n ; k++) if (s->tab[k] != EMPTY) place(tab, n, s->tab[k]) ;
    free(s->tab) ;
    s->tab = tab ;
    s->n = n ;
  }
  place(s->tab, s->n, id) ;
  s->used++ ;
  return 1 ;
}

void ferry_idset_del (ferry_idset *s, uint64_t id)
{
  size_t i, j ;
  if (id == EMPTY) { s->top = 0 ; return ; }
  if (!s->n) return ;
  for (i = slot_of(id, s->n) ; s->tab[i] != id ; i = (i + 1) & (s->n - 1))
    if (s->tab[i] == EMPTY) return ;
  /* the hole at i: each later id of the run whose home slot does not lie in (i, j] moves into it */
  for (j = (i + 1) & (s->n - 1) ; s->tab[j] != EMPTY ; j = (j + 1) & (s->n - 1))
  {
    size_t h = slot_of(s->tab[j], s->n) ;
    if (i <= j ? (h <= i || h > j) : (h <= i && h > j))
    {
      s->tab[i] = s->tab[j] ;
      i = j ;
    }
  }
  s->tab[i] = EMPTY ;
  s->used-- ;
}
