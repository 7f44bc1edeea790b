/* ferry_loop_setup: the start of a set member's event loop (self-pipe, non-blocking fds 0 and 1, clock). */

#include <skalibs/djbunix.h>
#include <skalibs/selfpipe.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>

#include <ferry/loop.h>

int ferry_loop_setup (int const *sigs)
{
  int spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefu1sys(111, "selfpipe_init") ;
  for (; *sigs ; sigs++) if (!selfpipe_trap(*sigs)) strerr_diefu1sys(111, "trap signals") ;
  if (ndelay_on(0) < 0 || ndelay_on(1) < 0) strerr_diefu1sys(111, "set fds 0 and 1 non-blocking") ;
  tain_now_set_stopwatch_g() ;
  return spfd ;
}
