/* The start of the event loop of a member of the set that talks to the queue manager on fds 0 and 1. */
#ifndef FERRY_LOOP_H
#define FERRY_LOOP_H

 /* The self-pipe trapping the signals sigs (ended by 0), fds 0 and 1 non-blocking, the clock set
    (tain_now_set_stopwatch_g). Returns the self-pipe's fd; dies 111 on failure. */
extern int ferry_loop_setup (int const *sigs) ;

#endif
