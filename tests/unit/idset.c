/* Unit tests of the set of message ids (ferry/idset.h): against a plain array of flags, through
   adds and removals in a scrambled order that make long runs of neighbouring slots and wrap
   around the table's end; the id ~0 (the empty slot's mark) is a member like any other. */

#include <stdint.h>
#include <string.h>

#include <ferry/idset.h>

#include "unit.h"

#define IDS 5000

static unsigned char in[IDS] ;

 /* ids that crowd: multiples of 1024 land near each other in a small table */
static uint64_t id_of (unsigned int k) { return (uint64_t)k * 1024 + (k % 3) ; }

static int same (ferry_idset const *s)
{
  unsigned int k, n = 0 ;
  for (k = 0 ; k < IDS ; k++)
  {
    if (ferry_idset_has(s, id_of(k)) != in[k]) return 0 ;
    n += in[k] ;
  }
  return s->used == n ;
}

int main (void)
{
  ferry_idset s = FERRY_IDSET_ZERO ;
  unsigned int k, round ;
  uint32_t x = 12345 ;
  CHECK(!ferry_idset_has(&s, 7), "an empty set holds nothing") ;
  ferry_idset_del(&s, 7) ;
  CHECK(s.used == 0, "removing from an empty set: nothing") ;
  for (round = 0 ; round < 4 ; round++)
  {
    for (k = 0 ; k < 3 * IDS ; k++)
    {
      unsigned int i ;
      x = x * 1103515245 + 12345 ;
      i = (x >> 8) % IDS ;
      if (round & 1 ? (x & 3) != 0 : (x & 3) == 0) { ferry_idset_del(&s, id_of(i)) ; in[i] = 0 ; }
      else { CHECK(ferry_idset_add(&s, id_of(i)), "add %u", i) ; in[i] = 1 ; }
    }
    CHECK(same(&s), "round %u: the set holds exactly the ids added and not removed (%zu)", round, s.used) ;
  }
  CHECK(ferry_idset_add(&s, id_of(1)) && ferry_idset_add(&s, id_of(1)), "an id added twice") ;
  in[1] = 1 ;
  CHECK(same(&s), "is there once") ;
  CHECK(!ferry_idset_has(&s, ~(uint64_t)0), "~0 is not in the set") ;
  CHECK(ferry_idset_add(&s, ~(uint64_t)0) && ferry_idset_has(&s, ~(uint64_t)0), "~0 added is in the set") ;
  CHECK(same(&s), "and changes nothing else") ;
  ferry_idset_del(&s, ~(uint64_t)0) ;
  CHECK(!ferry_idset_has(&s, ~(uint64_t)0), "~0 removed is gone") ;
  for (k = 0 ; k < IDS ; k++) { ferry_idset_del(&s, id_of(k)) ; in[k] = 0 ; }
  CHECK(same(&s) && s.used == 0, "every id removed: empty") ;
  return UNIT_END() ;
}
