/* Unit tests of the local channel's shared syncs (src/local/syncgroup.c): who is told what, and
   that no worker is told its sync is done by a round that started before it asked. */

#include <string.h>

#include "local/syncgroup.h"
#include "unit.h"

static char told[64] ;     /* the last thing each worker was told, 0 if nothing since cleared */
static int errs[64] ;

static void tell (unsigned int w, char what, int err)
{
  told[w] = what ;
  errs[w] = err ;
}

static void clear (void)
{
  memset(told, 0, sizeof told) ;
  memset(errs, 0, sizeof errs) ;
}

int main (void)
{
  unsigned long rounds, asks ;

  /* one worker alone syncs its own file */
  syncgroup_ask(3, 1) ;
  CHECK(syncgroup_busy(3) && !syncgroup_leads(3), "a worker that asked is waiting") ;
  syncgroup_run(&tell) ;
  CHECK(told[3] == SYNCGROUP_ALONE, "alone: told %c", told[3]) ;
  CHECK(syncgroup_leads(3), "the lone worker leads its round") ;
  clear() ;
  syncgroup_done(3, 0, &tell) ;
  CHECK(!syncgroup_busy(3), "done: idle again") ;
  CHECK(!told[3], "the leader is told nothing more: it knows its own result") ;

  /* three workers on one device: one leads, the others are covered and told ok */
  clear() ;
  syncgroup_ask(0, 1) ; syncgroup_ask(1, 1) ; syncgroup_ask(2, 1) ;
  syncgroup_run(&tell) ;
  CHECK(told[0] == SYNCGROUP_LEAD && !told[1] && !told[2], "the first leads, got %c %c %c", told[0] ? told[0] : '-', told[1] ? told[1] : '-', told[2] ? told[2] : '-') ;
  /* a worker asking during the round is not covered by it: its writes may come after the syncfs began */
  syncgroup_ask(4, 1) ;
  syncgroup_run(&tell) ;
  CHECK(!told[4], "no second round on a device while one is under way") ;
  syncgroup_done(0, 0, &tell) ;
  CHECK(told[1] == SYNCGROUP_OK && told[2] == SYNCGROUP_OK, "the covered are told ok") ;
  CHECK(!told[4], "the late asker is not told by a round that began before it asked") ;
  syncgroup_run(&tell) ;
  CHECK(told[4] == SYNCGROUP_ALONE, "the late asker gets its own round, told %c", told[4] ? told[4] : '-') ;
  syncgroup_done(4, 0, &tell) ;

  /* two devices run their rounds side by side */
  clear() ;
  syncgroup_ask(0, 1) ; syncgroup_ask(1, 2) ; syncgroup_ask(2, 2) ;
  syncgroup_run(&tell) ;
  CHECK(told[0] == SYNCGROUP_ALONE && told[1] == SYNCGROUP_LEAD && !told[2], "per device rounds") ;
  syncgroup_done(0, 0, &tell) ;
  CHECK(!told[2], "one device's result says nothing of the other's") ;

  /* a failed syncfs fails every covered worker, with the errno */
  syncgroup_done(1, 5, &tell) ;
  CHECK(told[2] == SYNCGROUP_FAIL && errs[2] == 5, "the covered are told the failure, got %c %d", told[2] ? told[2] : '-', errs[2]) ;

  /* a leader that dies: its covered workers are not told ok, they wait for a new round */
  clear() ;
  syncgroup_ask(5, 7) ; syncgroup_ask(6, 7) ; syncgroup_ask(7, 7) ;
  syncgroup_run(&tell) ;
  CHECK(told[5] == SYNCGROUP_LEAD, "5 leads") ;
  syncgroup_drop(5) ;
  CHECK(!syncgroup_busy(5) && !told[6] && !told[7], "the dead leader's round tells nobody") ;
  syncgroup_run(&tell) ;
  CHECK(told[6] == SYNCGROUP_LEAD && !told[7], "a new round on the same device, led by 6") ;
  syncgroup_done(6, 0, &tell) ;
  CHECK(told[7] == SYNCGROUP_OK, "and 7 is covered by it") ;

  /* a done from a worker that does not lead changes nothing */
  clear() ;
  syncgroup_ask(8, 9) ; syncgroup_ask(9, 9) ;
  syncgroup_run(&tell) ;
  syncgroup_done(9, 0, &tell) ;
  CHECK(!told[9] && syncgroup_busy(9), "a covered worker cannot end the round") ;
  syncgroup_done(8, 0, &tell) ;
  CHECK(told[9] == SYNCGROUP_OK, "its leader can") ;

  syncgroup_counts(&rounds, &asks) ;
  CHECK(asks == 13 && rounds == 8, "counts: %lu asks in %lu rounds", asks, rounds) ;
  syncgroup_free() ;
  return UNIT_END() ;
}
