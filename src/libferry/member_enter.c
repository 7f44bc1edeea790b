/* ferry_member_enter: how a member of the set starts: its one argument, the home entered, SIGPIPE ignored. */

#include <signal.h>
#include <unistd.h>

#include <skalibs/sig.h>
#include <skalibs/strerr.h>

#include <ferry/home.h>
#include <ferry/loop.h>

char const *ferry_member_enter (int argc, char const *const *argv, char const *usage)
{
  char const *home ;
  if (argc > 2) strerr_dieusage(100, usage) ;
  home = ferry_home(argc > 1 ? argv[1] : 0) ;
  if (chdir(home) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  sig_ignore(SIGPIPE) ;
  return home ;
}
