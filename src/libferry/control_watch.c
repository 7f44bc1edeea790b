/* A number setting read again only when its file changed: for a server that applies it to each
   client, as a program run per client would. */

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <ferry/control.h>

static int same (struct stat const *a, struct stat const *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
      && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
      && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec ;
}

int ferry_control_watchu64 (ferry_control_watch *w, char const *name, uint64_t *u)
{
  char fn[16 + strlen(name)] ;
  struct stat st ;
  struct timespec now ;
  memcpy(fn, "control/", 8) ;
  memcpy(fn + 8, name, strlen(name) + 1) ;
  clock_gettime(CLOCK_REALTIME, &now) ;
  if (stat(fn, &st) < 0)
  {
    if (errno != ENOENT) return -1 ;
    memset(&st, 0, sizeof(st)) ;   /* no file: one state of its own, the default's */
  }
  if (w->stable && same(&st, &w->st))
  {
    *u = w->value ;
    return w->r ;
  }
  w->r = ferry_control_readu64(name, &w->value) ;
  w->st = st ;
  /* trusted while its status stays the same only when it had not changed for a second before
     it was read: a change made after the read then has a later change time, however coarse
     the file system's clock */
  w->stable = w->r >= 0 && st.st_ctim.tv_sec + 1 < now.tv_sec ;
  if (w->r >= 0) *u = w->value ;
  return w->r ;
}
