/* ferry_trigger_pull: wake whoever listens on the trigger FIFO, never blocking; with ids, say
   which todo entries are new. */

#include <fcntl.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/types.h>

#include <ferry/queue.h>

void ferry_trigger_pull (char const *fifo, uint64_t const *ids, size_t n)
{
  char buf[FERRY_TRIGGER_WRITE_MAX] ;
  size_t len = 0, i ;
  int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (fd < 0) return ;  /* ENXIO: no reader, nothing to wake */
  /* EAGAIN: the reader is behind by half the FIFO at least, and looks at everything (below) */
  if (!n && write(fd, "", 1) < 0) { }
  for (i = 0 ; i < n ; i++)
  {
    /* each write is one piece of whole lines, far below PIPE_BUF: never split nor mixed */
    len += uint64_fmt(buf + len, ids[i]) ;
    buf[len++] = '\n' ;
    if (i + 1 == n || len + UINT64_FMT + 1 > sizeof(buf))
    {
      if (write(fd, buf, len) < 0) { }
      len = 0 ;
    }
  }
  fd_close(fd) ;
}
