/* ferry_frame_input: the frames that come on fd 0 (from the queue manager), as they come. */

#include <errno.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include <ferry/frame.h>

int ferry_frame_input (stralloc *in)
{
  char buf[8192] ;
  ssize_t r = read(0, buf, sizeof(buf)) ;
  if (r < 0) return errno == EAGAIN || errno == EINTR ? 1 : -1 ;
  if (!r) return 0 ;
  if (!stralloc_catb(in, buf, r)) strerr_diefu1sys(111, "allocate memory") ;
  return 1 ;
}
