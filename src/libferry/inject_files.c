/* ferry_inject_pidfile, ferry_inject_intd_create, ferry_inject_received_fmt,
   ferry_inject_envelope_code: what ferry-inject and ferry-injectd share of a commit. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/date822.h>
#include <ferry/envelope.h>
#include <ferry/inject.h>

int ferry_inject_pidfile (char *fn, pid_t pid)
{
  struct timespec ts ;
  unsigned int seq = 0 ;
  for (; seq < 10 ; seq++)
  {
    size_t n = 10 ;
    int fd ;
    clock_gettime(CLOCK_REALTIME, &ts) ;
    memcpy(fn, "queue/pid/", 10) ;
    n += pid_fmt(fn + n, pid) ;
    fn[n++] = '.' ;
    n += uint64_fmt(fn + n, (uint64_t)ts.tv_sec) ;
    fn[n++] = '.' ;
    n += uint64_fmt(fn + n, (uint64_t)ts.tv_nsec) ;
    fn[n++] = '.' ;
    n += uint_fmt(fn + n, seq) ;
    fn[n] = 0 ;
    fd = open(fn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) ;
    if (fd >= 0 || errno != EEXIST) return fd ;
  }
  return -1 ;
}

int ferry_inject_intd_create (char const *fn)
{
  int fd = open(fn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) ;
  if (fd >= 0 || errno != EEXIST) return fd ;
  /* the id is the inode of the message file this injection holds: no message of the queue has
     it, so an envelope by that name is stale, left by a crash that lost the envelope's removal
     but kept the message file's (doc/queue.html) */
  if (unlink(fn) < 0 && errno != ENOENT) return -1 ;
  return open(fn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) ;
}

int ferry_inject_envelope_code (ferry_envelope_status st)
{
  switch (st)
  {
    case FERRY_ENVELOPE_TOOLONG : return FERRY_INJECT_ADDRTOOLONG ;
    case FERRY_ENVELOPE_MORE : return FERRY_INJECT_READ ;   /* it ended before its terminator */
    default : return FERRY_INJECT_ENVELOPE ;
  }
}

size_t ferry_inject_received_fmt (char *s, pid_t pid, uid_t uid, uint64_t id, time_t now)
{
  size_t n = 0 ;
  memcpy(s + n, "Received: (ferry ", 17) ; n += 17 ;
  n += pid_fmt(s + n, pid) ;
  memcpy(s + n, " invoked by uid ", 16) ; n += 16 ;
  n += uid_fmt(s + n, uid) ;
  memcpy(s + n, ") id ", 5) ; n += 5 ;
  n += uint64_fmt(s + n, id) ;
  memcpy(s + n, "; ", 2) ; n += 2 ;
  n += ferry_date822_fmt(s + n, now) ;
  s[n++] = '\n' ;
  return n ;
}
