/* Unit tests of the spacing of syncs (ferry/syncgap.h): a first sync is due at once, the next
   only FERRY_SYNCGAP_MS after the last one started, and a loop's deadline is lowered to that
   moment, never raised. The clock is the loop's (STAMP), moved by hand here. */

#include <skalibs/tai.h>

#include <ferry/syncgap.h>

#include "unit.h"

int main (void)
{
  ferry_syncgap g = FERRY_SYNCGAP_ZERO ;
  tain start, t, gap, less, deadline ;
  tain_now_set_stopwatch_g() ;
  CHECK(ferry_syncgap_due(&g), "a first sync starts at once") ;
  tain_add_g(&t, &tain_infinite_relative) ;
  deadline = t ;
  ferry_syncgap_deadline(&g, &deadline) ;
  CHECK(!tain_less(&STAMP, &deadline), "before any sync, no wait: the deadline is now or past") ;
  ferry_syncgap_start(&g) ;
  start = STAMP ;
  CHECK(!ferry_syncgap_due(&g), "right after a sync starts, the next is not due") ;
  tain_from_millisecs(&gap, FERRY_SYNCGAP_MS) ;
  tain_from_millisecs(&less, FERRY_SYNCGAP_MS - 1) ;
  tain_add(&STAMP, &start, &less) ;
  CHECK(!ferry_syncgap_due(&g), "%d ms after, still not due", FERRY_SYNCGAP_MS - 1) ;
  deadline = t ;
  ferry_syncgap_deadline(&g, &deadline) ;
  tain_add(&t, &start, &gap) ;
  CHECK(!tain_less(&deadline, &t) && !tain_less(&t, &deadline), "the deadline is lowered to the start and the gap") ;
  deadline = STAMP ;
  ferry_syncgap_deadline(&g, &deadline) ;
  CHECK(tain_less(&deadline, &t), "an earlier deadline is kept") ;
  tain_add(&STAMP, &start, &gap) ;
  CHECK(ferry_syncgap_due(&g), "%d ms after the start, the next sync is due", FERRY_SYNCGAP_MS) ;
  return UNIT_END() ;
}
