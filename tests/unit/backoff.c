/* Unit tests of ferry-schedule's backoff (src/schedule/backoff.c), for several settings of
   control/minbackoff and control/maxbackoff: a deferred recipient's next attempt is its message's
   age, held between the two, plus a spread of at most a tenth (never below the bare value, and
   different from one batch to another); a failing destination's wait starts at minbackoff and
   doubles at each failure, up to maxbackoff. */

#include <stdlib.h>

#include "schedule/backoff.h"

#include "unit.h"

static void curve (uint64_t min, uint64_t max)
{
  backoff b = { min, max } ;
  uint32_t now = 1700000000, ages[] = { 0, 1, min / 2, min, min + 7, (min + max) / 2, max, max + 1, 30 * 86400 } ;
  unsigned int k, f, spread = 0 ;
  for (k = 0 ; k < sizeof(ages) / sizeof(ages[0]) ; k++)
  {
    uint64_t want = ages[k] < min ? min : ages[k] > max ? max : ages[k] ;
    unsigned int t ;
    for (t = 0 ; t < 50 ; t++)
    {
      uint64_t d = backoff_next(&b, now - ages[k], now) - now ;
      CHECK(d >= want && d <= want + want / 10, "min %llu max %llu age %u: waits %llu, not in [%llu, %llu]",
        (unsigned long long)min, (unsigned long long)max, ages[k], (unsigned long long)d, (unsigned long long)want, (unsigned long long)(want + want / 10)) ;
      if (d != want) spread = 1 ;
    }
  }
  CHECK(spread || min < 10, "min %llu: the waits are spread", (unsigned long long)min) ;
  /* a birth in the future (a clock set back) counts as age 0 */
  CHECK(backoff_next(&b, now + 100, now) - now <= min + min / 10, "a message from the future waits minbackoff") ;
  for (f = 1 ; f <= 40 ; f++)
  {
    uint64_t want = min << (f > 10 ? 10 : f - 1), d = backoff_dest(&b, f) ;
    if (want > max) want = max ;
    CHECK(d >= want && d <= want + want / 10, "min %llu max %llu: %u failures wait %llu, not about %llu",
      (unsigned long long)min, (unsigned long long)max, f, (unsigned long long)d, (unsigned long long)want) ;
  }
}

int main (void)
{
  srandom(1) ;
  curve(300, 3600) ;
  curve(400, 4 * 3600) ;
  curve(60, 60) ;
  curve(1, 100000) ;
  curve(900, 7 * 86400) ;
  return UNIT_END() ;
}
