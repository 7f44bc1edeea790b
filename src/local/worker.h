/* ferry-spawn-local's delivery workers (doc/ferry-spawn-local.html): the worker's side, and the
   sync frames both sides exchange. */
#ifndef FERRY_LOCAL_WORKER_H
#define FERRY_LOCAL_WORKER_H

#include <stdint.h>

#include <skalibs/stralloc.h>

#include "local.h"

 /* A frame of the shared syncs, both ways: its kind, then a number if hasnum. One buffer, reused:
    a frame goes out before the next is made. */
extern stralloc const *local_sync_frame (char kind, int hasnum, uint64_t u) ;

 /* The worker, in its own process: becomes first's owner, then delivers the jobs that come on fd
    until the channel closes it. Never returns. */
extern void local_worker_main (int fd, ferry_local_target const *first, ferry_local_ctx const *ctx) __attribute__((noreturn)) ;

#endif
