/* failshim.so: a preloaded shim for fault-injection tests (tests/system/faults.py). It makes chosen
   libc calls fail, in one chosen program, while a switch file exists: the test creates the file
   to break the disk and removes it to repair it. Nothing else changes.
     FAILSHIM_PROG   the program that sees the faults (argv[0]'s last component); others never do
     FAILSHIM_CALLS  which calls fail, comma-separated: fsync fdatasync syncfs write (to regular
                     files only, never a log or a pipe) create (open or openat with O_CREAT) link
                     (link, linkat) rename (rename, renameat, renameat2) unlink
     FAILSHIM_ERRNO  the errno, a number (5 EIO, 28 ENOSPC, 30 EROFS)
     FAILSHIM_SWITCH the switch file: calls fail only while it exists
     FAILSHIM_AFTER  optional: the first this many calls that would fail succeed (one count for
                     the process, over all the calls named) */

#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

extern char *program_invocation_short_name ;

 /* O_TMPFILE includes O_DIRECTORY: a plain directory open must not count as a creation */
#define CREATES(flags) ((flags) & O_CREAT || ((flags) & O_TMPFILE) == O_TMPFILE)

static int broken (char const *call)
{
  char const *prog = getenv("FAILSHIM_PROG"), *calls = getenv("FAILSHIM_CALLS"), *sw = getenv("FAILSHIM_SWITCH") ;
  char const *e = getenv("FAILSHIM_ERRNO") ;
  size_t n = strlen(call) ;
  struct stat st ;
  if (!prog || !calls || !sw || !e || strcmp(prog, program_invocation_short_name)) return 0 ;
  for (char const *p = calls ; (p = strstr(p, call)) ; p += n)
  {
    if ((p == calls || p[-1] == ',') && (p[n] == ',' || !p[n]))
    {
      static long passed = 0 ;
      char const *after = getenv("FAILSHIM_AFTER") ;
      int saved = errno ;
      if (stat(sw, &st) < 0) { errno = saved ; return 0 ; }
      if (after && passed < atol(after)) { passed++ ; errno = saved ; return 0 ; }
      errno = atoi(e) ;
      return 1 ;
    }
  }
  return 0 ;
}

#define NEXT(ret, name, args) \
  static ret (*next) args = 0 ; \
  if (!next) next = (ret (*) args)dlsym(RTLD_NEXT, name)

int fsync (int fd)
{
  NEXT(int, "fsync", (int)) ;
  return broken("fsync") ? -1 : next(fd) ;
}

int fdatasync (int fd)
{
  NEXT(int, "fdatasync", (int)) ;
  return broken("fdatasync") ? -1 : next(fd) ;
}

int syncfs (int fd)
{
  NEXT(int, "syncfs", (int)) ;
  return broken("syncfs") ? -1 : next(fd) ;
}

static int regular (int fd)
{
  struct stat st ;
  int saved = errno, r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ;
  errno = saved ;
  return r ;
}

ssize_t write (int fd, void const *buf, size_t len)
{
  NEXT(ssize_t, "write", (int, void const *, size_t)) ;
  return regular(fd) && broken("write") ? -1 : next(fd, buf, len) ;
}

ssize_t pwrite (int fd, void const *buf, size_t len, off_t off)
{
  NEXT(ssize_t, "pwrite", (int, void const *, size_t, off_t)) ;
  return regular(fd) && broken("write") ? -1 : next(fd, buf, len, off) ;
}

int open (char const *path, int flags, ...)
{
  mode_t mode = 0 ;
  NEXT(int, "open", (char const *, int, ...)) ;
  if (CREATES(flags)) { va_list ap ; va_start(ap, flags) ; mode = va_arg(ap, mode_t) ; va_end(ap) ; }
  if (CREATES(flags) && broken("create")) return -1 ;
  return next(path, flags, mode) ;
}

int openat (int dirfd, char const *path, int flags, ...)
{
  mode_t mode = 0 ;
  NEXT(int, "openat", (int, char const *, int, ...)) ;
  if (CREATES(flags)) { va_list ap ; va_start(ap, flags) ; mode = va_arg(ap, mode_t) ; va_end(ap) ; }
  if (CREATES(flags) && broken("create")) return -1 ;
  return next(dirfd, path, flags, mode) ;
}

int link (char const *a, char const *b)
{
  NEXT(int, "link", (char const *, char const *)) ;
  return broken("link") ? -1 : next(a, b) ;
}

int linkat (int da, char const *a, int db, char const *b, int flags)
{
  NEXT(int, "linkat", (int, char const *, int, char const *, int)) ;
  return broken("link") ? -1 : next(da, a, db, b, flags) ;
}

int rename (char const *a, char const *b)
{
  NEXT(int, "rename", (char const *, char const *)) ;
  return broken("rename") ? -1 : next(a, b) ;
}

int renameat (int da, char const *a, int db, char const *b)
{
  NEXT(int, "renameat", (int, char const *, int, char const *)) ;
  return broken("rename") ? -1 : next(da, a, db, b) ;
}

int renameat2 (int da, char const *a, int db, char const *b, unsigned int flags)
{
  NEXT(int, "renameat2", (int, char const *, int, char const *, unsigned int)) ;
  return broken("rename") ? -1 : next(da, a, db, b, flags) ;
}

int unlink (char const *path)
{
  NEXT(int, "unlink", (char const *)) ;
  return broken("unlink") ? -1 : next(path) ;
}
