/* The queue directory: paths of queue files and durable directory changes. */
#ifndef FERRY_QUEUE_H
#define FERRY_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <skalibs/uint64.h>

#define FERRY_QUEUE_SPLIT_DEFAULT 23
#define FERRY_QUEUE_PATH_MAX (32 + 2 * UINT64_FMT)

 /* "queue/DIR/N/ID" into s, N = id % split; returns the length, s is terminated.
    With split 0, "queue/DIR/ID" (the unsplit directories). */
extern size_t ferry_queue_path (char *s, char const *dir, uint64_t id, unsigned int split) ;

 /* "queue/DIR/N" for the split subdirectory that holds id. */
extern size_t ferry_queue_subdir (char *s, char const *dir, uint64_t id, unsigned int split) ;

 /* fsync a directory, so that a create, link, rename or unlink in it is durable. */
extern int ferry_dir_sync (char const *dir) ;

 /* Wake the queue manager: a byte into the FIFO, never blocking, no error if no one listens. */
extern void ferry_trigger_pull (char const *fifo) ;

#endif
