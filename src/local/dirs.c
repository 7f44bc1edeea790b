/* local_dirs_make: a mailbox's missing directories (a Maildir and its parents, an mbox's
   directory), made with the rights of the process, the mailbox owner's. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "local.h"

 /* Makes the entry of path[0..len) (terminated there) durable: syncs its parent directory. */
static int parent_sync (local_state *st, char *path, size_t len)
{
  size_t k = byte_rchr(path, len, '/') ;
  char c ;
  int r, e ;
  if (k == len) return 0 ;   /* relative, in the current directory */
  if (!k) k = 1 ;            /* in / */
  c = path[k] ; path[k] = 0 ;
  r = local_dir_sync(st, path) ;
  e = errno ;
  path[k] = c ;
  errno = e ;
  return r ;
}

static int failed (stralloc *what, char const *verb, char const *path)
{
  int e = errno ;
  what->len = 0 ;
  if (stralloc_cats(what, verb) && stralloc_cats(what, path)) stralloc_0(what) ;
  errno = e ;
  return -1 ;
}

int local_dirs_make (local_state *st, char const *dir, mode_t mode, stralloc *what)
{
  size_t n = strlen(dir), len ;
  char path[n + 1] ;
  memcpy(path, dir, n + 1) ;
  while (n > 1 && path[n-1] == '/') path[--n] = 0 ;
  len = n ;
  /* up: cut the last component off while its parent is missing */
  for (;;)
  {
    size_t k ;
    if (!mkdir(path, mode)) { if (parent_sync(st, path, len) < 0) return failed(what, "sync the directory above ", path) ; break ; }
    if (errno == EEXIST) { if (len == n) return 0 ; break ; }
    if (errno != ENOENT) return failed(what, "create the directory ", path) ;
    k = byte_rchr(path, len, '/') ;
    if (!k || k == len) return failed(what, "create the directory ", path) ;
    path[k] = 0 ;
    len = k ;
  }
  /* down: put each cut back and make it */
  while (len < n)
  {
    path[len] = '/' ;
    len += strlen(path + len) ;
    if (mkdir(path, mode) < 0)
    {
      if (errno == EEXIST) continue ;
      return failed(what, "create the directory ", path) ;
    }
    if (parent_sync(st, path, len) < 0) return failed(what, "sync the directory above ", path) ;
  }
  return 0 ;
}
