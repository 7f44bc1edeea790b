/* sendmaild_answer, sendmaild_answer_code: ferry-sendmaild's line to a caller (ferry-sendmaild.html,
   Protocol), from the server or from a worker. */

#include <string.h>
#include <sys/socket.h>

#include <skalibs/types.h>

#include "sendmaild.h"

void sendmaild_answer (int fd, char const *s)
{
  if (send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { }
}

void sendmaild_answer_code (int fd, int code)
{
  char line[UINT_FMT + 1] ;
  size_t n = uint_fmt(line, code) ;
  line[n++] = '\n' ;
  line[n] = 0 ;
  sendmaild_answer(fd, line) ;
}
