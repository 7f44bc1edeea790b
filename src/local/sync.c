/* local_sync: how a local delivery makes a file or a directory durable. By default each
   delivery syncs alone (fsync); ferry-spawn-local's workers share their syncs instead. */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "local.h"

static int sync_alone (int fd)
{
  return fsync(fd) ;
}

static int (*syncer) (int) = &sync_alone ;

void local_sync_use (int (*f) (int))
{
  syncer = f ? f : &sync_alone ;
}

int local_sync (int fd)
{
  return (*syncer)(fd) ;
}

int local_dir_sync (char const *dir)
{
  int r, e ;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return -1 ;
  r = local_sync(fd) ;
  e = errno ;
  close(fd) ;
  errno = e ;
  return r ;
}
