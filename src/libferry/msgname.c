/* ferry_msgname_*: a message's name, its stamp and id (doc/queue.html), made, read and parsed. */

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <skalibs/types.h>

#include <ferry/msgname.h>
#include <ferry/queue.h>

static char const digits[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" ;

uint64_t ferry_msgname_stamp (struct stat const *st)
{
  if (st->st_mtim.tv_sec < 0) return 0 ;
  return (uint64_t)st->st_mtim.tv_sec * 1000000 + (uint64_t)st->st_mtim.tv_nsec / 1000 ;
}

size_t ferry_msgname_fmt (char *s, uint64_t id, uint64_t stamp)
{
  unsigned int k ;
  size_t n = FERRY_MSGNAME_STAMPLEN ;
  for (k = 0 ; k < FERRY_MSGNAME_STAMPLEN ; k++) s[k] = digits[(stamp >> (5 * (FERRY_MSGNAME_STAMPLEN - 1 - k))) & 31] ;
  s[n++] = '.' ;
  n += uint64_fmt(s + n, id) ;
  s[n] = 0 ;
  return n ;
}

static int digit_scan (char c)
{
  char const *p ;
  if (c >= 'a' && c <= 'z') c -= 32 ;
  p = c ? strchr(digits, c) : 0 ;
  return p ? p - digits : -1 ;
}

int ferry_msgname_scan (char const *s, uint64_t *id, uint64_t *stamp)
{
  uint64_t t = 0, u ;
  unsigned int k ;
  size_t n ;
  for (k = 0 ; k < FERRY_MSGNAME_STAMPLEN ; k++)
  {
    int v = digit_scan(s[k]) ;
    if (v < 0) return 0 ;
    t = (t << 5) | (unsigned int)v ;
  }
  /* 11 digits are 55 bits: nothing overflows */
  if (s[k++] != '.') return 0 ;
  n = uint64_scan(s + k, &u) ;
  if (!n || s[k + n] || !u) return 0 ;
  *id = u ;
  *stamp = t ;
  return 1 ;
}

int ferry_msgname_read (uint64_t id, unsigned int split, uint64_t *stamp)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  struct stat st ;
  *stamp = 0 ;
  ferry_queue_path(fn, "mess", id, split) ;
  if (stat(fn, &st) < 0) return errno == ENOENT ? 0 : -1 ;
  *stamp = ferry_msgname_stamp(&st) ;
  return 1 ;
}

size_t ferry_msgname_of (char *s, uint64_t id, unsigned int split)
{
  uint64_t stamp ;
  ferry_msgname_read(id, split, &stamp) ;
  return ferry_msgname_fmt(s, id, stamp) ;
}

int ferry_msgname_stamp_set (int fd)
{
  struct timespec ts[2] ;
  ts[0].tv_sec = 0 ; ts[0].tv_nsec = UTIME_OMIT ;
  if (clock_gettime(CLOCK_REALTIME, &ts[1]) < 0) return -1 ;
  return futimens(fd, ts) ;
}
