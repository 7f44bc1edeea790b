/* ferry-clean: remove the queue files the queue manager names (requests on fd 0, acks on fd 1),
   or, as "ferry-clean sweep", the leftovers of interrupted injections (and of finished messages
   whose last removals a crash interrupted) older than 36 hours. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/array.h>
#include <ferry/control.h>
#include <ferry/frame.h>
#include <ferry/home.h>
#include <ferry/msgname.h>
#include <ferry/pool.h>
#include <ferry/queue.h>
#include <ferry/syncgap.h>

#include "removers.h"

#define USAGE "ferry-clean [ home ]  |  ferry-clean sweep [ home ]"
#define STALE (36 * 3600)
#define REMOVERS 4     /* removals at once (doc/ferry-clean.html, "Removals at once") */
#define WINDOW 16      /* requests at most between the start of their removals and their acknowledgement */
#define BACKLOG 8192   /* requests read and not yet acknowledged, at most: then fd 0 waits */
#define SYNC_RETRY_MAX 60   /* seconds between two tries of a failing sync, at most */

static unsigned int split ;

static int gone (char const *fn)
{
  return unlink(fn) == 0 || errno == ENOENT ;
}

 /* A request: t<id> (the todo entry, durably: the message is prepared), m<id> (a finished
    message's envelope, then its message file), c<id> (a corrupt message: todo, intd and mess),
    s<id> (the queue manager's own files of a finished message: the set's second ferry-clean, as
    the queue manager's user, gets these). The requests
    that arrive together share one sync: every todo entry of the batch is removed, the removals
    are made durable at once, and only then do the other files go and the acknowledgements
    leave. */
static unsigned int restored ;   /* envelopes made again in this batch */

static char const *todo_remove (uint64_t id, char kind)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  ferry_queue_path(fn, "todo", id, split) ;
  if (kind == 't')
  {
    /* the envelope must outlive the todo entry: ferry-inject syncs the envelope and todo/N, not
       intd/N, so a power loss can keep the todo name and lose the intd one. Then it is made
       again from the todo link (an EEXIST is the usual answer), and the batch's sync below
       covers it before the todo entry goes. */
    char intd[FERRY_QUEUE_PATH_MAX] ;
    ferry_queue_path(intd, "intd", id, split) ;
    if (link(fn, intd) == 0) restored++ ;
    else if (errno != EEXIST && errno != ENOENT) return "unable to restore the envelope (intd) from the todo entry" ;
  }
  return gone(fn) ? 0 : "unable to remove the todo entry" ;
}

 /* A removal left for a remover (the request's rest, from the step it names): ferry-clean's own
    loop does the removals that free no data blocks (a file moved into a pool, a file already
    gone, an empty mark), and leaves the others, which wait for the disk on a file system
    mounted with discard, to the removers (doc/ferry-clean.html, "Removals at once"). */
static char const later[] = "left for a remover" ;

 /* 1 when the file is gone, 0 when it cannot be removed, -1 when light and its removal would
    free data blocks (it is left); *removed is set when it was there. */
static int gone_at (char const *dir, uint64_t id, unsigned int splitby, char const *suffix, int light, int *removed)
{
  char fn[FERRY_QUEUE_PATH_MAX + 16] ;
  size_t k = ferry_queue_path(fn, dir, id, splitby) ;
  memcpy(fn + k, suffix, strlen(suffix) + 1) ;
  if (light)
  {
    struct stat st ;
    if (lstat(fn, &st) < 0) return errno == ENOENT ;
    if (ferry_pool_frees(&st)) return -1 ;
  }
  if (unlink(fn) == 0) { *removed = 1 ; return 1 ; }
  return errno == ENOENT ;
}

 /* A recipient file goes into the pool that ferry-preprocess-todo takes its files from. */
static int recipients_gone (char const *dir, uint64_t id, unsigned int which, int light)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  ferry_queue_path(fn, dir, id, split) ;
  return ferry_pool_put(FERRY_POOL_PREPARE, fn, id, which, light) ;
}

 /* The queue manager's files of a finished message, in the order that keeps a crash harmless:
    the delay-warning marks first (at worst a warning sent again), then the recipient files (a
    message with one left is loaded again, every recipient done, and finished again). Any
    failure stops here, leaving the rest for that next time. The marks (delay warning, deferral log, hold) are named by the id alone, and the id
    is the message file's inode, free again once the message file goes: a mark that a crash
    brought back after that would belong to the next message with the id (a hold would stop it).
    So when one of them was there, the acknowledgement waits for a sync (*durable), and the
    queue manager asks for the message file's removal only after it. The recipient files need
    none: ferry-preprocess-todo writes or removes both for every new message. Steps from *step;
    light: stops at a removal that frees blocks (later, *step naming it). */
static char const *sched_remove (uint64_t id, unsigned int *step, int light, int *durable)
{
  for (; *step < 6 ; (*step)++)
  {
    char const *why ;
    int r ;
    switch (*step)
    {
      case 0 : r = gone_at("bounce", id, 0, ".delay", light, durable) ; why = "unable to remove the delay-warning mark" ; break ;
      case 1 : r = gone_at("bounce", id, 0, ".delay.new", light, durable) ; why = "unable to remove the delay-warning mark" ; break ;
      case 2 : r = gone_at("defer", id, split, "", light, durable) ; why = "unable to remove the deferral log" ; break ;
      case 3 : r = gone_at("hold", id, 0, "", light, durable) ; why = "unable to remove the hold mark" ; break ;
      case 4 : r = recipients_gone("local", id, FERRY_POOL_LOCAL, light) ; why = "unable to remove a recipient file" ; break ;
      default : r = recipients_gone("remote", id, FERRY_POOL_REMOTE, light) ; why = "unable to remove a recipient file" ; break ;
    }
    if (r < 0) return later ;
    if (!r) return why ;
  }
  return 0 ;
}

 /* The removals of a request after its todo entry's (batch_start), from *step: 0, the reason
    it stopped, or (light) later. */
static char const *rest_remove (char kind, uint64_t id, unsigned int *step, int light, int *durable)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  if (kind == 's') return sched_remove(id, step, light, durable) ;
  if (kind == 't') return 0 ;
  if (kind == 'm' && !*step)
  {
    /* a finished message has no todo entry; one with this id is a new message that took the id
       (an inode, reused) after the sweep removed the old one's last files */
    ferry_queue_path(fn, "todo", id, split) ;
    if (access(fn, F_OK) == 0) { errno = 0 ; return "a new message has this id: its files are left alone" ; }
  }
  if (!*step) ++*step ;
  /* the envelope before the message file: the message file holds the id to the very end */
  for (; *step < 3 ; (*step)++)
  {
    int r ;
    ferry_queue_path(fn, *step == 1 ? "intd" : "mess", id, split) ;
    r = ferry_pool_put(FERRY_POOL_INJECT, fn, id, *step == 1 ? FERRY_POOL_ENVELOPE : FERRY_POOL_MESSAGE, light) ;
    if (r < 0) return later ;
    if (!r) return *step == 1 ? "unable to remove the envelope (intd)" : "unable to remove the message file" ;
  }
  return 0 ;
}

 /* A remover's job: the rest of a request, from the step where ferry-clean's loop stopped. */
static char const *remover_work (char kind, uint64_t id, unsigned int step, int *durable)
{
  return rest_remove(kind, id, &step, 0, durable) ;
}

typedef struct pend_s pend ;
struct pend_s
{
  size_t off, len ;     /* the request's payload in reqs */
  char kind ;           /* t, c, m, s; x for a request not understood */
  uint64_t id ;
  char const *why ;
  int err ;
  int done ;            /* its removals are over (or were never a remover's) */
  int durable ;         /* ... and must be synced before the acknowledgement (sched_remove) */
  int syncwait ;        /* its todo entry is removed, the sync that makes it durable failed */
  int started ;         /* its batch started (batch_start): its removals may go on */
} ;

 /* The requests asked and not yet acknowledged are pd[head..npd), in the order they came, those
    before pd[given] started; pd[k] is job number base + k for the removers. */
static pend *pd = 0 ;
static unsigned int npd = 0, apd = 0, head = 0, given = 0 ;
static uint32_t base = 0 ;
static stralloc reqs = STRALLOC_ZERO, out = STRALLOC_ZERO ;
static int qfd ;
static ferry_syncgap gap = FERRY_SYNCGAP_ZERO ;   /* for the syncs of todo removals */

 /* A failed sync is tried again, alone, after 1 s, then 2, 4, ... up to SYNC_RETRY_MAX: the
    requests it covers wait (their todo entries removed, their acknowledgements held), and the
    first sync that works lets them go on. One warning per failure, one line at the recovery. */
static unsigned int syncbackoff = 0 ;   /* 0: the syncs work */
static tain syncretry ;

static void sync_failed (char const *what, int e)
{
  char fmt[UINT_FMT] ;
  syncbackoff = !syncbackoff ? 1 : syncbackoff * 2 > SYNC_RETRY_MAX ? SYNC_RETRY_MAX : syncbackoff * 2 ;
  fmt[uint_fmt(fmt, syncbackoff)] = 0 ;
  tain_addsec_g(&syncretry, syncbackoff) ;
  strerr_warnw("unable to ", what, ": ", strerror(e), ": trying again in ", fmt, " s") ;
}

 /* Writes what it can of the acknowledgements without blocking. */
static void acks_write (void)
{
  ssize_t w = write(1, out.s, out.len) ;
  if (w < 0 && errno != EAGAIN && errno != EINTR) strerr_diefu1sys(111, "write acknowledgements") ;
  if (w > 0) { memmove(out.s, out.s + w, out.len - w) ; out.len -= w ; }
}

static void job_done (uint32_t job, char const *why, int err, int durable)
{
  uint32_t k = job - base ;
  if (k >= npd || k < head || pd[k].done) strerr_dief1x(111, "a remover answered a job it was not given") ;
  pd[k].why = why ; pd[k].err = err ; pd[k].done = 1 ; pd[k].durable |= durable ;
}

 /* One syncfs for every request at the head that is done and waits for it; when it fails, they
    wait for sync_retry. */
static void durable_sync (void)
{
  unsigned int k ;
  int want = 0 ;
  if (syncbackoff) return ;   /* the retry's */
  for (k = head ; k < npd && pd[k].done ; k++) if (pd[k].durable) { want = 1 ; break ; }
  if (!want) return ;
  if (syncfs(qfd) < 0) { sync_failed("sync the removal of a finished message's marks", errno) ; return ; }
  for (k = head ; k < npd && pd[k].done ; k++) pd[k].durable = 0 ;
}

 /* Acknowledges the requests at the head that are done, in the order they came: the queue
    manager's own ferry-clean is answered in order (ferry-schedule relies on it). */
static void acks_advance (void)
{
  durable_sync() ;
  while (head < npd && pd[head].done && !pd[head].durable)
  {
    size_t mark ;
    pend const *q = pd + head ;
    char const *p = reqs.s + q->off ;
    if (q->why)
    {
      char name[FERRY_MSGNAME_MAX] ;
      uint64_t id = 0 ;
      uint640_scan(p + 1, &id) ;
      ferry_msgname_of(name, id, split) ;
      strerr_warnw("message ", name, ": ", q->why, q->err ? ": " : "", q->err ? strerror(q->err) : "") ;
    }
    /* the acknowledgement echoes the request; a failure adds its reason as a second field */
    if (!ferry_frame_begin(&out, &mark) || !stralloc_catb(&out, p, q->len)
     || (q->why && !ferry_field_cats(&out, q->why)) || !ferry_frame_end(&out, mark))
      strerr_diefu1sys(111, "allocate memory") ;
    head++ ;
  }
  if (given < head) given = head ;   /* those acknowledged at once (t, or a failure) */
  if (head == npd) { base += npd ; npd = head = given = 0 ; reqs.len = 0 ; }
  else if (head >= 256 && 2 * head >= npd)
  {
    /* the acknowledged ones go, the others keep their job numbers */
    size_t off = pd[head].off ;
    unsigned int k ;
    memmove(pd, pd + head, (npd - head) * sizeof(pend)) ;
    memmove(reqs.s, reqs.s + off, reqs.len - off) ;
    reqs.len -= off ;
    npd -= head ; given -= head ; base += head ; head = 0 ;
    for (k = 0 ; k < npd ; k++) pd[k].off -= off ;
  }
}

 /* The requests pd[first..npd) came together: every todo entry among them is removed, one sync
    makes those removals durable, and only then do their other removals start, in the removers. */
static void batch_start (unsigned int first)
{
  unsigned int i, synced = 0, last = 0 ;
  restored = 0 ;
  for (i = first ; i < npd ; i++) pd[i].started = 1 ;
  for (i = first ; i < npd ; i++)
    if (pd[i].kind == 't' || pd[i].kind == 'c')
    {
      pd[i].why = todo_remove(pd[i].id, pd[i].kind) ;
      if (pd[i].why) pd[i].err = errno ; else { synced++ ; last = i ; }
    }
  if (synced)
  {
    /* the queue manager delivers only once these removals are durable: one directory is
       fsync'ed, more share one syncfs */
    char dir[FERRY_QUEUE_PATH_MAX] ;
    int r = -1 ;
    ferry_queue_subdir(dir, "todo", pd[last].id, split) ;
    if (!syncbackoff)   /* else the retry covers them */
    {
      ferry_syncgap_start(&gap) ;
      r = synced == 1 && !restored ? ferry_dir_sync(dir) : syncfs(qfd) ;
      if (r < 0) sync_failed("sync queue/todo", errno) ;
    }
    if (r < 0)
      for (i = first ; i < npd ; i++)
        if ((pd[i].kind == 't' || pd[i].kind == 'c') && !pd[i].why) pd[i].syncwait = 1 ;
  }
  for (i = first ; i < npd ; i++) pd[i].done = !pd[i].syncwait && (pd[i].why || pd[i].kind == 't') ;
}

 /* Starts the removals of the requests that wait, as far as the window goes: a request is
    acknowledged only after those before it, so a request whose removals are done waits for its
    acknowledgement (and is lost to a kill, doc/ferry-schedule.html) behind at most WINDOW. Each
    is done here as far as its removals free no blocks, its rest given to the removers. Returns
    how many it finished. */
static unsigned int jobs_give (void)
{
  unsigned int finished = 0 ;
  for (; given < npd && given - head < WINDOW && pd[given].started && !pd[given].syncwait ; given++)
  {
    pend *q = pd + given ;
    unsigned int step = 0 ;
    char const *why ;
    if (q->done) continue ;
    errno = 0 ;
    why = rest_remove(q->kind, q->id, &step, 1, &q->durable) ;
    if (why == later) { removers_give(base + given, q->kind, q->id, step) ; continue ; }
    q->why = why ; q->err = why ? errno : 0 ; q->done = 1 ;
    finished++ ;
  }
  return finished ;
}

 /* Acknowledges what is done and starts what waits, until the requests finished here free no
    more of the window. */
static void advance (void)
{
  do acks_advance() ; while (jobs_give()) ;
}

 /* Takes the complete request frames of in (what is left is kept for the next read). */
static void requests_take (stralloc *in)
{
  size_t pos = 0 ;
  for (;;)
  {
    size_t start, plen ;
    uint64_t id ;
    char const *p ;
    int f = ferry_frame_take(in->s, in->len, &pos, &start, &plen) ;
    if (!f) break ;
    if (f < 0)
    {
      strerr_warnw("broken request frame: skipped") ;
      if (f == -2) { pos = in->len ; break ; }
      continue ;
    }
    p = in->s + start ;
    if (plen < 3 || p[plen - 1] || uint640_scan(p + 1, &id) != plen - 2)
    {
      strerr_warnw("malformed request: ignored") ;
      continue ;
    }
    if (npd == apd) pd = ferry_array_grow(pd, &apd, sizeof(pend)) ;
    pd[npd].off = reqs.len ; pd[npd].len = plen ;
    pd[npd].kind = p[0] == 't' || p[0] == 'c' || p[0] == 'm' || p[0] == 's' ? p[0] : 'x' ;
    pd[npd].id = id ;
    pd[npd].why = pd[npd].kind == 'x' ? "unknown request" : 0 ;
    pd[npd].err = 0 ;
    pd[npd].durable = 0 ;
    pd[npd].syncwait = 0 ;
    pd[npd].done = 0 ;
    pd[npd].started = 0 ;
    npd++ ;
    if (!stralloc_catb(&reqs, p, plen)) strerr_diefu1sys(111, "allocate memory") ;
  }
  memmove(in->s, in->s + pos, in->len - pos) ;
  in->len -= pos ;
}

 /* The requests read and not started yet (the last ones) start as a batch: at once when none
    has a todo entry to remove, else once the last sync of todo removals is far enough behind
    (ferry/syncgap.h), those that come meanwhile joining them. 1 when some wait for that. */
static int batch_due (void)
{
  unsigned int first = npd, i ;
  int todo = 0 ;
  while (first > head && !pd[first - 1].started) first-- ;
  if (first == npd) return 0 ;
  for (i = first ; i < npd ; i++) if (pd[i].kind == 't' || pd[i].kind == 'c') { todo = 1 ; break ; }
  if (todo && !ferry_syncgap_due(&gap)) return 1 ;
  batch_start(first) ;
  return 0 ;
}

 /* The sync that failed, again, for every request that waits for one. */
static void sync_retry (void)
{
  unsigned int k, n = 0 ;
  char fmt[UINT_FMT] ;
  if (syncfs(qfd) < 0) { sync_failed("sync the queue", errno) ; return ; }
  for (k = head ; k < npd ; k++)
  {
    if (pd[k].syncwait) { pd[k].syncwait = 0 ; pd[k].done = pd[k].kind == 't' ; n++ ; }
    else if (pd[k].done && pd[k].durable) { pd[k].durable = 0 ; n++ ; }
  }
  syncbackoff = 0 ;
  fmt[uint_fmt(fmt, n)] = 0 ;
  strerr_warni("the queue syncs again: ", fmt, " requests go on") ;
}

static int serve (void)
{
  stralloc in = STRALLOC_ZERO ;
  iopause_fd x[2 + REMOVERS] ;
  int eof = 0, waiting = 0 ;
  if (ndelay_on(0) < 0 || ndelay_on(1) < 0) strerr_diefu1sys(111, "set fds 0 and 1 non-blocking") ;
  qfd = open("queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (qfd < 0) strerr_diefu1sys(111, "open queue") ;
  removers_start(REMOVERS, &remover_work) ;
  tain_now_set_stopwatch_g() ;
  for (;;)
  {
    unsigned int n = 0, nr ;
    int i0 = -1 ;
    if (eof && head == npd && !out.len) break ;
    if (!eof && npd - head < BACKLOG) { i0 = n ; x[n].fd = 0 ; x[n].events = IOPAUSE_READ ; n++ ; }
    if (out.len) { x[n].fd = 1 ; x[n].events = IOPAUSE_WRITE ; n++ ; }
    /* the removers' answers, and their ends: a remover that dies is seen at once, busy or not */
    nr = removers_pollset(x + n) ;
    {
      tain deadline = TAIN_INFINITE ;
      if (syncbackoff) deadline = syncretry ;
      if (waiting) ferry_syncgap_deadline(&gap, &deadline) ;
      if (iopause_g(x, n + nr, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;
    }
    removers_collect(x + n, &job_done) ;
    if (syncbackoff && !tain_less(&STAMP, &syncretry)) sync_retry() ;
    waiting = batch_due() ;
    advance() ;
    if (i0 >= 0 && x[i0].revents & IOPAUSE_READ)
    {
      size_t had = in.len ;
      int r = ferry_frame_input(&in) ;
      if (r < 0) strerr_diefu1sys(111, "read requests") ;
      if (!r) eof = 1 ;
      if (in.len > had)
      {
        requests_take(&in) ;
        waiting = batch_due() ;
        advance() ;
      }
    }
    /* what is acknowledged leaves at once, as far as the pipe takes it */
    if (out.len) acks_write() ;
  }
  stralloc_free(&in) ; stralloc_free(&out) ; stralloc_free(&reqs) ;
  free(pd) ;
  return 0 ;
}

static unsigned int removed = 0, problems = 0 ;
static char const *home ;

static void report (char const *fn, char const *what)
{
  if (buffer_puts(buffer_1, "removed ") < 0 || buffer_puts(buffer_1, home) < 0 || buffer_puts(buffer_1, "/") < 0 || buffer_puts(buffer_1, fn) < 0 || buffer_puts(buffer_1, " (") < 0
   || buffer_puts(buffer_1, what) < 0 || buffer_puts(buffer_1, ")\n") < 0)
    strerr_diefu1sys(111, "write to stdout") ;
}

 /* Is there a file named name in any numbered subdirectory of queue/dir, whatever the split
    (a file put where a changed control/queuesplit said is found too)? 1, 0, or -1 (errno). */
static int anywhere (char const *dir, char const *name)
{
  char dn[FERRY_QUEUE_PATH_MAX] ;
  DIR *dh ;
  struct dirent *de ;
  int r = 0, err = 0 ;
  ferry_queue_subdir(dn, dir, 0, 0) ;
  dh = opendir(dn) ;
  if (!dh) return errno == ENOENT ? 0 : -1 ;
  while (!r && (de = readdir(dh)))
  {
    char fn[256 + FERRY_QUEUE_PATH_MAX] ;
    size_t n = strlen(de->d_name) ;
    if (de->d_name[0] == '.' || n + strlen(name) + 2 > sizeof(fn)) continue ;
    memcpy(fn, de->d_name, n) ;
    fn[n] = '/' ;
    memcpy(fn + n + 1, name, strlen(name) + 1) ;
    if (faccessat(dirfd(dh), fn, F_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0) r = 1 ;
    else if (errno != ENOENT && errno != ENOTDIR) err = errno ;
  }
  closedir(dh) ;
  if (!r && err) { errno = err ; return -1 ; }
  return r ;
}

 /* Does the queue hold a message with this id, looked for in every numbered subdirectory:
    its envelope (todo, and for a message file intd too), a recipient file? */
static int owned (char const *dir, char const *name)
{
  static char const *const owners[] = { "todo", "intd", "local", "remote", 0 } ;
  char const *const *o ;
  int err = 0 ;
  for (o = owners ; *o ; o++)
  {
    int r ;
    if (!strcmp(*o, dir)) continue ;   /* the envelope being swept is not its own owner */
    r = anywhere(*o, name) ;
    if (r > 0) return 1 ;
    if (r < 0) err = errno ;
  }
  if (err) { errno = err ; return -1 ; }
  return 0 ;
}

 /* Files of dir (split or not) older than STALE, that no committed message owns. */
static void sweep_dir (char const *dir, int splitdir, time_t now)
{
  unsigned int d, nd = splitdir ? split : 1 ;
  for (d = 0 ; d < nd ; d++)
  {
    char dn[FERRY_QUEUE_PATH_MAX] ;
    DIR *dh ;
    struct dirent *de ;
    ferry_queue_subdir(dn, dir, d, splitdir ? split : 0) ;   /* subdirectory d: the one of id d */
    dh = opendir(dn) ;
    if (!dh) { strerr_warnwu2sys("open ", dn) ; problems++ ; continue ; }
    while ((de = readdir(dh)))
    {
      char fn[FERRY_QUEUE_PATH_MAX + 256] ;
      struct stat st ;
      uint64_t id ;
      char const *why = "an interrupted injection" ;
      if (de->d_name[0] == '.') continue ;
      if (strlen(dn) + strlen(de->d_name) + 2 > sizeof(fn)) continue ;
      memcpy(fn, dn, strlen(dn)) ;
      fn[strlen(dn)] = '/' ;
      memcpy(fn + strlen(dn) + 1, de->d_name, strlen(de->d_name) + 1) ;
      if (fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue ;
      if (st.st_mtime > now - STALE) continue ;
      if (splitdir)
      {
        int r ;
        if (uint640_scan(de->d_name, &id) != strlen(de->d_name)) continue ;   /* not a queue file: leave it */
        /* never a message of the queue: one with an envelope, a todo entry or a recipient file,
           in whatever subdirectory it is */
        r = owned(dir, de->d_name) ;
        if (r) { if (r < 0) { strerr_warnwu2sys("look for the message of ", fn) ; problems++ ; } continue ; }
        why = !strcmp(dir, "mess") ? "a message never committed, or left by a crash" : "an envelope never committed, or left by a crash" ;
      }
      if (unlink(fn) < 0) { if (errno != ENOENT) { strerr_warnwu2sys("remove ", fn) ; problems++ ; } continue ; }
      report(fn, why) ;
      removed++ ;
    }
    closedir(dh) ;
  }
}

static int sweep (void)
{
  time_t now = time(0) ;
  char fmt[UINT_FMT] ;
  sweep_dir("pid", 0, now) ;
  sweep_dir("intd", 1, now) ;
  sweep_dir("mess", 1, now) ;
  fmt[uint_fmt(fmt, removed)] = 0 ;
  if (buffer_puts(buffer_1, "ferry-clean: swept ") < 0 || buffer_puts(buffer_1, fmt) < 0
   || buffer_puts(buffer_1, " stale files\n") < 0 || !buffer_flush(buffer_1))
    strerr_diefu1sys(111, "write to stdout") ;
  return problems ? 111 : 0 ;
}

int main (int argc, char const *const *argv)
{
  int sweeping = argc > 1 && !strcmp(argv[1], "sweep") ;
  PROG = "ferry-clean" ;
  if (argc > 2 + sweeping) strerr_dieusage(100, USAGE) ;
  home = ferry_home(argc > 1 + sweeping ? argv[1 + sweeping] : 0) ;
  if (chdir(home) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  sig_ignore(SIGPIPE) ;
  sig_ignore(SIGHUP) ;   /* nothing to reread; a stray signal must not stop the set */
  split = ferry_queue_split_or_die(111) ;
  return sweeping ? sweep() : serve() ;
}
