/* ferry-schedule's backoff curves. */

#include <stdlib.h>

#include "backoff.h"

uint32_t backoff_next (backoff const *b, uint32_t birth, uint32_t now)
{
  uint64_t age = now > birth ? now - birth : 0 ;
  uint64_t d = age < b->min ? b->min : age > b->max ? b->max : age ;
  /* a spread of up to a tenth, so deferred mail never comes back in waves */
  d += (uint64_t)random() % (d / 10 + 1) ;
  return now + d ;
}

uint64_t backoff_dest (backoff const *b, unsigned int failures)
{
  uint64_t t = b->min << (failures > 10 ? 10 : failures - 1) ;
  if (t > b->max) t = b->max ;
  t += (uint64_t)random() % (t / 10 + 1) ;
  return t ;
}
