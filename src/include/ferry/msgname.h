/* A message's name: unique over the queue's life, where its id (an inode number) is reused. */
#ifndef FERRY_MSGNAME_H
#define FERRY_MSGNAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <skalibs/uint64.h>

 /* The name (doc/queue.html) is the stamp, microseconds since the Epoch of the message file's
    modification time (set once by ferry-inject), in FERRY_MSGNAME_STAMPLEN characters of base 32
    (0-9, then A-Z without I, L, O and U: ASCII order, so names sort by time), a dot, and the id in
    decimal: "1KQ3ZJ8VX4M.1234567". */
#define FERRY_MSGNAME_STAMPLEN 11
#define FERRY_MSGNAME_MAX (FERRY_MSGNAME_STAMPLEN + 1 + UINT64_FMT)   /* the terminator included */

 /* The stamp of a message file's stat. */
extern uint64_t ferry_msgname_stamp (struct stat const *st) ;

 /* The name into s (FERRY_MSGNAME_MAX), terminated; returns its length. */
extern size_t ferry_msgname_fmt (char *s, uint64_t id, uint64_t stamp) ;

 /* Takes the whole of s as a name: 1 and id, stamp; 0 if it is not one (a bare number is not). */
extern int ferry_msgname_scan (char const *s, uint64_t *id, uint64_t *stamp) ;

 /* The stamp of message id from its file queue/mess/N/ID (the current directory is the home):
    1; 0 when there is no such file (stamp 0); -1 on another error (errno, stamp 0). */
extern int ferry_msgname_read (uint64_t id, unsigned int split, uint64_t *stamp) ;

 /* The name of message id as ferry_msgname_read finds it, into s (FERRY_MSGNAME_MAX). */
extern size_t ferry_msgname_of (char *s, uint64_t id, unsigned int split) ;

 /* Sets the modification time of the message file open on fd to now, to the nanosecond (the
    kernel's own time of a write may be a clock tick old): for the writer, after its last write
    and before its sync. 0, or -1 with errno. */
extern int ferry_msgname_stamp_set (int fd) ;

#endif
