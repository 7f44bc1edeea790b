/* sync-rate: the disk's bare commit rate, the floor under any durable queue.
     sync-rate DIR COUNT SIZE         create+write+fsync+link+directory fsync, COUNT times
     sync-rate -b DIR COUNT SIZE      the same writes, batched 100 per syncfs
   Prints operations per second. Cleans up what it made. */

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

static void die (char const *what) { perror(what) ; exit(111) ; }

static double now (void)
{
  struct timespec ts ;
  clock_gettime(CLOCK_MONOTONIC, &ts) ;
  return ts.tv_sec + ts.tv_nsec / 1e9 ;
}

int main (int argc, char **argv)
{
  int batched = argc > 1 && !strcmp(argv[1], "-b") ;
  char a[4096], b[4096], buf[1 << 16] ;
  unsigned long count, size, i ;
  double t0, t ;
  int dfd ;
  if (argc != 4 + batched) { fprintf(stderr, "usage: sync-rate [ -b ] DIR COUNT SIZE\n") ; return 100 ; }
  argv += batched ;
  count = strtoul(argv[2], 0, 10) ;
  size = strtoul(argv[3], 0, 10) ;
  if (size > sizeof(buf)) size = sizeof(buf) ;
  memset(buf, 'x', sizeof(buf)) ;
  snprintf(a, sizeof(a), "%s/tmp", argv[1]) ;
  snprintf(b, sizeof(b), "%s/done", argv[1]) ;
  if (mkdir(a, 0700) < 0 || mkdir(b, 0700) < 0) die("mkdir") ;
  dfd = open(b, O_RDONLY | O_DIRECTORY) ;
  if (dfd < 0) die("open dir") ;
  t0 = now() ;
  for (i = 0 ; i < count ; i++)
  {
    char fa[4200], fb[4200] ;
    int fd ;
    snprintf(fa, sizeof(fa), "%s/%lu", a, i) ;
    snprintf(fb, sizeof(fb), "%s/%lu", b, i) ;
    fd = open(fa, O_WRONLY | O_CREAT | O_EXCL, 0600) ;
    if (fd < 0) die("create") ;
    if (write(fd, buf, size) != (ssize_t)size) die("write") ;
    if (!batched && fsync(fd) < 0) die("fsync") ;
    close(fd) ;
    if (link(fa, fb) < 0) die("link") ;
    if (!batched && fsync(dfd) < 0) die("fsync dir") ;
    if (batched && (i % 100 == 99 || i == count - 1) && syncfs(dfd) < 0) die("syncfs") ;
  }
  t = now() - t0 ;
  printf("%lu %s in %.3f s: %.0f per second\n", count, batched ? "batched commits" : "commits", t, count / t) ;
  for (i = 0 ; i < count ; i++)
  {
    char f[4200] ;
    snprintf(f, sizeof(f), "%s/%lu", a, i) ; unlink(f) ;
    snprintf(f, sizeof(f), "%s/%lu", b, i) ; unlink(f) ;
  }
  rmdir(a) ; rmdir(b) ;
  return 0 ;
}
