/* ferry-schedule, in-place marks: a recipient's status and next attempt rewritten in its record, synced once a round. */

#define _GNU_SOURCE
#include "schedule.h"

/* ---------- the queue files ---------- */

 /* Rewrites a record's status or next-attempt field in place; the sync comes once per loop. */
 /* The recipient file of ri's message and channel, opened only for the round's updates: a queue
    of 100,000 messages must not hold 100,000 fds. */
static int record_fd (unsigned int ri)
{
  rcpt *r = sched.rcpts + ri ;
  msg *m = sched.msgs + r->msg ;
  if (m->fd[(int)r->ch] < 0)
  {
    char fn[FERRY_QUEUE_PATH_MAX] ;
    char const *what ;
    ferry_queue_path(fn, chdir_[(int)r->ch], m->id, sched.split) ;
    m->fd[(int)r->ch] = ferry_queue_open(fn, O_RDWR, &what) ;
    if (m->fd[(int)r->ch] < 0) { strerr_warnwu2sys("open (the set stops; nothing is lost) ", fn) ; _exit(111) ; }
  }
  m->dirty |= 1 << r->ch ;
  return m->fd[(int)r->ch] ;
}

void record_put (unsigned int ri, size_t at, char const *s, size_t n)
{
  if (pwrite(record_fd(ri), s, n, sched.rcpts[ri].off + at) != (ssize_t)n)
  {
    strerr_warnwu1sys("update a recipient record in place (the set stops; nothing is lost)") ;
    _exit(111) ;
  }
}

#define MARKS_SPAN_MAX 262144

 /* The status byte of n recipients of one message and channel (a batch): in one read and one
    write of the span of records they lie in, when it is small enough, instead of a write per
    recipient. The kernel's cost of a small write grows with the file (it walks the page's
    blocks), so a message of a million recipients would pay it a million times. Only this process
    writes a prepared message's recipient files, so the bytes in between are written back as
    they are. */
void records_mark (unsigned int const *r, unsigned int n, char status)
{
  size_t lo = sched.rcpts[r[0]].off, hi = lo ;
  unsigned int k ;
  char *buf ;
  int fd ;
  for (k = 1 ; k < n ; k++)
  {
    if (sched.rcpts[r[k]].msg != sched.rcpts[r[0]].msg || sched.rcpts[r[k]].ch != sched.rcpts[r[0]].ch) break ;
    if (sched.rcpts[r[k]].off < lo) lo = sched.rcpts[r[k]].off ;
    if (sched.rcpts[r[k]].off > hi) hi = sched.rcpts[r[k]].off ;
  }
  if (n < 2 || k < n || hi - lo >= MARKS_SPAN_MAX || !(buf = malloc(hi - lo + 1)))
  {
    for (k = 0 ; k < n ; k++) record_put(r[k], 0, &status, 1) ;
    return ;
  }
  fd = record_fd(r[0]) ;
  if (pread(fd, buf, hi - lo + 1, lo) != (ssize_t)(hi - lo + 1))
  {
    free(buf) ;
    for (k = 0 ; k < n ; k++) record_put(r[k], 0, &status, 1) ;
    return ;
  }
  for (k = 0 ; k < n ; k++) buf[sched.rcpts[r[k]].off - lo] = status ;
  if (pwrite(fd, buf, hi - lo + 1, lo) != (ssize_t)(hi - lo + 1))
  {
    strerr_warnwu1sys("update recipient records in place (the set stops; nothing is lost)") ;
    _exit(111) ;
  }
  free(buf) ;
}

void mark_dirty (unsigned int mi)
{
  if (sched.msgs[mi].ondirty) return ;
  sched.msgs[mi].ondirty = 1 ;
  append_or_die(&sched.dirtylist, &mi, sizeof mi) ;
}

 /* A recipient file's modification time is a hint: the earliest next attempt of the recipients
    deferred in the round, when that is in the future and none of the file's recipients is in
    flight. At start, the files whose time has come are loaded first (doc/queue.html). A lost or
    late hint costs nothing but order: every file is loaded. Set from the round's deferrals only,
    never from a walk of the message: a round costs what it changed, whatever the message's size. */
static void mtime_hint (msg const *m, int c)
{
  uint32_t lo = m->hintlo[c], now = time(0) ;
  struct timespec ts[2] ;
  if (m->flying[c] || !lo || lo <= now) return ;
  ts[0].tv_sec = 0 ; ts[0].tv_nsec = UTIME_OMIT ;
  ts[1].tv_sec = lo ; ts[1].tv_nsec = 0 ;
  if (futimens(m->fd[c], ts) < 0) strerr_warnwu1sys("set the time hint of a recipient file") ;
}

 /* Every in-place update of a round on disk before anything relies on it: one file is
    fdatasync'ed; two or more share one syncfs of the queue's file system (group commit). The
    round's files get their time hints and their descriptors closed here, all but that of a
    lone file, which *one is (-1 otherwise); the number of files is returned. */
static unsigned int dirty_end (int *one)
{
  unsigned int const *dirty = genalloc_s(unsigned int, &sched.dirtylist) ;
  size_t i, n = genalloc_len(unsigned int, &sched.dirtylist) ;
  unsigned int files = 0 ;
  *one = -1 ;
  for (i = 0 ; i < n ; i++)
  {
    msg const *m = sched.msgs + dirty[i] ;
    int c ;
    for (c = 0 ; c < 2 ; c++) if (m->dirty & (1 << c)) { mtime_hint(m, c) ; files++ ; }
  }
  for (i = 0 ; i < n ; i++)
  {
    msg *m = sched.msgs + dirty[i] ;
    int c ;
    m->ondirty = 0 ;
    m->hintlo[0] = m->hintlo[1] = 0 ;
    for (c = 0 ; c < 2 ; c++) if (m->dirty & (1 << c))
    {
      m->dirty &= ~(1u << c) ;
      if (files == 1) *one = m->fd[c] ;
      else fd_close(m->fd[c]) ;
      m->fd[c] = -1 ;
    }
  }
  genalloc_setlen(unsigned int, &sched.dirtylist, 0) ;
  if (files) sched.c.marksyncs++ ;
  return files ;
}

 /* The round's updates synced here and now (a deletion, which finishes its message at once). */
void sync_dirty (void)
{
  int one ;
  unsigned int files = dirty_end(&one) ;
  if (files > 1 && syncfs(sched.queuefd) < 0) { strerr_warnwu1sys("syncfs the queue (the set stops)") ; _exit(111) ; }
  if (one >= 0)
  {
    if (fdatasync(one) < 0) { strerr_warnwu1sys("sync a recipient file (the set stops)") ; _exit(111) ; }
    fd_close(one) ;
  }
}

 /* The round's updates handed to the syncer (syncer.c): 1 when there were some, 0 when not. */
int sync_dirty_start (void)
{
  int one ;
  if (!dirty_end(&one)) return 0 ;
  if (one >= 0) { syncer_ask(one, 'f') ; fd_close(one) ; }
  else syncer_ask(sched.queuefd, 's') ;
  return 1 ;
}
