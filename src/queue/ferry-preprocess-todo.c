/* ferry-preprocess-todo: turn committed todo entries into local/ and remote/, tell the
   queue manager (fd 1), and forget each one when the queue manager says its todo entry is gone
   (fd 0). Wakes on queue/lock/trigger; a batch shares one syncfs. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
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

#include <ferry/addr.h>
#include <ferry/array.h>
#include <ferry/control.h>
#include <ferry/envelope.h>
#include <ferry/frame.h>
#include <ferry/home.h>
#include <ferry/idset.h>
#include <ferry/loop.h>
#include <ferry/pool.h>
#include <ferry/queue.h>
#include <ferry/syncgap.h>

#define USAGE "ferry-preprocess-todo [ home ]"
#define BATCH_FIRST 100   /* the first batch of a scan is small, so delivery starts at once */
#define BATCH_MAX 1000
#define ENVELOPE_MAX (64 << 20)
#define RETRY_MAX 60      /* seconds between two scans after a failure (a full disk), at most */

typedef struct entry_s entry ;
struct entry_s
{
  uint64_t id ;
  struct timespec mtime ;  /* to the nanosecond: ids are inode numbers, not in order of injection */
} ;

static unsigned int split ;
static stralloc locals = STRALLOC_ZERO ;
static stralloc virtualdomains = STRALLOC_ZERO ;
static ferry_idset pending = FERRY_IDSET_ZERO ;   /* told to the queue manager, todo entry not yet removed */
static stralloc out = STRALLOC_ZERO ;
static int qfd ;                    /* queue/, for syncfs */
static ferry_syncgap gap = FERRY_SYNCGAP_ZERO ;   /* the entries told by the trigger wait for it */
static ferry_pool pool = FERRY_POOL_ZERO ;   /* queue/free.prepare: recipient files to reuse */
static entry *listed = 0 ;          /* the last scan's entries, oldest first */
static size_t nlisted = 0, nextlisted = 0 ;
static unsigned int alisted = 0 ;
static size_t batchsize = BATCH_FIRST ;
static size_t asked = 0, nasked = 0 ;  /* the scan's list up to here was asked of the disk ahead; how many */
static unsigned int failures = 0 ;  /* todo entries of this scan that could not be prepared */
static int listedall = 0 ;          /* the list is of every todo entry (scan), not of some (look) */
static uint64_t *wanted = 0 ;       /* ids to look at: new todo entries named on the trigger */
static unsigned int nwanted = 0, awanted = 0 ;
static unsigned int retrysec = 0 ;  /* 0, or the delay before the scan that tries them again */
static tain retryat ;

static void tell (char kind, uint64_t id)
{
  char fmt[1 + UINT64_FMT] ;
  size_t mark ;
  fmt[0] = kind ;
  if (!ferry_frame_begin(&out, &mark) || !ferry_field_cat(&out, fmt, 1 + uint64_fmt(fmt + 1, id)) || !ferry_frame_end(&out, mark))
    strerr_diefu1sys(111, "allocate memory") ;
}

 /* The lists: at start (fatal when unreadable), or again at SIGHUP (then the old ones stay when a
    new one cannot be read; the log says which happened). */
static void load (int initial)
{
  stralloc l = STRALLOC_ZERO, v = STRALLOC_ZERO ;
  char const *bad = ferry_control_readlist(&l, "locals") < 0 ? "read control/locals"
                  : ferry_control_readlist(&v, "virtualdomains") < 0 ? "read control/virtualdomains" : 0 ;
  if (bad)
  {
    if (initial) strerr_diefu1sys(111, bad) ;
    strerr_warnwu2sys(bad, " (the old lists stay in use)") ;
    stralloc_free(&l) ;
    stralloc_free(&v) ;
    return ;
  }
  stralloc_free(&locals) ;
  stralloc_free(&virtualdomains) ;
  locals = l ;
  virtualdomains = v ;
  if (!initial) strerr_warni("control/locals and control/virtualdomains read again") ;
}

static int is_local (char const *addr)
{
  char dom[FERRY_DOMAIN_MAX + 1] ;
  size_t n ;
  if (!strchr(addr, '@')) return 1 ;   /* an address without a domain is at control/me: local */
  n = ferry_addr_domain_lower(dom, addr) ;
  if (!n) return 0 ;
  return ferry_control_listed(&locals, dom, n) || ferry_control_listed(&virtualdomains, dom, n) ;
}

static int record_cat (stralloc *sa, uint32_t index, char const *addr)
{
  ferry_rcpt_record r = { .status = 'T', .next = 0, .index = index, .addr = addr } ;
  return ferry_rcpt_record_cat(sa, &r) ;
}

 /* for ferry_pool_take: fn holds the name already */
static void fixed_name (char *fn, uint64_t ino, void *data)
{
  (void)fn ; (void)ino ; (void)data ;
}

 /* Writes a recipient file, or removes a stale one when there is nothing to write. No sync here:
    the batch ends with one syncfs. */
static int file_put (char const *dir, uint64_t id, stralloc const *sa)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  uint64_t ino, old = 0 ;
  int fd ;
  ferry_queue_path(fn, dir, id, split) ;
  if (!sa->len) return unlink(fn) == 0 || errno == ENOENT ;
  /* over a stale file by that name */
  fd = ferry_pool_take(&pool, dir[0] == 'r' ? FERRY_POOL_REMOTE : FERRY_POOL_LOCAL, fn, &fixed_name, 0, &ino, &old) ;
  if (fd < 0) fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) ;
  if (fd < 0) return 0 ;
  if (allwrite(fd, sa->s, sa->len) < sa->len || ferry_pool_end(fd, old, sa->len) < 0) { fd_close(fd) ; return 0 ; }
  return close(fd) == 0 ;
}

static int copy_to (char const *from, char const *to)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *what ;
  int r = ferry_queue_slurp(&sa, from, &what) > 0 && openwritenclose_unsafe_sync(to, sa.s, sa.len) ;
  stralloc_free(&sa) ;
  return r ;
}

 /* A todo name that is not a regular file (a FIFO, a symbolic link, ...) is no message: it is
    moved aside to queue/corrupt/ID.todo, never read nor followed, and named in the log. */
static void todo_aside (char const *todo, uint64_t id, char const *what)
{
  char fmt[UINT64_FMT + 20] ;
  size_t n = uint64_fmt(fmt + 14, id) ;
  memcpy(fmt, "queue/corrupt/", 14) ;
  memcpy(fmt + 14 + n, ".todo", 6) ;
  if (rename(todo, fmt) < 0) strerr_warnwu6sys("move aside ", todo, " (", what, ", not a message) to ", fmt) ;
  else strerr_warnw(todo, " is ", what, ", not a message: moved aside to ", fmt) ;
}

 /* The envelope of a todo entry, at most ENVELOPE_MAX bytes: 1, 0 with errno, -1 not a
    regular file (moved aside). */
static int todo_read (char const *todo, uint64_t id, stralloc *sa)
{
  char const *what ;
  int fd = ferry_queue_open(todo, O_RDONLY, &what) ;
  if (fd == -2) { todo_aside(todo, id, what) ; return -1 ; }
  if (fd < 0) return 0 ;
  /* a larger one is read cut short, which the check finds corrupt */
  if (!ferry_queue_read(fd, sa, ENVELOPE_MAX + 1)) { fd_close(fd) ; return 0 ; }
  fd_close(fd) ;
  return 1 ;
}

 /* 1: told the queue manager (R or C); 0: a system error, to be tried again at the next scan. */
static int process (uint64_t id)
{
  char todo[FERRY_QUEUE_PATH_MAX] ;
  stralloc env = STRALLOC_ZERO, loc = STRALLOC_ZERO, rem = STRALLOC_ZERO ;
  char const *why ;
  size_t fpos = 0, i ;
  uint32_t index = 0 ;
  int r = 0 ;
  ferry_queue_path(todo, "todo", id, split) ;
  r = todo_read(todo, id, &env) ;
  if (r <= 0)
  {
    if (!r && errno != ENOENT) { strerr_warnwu2sys("read ", todo) ; failures++ ; }
    r = 0 ;
    goto end ;
  }
  r = 0 ;
  why = ferry_envelope_stored_check(env.s, env.len, &fpos) ;
  if (why)
  {
    char fmt[UINT64_FMT + 20], mess[FERRY_QUEUE_PATH_MAX] ;
    size_t n = uint64_fmt(fmt + 8, id) ;
    memcpy(fmt, "corrupt/", 8) ;
    memcpy(fmt + 8 + n, ".envelope", 10) ;
    {
      char target[FERRY_QUEUE_PATH_MAX + 20] ;
      memcpy(target, "queue/", 6) ; memcpy(target + 6, fmt, strlen(fmt) + 1) ;
      if (!copy_to(todo, target)) { strerr_warnwu2sys("keep a copy of ", todo) ; failures++ ; goto end ; }
      ferry_queue_path(mess, "mess", id, split) ;
      memcpy(target + 6 + 8 + n, ".message", 9) ;
      if (!copy_to(mess, target) && errno != ENOENT) { strerr_warnwu2sys("keep a copy of ", mess) ; failures++ ; goto end ; }
    }
    strerr_warnw("corrupt envelope ", todo, ": ", why, ": kept as queue/", fmt, " (and .message), taken out of the queue") ;
    tell('C', id) ;
    r = 1 ;
    goto end ;
  }
  for (i = fpos ; i < env.len && env.s[i] ; i += strlen(env.s + i) + 1)
  {
    if (env.s[i] != 'T') continue ;
    if (!record_cat(is_local(env.s + i + 1) ? &loc : &rem, index++, env.s + i + 1)) strerr_diefu1sys(111, "allocate memory") ;
  }
  if (!file_put("local", id, &loc) || !file_put("remote", id, &rem))
  {
    /* nothing half-written stays: a recipient file cut short (a full disk) or empty goes */
    char fn[FERRY_QUEUE_PATH_MAX] ;
    int e = errno ;
    ferry_queue_path(fn, "local", id, split) ; unlink(fn) ;
    ferry_queue_path(fn, "remote", id, split) ; unlink(fn) ;
    errno = e ;
    strerr_warnwu2sys("write the recipients of ", todo) ;
    failures++ ;
    goto end ;
  }
  /* no copy of the envelope: the queue manager reads it where ferry-inject wrote it, in intd/,
     which stays until the message's end (doc/queue.html) */
  tell('R', id) ;
  r = 1 ;
 end:
  stralloc_free(&env) ; stralloc_free(&loc) ; stralloc_free(&rem) ;
  return r ;
}

static int entry_cmp (void const *a, void const *b)
{
  entry const *x = a, *y = b ;
  if (x->mtime.tv_sec != y->mtime.tv_sec) return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1 ;
  if (x->mtime.tv_nsec != y->mtime.tv_nsec) return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1 ;
  return x->id < y->id ? -1 : x->id > y->id ;
}

 /* The list is e[0..n), oldest first, for batch() to take. */
static void list_start (entry *e, size_t n, unsigned int a, int all)
{
  if (n) qsort(e, n, sizeof(entry), &entry_cmp) ;
  listed = e ; alisted = a ; nlisted = n ; nextlisted = 0 ; asked = nasked = 0 ;
  batchsize = BATCH_FIRST ;
  failures = 0 ;
  listedall = all ;
}

 /* Lists every todo entry not yet told. */
static void scan (void)
{
  entry *e = listed ;
  size_t n = 0 ;
  unsigned int a = alisted ;
  unsigned int d ;
  for (d = 0 ; d < split ; d++)
  {
    char dir[FERRY_QUEUE_PATH_MAX] ;
    DIR *dh ;
    struct dirent *de ;
    ferry_queue_subdir(dir, "todo", 0, 0) ;
    {
      size_t k = strlen(dir) ;
      dir[k++] = '/' ;
      dir[k + uint_fmt(dir + k, d)] = 0 ;
    }
    dh = opendir(dir) ;
    if (!dh) { strerr_warnwu2sys("open ", dir) ; continue ; }
    while ((de = readdir(dh)))
    {
      uint64_t id ;
      struct stat st ;
      if (de->d_name[0] == '.' || uint640_scan(de->d_name, &id) != strlen(de->d_name)) continue ;
      if (id % split != d)
      {
        strerr_warnw("a todo entry in the wrong subdirectory is ignored: ", dir, "/", de->d_name) ;
        continue ;
      }
      if (ferry_idset_has(&pending, id)) continue ;
      if (fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue ;
      if (n == a) e = ferry_array_grow(e, &a, sizeof(entry)) ;
      e[n].id = id ;
      e[n].mtime = st.st_mtim ;
      n++ ;
    }
    closedir(dh) ;
  }
  nwanted = 0 ;   /* every one of them was in the directories */
  list_start(e, n, a, 1) ;
}

static void want (uint64_t id, void *data)
{
  (void)data ;
  if (nwanted == awanted) wanted = ferry_array_grow(wanted, &awanted, sizeof(uint64_t)) ;
  wanted[nwanted++] = id ;
}

 /* Lists the wanted ids that are todo entries not yet told: no directory is read. */
static void look (void)
{
  entry *e = listed ;
  size_t n = 0, i ;
  unsigned int a = alisted ;
  for (i = 0 ; i < nwanted ; i++)
  {
    char fn[FERRY_QUEUE_PATH_MAX] ;
    struct stat st ;
    if (ferry_idset_has(&pending, wanted[i])) continue ;
    ferry_queue_path(fn, "todo", wanted[i], split) ;
    if (fstatat(AT_FDCWD, fn, &st, AT_SYMLINK_NOFOLLOW) < 0) continue ;
    if (n == a) e = ferry_array_grow(e, &a, sizeof(entry)) ;
    e[n].id = wanted[i] ;
    e[n].mtime = st.st_mtim ;
    n++ ;
  }
  nwanted = 0 ;
  list_start(e, n, a, 0) ;
  /* an id named twice is taken once */
  if (n > 1)
  {
    size_t k = 1 ;
    for (i = 1 ; i < n ; i++) if (e[i].id != e[k-1].id) e[k++] = e[i] ;
    nlisted = k ;
  }
}

 /* Before a batch, when its todo entries are not in memory (after a reboot, or paged out by the
    kernel): they and the next batch's are asked of the disk together, with the head of each
    message file, which a channel reads soon after; the entries are then read one after the
    other, but the disk reads them at once. In memory: a few looks a batch, nothing asked. */
static void ahead (size_t end)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  if (asked < nextlisted) asked = nextlisted ;
  if (end > nlisted) end = nlisted ;
  if (asked >= end) return ;
  {
    /* the first few entries: any of them out of memory, the batch is asked for */
    size_t j ;
    for (j = asked ; j < end && j < asked + FERRY_QUEUE_AHEAD_LOOKS ; j++)
    {
      ferry_queue_path(fn, "todo", listed[j].id, split) ;
      if (!ferry_queue_in_memory(fn)) break ;
    }
    if (j == end || j == asked + FERRY_QUEUE_AHEAD_LOOKS) return ;
  }
  nasked += end - asked ;
  for (; asked < end ; asked++)
  {
    ferry_queue_path(fn, "todo", listed[asked].id, split) ;
    ferry_queue_ask(fn, 0) ;
    ferry_queue_path(fn, "mess", listed[asked].id, split) ;
    ferry_queue_ask(fn, FERRY_QUEUE_ASK_MESSAGE) ;
  }
}

 /* At the end of a scan's list: entries that failed (a full disk) are tried again by a scan
    after 1 s, 2, 4, ... up to RETRY_MAX, without waiting for new mail; one line each way. */
static void scan_end (void)
{
  char fmt[2][UINT_FMT] ;
  if (nasked)
  {
    char n[UINT64_FMT] ;
    n[uint64_fmt(n, nasked)] = 0 ;
    strerr_warni(n, " todo entries were not in memory: read ahead from the disk") ;
    nasked = 0 ;
  }
  if (!failures)
  {
    /* a look at some entries says nothing of those that failed before */
    if (!listedall) return ;
    if (retrysec) strerr_warni("every todo entry prepared again: the failures are over") ;
    retrysec = 0 ;
    return ;
  }
  retrysec = !retrysec ? 1 : retrysec * 2 > RETRY_MAX ? RETRY_MAX : retrysec * 2 ;
  tain_addsec_g(&retryat, retrysec) ;
  fmt[0][uint_fmt(fmt[0], failures)] = 0 ;
  fmt[1][uint_fmt(fmt[1], retrysec)] = 0 ;
  strerr_warnw(fmt[0], " todo entries could not be prepared: trying again in ", fmt[1], " s") ;
  failures = 0 ;
}

 /* Prepares the next batch of the list, sharing one syncfs, and queues its notices. The first
    batch of a scan is BATCH_FIRST entries, each next one twice the last, up to BATCH_MAX: after
    a restart with a full todo/, the queue manager hears of mail within a small batch's time and
    delivers while the rest is prepared. */
static void batch (void)
{
  size_t j, before = out.len, end = nextlisted + batchsize ;
  uint64_t told[BATCH_MAX] ;
  size_t ntold = 0 ;
  if (end > nlisted) end = nlisted ;
  ahead(end + (batchsize * 2 > BATCH_MAX ? BATCH_MAX : batchsize * 2)) ;
  for (j = nextlisted ; j < end ; j++)
    if (process(listed[j].id)) told[ntold++] = listed[j].id ;
  nextlisted = end ;
  batchsize = batchsize * 2 > BATCH_MAX ? BATCH_MAX : batchsize * 2 ;
  if (!ntold) return ;
  /* everything this batch wrote is durable before the queue manager hears of it */
  ferry_syncgap_start(&gap) ;
  if (syncfs(qfd) < 0)
  {
    strerr_warnwu1sys("syncfs the queue: the batch will be done again") ;
    out.len = before ;
    failures += ntold ;
    return ;
  }
  for (j = 0 ; j < ntold ; j++)
    if (!ferry_idset_add(&pending, told[j])) strerr_diefu1sys(111, "allocate memory") ;
}

 /* The queue manager's word that a todo entry is gone: payload "<id>\0". */
static void forget (char const *p, size_t n)
{
  uint64_t id ;
  if (!n || p[n-1] || uint640_scan(p, &id) != n - 1)
  {
    strerr_warnw("malformed message from the queue manager: ignored") ;
    return ;
  }
  ferry_idset_del(&pending, id) ;
  /* a todo entry by that id now is a new one, skipped while the old was remembered (an id is
     an inode, and inodes are reused): look() finds it, or passes over a name that is gone */
  want(id, 0) ;
}

int main (int argc, char const *const *argv)
{
  stralloc in = STRALLOC_ZERO ;
  iopause_fd x[4] ;
  int spfd, tfd, keep, eof = 0, rescan = 1 ;
  ferry_trigger_carry carry = FERRY_TRIGGER_CARRY_ZERO ;
  size_t pipecap ;
  PROG = "ferry-preprocess-todo" ;
  ferry_member_enter(argc, argv, USAGE) ;
  split = ferry_queue_split_or_die(111) ;
  load(1) ;
  qfd = open("queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  ferry_pool_init(&pool, FERRY_POOL_PREPARE, 0600) ;
  if (qfd < 0) strerr_diefu1sys(111, "open queue") ;
  tfd = open("queue/lock/trigger", O_RDONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (tfd < 0) strerr_diefu1sys(111, "open queue/lock/trigger") ;
  keep = open("queue/lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;   /* so the FIFO never reads end of file */
  if (keep < 0) strerr_diefu1sys(111, "open queue/lock/trigger for writing") ;
  {
    int r = fcntl(tfd, F_GETPIPE_SZ) ;
    pipecap = r > 0 ? (size_t)r : 65536 ;
  }
  {
    static int const sigs[] = { SIGHUP, SIGALRM, SIGTERM, 0 } ;
    spfd = ferry_loop_setup(sigs) ;
  }

  for (;;)
  {
    unsigned int n = 0 ;
    int i0 = -1, i1 = -1 ;
    if (rescan && !eof && nextlisted == nlisted) { scan() ; rescan = 0 ; if (!nlisted) scan_end() ; }
    /* the entries the trigger named are looked at once the last batch's sync is far enough
       behind (ferry/syncgap.h): those that come meanwhile join them */
    else if (nwanted && !eof && nextlisted == nlisted && ferry_syncgap_due(&gap)) { look() ; if (!nlisted) scan_end() ; }
    if (!eof && nextlisted < nlisted) { batch() ; if (nextlisted == nlisted) scan_end() ; }
    if (eof && !out.len) break ;
    x[n].fd = spfd ; x[n].events = IOPAUSE_READ ; n++ ;
    /* once the queue manager is gone, the trigger is left to the next set's instance */
    x[n].fd = eof ? -1 : tfd ; x[n].events = IOPAUSE_READ ; n++ ;
    if (!eof) { i0 = n ; x[n].fd = 0 ; x[n].events = IOPAUSE_READ ; n++ ; }
    if (out.len) { i1 = n ; x[n].fd = 1 ; x[n].events = IOPAUSE_WRITE ; n++ ; }
    /* with more of the list to prepare, only look: the next batch follows at once */
    {
      tain deadline = TAIN_INFINITE ;
      if (!eof && nextlisted < nlisted) deadline = STAMP ;
      else if (!eof)
      {
        if (retrysec) deadline = retryat ;
        if (nwanted) ferry_syncgap_deadline(&gap, &deadline) ;
      }
      if (iopause_g(x, n, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;
    }
    if (retrysec && !eof && !rescan && nextlisted == nlisted && !tain_less(&STAMP, &retryat)) rescan = 1 ;
    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
      {
        if (sig == SIGHUP) { load(0) ; rescan = 1 ; }
        else if (sig == SIGALRM) rescan = 1 ;
        else if (sig == SIGTERM) eof = 1 ;
      }
    }
    if (x[1].revents & IOPAUSE_READ)
    {
      /* the ids of new todo entries (ferry/queue.h); anything else, or a FIFO found half full
         or more (a write may have been lost), and every entry is listed */
      char buf[4096] ;
      size_t got = 0 ;
      ssize_t r ;
      while ((r = read(tfd, buf, sizeof(buf))) > 0)
      {
        got += r ;
        if (!rescan && !ferry_trigger_parse(&carry, buf, r, &want, 0)) rescan = 1 ;
      }
      if (got >= pipecap / 2) rescan = 1 ;
    }
    if (i1 >= 0 && x[i1].revents & (IOPAUSE_WRITE | IOPAUSE_EXCEPT))
    {
      ssize_t w = write(1, out.s, out.len) ;
      if (w < 0 && errno != EAGAIN && errno != EINTR) strerr_diefu1sys(111, "write to the queue manager") ;
      if (w > 0) { memmove(out.s, out.s + w, out.len - w) ; out.len -= w ; }
    }
    if (i0 >= 0 && x[i0].revents & IOPAUSE_READ)
    {
      size_t had = in.len ;
      int r = ferry_frame_input(&in) ;
      if (r < 0) strerr_diefu1sys(111, "read from the queue manager") ;
      if (!r) eof = 1 ;
      if (in.len > had)
      {
        size_t pos = 0 ;
        for (;;)
        {
          size_t start, plen ;
          int f = ferry_frame_take(in.s, in.len, &pos, &start, &plen) ;
          if (!f) break ;
          /* a todo entry that arrived while its id was still remembered (an id is an inode,
             and inodes are reused) was skipped: look again */
          if (f == 1) forget(in.s + start, plen) ;
          else strerr_warnw("broken frame from the queue manager: skipped") ;
          if (f == -2) { pos = in.len ; break ; }
        }
        memmove(in.s, in.s + pos, in.len - pos) ;
        in.len -= pos ;
      }
    }
  }
  free(listed) ;
  free(wanted) ;
  stralloc_free(&in) ;
  stralloc_free(&out) ;
  return 0 ;
}
