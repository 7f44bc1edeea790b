/* Paths of queue files: queue/DIR/N/ID with N = ID % split. */

#include <string.h>

#include <skalibs/uint64.h>

#include <ferry/queue.h>

size_t ferry_queue_subdir (char *s, char const *dir, uint64_t id, unsigned int split)
{
  size_t n = strlen(dir) ;
  memcpy(s, "queue/", 6) ;
  memcpy(s + 6, dir, n) ;
  n += 6 ;
  if (split)
  {
    s[n++] = '/' ;
    n += uint64_fmt(s + n, id % split) ;
  }
  s[n] = 0 ;
  return n ;
}

size_t ferry_queue_path (char *s, char const *dir, uint64_t id, unsigned int split)
{
  size_t n = ferry_queue_subdir(s, dir, id, split) ;
  s[n++] = '/' ;
  n += uint64_fmt(s + n, id) ;
  s[n] = 0 ;
  return n ;
}
