/* ferry_queue_envelope_read, ferry_queue_has_message, ferry_id_cmp: a message's envelope,
   whether the queue holds a message with a given id (doc/queue.html), and the order of ids. */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <ferry/queue.h>

int ferry_queue_envelope_read (stralloc *sa, uint64_t id, unsigned int split, char *fn)
{
  size_t len = sa->len ;
  char const *what ;
  int r ;
  ferry_queue_path(fn, "intd", id, split) ;
  r = ferry_queue_slurp(sa, fn, &what) ;
  if (r > 0) return 1 ;
  sa->len = len ;
  return 0 ;
}

static int there (char const *dir, uint64_t id, unsigned int split)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  ferry_queue_path(fn, dir, id, split) ;
  if (faccessat(AT_FDCWD, fn, F_OK, AT_EACCESS) == 0) return 1 ;   /* effective ids: a set-id ferry-qread */
  return errno == ENOENT ? 0 : -1 ;
}

int ferry_queue_has_message (uint64_t id, unsigned int split)
{
  static char const *const dirs[3] = { "todo", "local", "remote" } ;
  unsigned int i ;
  int err = 0 ;
  for (i = 0 ; i < 3 ; i++)
  {
    int r = there(dirs[i], id, split) ;
    if (r > 0) return 1 ;
    if (r < 0) err = errno ;
  }
  if (err) { errno = err ; return -1 ; }
  return 0 ;
}

int ferry_id_cmp (void const *a, void const *b)
{
  uint64_t x = *(uint64_t const *)a, y = *(uint64_t const *)b ;
  return x < y ? -1 : x > y ;
}
