/* What every spawner shares: requests read from fd 0, answers written to fd 1. */
#ifndef FERRY_SPAWNER_H
#define FERRY_SPAWNER_H

#include <stddef.h>

#include <skalibs/stralloc.h>

typedef struct ferry_spawner_s ferry_spawner ;
struct ferry_spawner_s
{
  stralloc in ;    /* requests read, not yet complete */
  stralloc out ;   /* answers not yet written */
  size_t skip ;    /* bytes of a too-large request still to discard */
  int passfd ;     /* fd 0 is a socket whose requests carry descriptors (SCM_RIGHTS) */
  stralloc fds ;   /* the descriptors received, not yet taken, oldest first (ints) */
} ;
#define FERRY_SPAWNER_ZERO { .in = STRALLOC_ZERO, .out = STRALLOC_ZERO, .skip = 0, .passfd = 0, .fds = STRALLOC_ZERO }

 /* Reads what fd 0 has (non-blocking); every complete request goes to take(payload, length).
    1: go on; 0: end of input; -1: read error (errno). Broken frames are logged and skipped. */
extern int ferry_spawner_read (ferry_spawner *sp, void (*take)(char const *, size_t)) ;

 /* The oldest descriptor received with the requests (passfd), now the caller's; -1 if none. A
    descriptor arrives with the first byte of its request, so it is here when the request is. */
extern int ferry_spawner_fd (ferry_spawner *sp) ;

 /* Writes what fd 1 takes of the answers. 1, or 0 on an error (errno). */
extern int ferry_spawner_write (ferry_spawner *sp) ;

 /* Logs a malformed request, and answers it with one Z when its delivery number is known. */
extern void ferry_spawner_refuse (ferry_spawner *sp, char const *num, char const *why) ;

#endif
