/* The queue's split: the one it was made with (queue/split), which control/queuesplit must name. */

#include <errno.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/control.h>
#include <ferry/queue.h>

int ferry_queue_split_recorded (unsigned int *split)
{
  char buf[UINT_FMT + 2] ;
  ssize_t r = openreadnclose("queue/split", buf, sizeof(buf) - 1) ;
  size_t n ;
  unsigned int u ;
  if (r < 0) return errno == ENOENT ? 0 : -1 ;
  n = r ;
  while (n && (buf[n-1] == '\n' || buf[n-1] == ' ')) n-- ;
  buf[n] = 0 ;
  if (!n || uint_scan(buf, &u) != n || u < 1 || u > FERRY_QUEUE_SPLIT_MAX) { errno = EINVAL ; return -1 ; }
  *split = u ;
  return 1 ;
}

 /* "control/queuesplit says WANT but the queue was made with HAVE (queue/split): put HAVE back ..." */
static int mismatch_why (stralloc *why, unsigned int want, unsigned int have)
{
  char fw[UINT_FMT] ;
  char fh[UINT_FMT] ;
  fw[uint_fmt(fw, want)] = 0 ;
  fh[uint_fmt(fh, have)] = 0 ;
  why->len = 0 ;
  return stralloc_cats(why, "control/queuesplit says ") && stralloc_cats(why, fw)
    && stralloc_cats(why, " but the queue was made with ") && stralloc_cats(why, fh)
    && stralloc_cats(why, " (queue/split): put ") && stralloc_cats(why, fh)
    && stralloc_cats(why, " back into control/queuesplit (a queue's split cannot change while it holds mail)")
    && stralloc_0(why) ;
}

int ferry_queue_split_get (unsigned int *split, stralloc *why)
{
  uint64_t want = 0 ;
  unsigned int have = 0 ;
  int r = ferry_control_readu64("queuesplit", &want) ;
  if (r == -1)
  {
    why->len = 0 ;
    return stralloc_cats(why, "unable to read control/queuesplit") && stralloc_0(why) ? -1 : -2 ;
  }
  if (r == -2)
  {
    why->len = 0 ;
    return stralloc_cats(why, "bad value in control/queuesplit: it must be one number from 1 to 1000") && stralloc_0(why) ? 0 : -2 ;
  }
  r = ferry_queue_split_recorded(&have) ;
  if (r < 0)
  {
    why->len = 0 ;
    if (errno == EINVAL)
      return stralloc_cats(why, "queue/split does not hold a number from 1 to 1000: write back the number of numbered subdirectories of queue/mess") && stralloc_0(why) ? 0 : -2 ;
    return stralloc_cats(why, "unable to read queue/split") && stralloc_0(why) ? -1 : -2 ;
  }
  if (!r)
  {
    why->len = 0 ;
    return stralloc_cats(why, "queue/split is missing: run ferry-setup on the home, which writes control/queuesplit's number there "
      "(it must be the split the queue was made with: the count of queue/mess's numbered subdirectories)")
      && stralloc_0(why) ? 0 : -2 ;
  }
  if (have != want)
  {
    *split = have ;
    return mismatch_why(why, (unsigned int)want, have) ? 0 : -2 ;
  }
  *split = have ;
  return 1 ;
}

unsigned int ferry_queue_split_or_die (int e)
{
  stralloc why = STRALLOC_ZERO ;
  unsigned int split = 0 ;
  int r = ferry_queue_split_get(&split, &why) ;
  if (r == -2) strerr_diefu1sys(e, "allocate memory") ;
  if (r == -1) strerr_diefu1sys(e, why.s + 10) ;   /* "unable to " is strerr_diefu's own */
  if (!r) strerr_dief1x(e, why.s) ;
  stralloc_free(&why) ;
  return split ;
}
