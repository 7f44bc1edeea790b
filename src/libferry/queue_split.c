/* The queue's split: the one it was made with (queue/split), which control/queuesplit must name. */

#include <dirent.h>
#include <errno.h>
#include <string.h>

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

int ferry_queue_split_derived (unsigned int *split)
{
  unsigned char seen[FERRY_QUEUE_SPLIT_MAX] ;
  unsigned int n = 0, max = 0, i ;
  struct dirent *de ;
  DIR *dh = opendir("queue/mess") ;
  *split = 0 ;
  if (!dh) return errno == ENOENT ? 0 : -1 ;
  memset(seen, 0, sizeof(seen)) ;
  for (;;)
  {
    unsigned int u ;
    size_t len ;
    errno = 0 ;
    de = readdir(dh) ;
    if (!de) break ;
    if (de->d_name[0] == '.') continue ;
    len = strlen(de->d_name) ;
    /* only 0..N-1, each written the way ferry-setup writes it */
    if (uint_scan(de->d_name, &u) != len || (len > 1 && de->d_name[0] == '0') || u >= FERRY_QUEUE_SPLIT_MAX || seen[u]) { n = 0 ; max = 0 ; errno = 0 ; break ; }
    seen[u] = 1 ;
    n++ ;
    if (u + 1 > max) max = u + 1 ;
  }
  {
    int e = errno ;
    closedir(dh) ;
    if (e) { errno = e ; return -1 ; }
  }
  if (!n || n != max) return 0 ;
  for (i = 0 ; i < n ; i++) if (!seen[i]) return 0 ;
  *split = n ;
  return 1 ;
}

 /* "control/queuesplit says WANT but the queue was made with HAVE (FROM): put HAVE back ..." */
static int mismatch_why (stralloc *why, unsigned int want, unsigned int have, char const *from)
{
  char fw[UINT_FMT] ;
  char fh[UINT_FMT] ;
  fw[uint_fmt(fw, want)] = 0 ;
  fh[uint_fmt(fh, have)] = 0 ;
  why->len = 0 ;
  return stralloc_cats(why, "control/queuesplit says ") && stralloc_cats(why, fw)
    && stralloc_cats(why, " but the queue was made with ") && stralloc_cats(why, fh)
    && stralloc_cats(why, from) && stralloc_cats(why, ": put ") && stralloc_cats(why, fh)
    && stralloc_cats(why, " back into control/queuesplit (a queue's split cannot change while it holds mail)")
    && stralloc_0(why) ;
}

int ferry_queue_split_get (unsigned int *split, stralloc *why, int *unrecorded)
{
  uint64_t want = 0 ;
  unsigned int have = 0 ;
  int r = ferry_control_readu64("queuesplit", &want) ;
  *unrecorded = 0 ;
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
    /* a queue made before queue/split: its numbered subdirectories say what it was made with */
    r = ferry_queue_split_derived(&have) ;
    if (r < 0)
    {
      why->len = 0 ;
      return stralloc_cats(why, "unable to read queue/mess") && stralloc_0(why) ? -1 : -2 ;
    }
    if (!r)
    {
      why->len = 0 ;
      return stralloc_cats(why, "queue/split is missing and the numbered subdirectories of queue/mess are not 0 to N-1: "
        "write the queue's split into queue/split (one number)") && stralloc_0(why) ? 0 : -2 ;
    }
    *unrecorded = 1 ;
  }
  if (have != want)
  {
    *split = have ;
    return mismatch_why(why, (unsigned int)want, have, *unrecorded ? " (its numbered subdirectories)" : " (queue/split)") ? 0 : -2 ;
  }
  *split = have ;
  return 1 ;
}

unsigned int ferry_queue_split_or_die (int e)
{
  stralloc why = STRALLOC_ZERO ;
  unsigned int split = 0 ;
  int unrecorded ;
  int r = ferry_queue_split_get(&split, &why, &unrecorded) ;
  if (r == -2) strerr_diefu1sys(e, "allocate memory") ;
  if (r == -1) strerr_diefu1sys(e, why.s + 10) ;   /* "unable to " is strerr_diefu's own */
  if (!r) strerr_dief1x(e, why.s) ;
  if (unrecorded)
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, split)] = 0 ;
    strerr_warnw("queue/split is missing: the queue's numbered subdirectories match control/queuesplit (", fmt, "), so that is taken; run ferry-setup to record it") ;
  }
  stralloc_free(&why) ;
  return split ;
}
