/* local_mbox: append in mboxrd format under a dotlock and an fcntl lock; on failure, truncate
   back to the old size so that no partial message is ever left. A missing mbox is made (0600),
   and its directory too. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include "local.h"

#define LOCK_WAIT 30        /* seconds to wait for either lock */
#define DOTLOCK_STALE 300   /* a dotlock older than this is taken as left by a dead program */

static void onalarm (int sig) { (void)sig ; }

 /* Waits for the fcntl lock at most LOCK_WAIT seconds (a SIGALRM interrupts the wait). */
static int fcntl_lock (int fd)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 } ;
  struct sigaction sa, old ;
  int r ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sa_handler = &onalarm ;
  sigemptyset(&sa.sa_mask) ;
  sa.sa_flags = 0 ;   /* no SA_RESTART: the alarm must interrupt fcntl */
  sigaction(SIGALRM, &sa, &old) ;
  alarm(LOCK_WAIT) ;
  r = fcntl(fd, F_SETLKW, &fl) ;
  alarm(0) ;
  sigaction(SIGALRM, &old, 0) ;
  return r ;
}

 /* file.lock, made with O_EXCL. 1: held; 0: the directory does not allow it (skip); -1: timeout. */
static int dotlock_take (char const *lock)
{
  unsigned int waited = 0 ;
  for (;;)
  {
    struct stat st ;
    int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (fd >= 0) { fd_close(fd) ; return 1 ; }
    if (errno == EACCES || errno == EPERM || errno == EROFS) return 0 ;
    if (errno != EEXIST) return 0 ;
    if (stat(lock, &st) == 0 && st.st_mtime + DOTLOCK_STALE < time(0)) { unlink(lock) ; continue ; }
    /* dotlocks have no wake-up: poll, boundedly */
    if (waited++ >= LOCK_WAIT * 10) return -1 ;
    {
      struct timespec ts = { .tv_sec = 0, .tv_nsec = 100000000 } ;
      nanosleep(&ts, 0) ;
    }
  }
}

static char fail (stralloc *report, char const *what, char const *path, int e)
{
  stralloc_cats(report, "mbox ") ;
  stralloc_cats(report, path) ;
  stralloc_cats(report, ": unable to ") ;
  stralloc_cats(report, what) ;
  if (e)
  {
    stralloc_cats(report, ": ") ;
    stralloc_cats(report, strerror(e)) ;
    if (e == ENOSPC || e == EDQUOT) stralloc_cats(report, " (disk full or over quota)") ;
  }
  return 'Z' ;
}

 /* "From sender Mon Nov 23 06:03:09 2026\n" (asctime form, UTC) */
static int fromline (stralloc *sa, char const *sender)
{
  static char const days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" } ;
  static char const months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" } ;
  char buf[64] ;
  time_t t = time(0) ;
  struct tm tm ;
  size_t n = 0 ;
  if (!gmtime_r(&t, &tm)) return 0 ;
  memcpy(buf, days[tm.tm_wday], 3) ; buf[3] = ' ' ;
  memcpy(buf + 4, months[tm.tm_mon], 3) ; buf[7] = ' ' ;
  n = 8 ;
  buf[n++] = tm.tm_mday < 10 ? ' ' : '0' + tm.tm_mday / 10 ;
  buf[n++] = '0' + tm.tm_mday % 10 ;
  buf[n++] = ' ' ;
  buf[n++] = '0' + tm.tm_hour / 10 ; buf[n++] = '0' + tm.tm_hour % 10 ; buf[n++] = ':' ;
  buf[n++] = '0' + tm.tm_min / 10 ; buf[n++] = '0' + tm.tm_min % 10 ; buf[n++] = ':' ;
  buf[n++] = '0' + tm.tm_sec / 10 ; buf[n++] = '0' + tm.tm_sec % 10 ; buf[n++] = ' ' ;
  n += uint_fmt(buf + n, tm.tm_year + 1900) ;
  buf[n++] = '\n' ;
  return stralloc_cats(sa, "From ")
      && stralloc_cats(sa, *sender ? sender : "MAILER-DAEMON")
      && stralloc_catb(sa, " ", 1)
      && stralloc_catb(sa, buf, n) ;
}

 /* The directory of file and its missing parents, 0700. 1, or 0 (errno, what set). */
static int parent_make (local_state *st, char const *file, stralloc *what)
{
  size_t n = strlen(file) ;
  char dir[n + 1] ;
  while (n && file[n-1] != '/') n-- ;
  if (n <= 1) { errno = ENOENT ; return 0 ; }
  memcpy(dir, file, n - 1) ;
  dir[n - 1] = 0 ;
  return local_dirs_make(st, dir, 0700, what) == 0 ;
}

char local_mbox (local_msg const *m, char const *file, stralloc *report)
{
  local_msg mm = *m ;
  stralloc lock = STRALLOC_ZERO, what = STRALLOC_ZERO ;
  struct stat st ;
  char status = 'Z' ;
  int fd, dot = 0, e ;
  char last ;
  mm.prefix = stralloc_zero ;
  if (!stralloc_cats(&lock, file) || !stralloc_cats(&lock, ".lock") || !stralloc_0(&lock)
   || !fromline(&mm.prefix, m->sender) || !stralloc_catb(&mm.prefix, m->prefix.s, m->prefix.len))
  { status = fail(report, "allocate memory", file, errno) ; goto end ; }
  dot = dotlock_take(lock.s) ;
  if (dot < 0) { status = fail(report, "take the dotlock (another program holds it)", file, 0) ; dot = 0 ; goto end ; }
  fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) ;
  if (fd < 0 && errno == ENOENT)
  {
    /* its directory does not exist: made as for a Maildir, then the dotlock is taken there */
    if (!parent_make(m->state, file, &what)) { status = fail(report, what.len ? what.s : "create its directory", file, errno) ; goto end ; }
    if (!dot)
    {
      dot = dotlock_take(lock.s) ;
      if (dot < 0) { status = fail(report, "take the dotlock (another program holds it)", file, 0) ; dot = 0 ; goto end ; }
    }
    fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) ;
  }
  if (fd < 0) { status = fail(report, "open", file, errno) ; goto end ; }
  if (fcntl_lock(fd) < 0)
  {
    e = errno ;
    fd_close(fd) ;
    status = fail(report, e == EINTR ? "lock (another program holds the lock)" : "lock", file, e == EINTR ? 0 : e) ;
    goto end ;
  }
  if (fstat(fd, &st) < 0) { e = errno ; fd_close(fd) ; status = fail(report, "stat", file, e) ; goto end ; }
  if (!S_ISREG(st.st_mode)) { fd_close(fd) ; status = fail(report, "deliver: not a regular file", file, 0) ; goto end ; }
  /* a message that does not end with a newline gets one, then the blank separator line */
  if (!local_copy(fd, &mm, 1)) { e = errno ; goto undo ; }
  {
    struct stat ms ;
    last = '\n' ;
    if (fstat(m->fd, &ms) < 0) { e = errno ; goto undo ; }
    if (ms.st_size && pread(m->fd, &last, 1, ms.st_size - 1) != 1) { e = EIO ; goto undo ; }
    if (last != '\n' && allwrite(fd, "\n", 1) < 1) { e = errno ; goto undo ; }
    if (allwrite(fd, "\n", 1) < 1) { e = errno ; goto undo ; }
  }
  if (local_sync(m->state, fd) < 0) { e = errno ; goto undo ; }
  fd_close(fd) ;
  stralloc_cats(report, "mbox ") ;
  stralloc_cats(report, file) ;
  status = 'K' ;
  goto end ;
 undo:
  if (ftruncate(fd, st.st_size) < 0 || fsync(fd) < 0) { }
  fd_close(fd) ;
  status = fail(report, "append the message (the mbox was truncated back to its old size)", file, e) ;
 end:
  if (dot) unlink(lock.s) ;
  stralloc_free(&lock) ;
  stralloc_free(&what) ;
  stralloc_free(&mm.prefix) ;
  return status ;
}
