/* Unit tests of ferry-schedule's index of messages by id (src/schedule/idindex.c): ids put are
   found, ids never put are not; ids that collide (the same slot, the same run) are all found,
   and after one is deleted the others still are (deletion re-places the run after it); the
   table grows past its first size with every id still found. */

#include <stdint.h>

#include "schedule/idindex.h"

#include "unit.h"

#define N 20000

static uint64_t ids[N] ;

static uint64_t key (void const *ctx, unsigned int i) { return ((uint64_t const *)ctx)[i] ; }

int main (void)
{
  idindex x = IDINDEX_ZERO(&key, ids) ;
  unsigned int i, bad = 0 ;
  CHECK(idindex_find(&x, 42) == -1, "an empty index finds nothing") ;
  idindex_del(&x, 42) ;   /* nothing to delete: no harm */

  /* ids that are multiples of 2^32 hash the same low bits often: long runs of collisions */
  for (i = 0 ; i < N ; i++) { ids[i] = ((uint64_t)(i % 64) << 32) | (i / 64) ; idindex_put(&x, ids[i], i) ; }
  CHECK(x.used == N && x.n >= 2 * N, "the index grew: %u slots for %u", x.n, x.used) ;
  for (i = 0 ; i < N ; i++) if (idindex_find(&x, ids[i]) != (int)i) bad++ ;
  CHECK(!bad, "%u of %u ids not found after growth", bad, N) ;
  CHECK(idindex_find(&x, (uint64_t)99 << 40) == -1, "an id never put is not found") ;

  /* every other one deleted: the others are all still found */
  for (i = 0 ; i < N ; i += 2) idindex_del(&x, ids[i]) ;
  CHECK(x.used == N / 2, "%u left after the deletions", x.used) ;
  bad = 0 ;
  for (i = 0 ; i < N ; i++) if (idindex_find(&x, ids[i]) != (i % 2 ? (int)i : -1)) bad++ ;
  CHECK(!bad, "%u ids found wrong after deletions among colliding ids", bad) ;

  /* a deleted id put again (its entry's id changed: a message slot reused) */
  idindex_del(&x, ids[1]) ;
  ids[1] = ids[0] ;
  idindex_put(&x, ids[1], 1) ;
  CHECK(idindex_find(&x, ids[0]) == 1, "an id put again is found at its new entry") ;
  return UNIT_END() ;
}
