/* Unit tests of ferry-schedule's destination table (src/schedule/dests.c): names found whatever
   their case, entries dropped only when idle and the others still found after (the hash's
   deletion re-places the entries after it), slots reused, parked recipients in order through
   the ring's growth, and the wake list. */

#include <stdio.h>
#include <string.h>

#include "schedule/dests.h"

#include "unit.h"

#define N 5000

int main (void)
{
  char name[64] ;
  unsigned int d, k, slots ;
  int got, bad ;
  desttable dt = DESTTABLE_ZERO ;

  CHECK(dests_find(&dt, "example.org") == -1, "an empty table finds nothing") ;
  d = dests_get(&dt, "Example.ORG") ;
  CHECK(!strcmp(dt.a[d].name, "example.org"), "the name is kept in lower case: %s", dt.a[d].name) ;
  CHECK(dests_find(&dt, "EXAMPLE.org") == (int)d && dests_get(&dt, "example.org") == d, "found whatever the case") ;
  dests_drop_idle(&dt, d) ;
  CHECK(dests_find(&dt, "example.org") == -1, "an idle entry is dropped") ;

  /* many names: the table grows; each is found */
  for (k = 0 ; k < N ; k++)
  {
    snprintf(name, sizeof name, "d%u.test", k) ;
    d = dests_get(&dt, name) ;
    dt.a[d].inflight = 1 ;
  }
  for (k = 0, bad = 0 ; k < N ; k++)
  {
    snprintf(name, sizeof name, "D%u.TEST", k) ;
    got = dests_find(&dt, name) ;
    snprintf(name, sizeof name, "d%u.test", k) ;
    if (got < 0 || strcmp(dt.a[got].name, name)) bad++ ;
  }
  CHECK(!bad, "%d of %d names not found, or found wrong", bad, N) ;

  /* what keeps an entry: a delivery out, a failure, a recipient parked, the wake list */
  d = dests_find(&dt, "d0.test") ;
  dests_drop_idle(&dt, d) ;
  CHECK(dests_find(&dt, "d0.test") == (int)d, "an entry with a delivery out stays") ;
  dt.a[d].inflight = 0 ; dt.a[d].failures = 1 ;
  dests_drop_idle(&dt, d) ;
  CHECK(dests_find(&dt, "d0.test") == (int)d, "a failing entry stays") ;
  dt.a[d].failures = 0 ;
  dests_park(&dt, d, 7) ;
  dests_wake(&dt, d) ;
  dests_drop_idle(&dt, d) ;
  CHECK(dests_find(&dt, "d0.test") == (int)d, "an entry with a recipient parked stays") ;
  CHECK(dests_woken(&dt) == (int)d && dests_woken(&dt) == -1, "woken once, then the list is empty") ;
  CHECK(dests_unpark(&dt, d) == 7 && dests_unpark(&dt, d) == -1, "the parked recipient comes back, then none") ;
  dests_drop_idle(&dt, d) ;
  CHECK(dests_find(&dt, "d0.test") == -1, "then it is dropped") ;

  /* drop every other entry: the rest are all still found (their runs re-placed) */
  for (k = 1 ; k < N ; k += 2)
  {
    snprintf(name, sizeof name, "d%u.test", k) ;
    d = dests_find(&dt, name) ;
    dt.a[d].inflight = 0 ;
    dests_drop_idle(&dt, d) ;
  }
  for (k = 1, bad = 0 ; k < N ; k++)
  {
    snprintf(name, sizeof name, "d%u.test", k) ;
    got = dests_find(&dt, name) ;
    if (k % 2 ? got != -1 : got < 0 || strcmp(dt.a[got].name, name)) bad++ ;
  }
  CHECK(!bad, "after dropping half: %d names wrong", bad) ;

  /* freed slots are used again before the table grows */
  slots = dt.n ;
  for (k = 0 ; k < N / 2 ; k++)
  {
    snprintf(name, sizeof name, "again%u.test", k) ;
    dt.a[dests_get(&dt, name)].inflight = 1 ;
  }
  CHECK(dt.n == slots, "%u slots after reusing the freed ones, %u before", dt.n, slots) ;

  /* a ring that grows while it has wrapped keeps the order */
  d = dests_get(&dt, "ring.test") ;
  for (k = 0 ; k < 10 ; k++) dests_park(&dt, d, k) ;
  for (k = 0 ; k < 6 ; k++) CHECK(dests_unpark(&dt, d) == (int)k, "recipient %u", k) ;
  for (k = 10 ; k < 100 ; k++) dests_park(&dt, d, k) ;
  for (k = 6, bad = 0 ; k < 100 ; k++) if (dests_unpark(&dt, d) != (int)k) bad++ ;
  CHECK(!bad && dests_unpark(&dt, d) == -1 && !dt.a[d].parked.n, "94 parked recipients in order after growing: %d out of place", bad) ;

  /* waking needs a recipient parked, and puts an entry on the list once */
  dests_wake(&dt, d) ;
  CHECK(dests_woken(&dt) == -1, "nothing parked: not woken") ;
  dests_park(&dt, d, 1) ;
  dests_wake(&dt, d) ; dests_wake(&dt, d) ;
  CHECK(dests_woken(&dt) == (int)d && dests_woken(&dt) == -1, "woken twice, on the list once") ;

  return UNIT_END() ;
}
