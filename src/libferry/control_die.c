/* Control settings for programs that cannot go on without them: die naming the file. */

#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/uint64.h>

#include <ferry/control.h>

uint64_t ferry_control_u64_or_die (char const *name, int e)
{
  uint64_t u = 0 ;
  int r = ferry_control_readu64(name, &u) ;
  if (r == -1) strerr_diefu3sys(e, "read ", "control/", name) ;
  if (r == -2)
  {
    ferry_control const *c = ferry_control_find(name) ;
    char fmin[UINT64_FMT] ;
    char fmax[UINT64_FMT] ;
    fmin[uint64_fmt(fmin, c ? c->min : 0)] = 0 ;
    fmax[uint64_fmt(fmax, c ? c->max : 0)] = 0 ;
    strerr_dief(e, "bad value in control/", name, ": it must be one number from ", fmin, " to ", fmax) ;
  }
  return u ;
}

void ferry_control_line_or_die (stralloc *sa, char const *name, int e)
{
  if (ferry_control_readline(sa, name) < 0) strerr_diefu3sys(e, "read ", "control/", name) ;
}
