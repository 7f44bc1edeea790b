/* ferry_fifo_lines: the commands written to a FIFO, a line each (queue/lock/steer, remote/ask). */

#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include <ferry/loop.h>

int ferry_fifo_lines (int fd, stralloc *sa, void (*take) (char *))
{
  char buf[4096] ;
  ssize_t r ;
  size_t start = 0, i ;
  while ((r = read(fd, buf, sizeof(buf))) > 0)
    if (!stralloc_catb(sa, buf, r)) return 0 ;
  for (i = 0 ; i < sa->len ; i++) if (sa->s[i] == '\n')
  {
    sa->s[i] = 0 ;
    if (i > start) (*take)(sa->s + start) ;
    start = i + 1 ;
  }
  memmove(sa->s, sa->s + start, sa->len - start) ;
  sa->len -= start ;
  if (sa->len > 4096) sa->len = 0 ;   /* a line that never ends: dropped */
  return 1 ;
}
