/* ferry_trigger_pull: wake whoever listens on the trigger FIFO, never blocking. */

#include <fcntl.h>
#include <unistd.h>

#include <skalibs/djbunix.h>

#include <ferry/queue.h>

void ferry_trigger_pull (char const *fifo)
{
  int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (fd < 0) return ;  /* ENXIO: no reader, nothing to wake */
  if (write(fd, "", 1) < 0) { }  /* EAGAIN: the reader has wake-ups pending already */
  fd_close(fd) ;
}
