/* ferry-schedule: the queue manager. fd 0/1 from/to ferry-preprocess-todo, 2 the log, 3/4 to/from
   ferry-spawn-local, 5/6 to/from ferry-spawn-remote, 7/8 to/from ferry-clean, 9/10 to/from its own
   ferry-clean (as its user, for its own files). One iopause loop; the queue on disk is the only
   state that survives it. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/array.h>
#include <ferry/control.h>
#include <ferry/defer.h>
#include <ferry/dsn.h>
#include <ferry/envelope.h>
#include <ferry/frame.h>
#include <ferry/home.h>
#include <ferry/msgname.h>
#include <ferry/queue.h>

#include "dests.h"
#include "idring.h"

#define USAGE "ferry-schedule [ home ]"

extern char **environ ;
#define STOP_WAIT 60          /* seconds SIGTERM waits for deliveries in progress */
#define DELETED_TEXT "5.0.0 returned to the sender by the administrator with ferry-qctl bounce"

enum { CH_LOCAL, CH_REMOTE } ;
static char const *const chname[2] = { "local", "remote" } ;
static char const *const chdir_[2] = { "local", "remote" } ;

typedef struct rcpt_s rcpt ;
struct rcpt_s
{
  char const *addr ;    /* in its message's strings block */
  unsigned int msg ;
  uint32_t off ;        /* the record's offset in its file */
  uint32_t next ;       /* next attempt, seconds since the Epoch */
  int link ;            /* the deferred heap position; -1 nowhere, -2 in a ready list; the next free slot when free */
  uint32_t eidx ;       /* its envelope index */
  char ch ;
  char status ;         /* T, K, D; 'F' in flight */
  unsigned char notify ; /* its NOTIFY bits (ferry/dsn.h), 0 when none given */
} ;

 /* Kept small: a queue of 100,000 messages holds 100,000 of these (doc/performance.md). */
typedef struct msg_s msg ;
struct msg_s
{
  uint64_t id ;
  uint64_t stamp ;              /* with id, its name (ferry/msgname.h), as the log calls it */
  char *sender ;                /* one block: the sender, then every recipient's address */
  union { unsigned int one ; unsigned int *many ; } rs ;   /* its recipients (MSG_R) */
  char *lasterr ;
  uint32_t birth ;
  unsigned int count ;
  unsigned int open ;           /* recipients not yet K or D */
  pid_t job ;           /* its running ferry-bounce-build */
  uint32_t jobnext ;    /* not before: after a failed run */
  uint32_t lasttime ;   /* the last deferral: when, and its text (lasterr, for the delay warning) */
  uint32_t hintlo[2] ;  /* the earliest next attempt of the round's deferrals, per file; 0 for none */
  unsigned int flying[2] ;      /* recipients in flight, per channel */
  int fd[2] ;                   /* local/ and remote/ files, open only during a round of updates */
  unsigned char dirty[2] ;
  unsigned char jobfailures ;
  unsigned int used : 1 ;
  unsigned int bounced : 1 ;    /* queue/bounce/ID exists: notifications to send when every recipient is done */
  unsigned int warned : 1 ;     /* queue/bounce/ID.delay exists: the delay warning is made (or being made) */
  unsigned int delaypending : 1 ; /* ... and not sent yet */
  unsigned int waiting : 1 ;    /* on the list of messages waiting for ferry-bounce-build */
  unsigned int deferlog : 1 ;   /* queue/defer/N/ID may exist */
  unsigned int held : 1 ;       /* queue/hold/ID exists: never attempted until released */
  unsigned int finishing : 1 ;  /* on the list of messages to finish once this round's marks are synced */
  unsigned int ondirty : 1 ;    /* on the round's list of messages with updates to sync */
  unsigned int deleting : 2 ;   /* being deleted: 1 without notice, 2 with a failure notice */
} ;

 /* A message's recipients, indices into rcpts: inline when there is one. */
#define MSG_R(m) ((m)->count > 1 ? (m)->rs.many : (unsigned int *)&(m)->rs.one)

typedef struct flight_s flight ;
struct flight_s
{
  int used ;
  char ch ;
  unsigned int msg ;
  unsigned int dest ;   /* remote: its destination (dests.h) */
  unsigned int n ;
  unsigned int *r ;     /* the recipients */
} ;

static unsigned int split ;
static unsigned int conc[2], perdest ;
static uint64_t lifetime, minbackoff, maxbackoff, delaywarning ;
static msg *msgs = 0 ;
static unsigned int nmsgs = 0, livemsgs = 0 ;
static rcpt *rcpts = 0 ;
static unsigned int nrcpts = 0, openrcpts = 0 ;
static int freercpt = -1 ;
static flight *flights = 0 ;
static unsigned int nflights = 0, inflight[2] = { 0, 0 } ;
static unsigned int *heap = 0 ;       /* deferred recipients, by next attempt */
static unsigned int nheap = 0, aheap = 0 ;
static idring ready[2] = { IDRING_ZERO, IDRING_ZERO } ;      /* recipients due now */
#define NPEERS 5
static stralloc out[NPEERS] = { STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO } ;  /* to fds 1, 3, 5, 7, 9 */
static stralloc in[NPEERS] = { STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO } ;   /* from fds 0, 4, 6, 8, 10 */
static int stopping = 0 ;
static pid_t members[NPEERS] ;
static unsigned int nmembers = 0 ;
static int statuschanged = 1 ;

/* ---------- messages by id: open addressing, linear probing ---------- */

static unsigned int *idtab = 0 ;        /* slots: message index + 1, 0 empty */
static unsigned int nidx = 0, usedidx = 0 ;

static unsigned int idhash (uint64_t id) { return (unsigned int)((id * 0x9e3779b97f4a7c15ULL) >> 32) ; }

static int msg_find (uint64_t id)
{
  unsigned int i ;
  if (!nidx) return -1 ;
  for (i = idhash(id) & (nidx - 1) ; idtab[i] ; i = (i + 1) & (nidx - 1))
    if (msgs[idtab[i] - 1].id == id) return idtab[i] - 1 ;
  return -1 ;
}

static void idx_put (uint64_t id, unsigned int mi)
{
  unsigned int i ;
  if ((usedidx + 1) * 2 > nidx)
  {
    unsigned int *old = idtab, oldn = nidx, k ;
    nidx = nidx ? nidx * 2 : 1024 ;
    idtab = calloc(nidx, sizeof(unsigned int)) ;
    if (!idtab) strerr_diefu1sys(111, "allocate memory") ;
    usedidx = 0 ;
    for (k = 0 ; k < oldn ; k++) if (old[k]) idx_put(msgs[old[k] - 1].id, old[k] - 1) ;
    free(old) ;
  }
  for (i = idhash(id) & (nidx - 1) ; idtab[i] ; i = (i + 1) & (nidx - 1)) ;
  idtab[i] = mi + 1 ;
  usedidx++ ;
}

static void idx_del (uint64_t id)
{
  unsigned int i, j ;
  for (i = idhash(id) & (nidx - 1) ; idtab[i] ; i = (i + 1) & (nidx - 1))
    if (msgs[idtab[i] - 1].id == id) break ;
  if (!idtab[i]) return ;
  idtab[i] = 0 ;
  usedidx-- ;
  /* re-place the entries after it in its run */
  for (j = (i + 1) & (nidx - 1) ; idtab[j] ; j = (j + 1) & (nidx - 1))
  {
    unsigned int mi = idtab[j] - 1 ;
    idtab[j] = 0 ;
    usedidx-- ;
    idx_put(msgs[mi].id, mi) ;
  }
}

/* ---------- destinations (dests.h) ---------- */

 /* A remote domain whose last delivery failed at the destination (an H result: no host took the
    connection, the greeting, EHLO/HELO or MAIL, or one said 421): it is backed off as a whole. A
    recipient's own temporary refusal (Z, a 4xx to RCPT) never does that. While a
    probe (one delivery) is out, its other recipients wait PROBE_WAIT seconds, or until the probe
    succeeds, when all its deferred mail is retried at once. Kept in memory only, as are the
    deliveries out to each domain and its recipients parked while it has no free slot. */
#define PROBE_WAIT 60

static char const *domain_of (char const *a)
{
  char const *at = strrchr(a, '@') ;
  return at ? at + 1 : "" ;
}

 /* Ends a destination's failure: its recipients are no longer held back as a whole. */
static void dest_unfail (int d)
{
  if (d < 0) return ;
  dests[d].failures = 0 ;
  dests[d].until = 0 ;
  dests_drop_idle(d) ;
}

/* ---------- log ---------- */

static void logs (char const *s) { if (buffer_puts(buffer_2, s) < 0) _exit(111) ; }
static void logbytes (char const *s, size_t n) { if (buffer_put(buffer_2, s, n) < 0) _exit(111) ; }
static void logu (uint64_t u) { char f[UINT64_FMT] ; logbytes(f, uint64_fmt(f, u)) ; }
static void logname (uint64_t id, uint64_t stamp) { char f[FERRY_MSGNAME_MAX] ; logbytes(f, ferry_msgname_fmt(f, id, stamp)) ; }
 /* A message not loaded: its name from its message file. */
static void lognameof (uint64_t id) { char f[FERRY_MSGNAME_MAX] ; logbytes(f, ferry_msgname_of(f, id, split)) ; }
static void logend (void) { logs("\n") ; }   /* written once a round (main), or by strerr's flush */
static void logclean (char const *s)
{
  for (; *s ; s++) { char c = (unsigned char)*s < 32 ? ' ' : *s ; logbytes(&c, 1) ; }
}

static void status_log (void)
{
  logs("status: local ") ; logu(inflight[CH_LOCAL]) ; logs("/") ; logu(conc[CH_LOCAL]) ;
  logs(" remote ") ; logu(inflight[CH_REMOTE]) ; logs("/") ; logu(conc[CH_REMOTE]) ;
  logs(" messages ") ; logu(livemsgs) ; logs(" recipients ") ; logu(openrcpts) ;
  logend() ;
  statuschanged = 0 ;
}

/* ---------- sets of recipients: the deferred heap and the ready lists ---------- */

 /* By next attempt, then by slot: recipients due at the same second come out in the order they
    were loaded, so a batch taken from the ready list has neighbouring envelope indexes. */
static int earlier (unsigned int a, unsigned int b) { return rcpts[a].next < rcpts[b].next || (rcpts[a].next == rcpts[b].next && a < b) ; }

static void heap_swap (unsigned int i, unsigned int j)
{
  unsigned int t = heap[i] ; heap[i] = heap[j] ; heap[j] = t ;
  rcpts[heap[i]].link = i ; rcpts[heap[j]].link = j ;
}

static void heap_up (unsigned int i)
{
  while (i && earlier(heap[i], heap[(i - 1) / 2])) { heap_swap(i, (i - 1) / 2) ; i = (i - 1) / 2 ; }
}

static void heap_down (unsigned int i)
{
  for (;;)
  {
    unsigned int l = 2 * i + 1, r = l + 1, m = i ;
    if (l < nheap && earlier(heap[l], heap[m])) m = l ;
    if (r < nheap && earlier(heap[r], heap[m])) m = r ;
    if (m == i) return ;
    heap_swap(i, m) ;
    i = m ;
  }
}

static void heap_push (unsigned int ri)
{
  if (nheap == aheap) heap = ferry_array_grow(heap, &aheap, sizeof(unsigned int)) ;
  heap[nheap] = ri ;
  rcpts[ri].link = nheap ;
  heap_up(nheap++) ;
}

static unsigned int heap_pop (void)
{
  unsigned int ri = heap[0] ;
  heap_swap(0, --nheap) ;
  heap_down(0) ;
  rcpts[ri].link = -1 ;
  return ri ;
}

static void ready_push (unsigned int ri)
{
  idring_push(&ready[(int)rcpts[ri].ch], ri) ;
  rcpts[ri].link = -2 ;
}

 /* The next entry of a ready ring, or -1 for a stale one: an entry is only good while its
    recipient's link says it is in a ready list (-2). A recipient taken out another way (folded
    into a transaction, its message forgotten, its slot reused) just leaves its entry to be
    skipped here. */
static int ready_pop (int ch)
{
  unsigned int ri = idring_pop(&ready[ch]) ;
  if (rcpts[ri].link != -2) return -1 ;
  rcpts[ri].link = -1 ;
  return (int)ri ;
}

 /* Takes a recipient out of the deferred heap. */
static void heap_remove (unsigned int pos)
{
  unsigned int ri = heap[pos] ;
  nheap-- ;
  if (pos != nheap)
  {
    heap[pos] = heap[nheap] ;
    rcpts[heap[pos]].link = pos ;
    heap_down(pos) ;
    heap_up(pos) ;
  }
  rcpts[ri].link = -1 ;
}

/* ---------- slots: the recipient and message tables ---------- */

 /* Doubles a table without touching the new slots: pages no slot has used yet stay unmapped, so
    the memory a queue costs follows its size, not the table's (slots are set when handed out). */
static void *table_grow (void *p, unsigned int *cap, size_t size)
{
  unsigned int m = *cap ? *cap * 2 : 64 ;
  void *q = realloc(p, (size_t)m * size) ;
  if (!q) strerr_diefu1sys(111, "allocate memory") ;
  *cap = m ;
  return q ;
}

 /* A free slot: the most recently freed, else the next never used. */
static unsigned int rcpttop = 0 ;

static unsigned int rcpt_alloc (void)
{
  unsigned int ri ;
  if (freercpt >= 0)
  {
    ri = freercpt ;
    freercpt = rcpts[ri].link ;
    return ri ;
  }
  if (rcpttop == nrcpts) rcpts = table_grow(rcpts, &nrcpts, sizeof(rcpt)) ;
  return rcpttop++ ;
}

static unsigned int *freemsgs = 0 ;
static unsigned int nfreemsgs = 0, afreemsgs = 0, msgtop = 0 ;

static unsigned int msg_alloc (void)
{
  if (nfreemsgs) return freemsgs[--nfreemsgs] ;
  if (msgtop == nmsgs) msgs = table_grow(msgs, &nmsgs, sizeof(msg)) ;
  return msgtop++ ;
}

static void msg_free (unsigned int mi)
{
  if (nfreemsgs == afreemsgs) freemsgs = table_grow(freemsgs, &afreemsgs, sizeof(unsigned int)) ;
  freemsgs[nfreemsgs++] = mi ;
}

/* ---------- the queue files ---------- */


 /* Rewrites a record's status or next-attempt field in place; the sync comes once per loop. */
 /* The recipient file of ri's message and channel, opened only for the round's updates: a queue
    of 100,000 messages must not hold 100,000 fds. */
static int record_fd (unsigned int ri)
{
  rcpt *r = rcpts + ri ;
  msg *m = msgs + r->msg ;
  if (m->fd[(int)r->ch] < 0)
  {
    char fn[FERRY_QUEUE_PATH_MAX] ;
    char const *what ;
    ferry_queue_path(fn, chdir_[(int)r->ch], m->id, split) ;
    m->fd[(int)r->ch] = ferry_queue_open(fn, O_RDWR, &what) ;
    if (m->fd[(int)r->ch] < 0) { strerr_warnwu2sys("open (the set stops; nothing is lost) ", fn) ; _exit(111) ; }
  }
  m->dirty[(int)r->ch] = 1 ;
  return m->fd[(int)r->ch] ;
}

static void record_put (unsigned int ri, size_t at, char const *s, size_t n)
{
  if (pwrite(record_fd(ri), s, n, rcpts[ri].off + at) != (ssize_t)n)
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
static void records_mark (unsigned int const *r, unsigned int n, char status)
{
  size_t lo = rcpts[r[0]].off, hi = lo ;
  unsigned int k ;
  char *buf ;
  int fd ;
  for (k = 1 ; k < n ; k++)
  {
    if (rcpts[r[k]].msg != rcpts[r[0]].msg || rcpts[r[k]].ch != rcpts[r[0]].ch) break ;
    if (rcpts[r[k]].off < lo) lo = rcpts[r[k]].off ;
    if (rcpts[r[k]].off > hi) hi = rcpts[r[k]].off ;
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
  for (k = 0 ; k < n ; k++) buf[rcpts[r[k]].off - lo] = status ;
  if (pwrite(fd, buf, hi - lo + 1, lo) != (ssize_t)(hi - lo + 1))
  {
    strerr_warnwu1sys("update recipient records in place (the set stops; nothing is lost)") ;
    _exit(111) ;
  }
  free(buf) ;
}

static unsigned int *dirtylist = 0 ;
static unsigned int ndirty = 0, adirty = 0 ;

static void mark_dirty (unsigned int mi)
{
  if (msgs[mi].ondirty) return ;
  msgs[mi].ondirty = 1 ;
  if (ndirty == adirty) dirtylist = ferry_array_grow(dirtylist, &adirty, sizeof(unsigned int)) ;
  dirtylist[ndirty++] = mi ;
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

 /* Every in-place update of this round on disk before anything relies on it: one file is
    fdatasync'ed; two or more share one syncfs of the queue's file system (group commit). */
static int queuefd = -1 ;

static void mtime_hint (msg const *m, int c) ;

static void sync_dirty (void)
{
  unsigned int i, files = 0 ;
  for (i = 0 ; i < ndirty ; i++)
  {
    msg const *m = msgs + dirtylist[i] ;
    int c ;
    for (c = 0 ; c < 2 ; c++) if (m->dirty[c]) { mtime_hint(m, c) ; files++ ; }
  }
  if (files > 1 && syncfs(queuefd) < 0) { strerr_warnwu1sys("syncfs the queue (the set stops)") ; _exit(111) ; }
  for (i = 0 ; i < ndirty ; i++)
  {
    msg *m = msgs + dirtylist[i] ;
    int c ;
    m->ondirty = 0 ;
    m->hintlo[0] = m->hintlo[1] = 0 ;
    for (c = 0 ; c < 2 ; c++) if (m->dirty[c])
    {
      if (files == 1 && fdatasync(m->fd[c]) < 0) { strerr_warnwu1sys("sync a recipient file (the set stops)") ; _exit(111) ; }
      m->dirty[c] = 0 ;
      fd_close(m->fd[c]) ;
      m->fd[c] = -1 ;
    }
  }
  ndirty = 0 ;
}

static char *xstrdup (char const *s, size_t n)
{
  char *p = malloc(n + 1) ;
  if (!p) strerr_diefu1sys(111, "allocate memory") ;
  memcpy(p, s, n) ;
  p[n] = 0 ;
  return p ;
}

 /* A request to a ferry-clean: to:3 the queue owner's, 4 the queue manager's own. */
static void clean_request_to (unsigned int to, char kind, uint64_t id)
{
  char f[1 + UINT64_FMT] ;
  size_t mark ;
  f[0] = kind ;
  if (!ferry_frame_begin(&out[to], &mark) || !ferry_field_cat(&out[to], f, 1 + uint64_fmt(f + 1, id)) || !ferry_frame_end(&out[to], mark))
    strerr_diefu1sys(111, "allocate memory") ;
}

static void clean_request (char kind, uint64_t id) { clean_request_to(3, kind, id) ; }

 /* Finished messages whose files the queue manager's ferry-clean is removing: in the order
    asked, which is the order of its answers. Until the answer, such an id is gone for ferry-qctl's
    commands, and its message file keeps the id from being reused. */
typedef struct removal_s removal ;
struct removal_s { uint64_t id ; uint64_t stamp ; } ;
static removal *removing = 0 ;
static unsigned int rhead_ = 0, nremoving = 0, aremoving = 0 ;

/* Asks the queue manager's ferry-clean for a finished message's files (s), the message file
   to follow (sclean_take). */
static void removal_start (uint64_t id, uint64_t stamp)
{
  if (rhead_ + nremoving == aremoving)
  {
    if (rhead_) { memmove(removing, removing + rhead_, nremoving * sizeof(removal)) ; rhead_ = 0 ; }
    if (nremoving == aremoving) removing = ferry_array_grow(removing, &aremoving, sizeof(removal)) ;
  }
  removing[rhead_ + nremoving].id = id ;
  removing[rhead_ + nremoving++].stamp = stamp ;
  clean_request_to(4, 's', id) ;
}

static int removing_has (uint64_t id)
{
  unsigned int i ;
  for (i = rhead_ ; i < rhead_ + nremoving ; i++) if (removing[i].id == id) return 1 ;
  return 0 ;
}

static void msg_finish (unsigned int mi) ;
static void msg_forget (unsigned int mi) ;
static void bounce_want (unsigned int mi) ;
static void delete_pending_check (unsigned int mi) ;
static void load_rest (void) ;
static int msg_exists (uint64_t id) ;

 /* Loads a prepared message from local/ and remote/ and its envelope (intd/), after its todo
    entry is gone. Without a recipient file it is no message (a finished one's last files, or an
    injection that never committed): those are ferry-clean's sweep's. */
static void msg_load (uint64_t id, int announce)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  stralloc info = STRALLOC_ZERO, recs[2] = { STRALLOC_ZERO, STRALLOC_ZERO } ;
  unsigned int mi, c, nfiles = 0, nopen = 0, nrecs = 0 ;
  msg *m ;
  size_t ntos = 0 ;
  uint64_t birth = 0, stamp ;
  struct stat messst ;
  char const *sender = 0, *what ;
  unsigned char *notify ;
  uint32_t now = time(0) ;
  if (msg_find(id) >= 0) return ;   /* told twice */
  /* its name: its message file's time (a missing file, the time 0) */
  ferry_queue_path(fn, "mess", id, split) ;
  if (stat(fn, &messst) < 0) memset(&messst, 0, sizeof(messst)) ;
  stamp = ferry_msgname_stamp(&messst) ;
  /* both recipient files, checked whole before anything is loaded: a damaged one (torn, garbled)
     leaves the message alone, for ferry-qread to show and a person to decide */
  for (c = 0 ; c < 2 ; c++)
  {
    int fd ;
    size_t pos = 0 ;
    ferry_rcpt_record rec ;
    int got ;
    ferry_queue_path(fn, chdir_[c], id, split) ;
    fd = ferry_queue_open(fn, O_RDONLY, &what) ;
    if (fd == -2)
    {
      strerr_warnw(fn, " is ", what, ", not a recipient file: the message is left alone, the name is never followed") ;
      goto alone ;
    }
    if (fd < 0)
    {
      if (errno == ENOENT) continue ;
      strerr_warnwu2sys("open (the message is left alone until the next start) ", fn) ;
      goto alone ;
    }
    if (!slurp(&recs[c], fd))
    {
      strerr_warnwu2sys("read (the message is left alone until the next start) ", fn) ;
      fd_close(fd) ;
      goto alone ;
    }
    fd_close(fd) ;
    nfiles++ ;
    while ((got = ferry_rcpt_record_take(recs[c].s, recs[c].len, &pos, &rec)) == 1) { nrecs++ ; if (rec.status == 'T') nopen++ ; }
    if (got < 0)
    {
      strerr_warnw(got == -1 ? "a truncated" : "a garbled", " recipient record in ", fn, ": the message is left alone (ferry-qread shows it)") ;
      goto alone ;
    }
  }
  if (!nfiles)
  {
    char f[FERRY_MSGNAME_MAX] ;
    ferry_msgname_fmt(f, id, stamp) ;
    if (announce) strerr_warnw("message ", f, ": prepared, but it has no recipient file (local/ or remote/): not loaded") ;
    goto alone ;
  }
  /* then its envelope: a recipient file without one is a message that cannot be delivered */
  if (!ferry_queue_envelope_read(&info, id, split, fn))
  {
    if (errno == ENOENT && !nopen)
    {
      /* every recipient done, the envelope gone: a finished message whose removals a crash
         kept only in part (the envelope's and maybe the message file's made it to the disk,
         the recipient files' did not): what is left goes now */
      removal_start(id, stamp) ;
      logs("ferry-schedule: message ") ; logname(id, stamp) ; logs(": every recipient done and no envelope: what a crash left of its removal goes now") ; logend() ;
      goto alone ;
    }
    strerr_warnwu4sys("read the envelope ", fn, errno == EACCES ? " (ferry-setup -c: queue/intd must be readable by group ferry, mode 0750)" : "",
      ", so the message is left alone (ferry-qread shows it)") ;
    goto alone ;
  }
  {
    char const *bad = ferry_envelope_head(info.s, info.len, &birth, &sender) ;
    if (bad) { strerr_warnw("a damaged envelope, ", bad, ": ", fn, ": the message is left alone (ferry-qread shows it)") ; goto alone ; }
  }
  ntos = ferry_envelope_rcpts(info.s, info.len) ;
  notify = calloc(ntos + 1, 1) ;
  if (!notify) strerr_diefu1sys(111, "allocate memory") ;
  ferry_dsn_notify_scan(info.s, info.len, notify, ntos) ;
  mi = msg_alloc() ;
  m = msgs + mi ;
  memset(m, 0, sizeof(msg)) ;
  m->used = 1 ;
  m->id = id ;
  m->stamp = stamp ;
  idx_put(id, mi) ;
  m->birth = birth ;
  m->fd[0] = m->fd[1] = -1 ;
  ferry_queue_path(fn, "bounce", id, 0) ;
  m->bounced = access(fn, F_OK) == 0 ;
  {
    struct stat st ;
    size_t k = strlen(fn) ;
    memcpy(fn + k, ".delay", 7) ;
    m->warned = stat(fn, &st) == 0 ;
    m->delaypending = m->warned && st.st_size > 0 ;
  }
  ferry_queue_path(fn, "hold", id, 0) ;
  m->held = access(fn, F_OK) == 0 ;
  m->deferlog = !announce ;
  livemsgs++ ;
  if (announce)
  {
    logs("new msg ") ; logname(id, stamp) ; logend() ;
    {
      logs("info msg ") ; logname(id, stamp) ; logs(": bytes ") ; logu(messst.st_size) ;
      logs(" from <") ; logclean(sender) ; logs(">") ; logend() ;
    }
  }
  /* the sender and every address go in one block */
  {
    size_t need = strlen(sender) + 1, pos, at ;
    ferry_rcpt_record rec ;
    for (c = 0 ; c < 2 ; c++)
      for (at = 0 ; ferry_rcpt_record_take(recs[c].s, recs[c].len, &at, &rec) == 1 ; ) need += strlen(rec.addr) + 1 ;
    m->sender = malloc(need) ;
    if (!m->sender) strerr_diefu1sys(111, "allocate memory") ;
    pos = strlen(sender) + 1 ;
    memcpy(m->sender, sender, pos) ;
    if (nrecs > 1)
    {
      /* the list made once, its size known: not grown a recipient at a time */
      m->rs.many = malloc(nrecs * sizeof(unsigned int)) ;
      if (!m->rs.many) strerr_diefu1sys(111, "allocate memory") ;
    }
    for (c = 0 ; c < 2 ; c++)
    {
      size_t off = 0 ;
      for (at = 0 ; ferry_rcpt_record_take(recs[c].s, recs[c].len, &at, &rec) == 1 ; off = at)
      {
        size_t k = strlen(rec.addr) ;
        unsigned int ri = rcpt_alloc() ;
        rcpt *r ;
        m = msgs + mi ;
        if (nrecs > 1) m->rs.many[m->count] = ri ; else m->rs.one = ri ;
        m->count++ ;
        r = rcpts + ri ;
        r->msg = mi ;
        r->off = off ;
        r->next = rec.next ;
        r->ch = c ;
        r->status = rec.status ;
        memcpy(m->sender + pos, rec.addr, k + 1) ;
        r->addr = m->sender + pos ;
        pos += k + 1 ;
        r->link = -1 ;
        r->eidx = rec.index ;
        r->notify = rec.index < ntos ? notify[rec.index] : 0 ;
        if (r->status == 'T')
        {
          m->open++ ;
          openrcpts++ ;
          /* due now (a new message's are): straight to the ready list, in slot order, without
             a way through the deferred heap (a million recipients are a million heap pops) */
          if (r->next <= now) ready_push(ri) ;
          else heap_push(ri) ;
        }
      }
    }
  }
  stralloc_free(&info) ;
  stralloc_free(&recs[0]) ;
  stralloc_free(&recs[1]) ;
  free(notify) ;
  statuschanged = 1 ;
  if (!msgs[mi].open) msg_finish(mi) ;
  else
  {
    if (msgs[mi].delaypending) bounce_want(mi) ;
    delete_pending_check(mi) ;
  }
  return ;
 alone:
  stralloc_free(&info) ;
  stralloc_free(&recs[0]) ;
  stralloc_free(&recs[1]) ;
}

 /* Every recipient done. With a bounce record, ferry-bounce-build sends the notifications first
    (it reads intd/ and mess/); while it runs for a delay warning, the message waits for it.
    Then the scheduler's own files go first, and ferry-clean removes the message file: the
    message file holds the id (its inode) until the very end, so no new message can take the same
    id while anything of this one is still being removed. A crash in between leaves a message file
    that nothing refers to, which ferry-clean's sweep removes after 36 hours. */
static void msg_finish (unsigned int mi)
{
  msg *m = msgs + mi ;
  unsigned int c ;
  for (c = 0 ; c < 2 ; c++) if (m->fd[c] >= 0) { fd_close(m->fd[c]) ; m->fd[c] = -1 ; }
  if (m->job) return ;          /* bounce_reap comes back here */
  if (m->bounced)
  {
    if (!m->waiting)
    {
      logs("bounce msg ") ; logname(m->id, m->stamp) ; logs(": notifications to send (ferry-bounce-build)") ; logend() ;
      bounce_want(mi) ;
    }
    return ;
  }
  msg_forget(mi) ;
}

static void msg_forget (unsigned int mi)
{
  msg *m = msgs + mi ;
  unsigned int i ;
  /* its files go in ferry-clean (removals cost a disk's discard each: not in this loop), in the
     order doc/ferry-clean.html gives; the message file, once they are gone (sclean_take) */
  removal_start(m->id, m->stamp) ;
  for (i = 0 ; i < m->count ; i++)
  {
    unsigned int ri = MSG_R(m)[i] ;
    /* a recipient still in the heap (a deleted message's) leaves it; a ready-ring entry goes
       stale by itself once the link changes */
    if (rcpts[ri].link >= 0) heap_remove(rcpts[ri].link) ;
    rcpts[ri].addr = 0 ;
    rcpts[ri].link = freercpt ;
    freercpt = ri ;
  }
  if (m->count > 1) free(m->rs.many) ;
  m->rs.many = 0 ;
  free(m->sender) ;
  free(m->lasterr) ;
  m->lasterr = 0 ;
  idx_del(m->id) ;
  m->used = 0 ;
  m->finishing = 0 ;
  msg_free(mi) ;
  livemsgs-- ;
  statuschanged = 1 ;
}

/* ---------- results ---------- */

 /* Messages whose last recipient is done this round: finished (their files removed, their
    notifications started) after one sync of every mark of the round, in finish_flush. */
static unsigned int *finishlist = 0 ;
static unsigned int nfinish = 0, afinish = 0 ;

static void finish_later (unsigned int mi)
{
  if (msgs[mi].finishing) return ;
  if (nfinish == afinish) finishlist = ferry_array_grow(finishlist, &afinish, sizeof(unsigned int)) ;
  finishlist[nfinish++] = mi ;
  msgs[mi].finishing = 1 ;
}

static void finish_flush (void)
{
  unsigned int i ;
  sync_dirty() ;
  for (i = 0 ; i < nfinish ; i++)
  {
    msg *m = msgs + finishlist[i] ;
    if (!m->used || !m->finishing) continue ;   /* finished another way meanwhile */
    m->finishing = 0 ;
    if (!m->open) msg_finish(finishlist[i]) ;
  }
  nfinish = 0 ;
}

static void bounce_record_cat (stralloc *sa, unsigned int ri, char kind, char const *text, uint32_t when)
{
  rcpt *r = rcpts + ri ;
  ferry_bounce_record b = { .kind = kind, .channel = r->ch == CH_LOCAL ? 'L' : 'R', .index = r->eidx, .when = when, .rcpt = r->addr, .text = text } ;
  if (!ferry_bounce_record_cat(sa, &b)) strerr_diefu1sys(111, "allocate memory") ;
}

 /* Records of permanent failures (D) or successes that asked for a notice (S), appended to
    queue/bounce/ID and synced, in one write, before the recipients' statuses change on disk. */
static void bounce_write (unsigned int mi, stralloc const *recs)
{
  msg *m = msgs + mi ;
  char fn[FERRY_QUEUE_PATH_MAX] ;
  int fd ;
  ferry_queue_path(fn, "bounce", m->id, 0) ;
  fd = open(fn, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600) ;
  if (fd < 0 || allwrite(fd, recs->s, recs->len) < recs->len || fsync(fd) < 0)
  {
    strerr_warnwu2sys("append to ", fn) ;
    _exit(111) ;
  }
  fd_close(fd) ;
  if (!m->bounced)
  {
    m->bounced = 1 ;
    if (ferry_dir_sync("queue/bounce") < 0) { strerr_warnwu1sys("sync queue/bounce") ; _exit(111) ; }
  }
}

static void log_addrs (unsigned int const *r, unsigned int n) ;

 /* The recipients r[0..n) of one message are done (K or D) with the same text: their notices
    first, all in one synced write, then their statuses. */
static void batch_done (unsigned int const *r, unsigned int n, char status, char const *text)
{
  unsigned int mi = rcpts[r[0]].msg, k, nnever = 0, *never = 0 ;
  msg *m = msgs + mi ;
  stralloc recs = STRALLOC_ZERO ;
  uint32_t now = time(0) ;
  for (k = 0 ; k < n ; k++)
  {
    rcpt *o = rcpts + r[k] ;
    if (status == 'D' && m->deleting == 1) ;
    else if (status == 'D' && ferry_dsn_wants(o->notify, 'D')) bounce_record_cat(&recs, r[k], 'D', text, now) ;
    else if (status == 'D')
    {
      if (!never && !(never = malloc(n * sizeof(unsigned int)))) strerr_diefu1sys(111, "allocate memory") ;
      never[nnever++] = r[k] ;
    }
    else if (status == 'K' && m->sender[0] && o->notify & FERRY_NOTIFY_SUCCESS) bounce_record_cat(&recs, r[k], 'S', text, now) ;
  }
  if (recs.len) bounce_write(mi, &recs) ;
  stralloc_free(&recs) ;
  if (nnever)
  {
    logs("bounce msg ") ; logname(m->id, m->stamp) ; logs(": no notice for ") ; log_addrs(never, nnever) ;
    logs(nnever == 1 ? ": it asked for NOTIFY=NEVER" : ": they asked for NOTIFY=NEVER") ; logend() ;
  }
  free(never) ;
  for (k = 0 ; k < n ; k++)
  {
    rcpt *o = rcpts + r[k] ;
    o->status = status ;
    m->open-- ;
    openrcpts-- ;
  }
  records_mark(r, n, status) ;
  mark_dirty(mi) ;
  statuschanged = 1 ;
}

static uint32_t backoff (msg const *m, uint32_t now)
{
  uint64_t age = now > m->birth ? now - m->birth : 0 ;
  uint64_t d = age < minbackoff ? minbackoff : age > maxbackoff ? maxbackoff : age ;
  /* a spread of up to a tenth, so deferred mail never comes back in waves */
  d += (uint64_t)random() % (d / 10 + 1) ;
  return now + d ;
}

 /* The last error of deferred recipients, for ferry-qread and the delay warning: one record
    per batch that shared its fate, naming the recipients' envelope indexes (ferry/defer.h),
    appended to queue/defer/N/ID, not synced: they inform, they decide nothing. */
static void defer_log (unsigned int mi, char ch, uint32_t *idx, unsigned int n, char const *text, uint32_t now)
{
  static int warned = 0 ;
  msg *m = msgs + mi ;
  char fn[FERRY_QUEUE_PATH_MAX] ;
  stralloc rec = STRALLOC_ZERO ;
  int fd ;
  ferry_queue_path(fn, "defer", m->id, split) ;
  if (!ferry_defer_record_cat(&rec, ch == CH_LOCAL ? 'L' : 'R', now, idx, n, text)) strerr_diefu1sys(111, "allocate memory") ;
  /* the first deferral of a message this process saw arrive starts the file afresh: one left by
     a crash under the same id (an inode, reused) must not lend it its errors */
  fd = open(fn, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (m->deferlog ? 0 : O_TRUNC), 0640) ;
  if (fd < 0 || allwrite(fd, rec.s, rec.len) < rec.len)
  {
    if (!warned++) strerr_warnwu2sys("append to ", fn) ;
  }
  else m->deferlog = 1 ;
  if (fd >= 0) fd_close(fd) ;
  stralloc_free(&rec) ;
}

 /* A recipient's temporary failure: waits for its next attempt, not before next. */
static void rcpt_defer (unsigned int ri, uint32_t next)
{
  rcpt *r = rcpts + ri ;
  msg *m = msgs + r->msg ;
  char h[16] ;
  r->status = 'T' ;
  r->next = next ;
  if (r->ch == CH_REMOTE)
  {
    int d = dests_find(domain_of(r->addr)) ;
    if (d >= 0 && dests[d].failures && dests[d].until > r->next) r->next = dests[d].until ;
  }
  ferry_hex_fmt(h, r->next, 16) ;
  record_put(ri, 1, h, 16) ;
  mark_dirty(r->msg) ;
  if (!m->hintlo[(int)r->ch] || r->next < m->hintlo[(int)r->ch]) m->hintlo[(int)r->ch] = r->next ;
  heap_push(ri) ;
}

#define LOG_NAMES 3     /* addresses a log line names of a batch; the others are counted */

static void log_addrs (unsigned int const *r, unsigned int n)
{
  unsigned int i ;
  for (i = 0 ; i < n && i < LOG_NAMES ; i++) { if (i) logs(" ") ; logclean(rcpts[r[i]].addr) ; }
  if (n > LOG_NAMES) { logs(" and ") ; logu(n - LOG_NAMES) ; logs(" more") ; }
}

 /* The recipients r[0..n) of one message failed temporarily, with the same text: deferred, or,
    past control/queuelifetime, failed. One log line and one defer record for the batch, and one
    next attempt: a batch that shared its fate stays together (the spread of backoff, which keeps
    deferred mail from coming back in waves, is drawn per batch). */
static void defer_batch (unsigned int const *r, unsigned int n, char const *text, uint32_t now)
{
  unsigned int mi = rcpts[r[0]].msg, k ;
  msg *m = msgs + mi ;
  uint32_t lo = UINT32_MAX, hi = 0, next, *idx ;
  m->lasttime = now ;
  free(m->lasterr) ;
  m->lasterr = xstrdup(text, strlen(text)) ;
  if (lifetime && now >= m->birth + lifetime)
  {
    stralloc t = STRALLOC_ZERO ;
    if (!stralloc_cats(&t, "4.4.7 message expired: queued longer than control/queuelifetime; last error: ") || !stralloc_cats(&t, text) || !stralloc_0(&t))
      strerr_diefu1sys(111, "allocate memory") ;
    logs("expired msg ") ; logname(m->id, m->stamp) ; logs(" to ") ; log_addrs(r, n) ; logend() ;
    batch_done(r, n, 'D', t.s) ;
    stralloc_free(&t) ;
    return ;
  }
  idx = malloc(n * sizeof(uint32_t)) ;
  if (!idx) strerr_diefu1sys(111, "allocate memory") ;
  next = backoff(m, now) ;
  for (k = 0 ; k < n ; k++)
  {
    rcpt_defer(r[k], next) ;
    idx[k] = rcpts[r[k]].eidx ;
    if (rcpts[r[k]].next < lo) lo = rcpts[r[k]].next ;
    if (rcpts[r[k]].next > hi) hi = rcpts[r[k]].next ;
  }
  defer_log(mi, rcpts[r[0]].ch, idx, n, text, now) ;
  free(idx) ;
  logs("deferral msg ") ; logname(m->id, m->stamp) ; logs(" to ") ; log_addrs(r, n) ; logs(": next attempt in ") ;
  logu(lo - now) ; if (hi > lo) { logs(" to ") ; logu(hi - now) ; } logs(" seconds") ; logend() ;
}

 /* After a remote answer: a result H (the destination failed, doc/protocols.html) makes the
    domain a failing one (again); anything else (a host took MAIL) ends its failure, and its
    deferred mail is retried now. */
static void dest_result (unsigned int d, char const *p, size_t n, size_t pos, uint32_t now)
{
  dest *e = dests + d ;
  int failed = 0 ;
  for (; pos < n ; pos += strlen(p + pos) + 1) if (p[pos] == 'H') failed = 1 ;
  if (failed)
  {
    uint64_t t ;
    if (e->failures && e->until > now) return ;   /* deliveries that were out at the same time: one failure */
    e->failures++ ;
    t = minbackoff << (e->failures > 10 ? 10 : e->failures - 1) ;
    if (t > maxbackoff) t = maxbackoff ;
    t += (uint64_t)random() % (t / 10 + 1) ;
    e->until = now + t ;
    logs("destination ") ; logclean(e->name) ; logs(": ") ; logu(e->failures) ;
    logs(" failed deliveries in a row: backed off for ") ; logu(t) ; logs(" seconds") ; logend() ;
  }
  else if (e->failures)
  {
    unsigned int i, pulled = 0 ;
    e->failures = 0 ;
    e->until = 0 ;
    for (i = 0 ; i < nheap ; i++)
    {
      rcpt *r = rcpts + heap[i] ;
      if (r->status == 'T' && r->ch == CH_REMOTE && !strcasecmp(domain_of(r->addr), e->name)) { r->next = now ; pulled++ ; }
    }
    if (pulled) for (i = nheap / 2 + 1 ; i-- ;) heap_down(i) ;
    logs("destination ") ; logclean(e->name) ; logs(": accepts mail again: ") ; logu(pulled) ;
    logs(" deferred recipients retried now") ; logend() ;
  }
}

 /* Control frames to ferry-spawn-remote (doc/protocols.html) come from ferry-qctl, whose answer
    FIFO in queue/steer/ gets the reply, or from the queue manager itself (SIGHUP, SIGALRM: no FIFO,
    the reply is logged). The spawner answers them in order. */
static char **replyto = 0 ;
static unsigned int nreplyto = 0, areplyto = 0 ;

 /* The answer to a control frame the queue manager sent for itself: logged. */
static void control_log (int ch, char const *p, size_t n)
{
  size_t pos ;
  logs("ferry-schedule: ferry-spawn-") ; logs(chname[ch]) ; logs(": ") ; logclean(p + 1) ;
  for (pos = strlen(p) + 1 ; pos < n ; pos += strlen(p + pos) + 1) { logs(": ") ; logclean(p + pos) ; }
  logend() ;
}

static void control_send (char const *a, char const *b, char const *fifo)
{
  size_t mark ;
  if (!ferry_frame_begin(&out[2], &mark) || !ferry_field_cats(&out[2], a) || (b && !ferry_field_cats(&out[2], b)) || !ferry_frame_end(&out[2], mark))
    strerr_diefu1sys(111, "allocate memory") ;
  if (nreplyto == areplyto) replyto = ferry_array_grow(replyto, &areplyto, sizeof(char *)) ;
  replyto[nreplyto++] = fifo ? xstrdup(fifo, strlen(fifo)) : 0 ;
}

 /* "!reread" to the local channel: answered on its own pipe, logged. */
static void control_send_local (char const *a)
{
  size_t mark ;
  if (!ferry_frame_begin(&out[1], &mark) || !ferry_field_cats(&out[1], a) || !ferry_frame_end(&out[1], mark))
    strerr_diefu1sys(111, "allocate memory") ;
}

static void control_answer (char const *p, size_t n)
{
  char fn[300] ;
  size_t pos ;
  int fd ;
  if (!nreplyto) { strerr_warnw("an unexpected control answer from ferry-spawn-remote: ignored") ; return ; }
  if (!replyto[0])
  {
    memmove(replyto, replyto + 1, --nreplyto * sizeof(char *)) ;
    control_log(CH_REMOTE, p, n) ;
    return ;
  }
  memcpy(fn, "queue/steer/", 12) ;
  memcpy(fn + 12, replyto[0], strlen(replyto[0]) + 1) ;
  free(replyto[0]) ;
  memmove(replyto, replyto + 1, --nreplyto * sizeof(char *)) ;
  fd = open(fn, O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (fd < 0) { strerr_warnwu2sys("open ", fn) ; return ; }
  /* a line per field after the first: the reader is waiting, and it is short */
  for (pos = strlen(p) + 1 ; pos < n ; pos += strlen(p + pos) + 1)
  {
    size_t k = strlen(p + pos) ;
    if (write(fd, p + pos, k) < 0 || write(fd, "\n", 1) < 0) break ;
  }
  fd_close(fd) ;
}

 /* An answer from a channel: delivery\0result\0... */
#define ANSWER_STATUS(c) ((c) == 'H' ? 'Z' : (c))
static void answer_take (int ch, char const *p, size_t n)
{
  uint64_t num ;
  flight *fl ;
  unsigned int i, j ;
  size_t first ;
  uint32_t now = time(0) ;
  char const **res ;
  if (ch == CH_REMOTE && n && p[0] == '!') { control_answer(p, n) ; return ; }
  if (n && p[0] == '!') { control_log(ch, p, n) ; return ; }
  if (!ferry_answer_head(p, n, &num, &first) || num >= nflights || !flights[num].used || flights[num].ch != ch)
  {
    strerr_warnw("a malformed or unexpected answer from the ", chname[ch], " channel: ignored") ;
    return ;
  }
  fl = flights + num ;
  res = malloc(fl->n * sizeof(char const *)) ;
  if (!res) strerr_diefu1sys(111, "allocate memory") ;
  ferry_answer_results(p, n, first, res, fl->n) ;
  msgs[fl->msg].flying[(int)fl->ch] -= fl->n ;
  /* a run of recipients with the same result and text is one batch: one log line, one record */
  for (i = 0 ; i < fl->n ; i = j)
  {
    char st = ANSWER_STATUS(res[i][0]) ;   /* H, the destination's failure: dest_result below */
    for (j = i + 1 ; j < fl->n && ANSWER_STATUS(res[j][0]) == st && !strcmp(res[j] + 1, res[i] + 1) ; j++) ;
    logs("delivery ") ; logu(num) ; logs(": msg ") ; logname(msgs[fl->msg].id, msgs[fl->msg].stamp) ; logs(" to ") ; log_addrs(fl->r + i, j - i) ;
    logs(st == 'K' ? ": success: " : st == 'D' ? ": failure: " : ": deferral: ") ; logclean(res[i] + 1) ; logend() ;
    if (st == 'Z' && !msgs[fl->msg].deleting) defer_batch(fl->r + i, j - i, res[i] + 1, now) ;
    else batch_done(fl->r + i, j - i, st == 'Z' ? 'D' : st, st == 'Z' ? DELETED_TEXT : res[i] + 1) ;
  }
  free(res) ;
  inflight[ch]-- ;
  fl->used = 0 ;
  if (ch == CH_REMOTE)
  {
    /* a slot of its destination is free: a recipient parked there can take it */
    dest_result(fl->dest, p, n, first, now) ;
    dests[fl->dest].inflight-- ;
    dests_wake(fl->dest) ;
    dests_drop_idle(fl->dest) ;
  }
  statuschanged = 1 ;
  /* the marks are synced with the round's others; only then is the message finished */
  if (!msgs[fl->msg].open) finish_later(fl->msg) ;
}

/* ---------- dispatch ---------- */


static unsigned int flight_new (void)
{
  unsigned int i ;
  for (i = 0 ; i < nflights ; i++) if (!flights[i].used) break ;
  if (i == nflights) flights = ferry_array_grow(flights, &nflights, sizeof(flight)) ;
  flights[i].used = 1 ;
  return i ;
}

 /* When fd 5 is ferry-start's socket, each request to the remote channel carries its message's
    descriptor (SCM_RIGHTS) with the first byte of its frame, at offset off of out[2]: the remote
    channel's user cannot read the queue (doc/security.html). A message that does not open is
    sent as /dev/null, which the channel answers with Z. */
typedef struct msgfd_s msgfd ;
struct msgfd_s
{
  size_t off ;
  int fd ;
} ;
static msgfd *msgfds ;
static unsigned int nmsgfds = 0, amsgfds = 0 ;
static int passfd = 0, nullfd = -1 ;

static void msgfd_push (size_t off, uint64_t id)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  int fd ;
  char const *what = 0 ;
  ferry_queue_path(fn, "mess", id, split) ;
  fd = ferry_queue_open(fn, O_RDONLY, &what) ;
  if (fd == -2) { strerr_warnw("not sent to the remote channel: ", fn, " is ", what) ; fd = nullfd ; }
  else if (fd < 0)
  {
    strerr_warnwu3sys("open ", fn, " for the remote channel") ;
    fd = nullfd ;
  }
  if (nmsgfds == amsgfds) msgfds = ferry_array_grow(msgfds, &amsgfds, sizeof(msgfd)) ;
  msgfds[nmsgfds].off = off ;
  msgfds[nmsgfds].fd = fd ;
  nmsgfds++ ;
}

static void request_send (unsigned int fi)
{
  flight *fl = flights + fi ;
  msg *m = msgs + fl->msg ;
  stralloc *o = &out[fl->ch == CH_LOCAL ? 1 : 2] ;
  size_t mark, start = o->len ;
  unsigned int i ;
  if (!ferry_frame_begin(o, &mark) || !ferry_field_catu64(o, fi) || !ferry_field_catu64(o, m->id) || !ferry_field_cats(o, m->sender))
    strerr_diefu1sys(111, "allocate memory") ;
  logs("starting delivery ") ; logu(fi) ; logs(": msg ") ; logname(m->id, m->stamp) ; logs(" to ") ; logs(chname[(int)fl->ch]) ;
  logs(" ") ; log_addrs(fl->r, fl->n) ; logend() ;
  for (i = 0 ; i < fl->n ; i++)
  {
    if (!ferry_field_cats(o, rcpts[fl->r[i]].addr)) strerr_diefu1sys(111, "allocate memory") ;
    rcpts[fl->r[i]].status = 'F' ;
  }
  m->flying[(int)fl->ch] += fl->n ;
  if (!ferry_frame_end(o, mark)) strerr_diefu1sys(111, "allocate memory") ;
  if (fl->ch == CH_REMOTE && passfd) msgfd_push(start, m->id) ;
  inflight[(int)fl->ch]++ ;
  if (fl->ch == CH_REMOTE) dests[fl->dest].inflight++ ;
  statuschanged = 1 ;
}

 /* The entries of a ring not far from its head that are due recipients of the flight's message
    and domain join the flight, up to the request's limit. Only BATCH_LOOK entries are looked at:
    a batch costs what it holds, whatever the size of its message or of the ring. */
#define BATCH_LOOK (4 * FERRY_REQUEST_RCPT_MAX)

static void batch_fill (flight *fl, idring const *ring, char const *dom)
{
  unsigned int k, look = ring->n < BATCH_LOOK ? ring->n : BATCH_LOOK ;
  for (k = 0 ; k < look && fl->n < FERRY_REQUEST_RCPT_MAX ; k++)
  {
    unsigned int oi = idring_at(ring, k) ;
    rcpt *o = rcpts + oi ;
    if (o->link != -2 || o->msg != fl->msg || o->status != 'T' || o->ch != CH_REMOTE || strcasecmp(domain_of(o->addr), dom)) continue ;
    fl->r[fl->n++] = oi ;
    o->status = 'F' ;
    o->link = -1 ;      /* its ring entry is stale now: skipped when it comes up */
  }
}

static void dispatch (void)
{
  uint32_t now = time(0) ;
  int ch, d ;
  if (stopping) return ;
  while (nheap && rcpts[heap[0]].next <= now)
  {
    unsigned int ri = heap_pop() ;
    if (rcpts[ri].status == 'T') ready_push(ri) ;
  }
  /* destinations with a slot free again take back as many of their parked recipients */
  while ((d = dests_woken()) >= 0)
  {
    unsigned int room = perdest > dests[d].inflight ? perdest - dests[d].inflight : 0 ;
    while (room)
    {
      int ri = dests_unpark(d) ;
      if (ri < 0) break ;
      if (rcpts[ri].link != -2) continue ;   /* taken out another way meanwhile */
      ready_push(ri) ;
      room-- ;
    }
    dests_drop_idle(d) ;
  }
  for (ch = 0 ; ch < 2 ; ch++)
  {
    /* each ready recipient is looked at once per round; one held back by its destination's
       limit is parked on the destination (dests.h) until a slot there is free */
    unsigned int rounds = ready[ch].n ;
    while (rounds-- && ready[ch].n && inflight[ch] < conc[ch])
    {
      int got = ready_pop(ch) ;
      unsigned int ri, fi, rd = 0 ;
      rcpt *r ;
      msg *m ;
      char const *dom ;
      if (got < 0) continue ;
      ri = (unsigned int)got ;
      r = rcpts + ri ;
      m = msgs + r->msg ;
      if (r->status != 'T') continue ;
      if (m->held) continue ;   /* out of the heap and the ready lists until released */
      /* no expiry here: queuelifetime makes a temporary failure permanent (rcpt_defer), so a
         recipient past it is still tried once more, and one never tried (a notice injected a
         second before, a message released from hold, a queue after a long stop) is tried */
      dom = domain_of(r->addr) ;
      if (ch == CH_REMOTE)
      {
        dest *e ;
        rd = dests_get(dom) ;
        e = dests + rd ;
        if (e->failures && (e->until > now || e->inflight))
        {
          /* backed off as a whole, or being probed: wait */
          r->next = e->until > now ? e->until : now + PROBE_WAIT ;
          heap_push(ri) ;
          continue ;
        }
        /* no slot: parked on the domain, not looked at again until one is free */
        if (e->inflight >= perdest) { dests_park(rd, ri) ; r->link = -2 ; continue ; }
      }
      fi = flight_new() ;
      flights[fi].ch = ch ;
      flights[fi].msg = r->msg ;
      flights[fi].dest = rd ;
      flights[fi].n = 0 ;
      if (!flights[fi].r) flights[fi].r = malloc(FERRY_REQUEST_RCPT_MAX * sizeof(unsigned int)) ;
      if (!flights[fi].r) strerr_diefu1sys(111, "allocate memory") ;
      flights[fi].r[flights[fi].n++] = ri ;
      r->status = 'F' ;
      if (ch == CH_REMOTE)
      {
        /* the message's other due recipients in the same domain, those in the ready ring and
           those parked on the domain, go in the same transaction, up to the request's limit */
        batch_fill(flights + fi, &ready[ch], dom) ;
        batch_fill(flights + fi, &dests[rd].parked, dom) ;
      }
      request_send(fi) ;
    }
  }
  finish_flush() ;
}

 /* Delay warnings: once per message, for the recipients still waiting that did not turn them off
    with NOTIFY, never for a message with the null sender. queue/bounce/ID.delay holds their
    records until ferry-bounce-build has sent the warning, then is left empty, as the mark that
    the warning was made. Looked for every 5 seconds at most. */
static void warn_delays (void)
{
  static uint32_t last = 0 ;
  uint32_t now = time(0) ;
  unsigned int i ;
  stralloc recs = STRALLOC_ZERO ;
  if (!delaywarning || now < last + 5) return ;
  last = now ;
  for (i = 0 ; i < msgtop ; i++)
  {
    msg *m = msgs + i ;
    char fn[FERRY_QUEUE_PATH_MAX + 8] ;
    unsigned int j, n = 0 ;
    if (!m->used || m->warned || !m->open || m->held || now < m->birth + delaywarning) continue ;
    m->warned = 1 ;
    if (!m->sender[0]) continue ;
    recs.len = 0 ;
    for (j = 0 ; j < m->count ; j++)
    {
      rcpt *r = rcpts + MSG_R(m)[j] ;
      if ((r->status != 'T' && r->status != 'F') || !ferry_dsn_wants(r->notify, 'Z')) continue ;
      bounce_record_cat(&recs, MSG_R(m)[j], 'Z', m->lasterr ? m->lasterr : "4.0.0 no delivery attempt has finished yet", m->lasterr ? m->lasttime : 0) ;
      n++ ;
    }
    if (!n) continue ;
    ferry_queue_path(fn, "bounce", m->id, 0) ;
    memcpy(fn + strlen(fn), ".delay", 7) ;
    if (!openwritenclose_suffix(fn, recs.s, recs.len, ".new") || ferry_dir_sync("queue/bounce") < 0)
    {
      strerr_warnwu2sys("write ", fn) ;
      m->warned = 0 ;
      continue ;
    }
    m->delaypending = 1 ;
    logs("delay msg ") ; logname(m->id, m->stamp) ; logs(": queued longer than control/delaywarning: a warning about ") ; logu(n) ;
    logs(n == 1 ? " recipient" : " recipients") ; logs(" to send (ferry-bounce-build)") ; logend() ;
    bounce_want(i) ;
  }
  stralloc_free(&recs) ;
}

/* ---------- ferry-bounce-build runs ---------- */

#define BOUNCE_JOBS 4           /* runs at once */
#define BOUNCE_RETRY_MIN 60     /* seconds before a failed run is tried again, doubling, at most maxbackoff */

static char const *binbounce ;          /* HOME/bin/ferry-bounce-build */
static char const *homepath ;
static unsigned int *bwait = 0 ;        /* messages waiting for a run */
static unsigned int nbwait = 0, abwait = 0, nbjobs = 0 ;
static struct { pid_t pid ; unsigned int msg ; char delay ; } bjobs[BOUNCE_JOBS] ;

static void bounce_want (unsigned int mi)
{
  if (msgs[mi].waiting) return ;
  msgs[mi].waiting = 1 ;
  if (nbwait == abwait) bwait = ferry_array_grow(bwait, &abwait, sizeof(unsigned int)) ;
  bwait[nbwait++] = mi ;
}

static pid_t bounce_spawn (uint64_t id, int delay)
{
  posix_spawn_file_actions_t fa ;
  char fmt[UINT64_FMT] ;
  char const *argv[6] ;
  unsigned int n = 0 ;
  pid_t pid ;
  int fd, e ;
  fmt[uint64_fmt(fmt, id)] = 0 ;
  argv[n++] = "ferry-bounce-build" ;
  if (delay) argv[n++] = "-d" ;
  argv[n++] = fmt ;
  argv[n++] = homepath ;
  argv[n] = 0 ;
  posix_spawnattr_t attr ;
  sigset_t none, dfl ;
  if (posix_spawn_file_actions_init(&fa)) return -1 ;
  if (posix_spawnattr_init(&attr)) { posix_spawn_file_actions_destroy(&fa) ; return -1 ; }
  /* the child starts clean: our signals are blocked (the selfpipe) and SIGPIPE ignored, and
     both would pass through exec to it and to its ferry-inject */
  sigemptyset(&none) ;
  sigemptyset(&dfl) ;
  sigaddset(&dfl, SIGPIPE) ;
  e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
   || posix_spawnattr_setsigmask(&attr, &none)
   || posix_spawnattr_setsigdefault(&attr, &dfl)
   || posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
   || posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) ;
  for (fd = 3 ; !e && fd <= 8 ; fd++) e = posix_spawn_file_actions_addclose(&fa, fd) ;
  if (!e) e = posix_spawn(&pid, binbounce, &fa, &attr, (char *const *)argv, environ) ;
  posix_spawn_file_actions_destroy(&fa) ;
  posix_spawnattr_destroy(&attr) ;
  if (e) { errno = e ; return -1 ; }
  return pid ;
}

 /* Starts the runs that are due: a message's delay warning while it has recipients waiting, its
    notifications once it has none. One run per message at a time. */
static void bounce_start (void)
{
  uint32_t now = time(0) ;
  unsigned int i = 0 ;
  while (i < nbwait && nbjobs < BOUNCE_JOBS && !stopping)
  {
    unsigned int mi = bwait[i], k ;
    msg *m = msgs + mi ;
    int delay ;
    pid_t pid ;
    if (!m->used || !m->waiting || m->job) { if (m->used && !m->job) m->waiting = 0 ; bwait[i] = bwait[--nbwait] ; continue ; }
    if (m->jobnext > now) { i++ ; continue ; }
    delay = m->open > 0 ;
    if (delay ? !m->delaypending : !m->bounced) { m->waiting = 0 ; bwait[i] = bwait[--nbwait] ; continue ; }
    pid = bounce_spawn(m->id, delay) ;
    if (pid < 0)
    {
      strerr_warnwu2sys("run ", binbounce) ;
      m->jobnext = now + BOUNCE_RETRY_MIN ;
      i++ ;
      continue ;
    }
    for (k = 0 ; k < BOUNCE_JOBS ; k++) if (!bjobs[k].pid) break ;
    bjobs[k].pid = pid ;
    bjobs[k].msg = mi ;
    bjobs[k].delay = delay ;
    m->job = pid ;
    m->waiting = 0 ;
    bwait[i] = bwait[--nbwait] ;
    nbjobs++ ;
  }
}

 /* Is pid a run of ferry-bounce-build? Then its result is taken. */
static int bounce_reap (pid_t pid, int wstat)
{
  unsigned int k ;
  msg *m ;
  for (k = 0 ; k < BOUNCE_JOBS ; k++) if (bjobs[k].pid == pid) break ;
  if (k == BOUNCE_JOBS) return 0 ;
  bjobs[k].pid = 0 ;
  nbjobs-- ;
  m = msgs + bjobs[k].msg ;
  m->job = 0 ;
  if (WIFEXITED(wstat) && !WEXITSTATUS(wstat))
  {
    if (bjobs[k].delay) m->delaypending = 0 ;
    else m->bounced = 0 ;
    m->jobnext = 0 ;
    m->jobfailures = 0 ;
  }
  else
  {
    uint32_t now = time(0), wait = BOUNCE_RETRY_MIN << (m->jobfailures < 6 ? m->jobfailures : 6) ;
    char fmt[UINT_FMT] ;
    if (wait > maxbackoff) wait = maxbackoff ;
    if (m->jobfailures < 255) m->jobfailures++ ;
    m->jobnext = now + wait ;
    logs(bjobs[k].delay ? "delay msg " : "bounce msg ") ; logname(m->id, m->stamp) ; logs(": ferry-bounce-build ") ;
    if (WIFEXITED(wstat)) { logs("exited ") ; fmt[uint_fmt(fmt, WEXITSTATUS(wstat))] = 0 ; }
    else { logs("was killed by signal ") ; fmt[uint_fmt(fmt, WTERMSIG(wstat))] = 0 ; }
    logs(fmt) ; logs(": trying again in ") ; logu(wait) ; logs(" seconds") ; logend() ;
    bounce_want(bjobs[k].msg) ;
  }
  if (!m->open) msg_finish(bjobs[k].msg) ;
  else if (m->delaypending) bounce_want(bjobs[k].msg) ;
  return 1 ;
}

/* ---------- messages from the other members ---------- */

static void preprocess_take (char const *p, size_t n)
{
  uint64_t id ;
  if (n < 3 || p[n-1] || (p[0] != 'R' && p[0] != 'C') || uint640_scan(p + 1, &id) != n - 2)
  {
    strerr_warnw("a malformed message from ferry-preprocess-todo: ignored") ;
    return ;
  }
  if (p[0] == 'C') { logs("corrupt msg ") ; lognameof(id) ; logs(": taken out of the queue (see queue/corrupt)") ; logend() ; }
  clean_request(p[0] == 'R' ? 't' : 'c', id) ;
}

static void clean_take (char const *p, size_t n)
{
  char const *f[2] ;
  uint64_t id ;
  int nf = ferry_fields_split(p, n, f, 2) ;
  if (nf < 1 || !f[0][0] || uint640_scan(f[0] + 1, &id) != strlen(f[0]) - 1)
  {
    strerr_warnw("a malformed acknowledgement from ferry-clean: ignored") ;
    return ;
  }
  if (nf == 2)
  {
    char name[FERRY_MSGNAME_MAX] ;
    ferry_msgname_of(name, id, split) ;
    strerr_warnw("ferry-clean could not clean message ", name, ": ", f[1]) ;
    return ;
  }
  if (f[0][0] == 'm') return ;
  if (f[0][0] == 't' || f[0][0] == 'c')
  {
    size_t mark ;
    /* the todo entry is gone, durably: the message may be delivered now */
    if (!ferry_frame_begin(&out[0], &mark) || !ferry_field_cats(&out[0], f[0] + 1) || !ferry_frame_end(&out[0], mark))
      strerr_diefu1sys(111, "allocate memory") ;
    if (f[0][0] == 't') msg_load(id, 1) ;
  }
}

 /* The queue manager's ferry-clean removed a finished message's files (s<id>): the message
    file may go now (with its envelope). When it could not, the message file stays, and so does
    whatever is left: with a recipient file left, the next start loads the message again, finds
    it done, and ends it; with none, the envelope and message file are ferry-clean's sweep's. */
static void sclean_take (char const *p, size_t n)
{
  char const *f[2] ;
  uint64_t id, stamp ;
  int nf = ferry_fields_split(p, n, f, 2) ;
  if (nf < 1 || f[0][0] != 's' || uint640_scan(f[0] + 1, &id) != strlen(f[0]) - 1)
  {
    strerr_warnw("a malformed acknowledgement from the queue manager's ferry-clean: ignored") ;
    return ;
  }
  /* ferry-clean answers in the order it was asked */
  if (!nremoving || removing[rhead_].id != id)
  {
    strerr_warnw("an acknowledgement out of order, from the queue manager's ferry-clean: ignored") ;
    return ;
  }
  stamp = removing[rhead_++].stamp ;
  if (!--nremoving) rhead_ = 0 ;
  if (nf == 2)
  {
    char name[FERRY_MSGNAME_MAX] ;
    ferry_msgname_fmt(name, id, stamp) ;
    strerr_warnw("message ", name, ": its files could not all be removed (", f[1], "): what is left is finished again at the next start") ;
    return ;
  }
  clean_request('m', id) ;
  logs("end msg ") ; logname(id, stamp) ; logend() ;
}

/* ---------- steering: ferry-qctl's commands on queue/lock/steer ---------- */

 /* hold and delete are also files (queue/hold/ID, queue/delete/ID) written durably by ferry-qctl
    before it writes the command: the command only makes them take effect at once, and a restart
    finds them. requeue is only a command. */

static uint64_t *delpending = 0 ;       /* delete markers for messages not loaded yet */
static unsigned int ndelpending = 0, adelpending = 0 ;

static void steer_log (char const *what, uint64_t id, char const *rest)
{
  logs(what) ; logs(" msg ") ; lognameof(id) ; logs(": ") ; logs(rest) ; logend() ;
}

 /* Is the message of this id (mi: loaded, or -1) the one ferry-qctl named? A name is unique, an
    id is not: the message may have ended since, and a new one taken its inode. When it cannot be
    told (a stat failed), it is. */
static int steer_named (uint64_t id, uint64_t stamp, int mi)
{
  uint64_t now ;
  if (mi >= 0) return msgs[mi].stamp == stamp ;
  return ferry_msgname_read(id, split, &now) < 0 || now == stamp ;
}

static void msg_delete (unsigned int mi)
{
  msg *m = msgs + mi ;
  char fn[FERRY_QUEUE_PATH_MAX] ;
  char c = 0 ;
  unsigned int i, n = 0, *r ;
  int fd ;
  char const *what = 0 ;
  ferry_queue_path(fn, "delete", m->id, 0) ;
  fd = ferry_queue_open(fn, O_RDONLY, &what) ;
  if (fd == -2) { strerr_warnw("ignored: ", fn, " is ", what) ; return ; }
  if (fd < 0) { if (errno != ENOENT) strerr_warnwu2sys("open ", fn) ; return ; }
  if (read(fd, &c, 1) < 0) c = 0 ;
  fd_close(fd) ;
  m->deleting = c == 'b' ? 2 : 1 ;
  r = malloc(m->count * sizeof(unsigned int)) ;
  if (!r) strerr_diefu1sys(111, "allocate memory") ;
  for (i = 0 ; i < m->count ; i++)
  {
    unsigned int ri = MSG_R(m)[i] ;
    if (rcpts[ri].status != 'T') continue ;   /* done, or in flight: its answer comes back here */
    r[n++] = ri ;
  }
  if (n) batch_done(r, n, 'D', DELETED_TEXT) ;
  free(r) ;
  sync_dirty() ;
  if (unlink(fn) < 0 && errno != ENOENT) strerr_warnwu2sys("remove ", fn) ;
  logs("delete msg ") ; logname(m->id, m->stamp) ; logs(": ") ; logu(n) ; logs(m->deleting == 2 ? " recipients failed, with a notice" : " recipients dropped, without notice") ;
  if (n < m->open) { logs("; ") ; logu(m->open) ; logs(" in flight finish first") ; }
  logend() ;
  if (!m->open) msg_finish(mi) ;
}

static void delete_pending_check (unsigned int mi)
{
  unsigned int i ;
  for (i = 0 ; i < ndelpending ; i++) if (delpending[i] == msgs[mi].id)
  {
    delpending[i] = delpending[--ndelpending] ;
    msg_delete(mi) ;
    return ;
  }
}

static void msg_release (unsigned int mi, uint32_t now)
{
  msg *m = msgs + mi ;
  unsigned int i, n = 0 ;
  m->held = 0 ;
  for (i = 0 ; i < m->count ; i++)
  {
    rcpt *r = rcpts + MSG_R(m)[i] ;
    if (r->status != 'T') continue ;
    r->next = now ;
    if (r->link >= 0) heap_up(r->link) ;
    else if (r->link == -1) heap_push(MSG_R(m)[i]) ;
    n++ ;
  }
  logs("release msg ") ; logname(m->id, m->stamp) ; logs(": ") ; logu(n) ; logs(" recipients to be tried now") ; logend() ;
}

static unsigned int msg_requeue (unsigned int mi, char const *dom, uint32_t now)
{
  msg *m = msgs + mi ;
  unsigned int i, n = 0 ;
  if (m->held) return 0 ;
  for (i = 0 ; i < m->count ; i++)
  {
    rcpt *r = rcpts + MSG_R(m)[i] ;
    if (r->status != 'T' || r->link < 0 || r->next <= now) continue ;
    if (dom && (r->ch != CH_REMOTE || strcasecmp(domain_of(r->addr), dom))) continue ;
    r->next = now ;
    heap_up(r->link) ;
    if (r->ch == CH_REMOTE)
    {
      /* tried now means now: not held back by its destination's backoff */
      dest_unfail(dests_find(domain_of(r->addr))) ;
    }
    n++ ;
  }
  return n ;
}

static void steer_command (char *line)
{
  load_rest() ;
  char *arg = strchr(line, ' ') ;
  uint32_t now = time(0) ;
  uint64_t id = 0, stamp = 0 ;
  int mi = -1 ;
  if (!arg) { strerr_warnw("an unknown command on queue/lock/steer: ", line) ; return ; }
  *arg++ = 0 ;
  if (arg[0] != '@')
  {
    if (!ferry_msgname_scan(arg, &id, &stamp)) { strerr_warnw("a malformed message name on queue/lock/steer: ", arg) ; return ; }
    mi = msg_find(id) ;
    if (!steer_named(id, stamp, mi))
    {
      /* the named message ended after ferry-qctl looked, and its id is another's now: the mark
         ferry-qctl made for it goes (unless the other one is held itself), and nothing else */
      char fn[FERRY_QUEUE_PATH_MAX] ;
      int removed = 0 ;
      if ((!strcmp(line, "hold") && !(mi >= 0 && msgs[mi].held)) || !strcmp(line, "delete"))
      {
        ferry_queue_path(fn, line[0] == 'h' ? "hold" : "delete", id, 0) ;
        removed = unlink(fn) == 0 ;
      }
      logs(line) ; logs(" msg ") ; logs(arg) ; logs(removed ? ": no such message any more: its mark removed" : ": no such message any more") ; logend() ;
      return ;
    }
  }
  if (mi < 0 && (!strcmp(line, "hold") || !strcmp(line, "delete")))
  {
    /* not loaded yet (msg_load sees the mark), or gone before the mark was made (finished, its
       files maybe still being removed): then the mark must go, or a later message with the same
       id (an inode, reused) would inherit it */
    char fn[FERRY_QUEUE_PATH_MAX] ;
    if (!msg_exists(id))
    {
      ferry_queue_path(fn, line[0] == 'h' ? "hold" : "delete", id, 0) ;
      if (unlink(fn) == 0) { logs(line) ; logs(" msg ") ; logs(arg) ; logs(": no such message any more: its mark removed") ; logend() ; }
      return ;
    }
  }
  if (!strcmp(line, "hold"))
  {
    if (mi < 0) return ;   /* not loaded yet: msg_load sees the file */
    msgs[mi].held = 1 ;
    logs("hold msg ") ; logname(id, stamp) ; logs(": held: no delivery is started until it is released") ; logend() ;
  }
  else if (!strcmp(line, "release"))
  {
    if (mi >= 0 && msgs[mi].held) msg_release(mi, now) ;
  }
  else if (!strcmp(line, "delete"))
  {
    if (mi >= 0) msg_delete(mi) ;
    else
    {
      if (ndelpending == adelpending) delpending = ferry_array_grow(delpending, &adelpending, sizeof(uint64_t)) ;
      delpending[ndelpending++] = id ;
    }
  }
  else if (!strcmp(line, "requeue"))
  {
    unsigned int n = 0, k ;
    if (arg[0] == '@')
    {
      dest_unfail(dests_find(arg + 1)) ;
      for (k = 0 ; k < msgtop ; k++) if (msgs[k].used) n += msg_requeue(k, arg + 1, now) ;
      logs("requeue ") ; logclean(arg) ; logs(": ") ; logu(n) ; logs(" deferred recipients to be tried now") ; logend() ;
    }
    else if (mi >= 0)
    {
      n = msg_requeue(mi, 0, now) ;
      logs("requeue msg ") ; logname(id, stamp) ; logs(": ") ; logu(n) ; logs(" deferred recipients to be tried now") ; logend() ;
    }
  }
  else strerr_warnw("an unknown command on queue/lock/steer: ", line) ;
}

 /* Commands whose argument is not a message: they carry the name of an answer FIFO. */
static int steer_remote (char *line)
{
  char *a = strchr(line, ' '), *b ;
  if (!a) return 0 ;
  *a++ = 0 ;
  b = strchr(a, ' ') ;
  if (b) *b++ = 0 ;
  if (!strcmp(line, "deadhosts") && !b && !strchr(a, '/') && strlen(a) < 200) control_send("!deadhosts", 0, a) ;
  else if (!strcmp(line, "undead") && b && !strchr(b, '/') && strlen(b) < 200) control_send("!undead", a, b) ;
  else { strerr_warnw("a malformed command on queue/lock/steer: ", line) ; return 1 ; }
  logs("ferry-qctl: ") ; logs(line) ; if (b) { logs(" ") ; logclean(a) ; } logs(": asked of ferry-spawn-remote") ; logend() ;
  return 1 ;
}

static void steer_read (int fd, stralloc *sa)
{
  char buf[4096] ;
  ssize_t r ;
  size_t start = 0, i ;
  while ((r = read(fd, buf, sizeof(buf))) > 0)
    if (!stralloc_catb(sa, buf, r)) strerr_diefu1sys(111, "allocate memory") ;
  for (i = 0 ; i < sa->len ; i++) if (sa->s[i] == '\n')
  {
    sa->s[i] = 0 ;
    if (i > start && (strncmp(sa->s + start, "deadhosts ", 10) && strncmp(sa->s + start, "undead ", 7))) steer_command(sa->s + start) ;
    else if (i > start) steer_remote(sa->s + start) ;
    start = i + 1 ;
  }
  memmove(sa->s, sa->s + start, sa->len - start) ;
  sa->len -= start ;
  if (sa->len > 4096) sa->len = 0 ;   /* a line that never ends: dropped */
}

 /* Hold marks of messages that are gone (a crash between the message's end and the mark's
    removal, or a hold that raced with the end): removed, so that no later message with the same
    id inherits them. */
 /* Is id a message of the queue (committed, whether prepared or not, and not being removed)?
    When it cannot be told (a stat failed), it is. */
static int msg_exists (uint64_t id)
{
  return !removing_has(id) && ferry_queue_has_message(id, split) ;
}

/* ---------- start-up: the queue loads while delivery runs ---------- */

 /* The ids of the recipient files found at start, loaded LOAD_CHUNK per round of the loop: the
    first delivery does not wait for 100,000 deferred messages to be read. */
#define LOAD_CHUNK 500
static uint64_t *loadq = 0 ;           /* the rest */
static unsigned int nloadq = 0, aloadq = 0 ;
static uint64_t *dueq = 0 ;            /* those of the files due now, first */
static unsigned int ndueq = 0, adueq = 0 ;
static time_t loadstart ;
static int loading = 0 ;

static void hold_sweep (void)
{
  DIR *dh = opendir("queue/hold") ;
  struct dirent *de ;
  if (!dh) { if (errno != ENOENT) strerr_warnwu1sys("open queue/hold") ; return ; }
  while ((de = readdir(dh)))
  {
    uint64_t id ;
    char fn[FERRY_QUEUE_PATH_MAX] ;
    if (de->d_name[0] == '.' || uint640_scan(de->d_name, &id) != strlen(de->d_name) || msg_find(id) >= 0) continue ;
    if (msg_exists(id)) continue ;
    ferry_queue_path(fn, "hold", id, 0) ;
    if (unlink(fn) == 0) steer_log("hold", id, "no such message any more: its mark removed") ;
  }
  closedir(dh) ;
}

 /* Marks left from before a restart: run before the queue is loaded, so that a delete mark is
    waiting (delpending) when its message loads; marks of messages that are gone are removed. */
static void steer_load (void)
{
  DIR *dh ;
  hold_sweep() ;
  dh = opendir("queue/delete") ;
  struct dirent *de ;
  if (!dh) { if (errno != ENOENT) strerr_warnwu1sys("open queue/delete") ; return ; }
  while ((de = readdir(dh)))
  {
    uint64_t id ;
    int mi ;
    if (de->d_name[0] == '.' || uint640_scan(de->d_name, &id) != strlen(de->d_name)) continue ;
    mi = msg_find(id) ;
    if (mi >= 0) msg_delete(mi) ;
    else
    {
      char fn[FERRY_QUEUE_PATH_MAX] ;
      if (!msg_exists(id))
      {
        /* gone: a later message with the same id must not be deleted */
        ferry_queue_path(fn, "delete", id, 0) ;
        if (unlink(fn) == 0) steer_log("delete", id, "no such message any more: its mark removed") ;
        continue ;
      }
      if (ndelpending == adelpending) delpending = ferry_array_grow(delpending, &adelpending, sizeof(uint64_t)) ;
      delpending[ndelpending++] = id ;
    }
  }
  closedir(dh) ;
}

/* ---------- start-up ---------- */

 /* Reads the settings: all of them, or (at a reread) none when one is bad, said in the log. At
    start a bad one is fatal. 1 when the new ones are in use. */
static int load_settings (int initial)
{
  static char const *const names[] = { "concurrencylocal", "concurrencyremote", "concurrencydestination", "queuelifetime",
    "minbackoff", "maxbackoff", "delaywarning" } ;
  uint64_t v[7] ;
  stralloc why = STRALLOC_ZERO ;
  unsigned int i ;
  for (i = 0 ; i < 7 ; i++)
  {
    int r = ferry_control_u64_why(names[i], v + i, &why) ;
    if (r < 0) strerr_diefu1sys(111, "allocate memory") ;
    if (!r)
    {
      if (initial) strerr_dief1x(111, why.s) ;
      logs("ferry-schedule: warning: SIGHUP: keeping the old settings: ") ; logclean(why.s) ; logend() ;
      stralloc_free(&why) ;
      return 0 ;
    }
  }
  stralloc_free(&why) ;
  conc[CH_LOCAL] = v[0] ;
  conc[CH_REMOTE] = v[1] ;
  perdest = v[2] ;
  lifetime = v[3] ;
  minbackoff = v[4] ;
  maxbackoff = v[5] ;
  if (maxbackoff < minbackoff) maxbackoff = minbackoff ;
  delaywarning = v[6] ;
  return 1 ;
}

 /* Every prepared message whose todo entry is gone (those with one are ferry-preprocess-todo's):
    the ids of the recipient files, those whose time hint says due first, each message once. An
    earlier ferry's queue has the same recipient files, so it loads the same way. */
static void queue_load (void)
{
  time_t now = time(0) ;
  unsigned int c, d ;
  for (c = 0 ; c < 2 ; c++) for (d = 0 ; d < split ; d++)
  {
    char dn[FERRY_QUEUE_PATH_MAX] ;
    DIR *dh ;
    struct dirent *de ;
    ferry_queue_subdir(dn, chdir_[c], d, split) ;   /* subdirectory d: the one of id d */
    dh = opendir(dn) ;
    if (!dh) strerr_diefu2sys(111, "open ", dn) ;
    while ((de = readdir(dh)))
    {
      uint64_t id ;
      struct stat st ;
      if (de->d_name[0] == '.' || uint640_scan(de->d_name, &id) != strlen(de->d_name)) continue ;
      if (fstatat(dirfd(dh), de->d_name, &st, 0) == 0 && st.st_mtime <= now)
      {
        if (ndueq == adueq) dueq = ferry_array_grow(dueq, &adueq, sizeof(uint64_t)) ;
        dueq[ndueq++] = id ;
      }
      else
      {
        if (nloadq == aloadq) loadq = ferry_array_grow(loadq, &aloadq, sizeof(uint64_t)) ;
        loadq[nloadq++] = id ;
      }
    }
    closedir(dh) ;
  }
  {
    /* one entry per message: a message listed twice could be loaded again from its second
       entry after it finished, its id maybe taken by a new message by then */
    unsigned int nfiles = nloadq + ndueq, i, j, k ;
    if (ndueq) qsort(dueq, ndueq, sizeof(uint64_t), &ferry_id_cmp) ;
    if (nloadq) qsort(loadq, nloadq, sizeof(uint64_t), &ferry_id_cmp) ;
    for (i = j = 0 ; i < ndueq ; i++) if (!j || dueq[j - 1] != dueq[i]) dueq[j++] = dueq[i] ;
    ndueq = j ;
    for (i = j = k = 0 ; i < nloadq ; i++)
    {
      if (j && loadq[j - 1] == loadq[i]) continue ;
      while (k < ndueq && dueq[k] < loadq[i]) k++ ;
      if (k < ndueq && dueq[k] == loadq[i]) continue ;
      loadq[j++] = loadq[i] ;
    }
    nloadq = j ;
    logs("ferry-schedule: loading the queue: ") ; logu(nloadq + ndueq) ; logs(" messages (") ; logu(nfiles) ; logs(" recipient files), ") ;
    logu(ndueq) ; logs(" of them due now first") ; logend() ;
  }
  loadstart = time(0) ;
  loading = 1 ;
}

 /* Loads up to max messages of the start-up list; at its end, says what the queue holds. */
static void load_some (unsigned int max)
{
  for (; max && (ndueq || nloadq) ; max--)
  {
    uint64_t id = ndueq ? dueq[--ndueq] : loadq[--nloadq] ;
    char fn[FERRY_QUEUE_PATH_MAX] ;
    /* loaded already (listed twice, or ferry-preprocess-todo told it), or finished since */
    if (msg_find(id) >= 0 || removing_has(id)) continue ;
    ferry_queue_path(fn, "todo", id, split) ;
    if (access(fn, F_OK) == 0) continue ;   /* not prepared yet: ferry-preprocess-todo will tell it */
    msg_load(id, 0) ;
  }
  if (loading && !ndueq && !nloadq)
  {
    loading = 0 ;
    free(loadq) ;
    loadq = 0 ; aloadq = 0 ;
    free(dueq) ;
    dueq = 0 ; adueq = 0 ;
    logs("ferry-schedule: ") ; logu(livemsgs) ; logs(" messages, ") ; logu(openrcpts) ; logs(" recipients to deliver") ;
    logs(" (queue loaded in ") ; logu(time(0) - loadstart) ; logs(" s)") ; logend() ;
  }
}

 /* The whole queue, now: for what must see every message (a command by domain, SIGALRM). */
static void load_rest (void)
{
  if (ndueq || nloadq) load_some(UINT_MAX) ;
}

static void frames_read (int fd, stralloc *sa, void (*take)(char const *, size_t), char const *who)
{
  char buf[65536] ;
  size_t pos = 0 ;
  ssize_t r = read(fd, buf, sizeof(buf)) ;
  if (r < 0) { if (errno == EAGAIN || errno == EINTR) return ; strerr_diefu2sys(111, "read from ", who) ; }
  if (!r) strerr_dief(111, who, " has gone: the set stops, and s6 starts it again") ;
  if (!stralloc_catb(sa, buf, r)) strerr_diefu1sys(111, "allocate memory") ;
  for (;;)
  {
    size_t start, plen ;
    int f = ferry_frame_take(sa->s, sa->len, &pos, &start, &plen) ;
    if (!f) break ;
    if (f == 1) (*take)(sa->s + start, plen) ;
    else { strerr_warnw("a broken frame from ", who, ": skipped") ; if (f == -2) { pos = sa->len ; break ; } }
  }
  memmove(sa->s, sa->s + pos, sa->len - pos) ;
  sa->len -= pos ;
}

static void local_take (char const *p, size_t n) { answer_take(CH_LOCAL, p, n) ; }
static void remote_take (char const *p, size_t n) { answer_take(CH_REMOTE, p, n) ; }

 /* members: 0 ferry-preprocess-todo, 1 ferry-spawn-local, 2 ferry-spawn-remote, 3 ferry-clean,
    4 the queue manager's ferry-clean. Signals go only to the first, which runs as the queue
    manager's user: SIGHUP (its lists again) and SIGALRM (a rescan). The channels may run as other
    users (ferryr, root), which no signal of ours reaches: they get control frames on their request
    pipes instead ("!reread", "!undead", doc/protocols.html); ferry-clean has no settings. */
static void preprocess_signal (int sig)
{
  if (nmembers && kill(members[0], sig) < 0)
    strerr_warnwu2sys("signal ferry-preprocess-todo", sig == SIGHUP ? " (it keeps its lists)" : " (it rescans at its next trigger)") ;
}

 /* out[2] was written up to w bytes: then the frames that carry a descriptor, each sent with it
    (the bytes up to the next such frame), until the socket is full */
static void msgfds_write (size_t w)
{
  unsigned int k ;
  for (k = 0 ; k < nmsgfds ; k++) msgfds[k].off -= w ;
  while (nmsgfds && !msgfds[0].off)
  {
    union { struct cmsghdr h ; char b[CMSG_SPACE(sizeof(int))] ; } ctl ;
    struct iovec v = { .iov_base = out[2].s, .iov_len = nmsgfds > 1 ? msgfds[1].off : out[2].len } ;
    struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) } ;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh) ;
    ssize_t r ;
    c->cmsg_level = SOL_SOCKET ;
    c->cmsg_type = SCM_RIGHTS ;
    c->cmsg_len = CMSG_LEN(sizeof(int)) ;
    memcpy(CMSG_DATA(c), &msgfds[0].fd, sizeof(int)) ;
    r = sendmsg(5, &mh, MSG_NOSIGNAL) ;
    if (r < 0)
    {
      if (errno != EAGAIN && errno != EINTR) strerr_diefu1sys(111, "write to ferry-spawn-remote") ;
      return ;
    }
    if (msgfds[0].fd != nullfd) fd_close(msgfds[0].fd) ;
    memmove(msgfds, msgfds + 1, (nmsgfds - 1) * sizeof(msgfd)) ;
    nmsgfds-- ;
    memmove(out[2].s, out[2].s + r, out[2].len - r) ;
    out[2].len -= r ;
    for (k = 0 ; k < nmsgfds ; k++) msgfds[k].off -= r ;
    /* the rest of this frame, without a descriptor */
    if (nmsgfds ? msgfds[0].off : out[2].len)
    {
      r = write(5, out[2].s, nmsgfds ? msgfds[0].off : out[2].len) ;
      if (r < 0 && errno != EAGAIN && errno != EINTR) strerr_diefu1sys(111, "write to ferry-spawn-remote") ;
      if (r <= 0) return ;
      memmove(out[2].s, out[2].s + r, out[2].len - r) ;
      out[2].len -= r ;
      for (k = 0 ; k < nmsgfds ; k++) msgfds[k].off -= r ;
    }
  }
}

 /* the members' input: 1 ferry-preprocess-todo, 3 ferry-spawn-local, 5 ferry-spawn-remote,
    7 ferry-clean, 9 the queue manager's ferry-clean; out[i] is written to outfd[i] as far as it
    goes without blocking */
static int const outfd[NPEERS] = { 1, 3, 5, 7, 9 } ;

static void out_write (unsigned int i)
{
  ssize_t w = write(outfd[i], out[i].s, i == 2 && nmsgfds ? msgfds[0].off : out[i].len) ;
  if (w < 0 && errno != EAGAIN && errno != EINTR) strerr_diefu1sys(111, "write to a member of the set") ;
  if (w > 0) { memmove(out[i].s, out[i].s + w, out[i].len - w) ; out[i].len -= w ; }
  if (i == 2) msgfds_write(w > 0 ? w : 0) ;
}

int main (int argc, char const *const *argv)
{
  int spfd, steerfd ;
  stralloc steerbuf = STRALLOC_ZERO ;
  tain stopdeadline = TAIN_INFINITE ;
  PROG = "ferry-schedule" ;
  {
    /* the log is buffered for a round (strerr's messages go through the same buffer, in order) */
    static char logbuf[65536] ;
    if (!buffer_init(buffer_2, &fd_writev, 2, logbuf, sizeof logbuf)) strerr_diefu1sys(111, "set up the log buffer") ;
  }
  if (argc > 2) strerr_dieusage(100, USAGE) ;
  homepath = ferry_home(argc > 1 ? argv[1] : 0) ;
  if (chdir(homepath) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  {
    static char path[PATH_MAX] ;
    if (homepath[0] != '/')
    {
      if (!realpath(".", path)) strerr_diefu1sys(111, "find the ferry home's path") ;
      homepath = strdup(path) ;
      if (!homepath) strerr_diefu1sys(111, "allocate memory") ;
    }
    if (strlen(homepath) + 30 > PATH_MAX) strerr_dief1x(100, "the home's path is too long") ;
    memcpy(path, homepath, strlen(homepath)) ;
    memcpy(path + strlen(homepath), "/bin/ferry-bounce-build", 24) ;
    binbounce = path ;
  }
  sig_ignore(SIGPIPE) ;
  split = ferry_queue_split_or_die(111) ;
  load_settings(1) ;
  {
    char const *e = getenv("FERRY_MEMBERS") ;
    while (e && *e && nmembers < NPEERS)
    {
      uint64_t u ;
      size_t k = uint64_scan(e, &u) ;
      if (!k) break ;
      members[nmembers++] = (pid_t)u ;
      e += k ;
      if (*e == ',') e++ ;
    }
  }
  srandom((unsigned int)(time(0) ^ getpid())) ;
  spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefu1sys(111, "selfpipe_init") ;
  if (!selfpipe_trap(SIGALRM) || !selfpipe_trap(SIGHUP) || !selfpipe_trap(SIGTERM) || !selfpipe_trap(SIGCHLD))
    strerr_diefu1sys(111, "trap signals") ;
  {
    int fd ;
    int type ;
    socklen_t len = sizeof(type) ;
    for (fd = 0 ; fd <= 10 ; fd++) if (fd != 2 && ndelay_on(fd) < 0) strerr_diefu1sys(111, "set the pipes non-blocking (was ferry-schedule started by ferry-start?)") ;
    passfd = getsockopt(5, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ;
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC) ;
    if (nullfd < 0) strerr_diefu1sys(111, "open /dev/null") ;
  }
  tain_now_set_stopwatch_g() ;
  logs("ferry-schedule: starting") ; logend() ; buffer_flush(buffer_2) ;
  /* the steer FIFO first: a command written while the queue loads waits in it */
  steerfd = open("queue/lock/steer", O_RDONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (steerfd < 0) strerr_warnwu1sys("open queue/lock/steer (run ferry-setup to complete the home): ferry-qctl's commands take effect at the next start") ;
  else if (open("queue/lock/steer", O_WRONLY | O_NONBLOCK | O_CLOEXEC) < 0) strerr_diefu1sys(111, "open queue/lock/steer for writing") ;
  queuefd = open("queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (queuefd < 0) strerr_diefu1sys(111, "open queue") ;
  /* every envelope is read in intd/: a queue made before that (intd/ 0700, the queue owner's)
     would load no new message; better said at once than message by message */
  {
    char dn[FERRY_QUEUE_PATH_MAX] ;
    char const *why = " (the envelopes are read there: ferry-setup -c says what to change, doc/queue.html)" ;
    ferry_queue_subdir(dn, "intd", 0, split) ;
    if (access("queue/intd", R_OK | X_OK) < 0) strerr_diefu3sys(111, "read ", "queue/intd", why) ;
    if (access(dn, R_OK | X_OK) < 0) strerr_diefu3sys(111, "read ", dn, why) ;
  }
  steer_load() ;
  queue_load() ;
  load_some(LOAD_CHUNK) ;

  for (;;)
  {
    iopause_fd x[13] ;
    unsigned int n = 0, i ;
    int idx[13] ;
    tain deadline = TAIN_INFINITE ;
    if (ndueq || nloadq)
    {
      load_some(LOAD_CHUNK) ;
    }
    dispatch() ;
    warn_delays() ;
    bounce_start() ;
    if (statuschanged) status_log() ;
    /* the round's log lines in one write: a line a write cost a system call per delivery */
    if (!buffer_flush(buffer_2)) _exit(111) ;
    /* stopping: once every delivery is answered, every finished message's files removed and
       every request to ferry-clean written */
    if (stopping && !inflight[0] && !inflight[1] && !nbjobs && !nremoving && !out[3].len && !out[4].len) break ;
    x[n].fd = spfd ; x[n].events = IOPAUSE_READ ; idx[n++] = -1 ;
    x[n].fd = 0 ; x[n].events = IOPAUSE_READ ; idx[n++] = 100 ;
    x[n].fd = 4 ; x[n].events = IOPAUSE_READ ; idx[n++] = 101 ;
    x[n].fd = 6 ; x[n].events = IOPAUSE_READ ; idx[n++] = 102 ;
    x[n].fd = 8 ; x[n].events = IOPAUSE_READ ; idx[n++] = 103 ;
    x[n].fd = 10 ; x[n].events = IOPAUSE_READ ; idx[n++] = 105 ;
    if (steerfd >= 0) { x[n].fd = steerfd ; x[n].events = IOPAUSE_READ ; idx[n++] = 104 ; }
    for (i = 0 ; i < NPEERS ; i++) if (out[i].len)
    {
      x[n].fd = outfd[i] ; x[n].events = IOPAUSE_WRITE ; idx[n++] = i ;
    }
    if (nheap)
    {
      uint32_t now = time(0), at = rcpts[heap[0]].next ;
      tain_addsec_g(&deadline, at > now ? (int)(at - now) : 0) ;
    }
    if (nbwait && nbjobs < BOUNCE_JOBS && !stopping)
    {
      /* the earliest retry of a failed run */
      uint32_t now = time(0), at = UINT32_MAX ;
      unsigned int k ;
      tain a ;
      for (k = 0 ; k < nbwait ; k++) if (msgs[bwait[k]].jobnext < at) at = msgs[bwait[k]].jobnext ;
      tain_addsec_g(&a, at > now ? (int)(at - now) : 0) ;
      if (tain_less(&a, &deadline)) deadline = a ;
    }
    if (delaywarning && livemsgs)
    {
      tain a ;
      tain_addsec_g(&a, 5) ;
      if (tain_less(&a, &deadline)) deadline = a ;
    }
    if (stopping && tain_less(&stopdeadline, &deadline)) deadline = stopdeadline ;
    if (ndueq || nloadq) tain_copynow(&deadline) ;   /* more to load: only look at the fds */
    if (iopause_g(x, n, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;
    if (stopping && !tain_future(&stopdeadline))
    {
      strerr_warnw("deliveries still running after ", "60 seconds: stopping anyway; they will be done again") ;
      break ;
    }
    for (i = 0 ; i < n ; i++)
    {
      if (!x[i].revents) continue ;
      if (idx[i] == -1)
      {
        int sig ;
        while ((sig = selfpipe_read()) > 0)
        {
          if (sig == SIGALRM)
          {
            /* retry everything now */
            unsigned int k ;
            load_rest() ;
            while (nheap) { unsigned int ri = heap_pop() ; if (rcpts[ri].status == 'T') ready_push(ri) ; }
            for (k = 0 ; k < ndests ; k++) if (dests[k].name) dest_unfail(k) ;
            preprocess_signal(SIGALRM) ;
            control_send("!undead", "all", 0) ;   /* dead hosts are tried again too, before these retries */
            logs("ferry-schedule: SIGALRM: retrying every deferred recipient now, dead hosts too") ; logend() ;
          }
          else if (sig == SIGHUP)
          {
            unsigned int k ;
            if (load_settings(0))
            {
              for (k = 0 ; k < ndests ; k++) if (dests[k].name) dests_wake(k) ;   /* concurrencydestination may be higher */
              logs("ferry-schedule: SIGHUP: settings read again") ; logend() ;
              statuschanged = 1 ;
            }
            /* each member reads its own; the channels' answers are logged as they come */
            preprocess_signal(SIGHUP) ;
            control_send_local("!reread") ;
            control_send("!reread", 0, 0) ;
          }
          else if (sig == SIGTERM && !stopping)
          {
            stopping = 1 ;
            tain_addsec_g(&stopdeadline, STOP_WAIT) ;
            logs("ferry-schedule: SIGTERM: no new deliveries; waiting for those in progress") ; logend() ;
          }
          else if (sig == SIGCHLD)
          {
            int wstat ;
            pid_t pid ;
            while ((pid = wait_nohang(&wstat)) > 0)
            {
              unsigned int k ;
              if (bounce_reap(pid, wstat)) continue ;
              for (k = 0 ; k < nmembers ; k++) if (members[k] == pid)
                strerr_dief(111, "a member of the set died: the set stops, and s6 starts it again") ;
            }
          }
        }
      }
      else if (idx[i] == 100) frames_read(0, &in[0], &preprocess_take, "ferry-preprocess-todo") ;
      else if (idx[i] == 101) frames_read(4, &in[1], &local_take, "ferry-spawn-local") ;
      else if (idx[i] == 102) frames_read(6, &in[2], &remote_take, "ferry-spawn-remote") ;
      else if (idx[i] == 103) frames_read(8, &in[3], &clean_take, "ferry-clean") ;
      else if (idx[i] == 105) frames_read(10, &in[4], &sclean_take, "the queue manager's ferry-clean") ;
      else if (idx[i] == 104) steer_read(steerfd, &steerbuf) ;
      else out_write(idx[i]) ;
    }
    /* every mark of this round's answers on disk, in one sync, before their messages finish */
    finish_flush() ;
  }
  /* the members see their input close, finish and exit; reap them, for at most 10 seconds */
  buffer_flush(buffer_2) ;
  close(1) ; close(3) ; close(5) ; close(7) ; close(9) ;
  selfpipe_finish() ;
  alarm(10) ;
  {
    int wstat ;
    unsigned int left = nmembers ;
    while (left && wait(&wstat) > 0) left-- ;
  }
  logs("ferry-schedule: stopped") ; logend() ;
  buffer_flush(buffer_2) ;
  stralloc_free(&steerbuf) ;
  return 0 ;
}
