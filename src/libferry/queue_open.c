/* ferry_queue_open, ferry_queue_read, ferry_queue_slurp: a queue file opened by its name, never
   through a symbolic link, never waiting on a FIFO, and only when it is a regular file; read whole
   in as few calls as its size allows. */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <ferry/queue.h>

char const *ferry_queue_filetype (unsigned int mode)
{
  return S_ISREG(mode) ? "a regular file" : S_ISLNK(mode) ? "a symbolic link" : S_ISFIFO(mode) ? "a FIFO"
       : S_ISDIR(mode) ? "a directory" : S_ISSOCK(mode) ? "a socket" : S_ISCHR(mode) || S_ISBLK(mode) ? "a device" : "not a file" ;
}

int ferry_queue_open (char const *fn, int flags, char const **what)
{
  struct stat st ;
  int fd = open(fn, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) ;
  if (fd < 0)
  {
    /* O_NOFOLLOW's answer to a symbolic link (and a name of a directory opened for writing) */
    if (errno == ELOOP || errno == EISDIR)
    {
      int e = errno ;
      if (lstat(fn, &st) == 0 && !S_ISREG(st.st_mode)) { *what = ferry_queue_filetype(st.st_mode) ; errno = EINVAL ; return -2 ; }
      errno = e ;
    }
    return -1 ;
  }
  if (fstat(fd, &st) < 0) { fd_close(fd) ; return -1 ; }
  if (!S_ISREG(st.st_mode)) { *what = ferry_queue_filetype(st.st_mode) ; fd_close(fd) ; errno = EINVAL ; return -2 ; }
  /* O_NONBLOCK stays: it changes nothing for a regular file, and clearing it costs two calls */
  return fd ;
}

int ferry_queue_read (int fd, stralloc *sa, size_t max)
{
  for (;;)
  {
    size_t room, want ;
    ssize_t r ;
    if (sa->len >= max) return 1 ;
    room = max - sa->len ;
    /* what the stralloc has free, at least 4096 bytes and as much as it holds (a large file
       is read in a number of calls that grows with the log of its size) */
    want = sa->a - sa->len ;
    if (want < sa->len) want = sa->len ;
    if (want < 4096) want = 4096 ;
    if (want > room) want = room ;
    if (!stralloc_readyplus(sa, want)) return 0 ;
    r = read(fd, sa->s + sa->len, want) ;
    if (r < 0) { if (errno == EINTR) continue ; return 0 ; }
    sa->len += r ;
    /* a regular file gives fewer bytes than asked only at its end */
    if ((size_t)r < want) return 1 ;
  }
}

int ferry_queue_slurp (stralloc *sa, char const *fn, char const **what)
{
  int r ;
  int fd = ferry_queue_open(fn, O_RDONLY, what) ;
  if (fd < 0) return fd == -2 ? -1 : 0 ;
  r = ferry_queue_read(fd, sa, (size_t)-1) ;
  fd_close(fd) ;
  return r ;
}
