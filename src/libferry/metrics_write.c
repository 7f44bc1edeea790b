/* ferry_metrics_write: a program's metrics snapshot, DIR/metrics.prom, replaced atomically. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include <ferry/metrics.h>

int ferry_metrics_write (char const *dir, char const *s, size_t n)
{
  size_t dlen = strlen(dir) ;
  char tmp[dlen + sizeof("/metrics.prom.tmp")] ;
  char fn[dlen + sizeof("/metrics.prom")] ;
  int fd ;
  memcpy(fn, dir, dlen) ;
  memcpy(fn + dlen, "/metrics.prom", sizeof("/metrics.prom")) ;
  memcpy(tmp, fn, dlen + sizeof("/metrics.prom") - 1) ;
  memcpy(tmp + dlen + sizeof("/metrics.prom") - 1, ".tmp", 5) ;
  /* a fresh file, so that its mode is 0640 whatever an old one had */
  if (unlink(tmp) < 0 && errno != ENOENT) return 0 ;
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640) ;
  if (fd < 0) return 0 ;
  if (fchmod(fd, 0640) < 0 || allwrite(fd, s, n) < n)
  {
    fd_close(fd) ;
    goto err ;
  }
  if (close(fd) < 0 || rename(tmp, fn) < 0) goto err ;
  return 1 ;
 err:
  {
    int e = errno ;
    unlink(tmp) ;
    errno = e ;
  }
  return 0 ;
}
