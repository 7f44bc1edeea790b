/* The start of the event loop of a member of the set that talks to the queue manager on fds 0 and 1. */
#ifndef FERRY_LOOP_H
#define FERRY_LOOP_H

#include <skalibs/stralloc.h>

 /* The start of a member: at most one argument, the home (ferry/home.h), entered; SIGPIPE
    ignored. Returns the home's path; dies 100 on a bad usage, 111 when it cannot enter it. */
extern char const *ferry_member_enter (int argc, char const *const *argv, char const *usage) ;

 /* The self-pipe trapping the signals sigs (ended by 0), fds 0 and 1 non-blocking, the clock set
    (tain_now_set_stopwatch_g). Returns the self-pipe's fd; dies 111 on failure. */
extern int ferry_loop_setup (int const *sigs) ;

 /* Reads what fd (a FIFO opened non-blocking) has, onto sa, and calls take with each complete
    line that is not empty, its newline made a null byte; a partial line stays in sa, one over
    4096 bytes is dropped. 0: out of memory. */
extern int ferry_fifo_lines (int fd, stralloc *sa, void (*take) (char *)) ;

#endif
