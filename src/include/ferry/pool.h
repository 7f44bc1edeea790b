/* The queue's pools (doc/queue.html, "The pools"): files of finished messages kept, with their
   blocks, for the next messages, so that a queue file is made without allocating an inode and
   removed without freeing one. queue/free.inject holds message files and envelopes, for
   ferry-injectd (the queue's user); queue/free.prepare recipient files, for
   ferry-preprocess-todo (the queue manager's user). ferry-clean fills both. */
#ifndef FERRY_POOL_H
#define FERRY_POOL_H

#include <stdint.h>
#include <sys/types.h>
#include <skalibs/stralloc.h>

#define FERRY_POOL_INJECT "queue/free.inject"
#define FERRY_POOL_PREPARE "queue/free.prepare"
#define FERRY_POOL_SLOTS 2048      /* names 0 to 2047: the most files a pool keeps */
#define FERRY_POOL_KEEP 16384      /* bytes: a larger file is removed, not kept */
 /* the kinds of file (which, below): in free.inject, envelopes and message files; in
    free.prepare, local and remote recipient files */
#define FERRY_POOL_ENVELOPE 0
#define FERRY_POOL_MESSAGE 1
#define FERRY_POOL_LOCAL 0
#define FERRY_POOL_REMOTE 1

 /* Takes fn, a file of a finished message with no other name, out of the queue: moved into a
    free slot of the pool dir, or removed when it is larger than FERRY_POOL_KEEP, when the slots
    tried are taken, while a pool found full is let go by (doc/queue.html, "The pools"), or when
    the pool is missing. which (a kind above) tells a message's files apart, so that each has
    slots of its own, all of the parity of which: a taker finds each kind apart
    (ferry_pool_take). 1 when fn is gone, 0 with errno when it is still there.
    light: a removal that would free data blocks (the file's last name, the file not kept) is
    not done: -1, fn untouched. Freeing blocks waits for the disk on a file system mounted with
    discard; a caller that must not wait leaves such a removal to one that can. */
extern int ferry_pool_put (char const *dir, char const *fn, uint64_t id, unsigned int which, int light) ;

 /* 1 when removing the file st describes frees data blocks: a regular file with blocks, and
    this its last name (the test of ferry_pool_put's light, for any queue file). */
struct stat ;
extern int ferry_pool_frees (struct stat const *st) ;

typedef struct ferry_pool_s ferry_pool ;
struct ferry_pool_s
{
  int dirfd ;           /* the pool's directory, or -1: no pool (it is missing), make files */
  unsigned int mode ;   /* the mode of the files this process makes */
  uid_t uid ;           /* and their owner and group: this process's effective ids */
  gid_t gid ;
  stralloc names[2] ;   /* slot names read from the directory, each terminated: even, odd */
  size_t pos[2] ;       /* the next one to try of each */
  uint64_t emptyat ;    /* the directory's modification time (ns) when a read found none, else 0 */
} ;
#define FERRY_POOL_ZERO { .dirfd = -1, .mode = 0, .uid = 0, .gid = 0, .names = { STRALLOC_ZERO, STRALLOC_ZERO }, .pos = { 0, 0 }, .emptyat = 0 }

 /* Opens the pool dir (relative to the home, the current directory); without it, p makes no use
    of a pool. mode: the mode of the files this process makes, the only one it takes. */
extern void ferry_pool_init (ferry_pool *p, char const *dir, unsigned int mode) ;

 /* A file of the pool, renamed to fn: a regular file of this process's user and group, of p's
    mode, with one name. which is the kind of file wanted (ferry_pool_put's): a file put as that
    kind is taken first (a slot of its parity), so that its blocks fit the new file's size (a
    message file taken for an envelope is cut, freeing a block, and an envelope taken for a
    message file grows, allocating one); one of the other kind when none is left. mkname writes
    fn from the file's inode number. The file keeps its old bytes: the caller writes from offset
    0, then cuts it to its own length (ferry_pool_end). The fd (O_WRONLY, at offset 0), *ino and
    *size (the old length); -1 when the pool has none: the caller makes a file of its own. */
typedef void ferry_pool_name_func (char *fn, uint64_t ino, void *data) ;
extern int ferry_pool_take (ferry_pool *p, unsigned int which, char *fn, ferry_pool_name_func *mkname, void *data, uint64_t *ino, uint64_t *size) ;

 /* A file taken with old length size, len bytes written: cut to len when it was longer. 0, or
    -1 with errno. */
extern int ferry_pool_end (int fd, uint64_t size, uint64_t len) ;

#endif
