/* local_maildir: write in tmp/ (an unnamed O_TMPFILE file where the system has them), sync,
   link into new/, sync new/; nothing half-done left. A Maildir that does not exist is made. */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/queue.h>

#include "local.h"

 /* time.MusecPpidQseq.host, with / and : in the host name escaped as the Maildir convention asks */
static int unique_name (stralloc *sa, local_state *st)
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
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, ++st->seq))
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

static int name_paths (local_state *st, stralloc *name, stralloc *tmp, stralloc *new, char const *dir)
{
  name->len = tmp->len = new->len = 0 ;
  return unique_name(name, st) && stralloc_0(name)
   && stralloc_cats(tmp, dir) && stralloc_cats(tmp, "tmp/") && stralloc_cats(tmp, name->s) && stralloc_0(tmp)
   && stralloc_cats(new, dir) && stralloc_cats(new, "new/") && stralloc_cats(new, name->s) && stralloc_0(new) ;
}

 /* An unnamed file in tmp/ (O_TMPFILE), if the filesystem has them and /proc can name it for
    linkat: no directory entry to make and remove in tmp/, so workers do not queue on its lock,
    and a crash leaves nothing behind. -1 (errno) on a real error, -2 if not available here. */
static int anon_open (local_state *st, char const *dir, stralloc *tmp)
{
  int fd ;
  if (st->noproc < 0) st->noproc = access("/proc/self/fd", X_OK) < 0 ;
  if (st->noproc) return -2 ;
  tmp->len = 0 ;
  if (!stralloc_cats(tmp, dir) || !stralloc_cats(tmp, "tmp") || !stralloc_0(tmp)) return -1 ;
  fd = open(tmp->s, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600) ;
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) return -2 ;
  return fd ;
}

 /* Gives the unnamed file fd its name in new/; new and name are set. 0 or -1 (errno). */
static int anon_link (local_state *st, int fd, char const *dir, stralloc *name, stralloc *tmp, stralloc *new)
{
  char proc[14 + UINT_FMT] = "/proc/self/fd/" ;
  unsigned int tries = 0 ;
  proc[14 + uint_fmt(proc + 14, fd)] = 0 ;
  for (;;)
  {
    if (!name_paths(st, name, tmp, new, dir)) return -1 ;
    if (!linkat(AT_FDCWD, proc, AT_FDCWD, new->s, AT_SYMLINK_FOLLOW)) return 0 ;
    if (errno != EEXIST || ++tries > 5) return -1 ;
  }
}

 /* A Maildir that does not exist yet: tmp/, new/, cur/ and the missing directories above them,
    0700, the owner's. 0 or -1 (errno, what says which step failed). */
static int maildir_make (local_state *st, char const *dir, stralloc *what)
{
  static char const sub[3][4] = { "tmp", "new", "cur" } ;
  size_t n = strlen(dir) ;
  char path[n + 4] ;
  unsigned int i ;
  memcpy(path, dir, n) ;
  for (i = 0 ; i < 3 ; i++)
  {
    memcpy(path + n, sub[i], 4) ;
    if (local_dirs_make(st, path, 0700, what) < 0) return -1 ;
  }
  return 0 ;
}

 /* The file for the message in tmp/: unnamed (anon set) or named (name, tmp and new set); the
    Maildir is made if it does not exist. fd, or -1 (errno, what set). */
static int tmp_open (local_state *st, char const *dir, int *anon, stralloc *name, stralloc *tmp, stralloc *new, stralloc *what)
{
  unsigned int tries = 0 ;
  int made = 0 ;
  for (;;)
  {
    int fd = anon_open(st, dir, tmp) ;
    *anon = fd != -2 ;
    if (fd == -2)
    {
      if (!name_paths(st, name, tmp, new, dir)) { stralloc_copys(what, "allocate memory") ; stralloc_0(what) ; return -1 ; }
      fd = open(tmp->s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
      if (fd < 0 && errno == EEXIST && ++tries <= 5) continue ;
    }
    if (fd >= 0) return fd ;
    if (errno != ENOENT || made++)
    {
      int e = errno ;
      stralloc_copys(what, "create a file in tmp/") ;
      stralloc_0(what) ;
      errno = e ;
      return -1 ;
    }
    if (maildir_make(st, dir, what) < 0) return -1 ;
  }
}

char local_maildir (local_msg const *m, char const *dir, stralloc *report)
{
  stralloc tmp = STRALLOC_ZERO, new = STRALLOC_ZERO, name = STRALLOC_ZERO, what = STRALLOC_ZERO ;
  char status = 'Z' ;
  int fd, e, anon ;
  fd = tmp_open(m->state, dir, &anon, &name, &tmp, &new, &what) ;
  if (fd < 0) { status = fail(report, what.len ? what.s : "create a file in tmp/", dir, errno) ; goto end ; }
  if (!local_copy(fd, m, 0)) { e = errno ; status = fail(report, "write the message", dir, e) ; goto unlink ; }
  if (local_sync(m->state, fd) < 0) { e = errno ; status = fail(report, "sync the message", dir, e) ; goto unlink ; }
  if (anon ? anon_link(m->state, fd, dir, &name, &tmp, &new) < 0 : link(tmp.s, new.s) < 0)
  {
    e = errno ;
    status = fail(report, "link the message into new/", dir, e) ;
    goto unlink ;
  }
  fd_close(fd) ; fd = -1 ;
  if (!anon) unlink(tmp.s) ;
  new.len -= name.len ;   /* new.s is now DIR/new/ */
  new.s[new.len - 1] = 0 ;
  if (local_dir_sync(m->state, new.s) < 0)
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
  fd_close(fd) ;
  fd = -1 ;
  if (!anon) unlink(tmp.s) ;
 end:
  if (fd >= 0) fd_close(fd) ;
  stralloc_free(&tmp) ; stralloc_free(&new) ; stralloc_free(&name) ; stralloc_free(&what) ;
  return status ;
}
