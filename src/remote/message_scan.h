/* What the remote channel must know of a message before it sends it: its size on the wire,
   whether it is 8-bit and whether a line is too long for SMTP. */
#ifndef FERRY_REMOTE_MESSAGE_SCAN_H
#define FERRY_REMOTE_MESSAGE_SCAN_H

#include <stdint.h>

typedef struct message_flags_s message_flags ;
struct message_flags_s
{
  uint64_t size ;         /* counting the CR each LF will get */
  int eightbit ;
  int longline ;          /* a line over 998 octets */
} ;
#define MESSAGE_FLAGS_ZERO { .size = 0, .eightbit = 0, .longline = 0 }

 /* Reads fd to its end (a read error ends it too, as the end of the file). The flags are all it
    gives: the injector could record them, and the request carry them. */
extern void message_scan (int fd, message_flags *f) ;

#endif
