/* ferry_queue_in_memory, ferry_queue_ask: whether a queue file is in the page cache, and asking
   the disk for a file without waiting for it, for the programs that read many queue files one
   after the other (a queue after a reboot, or one the kernel has paged out). */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/uio.h>

#include <skalibs/djbunix.h>

#include <ferry/queue.h>

 /* never through a symbolic link, never waiting on a FIFO; nothing is done with what is there
    but a hint: a name that is no regular file is the reader's to report */
static int open_hint (char const *fn)
{
  return open(fn, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) ;
}

int ferry_queue_in_memory (char const *fn)
{
  char c ;
  struct iovec v = { .iov_base = &c, .iov_len = 1 } ;
  int r, fd = open_hint(fn) ;
  if (fd < 0) return 1 ;
  /* RWF_NOWAIT: EAGAIN when the read would wait for the disk; any other failure (an older
     kernel, a file system without it, no regular file) is no answer: in memory, as far as the
     caller is concerned */
  r = preadv2(fd, &v, 1, 0, RWF_NOWAIT) >= 0 || errno != EAGAIN ;
  fd_close(fd) ;
  return r ;
}

void ferry_queue_ask (char const *fn, size_t len)
{
  int fd = open_hint(fn) ;
  if (fd < 0) return ;
  (void)posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_WILLNEED) ;
  fd_close(fd) ;
}
