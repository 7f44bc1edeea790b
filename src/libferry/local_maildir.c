/* ferry_local_maildir: write in tmp/, fsync, link into new/, fsync new/; nothing half-done left. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/local.h>
#include <ferry/queue.h>

static unsigned int seq = 0 ;

 /* time.MusecPpidQseq.host, with / and : in the host name escaped as the Maildir convention asks */
static int unique_name (stralloc *sa)
{
  struct timespec ts ;
  char host[256] ;
  char fmt[UINT64_FMT] ;
  size_t i ;
  clock_gettime(CLOCK_REALTIME, &ts) ;
  if (gethostname(host, sizeof(host) - 1) < 0) memcpy(host, "localhost", 10) ;
  host[sizeof(host) - 1] = 0 ;
  if (!stralloc_catb(sa, fmt, uint64_fmt(fmt, ts.tv_sec))
   || !stralloc_cats(sa, ".M")
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, ts.tv_nsec / 1000))
   || !stralloc_cats(sa, "P")
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, getpid()))
   || !stralloc_cats(sa, "Q")
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, ++seq))
   || !stralloc_cats(sa, ".")) return 0 ;
  for (i = 0 ; host[i] ; i++)
  {
    if (host[i] == '/') { if (!stralloc_cats(sa, "\\057")) return 0 ; }
    else if (host[i] == ':') { if (!stralloc_cats(sa, "\\072")) return 0 ; }
    else if (!stralloc_catb(sa, host + i, 1)) return 0 ;
  }
  return 1 ;
}

static char fail (stralloc *report, char const *what, char const *path, int e)
{
  stralloc_cats(report, "Maildir ") ;
  stralloc_cats(report, path) ;
  stralloc_cats(report, ": unable to ") ;
  stralloc_cats(report, what) ;
  stralloc_cats(report, ": ") ;
  stralloc_cats(report, strerror(e)) ;
  if (e == ENOSPC || e == EDQUOT) stralloc_cats(report, " (disk full or over quota)") ;
  return 'Z' ;
}

char ferry_local_maildir (ferry_local_msg const *m, char const *dir, stralloc *report)
{
  stralloc tmp = STRALLOC_ZERO, new = STRALLOC_ZERO, name = STRALLOC_ZERO ;
  char status = 'Z' ;
  int fd = -1, e ;
  unsigned int tries = 0 ;
  for (;;)
  {
    name.len = tmp.len = new.len = 0 ;
    if (!unique_name(&name) || !stralloc_0(&name)
     || !stralloc_cats(&tmp, dir) || !stralloc_cats(&tmp, "tmp/") || !stralloc_cats(&tmp, name.s) || !stralloc_0(&tmp)
     || !stralloc_cats(&new, dir) || !stralloc_cats(&new, "new/") || !stralloc_cats(&new, name.s) || !stralloc_0(&new))
    { status = fail(report, "allocate memory", dir, errno) ; goto end ; }
    fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (fd >= 0) break ;
    if (errno != EEXIST || ++tries > 5) { status = fail(report, "create a file in tmp/", dir, errno) ; goto end ; }
  }
  if (!ferry_local_copy(fd, m, 0)) { e = errno ; status = fail(report, "write the message", dir, e) ; goto unlink ; }
  if (fsync(fd) < 0) { e = errno ; status = fail(report, "sync the message", dir, e) ; goto unlink ; }
  fd_close(fd) ; fd = -1 ;
  if (link(tmp.s, new.s) < 0) { e = errno ; status = fail(report, "link the message into new/", dir, e) ; goto unlink ; }
  unlink(tmp.s) ;
  new.len -= name.len ;   /* new.s is now DIR/new/ */
  new.s[new.len - 1] = 0 ;
  if (ferry_dir_sync(new.s) < 0)
  {
    /* not known durable: take it back, so a retry cannot make two copies */
    e = errno ;
    new.s[new.len - 1] = '/' ;
    memcpy(new.s + new.len, name.s, name.len) ;
    unlink(new.s) ;
    status = fail(report, "sync new/", dir, e) ;
    goto end ;
  }
  stralloc_cats(report, "Maildir ") ;
  stralloc_cats(report, dir) ;
  stralloc_cats(report, "new/") ;
  stralloc_cats(report, name.s) ;
  status = 'K' ;
  goto end ;
 unlink:
  if (fd >= 0) fd_close(fd) ;
  fd = -1 ;
  unlink(tmp.s) ;
 end:
  if (fd >= 0) fd_close(fd) ;
  stralloc_free(&tmp) ; stralloc_free(&new) ; stralloc_free(&name) ;
  return status ;
}
