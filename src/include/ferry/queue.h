/* The queue directory: paths of queue files and durable directory changes. */
#ifndef FERRY_QUEUE_H
#define FERRY_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include <skalibs/uint64.h>

#define FERRY_QUEUE_SPLIT_DEFAULT 23
#define FERRY_QUEUE_SPLIT_MAX 1000
#define FERRY_QUEUE_PATH_MAX (32 + 2 * UINT64_FMT)

 /* "queue/DIR/N/ID" into s, N = id % split; returns the length, s is terminated.
    With split 0, "queue/DIR/ID" (the unsplit directories). */
extern size_t ferry_queue_path (char *s, char const *dir, uint64_t id, unsigned int split) ;

 /* "queue/DIR/N" for the split subdirectory that holds id. */
extern size_t ferry_queue_subdir (char *s, char const *dir, uint64_t id, unsigned int split) ;

 /* fsync a directory, so that a create, link, rename or unlink in it is durable. */
extern int ferry_dir_sync (char const *dir) ;

 /* Wake ferry-preprocess-todo through the trigger FIFO, never blocking, no error if no one
    listens. With n ids: the ids of new todo entries, one decimal line each ("123\n"), written
    in pieces of at most FERRY_TRIGGER_WRITE_MAX bytes of whole lines; with none: a null byte,
    which asks the reader to list every todo entry. A reader that finds anything but such lines
    lists every entry, and so does one that finds half its FIFO's capacity or more in one
    drain: a write that found the FIFO full was lost, and the reader cannot tell which. */
#define FERRY_TRIGGER_WRITE_MAX 256
extern void ferry_trigger_pull (char const *fifo, uint64_t const *ids, size_t n) ;

 /* The reader's side: ferry_trigger_parse calls f(id, data) for each id line of s[0..n); a
    line cut at the end of s waits in c for the next read. 1, or 0 (c emptied) at the first
    thing that is not an id line: the reader then lists every todo entry. */
typedef struct ferry_trigger_carry_s ferry_trigger_carry ;
struct ferry_trigger_carry_s
{
  char s[UINT64_FMT] ;
  size_t len ;
} ;
#define FERRY_TRIGGER_CARRY_ZERO { .len = 0 }
extern int ferry_trigger_parse (ferry_trigger_carry *c, char const *s, size_t n, void (*f)(uint64_t, void *), void *data) ;

/* Queue files are opened by name only through these: never through a symbolic link (a link
   planted in the queue must not make the set read or write elsewhere), never waiting on a FIFO,
   and only a regular file. ferry_queue_open: flags O_RDONLY or O_RDWR (O_CLOEXEC is added);
   the fd (its O_NONBLOCK left on: without effect on a regular file), -1 with errno, or -2 when
   the name is there but is not a regular file: then *what says what it is ("a FIFO", "a symbolic
   link", ...), and errno is EINVAL. ferry_queue_read appends a regular file from fd's offset to
   its end, at most max bytes in all in sa, to sa: 1, 0 with errno (it stops at the first short
   read, which for a regular file is its end). ferry_queue_slurp appends the file to sa: 1, 0
   with errno, -1 not a regular file (*what). */
extern int ferry_queue_open (char const *fn, int flags, char const **what) ;
extern int ferry_queue_read (int fd, stralloc *sa, size_t max) ;
extern int ferry_queue_slurp (stralloc *sa, char const *fn, char const **what) ;
 /* "a FIFO", "a symbolic link", "a directory", ... for a file's st_mode */
extern char const *ferry_queue_filetype (unsigned int mode) ;

/* Reading a queue that is not in memory (after a reboot, or once the kernel has paged out files
   written long before): each read of a file waits for the disk, one after the other, unless the
   files about to be read are asked for together first. ferry_queue_in_memory: 1 when the file's
   first page is in the page cache, or when that cannot be told (no such file, a kernel or file
   system without reads that may not wait); 0 when reading it would wait for the disk.
   ferry_queue_ask: the disk asked for the file's first len bytes (0: all of it) without waiting
   for them (POSIX_FADV_WILLNEED); nothing is read, nothing is said of a missing file. Both open
   the name as ferry_queue_open does, never through a link, never waiting on a FIFO. */
#define FERRY_QUEUE_ASK_MESSAGE 65536   /* of a message file: its head, not a large one whole */
#define FERRY_QUEUE_AHEAD_LOOKS 4       /* the files looked at to tell whether the next ones are in memory: any one out, they are asked for */
extern int ferry_queue_in_memory (char const *fn) ;
extern void ferry_queue_ask (char const *fn, size_t len) ;

/* A message's envelope (doc/queue.html): queue/intd/N/ID, from ferry-inject's commit to the
   message's end. Appended to sa; fn (FERRY_QUEUE_PATH_MAX) gets its path. 1 read, 0 with errno
   (ENOENT: no such file; EINVAL: not a regular file, ferry_queue_open). */
extern int ferry_queue_envelope_read (stralloc *sa, uint64_t id, unsigned int split, char *fn) ;

 /* qsort and bsearch order of message ids (uint64_t). */
extern int ferry_id_cmp (void const *a, void const *b) ;

 /* Does the queue hold a message with this id: its todo entry (not prepared yet), or a
    recipient file (prepared)? 1, 0, or -1 (a stat failed,
    errno). An envelope or a message file alone is not a message: an injection that did not
    commit, or the last files of a finished one. */
extern int ferry_queue_has_message (uint64_t id, unsigned int split) ;

/* The queue's split (doc/queue.html): the number of numbered subdirectories it was made with,
   recorded in queue/split by ferry-setup, and control/queuesplit must say the same (a queue's
   split cannot change while it holds mail). Every program takes it from here, never from
   control/queuesplit alone. Relative to the current directory, the home. */
 /* queue/split: 1 and *split, 0 no such file, -1 with errno (EINVAL: not a number from 1 to
    FERRY_QUEUE_SPLIT_MAX). */
extern int ferry_queue_split_recorded (unsigned int *split) ;
 /* The queue's split, checked against control/queuesplit: 1 and *split; 0 when it must not be
    used: why (terminated) says what is wrong and what to do (queue/split missing or not a
    number; the two numbers differ: why names both, and *split is the queue's own split), else
    *split untouched; -1 a read failed (why: "unable to ...", errno set); -2 out of memory. */
extern int ferry_queue_split_get (unsigned int *split, stralloc *why) ;
 /* The same, dying with exit code e and the reason. */
extern unsigned int ferry_queue_split_or_die (int e) ;

/* The fixed-width lower-case hex numbers of the queue's records: digits bytes, no terminator.
   ferry_hex_scan returns 0 on anything but 0-9a-f. */
extern void ferry_hex_fmt (char *s, uint64_t u, unsigned int digits) ;
extern int ferry_hex_scan (char const *s, unsigned int digits, uint64_t *u) ;

/* One record of queue/local/ID or queue/remote/ID (doc/queue.html): status, 16 hex of the next
   attempt, 8 hex of the envelope index, then the address and a null byte. */
#define FERRY_RCPT_HEAD 25
typedef struct ferry_rcpt_record_s ferry_rcpt_record ;
struct ferry_rcpt_record_s
{
  char status ;         /* T to deliver, K delivered, D failed for good */
  uint64_t next ;       /* the earliest next attempt, seconds since the Epoch */
  uint32_t index ;      /* the recipient's envelope index */
  char const *addr ;
} ;

extern int ferry_rcpt_record_cat (stralloc *sa, ferry_rcpt_record const *r) ;
 /* Takes the record at *pos of s[0..len) into r (addr points into s) and moves *pos past it: 1.
    At the end: 0. Truncated (no null byte after the address): -1. A status or a number that is not
    one: -2. On -1 and -2, *pos is left alone. */
extern int ferry_rcpt_record_take (char const *s, size_t len, size_t *pos, ferry_rcpt_record *r) ;

#endif
