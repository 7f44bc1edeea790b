/* ferry_dir_sync: make a directory's entries durable. */

#include <fcntl.h>
#include <unistd.h>

#include <skalibs/djbunix.h>

#include <ferry/queue.h>

int ferry_dir_sync (char const *dir)
{
  int r ;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return -1 ;
  r = fsync(fd) ;
  fd_close(fd) ;
  return r ;
}
