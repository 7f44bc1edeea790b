/* local_sync: how a local delivery makes a file or a directory durable. By default each
   delivery syncs alone (fsync); ferry-spawn-local's workers share their syncs instead. */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "local.h"

int local_sync (local_state *st, int fd)
{
  return st->sync ? (*st->sync)(fd, st->syncdata) : fsync(fd) ;
}

int local_dir_sync (local_state *st, char const *dir)
{
  int r, e ;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return -1 ;
  r = local_sync(st, fd) ;
  e = errno ;
  close(fd) ;
  errno = e ;
  return r ;
}
