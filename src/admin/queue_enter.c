/* queue_enter: a hand tool enters its home and learns the queue's split. */

#include <unistd.h>

#include <skalibs/strerr.h>

#include <ferry/home.h>
#include <ferry/queue.h>

#include "admin.h"

unsigned int queue_enter (char const *home)
{
  if (chdir(ferry_home(home)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  return ferry_queue_split_or_die(111) ;
}
