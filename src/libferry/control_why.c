/* Control settings for programs that reread them while running: a bad one is said, not fatal. */

#include <errno.h>
#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/uint64.h>

#include <ferry/control.h>

int ferry_control_u64_why (char const *name, uint64_t *u, stralloc *why)
{
  uint64_t v = 0 ;
  int r = ferry_control_readu64(name, &v) ;
  why->len = 0 ;
  if (r == -1)
  {
    int e = errno ;
    if (!stralloc_cats(why, "unable to read control/") || !stralloc_cats(why, name) || !stralloc_cats(why, ": ")
     || !stralloc_cats(why, strerror(e)) || !stralloc_0(why)) return -1 ;
    return 0 ;
  }
  if (r == -2)
  {
    ferry_control const *c = ferry_control_find(name) ;
    char fmt[UINT64_FMT] ;
    if (!stralloc_cats(why, "bad value in control/") || !stralloc_cats(why, name) || !stralloc_cats(why, ": it must be one number from ")
     || !stralloc_catb(why, fmt, uint64_fmt(fmt, c ? c->min : 0)) || !stralloc_cats(why, " to ")
     || !stralloc_catb(why, fmt, uint64_fmt(fmt, c ? c->max : 0)) || !stralloc_0(why)) return -1 ;
    return 0 ;
  }
  *u = v ;
  return 1 ;
}
