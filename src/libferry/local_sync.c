/* ferry_local_sync: how a local delivery makes a file or a directory durable. By default each
   delivery syncs alone (fsync); ferry-spawn-local's workers share their syncs instead. */

#include <unistd.h>

#include <ferry/local.h>

static int sync_alone (int fd)
{
  return fsync(fd) ;
}

static int (*syncer) (int) = &sync_alone ;

void ferry_local_sync_use (int (*f) (int))
{
  syncer = f ? f : &sync_alone ;
}

int ferry_local_sync (int fd)
{
  return (*syncer)(fd) ;
}
