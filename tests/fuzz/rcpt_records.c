/* Fuzz target: queue/local/ID and queue/remote/ID as ferry-schedule loads them at start and
   ferry-qread lists them (ferry_rcpt_record_take). Properties: a record taken and written again
   (ferry_rcpt_record_cat) is the same bytes; a file is taken whole, or stops at a damaged record
   without moving. */

#include <ferry/queue.h>
#include <skalibs/stralloc.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  size_t pos = 0 ;
  for (;;)
  {
    ferry_rcpt_record r ;
    stralloc sa = STRALLOC_ZERO ;
    size_t before = pos ;
    int got = ferry_rcpt_record_take(s, size, &pos, &r) ;
    if (got <= 0)
    {
      FUZZ_ASSERT(pos == before && got >= -2) ;
      FUZZ_ASSERT(got || pos == size) ;
      break ;
    }
    FUZZ_ASSERT(pos > before + FERRY_RCPT_HEAD && pos <= size) ;
    FUZZ_ASSERT(r.status == 'T' || r.status == 'K' || r.status == 'D') ;
    FUZZ_ASSERT(ferry_rcpt_record_cat(&sa, &r)) ;
    FUZZ_ASSERT(sa.len == pos - before && !memcmp(sa.s, s + before, sa.len)) ;
    stralloc_free(&sa) ;
  }
  free(s) ;
  return 0 ;
}
