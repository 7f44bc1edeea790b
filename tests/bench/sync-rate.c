/* sync-rate: the disk's bare commit rate, the floor under any durable queue.
     sync-rate [ -w WRITERS ] DIR COUNT SIZE     create+write+fsync+link+directory fsync, COUNT times
     sync-rate -b [ -w WRITERS ] DIR COUNT SIZE  the same writes, batched 100 per syncfs
     sync-rate -d [ -w WRITERS ] DIR COUNT SIZE  the least a local delivery of a queued message
                                                 does, batched 100 per syncfs: read the queue's
                                                 file, write an anonymous file (O_TMPFILE), link
                                                 it into the mailbox, remove the queue's file
     sync-rate -k ...                            the same, leaving the files in DIR
   With -w, WRITERS processes share the COUNT commits, each in directories of its own (one syncfs
   of a batch covers that writer's 100 only). Prints commits per second over all the writers.
   With -d, each writer first makes its COUNT/WRITERS queue files (SIZE bytes each, synced, not
   timed): the delivery is timed alone, as a drain is. Cleans up what it made, unless -k keeps it
   (the caller removes DIR; so that a second measurement right after pays for no inode freed by
   the first). */

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void die (char const *what) { perror(what) ; exit(111) ; }

static double now (void)
{
  struct timespec ts ;
  clock_gettime(CLOCK_MONOTONIC, &ts) ;
  return ts.tv_sec + ts.tv_nsec / 1e9 ;
}

static int ready_pipe[2] = { -1, -1 }, go_pipe[2] = { -1, -1 } ;

 /* A writer with -d says its queue is made, then waits for the start (the parent closes go). */
static void ready (void)
{
  char c = 'r' ;
  close(go_pipe[1]) ;   /* else the go pipe's end would never come */
  close(ready_pipe[0]) ;
  if (write(ready_pipe[1], &c, 1) != 1) die("write ready") ;
  if (read(go_pipe[0], &c, 1) < 0) die("read go") ;
}

static void queue_make (char const *q, unsigned long count, unsigned long size, char const *buf)
{
  unsigned long i ;
  int qfd ;
  if (mkdir(q, 0700) < 0) die("mkdir") ;
  for (i = 0 ; i < count ; i++)
  {
    char f[4300] ;
    int fd ;
    snprintf(f, sizeof(f), "%s/%lu", q, i) ;
    fd = open(f, O_WRONLY | O_CREAT | O_EXCL, 0600) ;
    if (fd < 0) die("create") ;
    if (write(fd, buf, size) != (ssize_t)size) die("write") ;
    close(fd) ;
  }
  qfd = open(q, O_RDONLY | O_DIRECTORY) ;
  if (qfd < 0 || syncfs(qfd) < 0) die("syncfs") ;
  close(qfd) ;
}

 /* One delivery: the queue's file read, its copy written to an anonymous file in tmp/ and
    linked into done/ (as ferry-local does a Maildir's), the queue's file removed. */
static void deliver (char const *a, char const *b, char const *q, unsigned long i, unsigned long size, char *buf)
{
  char fq[4300], fb[4300], proc[64] ;
  int fd ;
  ssize_t r ;
  snprintf(fq, sizeof(fq), "%s/%lu", q, i) ;
  snprintf(fb, sizeof(fb), "%s/%lu", b, i) ;
  fd = open(fq, O_RDONLY) ;
  if (fd < 0) die("open queue file") ;
  r = read(fd, buf, size) ;
  if (r != (ssize_t)size) die("read") ;
  close(fd) ;
  fd = open(a, O_TMPFILE | O_WRONLY, 0600) ;
  if (fd < 0) die("open O_TMPFILE") ;
  if (write(fd, buf, size) != (ssize_t)size) die("write") ;
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd) ;
  if (linkat(AT_FDCWD, proc, AT_FDCWD, fb, AT_SYMLINK_FOLLOW) < 0) die("linkat") ;
  close(fd) ;
  if (unlink(fq) < 0) die("unlink queue file") ;
}

 /* One writer's commits in DIR/w/tmp and DIR/w/done (with -d, its deliveries from DIR/w/queue). */
static void writer (char const *dir, unsigned int w, unsigned long count, unsigned long size, int batched, int delivery)
{
  static char buf[1 << 16] ;
  char top[4096], a[4200], b[4200], q[4200] ;
  unsigned long i ;
  int dfd ;
  memset(buf, 'x', sizeof(buf)) ;
  snprintf(top, sizeof(top), "%s/%u", dir, w) ;
  snprintf(a, sizeof(a), "%s/tmp", top) ;
  snprintf(b, sizeof(b), "%s/done", top) ;
  if (mkdir(top, 0700) < 0 || mkdir(a, 0700) < 0 || mkdir(b, 0700) < 0) die("mkdir") ;
  dfd = open(b, O_RDONLY | O_DIRECTORY) ;
  if (dfd < 0) die("open dir") ;
  if (delivery)
  {
    snprintf(q, sizeof(q), "%s/queue", top) ;
    queue_make(q, count, size, buf) ;
    ready() ;
    for (i = 0 ; i < count ; i++)
    {
      deliver(a, b, q, i, size, buf) ;
      if (i % 100 == 99 || i == count - 1) if (syncfs(dfd) < 0) die("syncfs") ;
    }
    close(dfd) ;
    return ;
  }
  for (i = 0 ; i < count ; i++)
  {
    char fa[4300], fb[4300] ;
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
  close(dfd) ;
}

static void cleanup (char const *dir, unsigned int w, unsigned long count)
{
  unsigned long i ;
  char f[4300] ;
  for (i = 0 ; i < count ; i++)
  {
    snprintf(f, sizeof(f), "%s/%u/tmp/%lu", dir, w, i) ; unlink(f) ;
    snprintf(f, sizeof(f), "%s/%u/done/%lu", dir, w, i) ; unlink(f) ;
  }
  snprintf(f, sizeof(f), "%s/%u/queue", dir, w) ; rmdir(f) ;
  snprintf(f, sizeof(f), "%s/%u/tmp", dir, w) ; rmdir(f) ;
  snprintf(f, sizeof(f), "%s/%u/done", dir, w) ; rmdir(f) ;
  snprintf(f, sizeof(f), "%s/%u", dir, w) ; rmdir(f) ;
}

int main (int argc, char **argv)
{
  unsigned long count, size, each ;
  unsigned int writers = 1, w ;
  int batched = 0, keep = 0, delivery = 0 ;
  double t0, t ;
  for (;;)
  {
    if (argc > 1 && !strcmp(argv[1], "-b")) { batched = 1 ; argv++ ; argc-- ; }
    else if (argc > 1 && !strcmp(argv[1], "-d")) { delivery = batched = 1 ; argv++ ; argc-- ; }
    else if (argc > 1 && !strcmp(argv[1], "-k")) { keep = 1 ; argv++ ; argc-- ; }
    else if (argc > 2 && !strcmp(argv[1], "-w")) { writers = strtoul(argv[2], 0, 10) ; argv += 2 ; argc -= 2 ; }
    else break ;
  }
  if (argc != 4 || !writers || writers > 256) { fprintf(stderr, "usage: sync-rate [ -b | -d ] [ -k ] [ -w WRITERS ] DIR COUNT SIZE\n") ; return 100 ; }
  count = strtoul(argv[2], 0, 10) ;
  size = strtoul(argv[3], 0, 10) ;
  if (size > (1 << 16)) size = 1 << 16 ;
  each = count / writers ;
  if (!each) each = 1 ;
  if (delivery && (pipe(ready_pipe) < 0 || pipe(go_pipe) < 0)) die("pipe") ;
  t0 = now() ;
  for (w = 0 ; w < writers ; w++)
  {
    pid_t pid = fork() ;
    if (pid < 0) die("fork") ;
    if (!pid) { writer(argv[1], w, each, size, batched, delivery) ; _exit(0) ; }
  }
  if (delivery)
  {
    char c ;
    close(ready_pipe[1]) ;
    close(go_pipe[0]) ;
    for (w = 0 ; w < writers ; w++) if (read(ready_pipe[0], &c, 1) != 1) die("a writer's queue") ;
    t0 = now() ;
    close(go_pipe[1]) ;
  }
  for (w = 0 ; w < writers ; w++)
  {
    int st ;
    if (wait(&st) < 0) die("wait") ;
    if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "sync-rate: a writer failed\n") ; return 111 ; }
  }
  t = now() - t0 ;
  printf("%lu %s by %u writer%s in %.3f s: %.0f per second\n", each * writers,
    delivery ? "batched deliveries" : batched ? "batched commits" : "commits",
    writers, writers > 1 ? "s" : "", t, each * writers / t) ;
  if (!keep) for (w = 0 ; w < writers ; w++) cleanup(argv[1], w, each) ;
  return 0 ;
}
