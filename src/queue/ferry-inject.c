/* ferry-inject: commit one message (fd 0) and its envelope (fd 1) into the queue. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/body.h>
#include <ferry/control.h>
#include <ferry/envelope.h>
#include <ferry/home.h>
#include <ferry/inject.h>
#include <ferry/msgname.h>
#include <ferry/queue.h>

#define USAGE "ferry-inject [ home ] < message 1< envelope"
#define DEATH 86400

static char messfn[FERRY_QUEUE_PATH_MAX] ;
static char intdfn[FERRY_QUEUE_PATH_MAX] ;
static int mademess = 0 ;
static int madeintd = 0 ;

static void cleanup (void)
{
  if (madeintd) unlink(intdfn) ;
  if (mademess) unlink(messfn) ;
}

static void die (int e, char const *what)
{
  int olderrno = errno ;
  cleanup() ;
  errno = olderrno ;
  strerr_diefusys(e, what) ;
}

static void diex (int e, char const *what)
{
  cleanup() ;
  strerr_dief(e, what) ;
}

static void sigalrm (int sig)
{
  (void)sig ;
  /* leftovers are the sweep's: no cleanup in a signal handler */
  _exit(FERRY_INJECT_TIMEOUT) ;
}

 /* Copies the message from fd 0 into fd after the len bytes already in buf (the Received: line);
    every byte written goes through the body scanner too. */
static void message_write (int fd, char *buf, size_t bufsize, size_t len, uint64_t limit, ferry_body_scan *sc)
{
  uint64_t total = 0 ;
  for (;;)
  {
    ssize_t r = fd_read(0, buf + len, bufsize - len) ;
    if (r < 0) die(FERRY_INJECT_READ, "read the message") ;
    if (!r) break ;
    total += r ;
    if (limit && total > limit) diex(FERRY_INJECT_TOOBIG, "message is larger than control/databytes") ;
    len += r ;
    if (len == bufsize)
    {
      ferry_body_scan_feed(sc, buf, len) ;
      if (allwrite(fd, buf, len) < len) die(FERRY_INJECT_WRITE, "write the message") ;
      len = 0 ;
    }
  }
  ferry_body_scan_feed(sc, buf, len) ;
  if (len && allwrite(fd, buf, len) < len) die(FERRY_INJECT_WRITE, "write the message") ;
}

 /* Reads the envelope from fd 1 after ferry's own records in sa, checking as it comes. */
static void envelope_read (stralloc *sa)
{
  ferry_envelope_scanner sc = FERRY_ENVELOPE_SCANNER_ZERO ;
  size_t base = sa->len ;
  ferry_envelope_status st = FERRY_ENVELOPE_MORE ;
  while (st == FERRY_ENVELOPE_MORE)
  {
    ssize_t r ;
    if (!stralloc_readyplus(sa, 4096)) die(FERRY_INJECT_NOMEM, "allocate memory") ;
    r = fd_read(1, sa->s + sa->len, 4096) ;
    if (r < 0) die(FERRY_INJECT_READ, "read the envelope") ;
    if (!r) break ;
    sa->len += r ;
    st = ferry_envelope_scan(&sc, sa->s + base, sa->len - base) ;
  }
  if (st != FERRY_ENVELOPE_DONE) diex(ferry_inject_envelope_code(st), ferry_envelope_strstatus(st)) ;
  sa->len = base + sc.pos ;
}

static void record_cat (stralloc *sa, char type, uint64_t u)
{
  char fmt[UINT64_FMT] ;
  if (!stralloc_catb(sa, &type, 1)
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, u))
   || !stralloc_0(sa))
    die(FERRY_INJECT_NOMEM, "allocate memory") ;
}

int main (int argc, char const *const *argv)
{
  static char buf[65536] ;
  char pidfn[FERRY_INJECT_PIDFILE_MAX] ;
  char todofn[FERRY_QUEUE_PATH_MAX] ;
  char dirfn[FERRY_QUEUE_PATH_MAX] ;
  stralloc env = STRALLOC_ZERO ;
  ferry_body_scan sc = FERRY_BODY_SCAN_ZERO ;
  ferry_body body ;
  struct stat st ;
  unsigned int split ;
  uint64_t limit, id ;
  time_t now = time(0) ;
  int fd ;
  PROG = "ferry-inject" ;

  if (argc > 2) strerr_dieusage(FERRY_INJECT_BUG, USAGE) ;
  sig_ignore(SIGPIPE) ;
  sig_ignore(SIGXFSZ) ;  /* past a file-size limit, write fails with EFBIG: exit 53 */
  if (!sig_catch(SIGALRM, &sigalrm)) strerr_diefu1sys(FERRY_INJECT_BUG, "catch SIGALRM") ;
  alarm(DEATH) ;
  umask(022) ;   /* files 0644: the directories (0750, group ferry) are what protects them */

  if (chdir(ferry_home(argc > 1 ? argv[1] : 0)) < 0) strerr_diefu1sys(FERRY_INJECT_HOME, "enter the ferry home") ;
  limit = ferry_control_u64_or_die("databytes", FERRY_INJECT_CONFIG) ;
  /* the effective ids decide: a setuid ferry-inject enters queue/ as its owner, not as the caller */
  if (faccessat(AT_FDCWD, "queue", X_OK, AT_EACCESS) < 0) strerr_diefu1sys(FERRY_INJECT_QUEUE, "enter queue") ;
  split = ferry_queue_split_or_die(FERRY_INJECT_CONFIG) ;

  fd = ferry_inject_pidfile(pidfn, getpid()) ;
  if (fd < 0) strerr_diefu2sys(FERRY_INJECT_PID, "create a file in ", "queue/pid") ;
  if (fstat(fd, &st) < 0) { unlink(pidfn) ; strerr_diefu2sys(FERRY_INJECT_PID, "stat ", pidfn) ; }
  id = st.st_ino ;
  ferry_queue_path(messfn, "mess", id, split) ;
  ferry_queue_path(intdfn, "intd", id, split) ;
  ferry_queue_path(todofn, "todo", id, split) ;
  if (rename(pidfn, messfn) < 0)
  {
    int e = errno ;
    unlink(pidfn) ;
    errno = e ;
    strerr_diefu4sys(FERRY_INJECT_MESS, "rename ", pidfn, " to ", messfn) ;
  }
  mademess = 1 ;

  message_write(fd, buf, sizeof(buf), ferry_inject_received_fmt(buf, getpid(), getuid(), id, now), limit, &sc) ;
  if (ferry_msgname_stamp_set(fd) < 0) die(FERRY_INJECT_WRITE, "set the time of the message file (its name)") ;
  if (fsync(fd) < 0) die(FERRY_INJECT_WRITE, "sync the message") ;
  fd_close(fd) ;
  ferry_queue_subdir(dirfn, "mess", id, split) ;
  if (ferry_dir_sync(dirfn) < 0) die(FERRY_INJECT_WRITE, "sync queue/mess") ;

  record_cat(&env, 'u', getuid()) ;
  record_cat(&env, 'p', getpid()) ;
  record_cat(&env, 't', now) ;
  ferry_body_scan_end(&sc, &body) ;
  if (!ferry_body_records_cat(&env, &body)) die(FERRY_INJECT_NOMEM, "allocate memory") ;
  envelope_read(&env) ;

  fd = ferry_inject_intd_create(intdfn) ;
  if (fd < 0) die(FERRY_INJECT_INTD, "create the envelope in queue/intd") ;
  madeintd = 1 ;
  if (allwrite(fd, env.s, env.len) < env.len) die(FERRY_INJECT_WRITE, "write the envelope") ;
  if (fsync(fd) < 0) die(FERRY_INJECT_WRITE, "sync the envelope") ;
  fd_close(fd) ;

  if (link(intdfn, todofn) < 0) die(FERRY_INJECT_TODO, "link the envelope into queue/todo") ;
  ferry_queue_subdir(dirfn, "todo", id, split) ;
  if (ferry_dir_sync(dirfn) < 0)
  {
    /* the commit is not known to be durable: withdraw it and let the client retry */
    int e = errno ;
    unlink(todofn) ;
    errno = e ;
    die(FERRY_INJECT_WRITE, "sync queue/todo") ;
  }
  ferry_trigger_pull("queue/lock/trigger", &id, 1) ;
  return 0 ;
}
