/* message_scan: one read of a message for its size on the wire and its 8-bit and long lines. */

#include <unistd.h>

#include "message_scan.h"
#include "mime_conv.h"

void message_scan (int fd, message_flags *f)
{
  char buf[65536] ;
  uint64_t lf = 0, total = 0, linelen = 0 ;
  int lastcr = 0 ;
  ssize_t r ;
  f->eightbit = 0 ;
  f->longline = 0 ;
  while ((r = read(fd, buf, sizeof(buf))) > 0)
  {
    ssize_t i ;
    for (i = 0 ; i < r ; i++)
    {
      unsigned char ch = buf[i] ;
      if (ch == '\n')
      {
        lf++ ;
        if (linelen - lastcr > MIME_LINE_MAX) f->longline = 1 ;
        linelen = 0 ;
      }
      else
      {
        if (ch >= 128) f->eightbit = 1 ;
        linelen++ ;
      }
      lastcr = ch == '\r' ;
    }
    total += r ;
  }
  if (linelen - lastcr > MIME_LINE_MAX) f->longline = 1 ;
  f->size = total + lf ;
}
