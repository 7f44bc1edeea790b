/* Fuzz target: queue/bounce/ID files as ferry-bounce-build and ferry-qread read them
   (ferry_bounce_record_take); one may end in a record torn by a crash. Property: a record taken
   and written again (ferry_bounce_record_cat) is taken back the same. */

#include <ferry/dsn.h>
#include <skalibs/stralloc.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  size_t pos = 0 ;
  for (;;)
  {
    ferry_bounce_record r, again ;
    stralloc sa = STRALLOC_ZERO ;
    size_t before = pos, p2 = 0 ;
    int got = ferry_bounce_record_take(s, size, &pos, &r) ;
    if (got <= 0) { FUZZ_ASSERT(pos == before) ; break ; }
    FUZZ_ASSERT(pos > before && pos <= size) ;
    FUZZ_ASSERT(r.rcpt >= s && r.text >= s && r.text < s + size) ;
    FUZZ_ASSERT(ferry_bounce_record_cat(&sa, &r)) ;
    FUZZ_ASSERT(ferry_bounce_record_take(sa.s, sa.len, &p2, &again) == 1 && p2 == sa.len) ;
    FUZZ_ASSERT(again.kind == r.kind && again.channel == r.channel && again.index == r.index && again.when == r.when) ;
    FUZZ_ASSERT(!strcmp(again.rcpt, r.rcpt) && !strcmp(again.text, r.text)) ;
    stralloc_free(&sa) ;
  }
  free(s) ;
  return 0 ;
}
