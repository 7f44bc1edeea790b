/* ferry-sendmail-run: the sendmail command line in the caller's own process; what
   ferry-sendmail runs when no ferry-sendmaild serves it (doc/ferry-sendmail.html). */

#include <skalibs/strerr.h>

#include "admin.h"

int main (int argc, char const *const *argv)
{
  PROG = "ferry-sendmail" ;
  return sendmail_run(argc, argv, -1) ;
}
