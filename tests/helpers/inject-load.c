/* inject-load: drives ferry-inject for the tests and benchmarks, and checks what it committed.
     inject-load run HOME FIRST COUNT       inject messages FIRST..FIRST+COUNT-1, each must exit 0
     inject-load kill HOME COUNT SEED       inject COUNT messages, SIGKILLing each at a random instant
     inject-load verify HOME [ OKFILE ]     every todo entry: envelope and message exactly as sent;
                                            each number in OKFILE (exited 0) must be committed
     inject-load bench HOME COUNT SIZE      inject COUNT messages of SIZE bytes one after another;
                                            prints seconds, and CPU seconds spent in ferry-inject
     inject-load spawn COUNT [ PROGRAM ]    spawn /bin/true (or PROGRAM) COUNT times: the cost of a process
   Message N goes from sender-N@test to rcpt-N@test; its size depends on N % 3 (about 0.2, 20
   and 120 KB) so that kills land in every phase of an injection. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <ferry/body.h>

extern char **environ ;
static char const *inject_prog ;

static void die (char const *what)
{
  fprintf(stderr, "inject-load: %s: %s\n", what, strerror(errno)) ;
  exit(111) ;
}

static void message_make (stralloc *sa, unsigned long n)
{
  char line[100] ;
  unsigned long lines = (unsigned long [3]){ 3, 400, 2400 }[n % 3] ;
  unsigned long k ;
  sa->len = 0 ;
  snprintf(line, sizeof(line), "From: sender-%lu@test\nSubject: message %lu\n\n", n, n) ;
  if (!stralloc_cats(sa, line)) die("alloc") ;
  for (k = 0 ; k < lines ; k++)
  {
    snprintf(line, sizeof(line), "message %lu line %lu: the quick brown fox\n", n, k) ;
    if (!stralloc_cats(sa, line)) die("alloc") ;
  }
}

static size_t fixed_size = 0 ;  /* bench: every message this size */

static void message_fixed (stralloc *sa, unsigned long n)
{
  char line[100] ;
  sa->len = 0 ;
  snprintf(line, sizeof(line), "From: sender-%lu@test\nSubject: message %lu\n\n", n, n) ;
  if (!stralloc_cats(sa, line)) die("alloc") ;
  while (sa->len < fixed_size)
    if (!stralloc_cats(sa, "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.\n")) die("alloc") ;
  sa->len = fixed_size ;
  sa->s[sa->len - 1] = '\n' ;
}

static void envelope_make (stralloc *sa, unsigned long n)
{
  char buf[100] ;
  int len = snprintf(buf, sizeof(buf), "Fsender-%lu@test%cTrcpt-%lu@test%c%c", n, 0, n, 0, 0) ;
  sa->len = 0 ;
  if (!stralloc_catb(sa, buf, len)) die("alloc") ;
}

static void writeall (int fd, char const *s, size_t n)
{
  while (n)
  {
    ssize_t w = write(fd, s, n) ;
    if (w < 0) { if (errno == EPIPE) return ; die("write") ; }
    s += w ; n -= w ;
  }
}

 /* Starts ferry-inject with pipes on 0 and 1; returns its pid. posix_spawn, as a front end
    would (qmail's vfork, skalibs' cspawn): a fork's child would pay, in the CPU counted as the
    injection's, for a copy of this program's memory that the exec throws away. */
static pid_t start (char const *home, int *msgfd, int *envfd)
{
  char *const argv[] = { "ferry-inject", (char *)home, 0 } ;
  posix_spawn_file_actions_t fa ;
  int m[2], e[2], r ;
  pid_t pid ;
  if (pipe2(m, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) die("pipe") ;
  if (posix_spawn_file_actions_init(&fa)
   || posix_spawn_file_actions_adddup2(&fa, m[0], 0)
   || posix_spawn_file_actions_adddup2(&fa, e[0], 1)) die("posix_spawn_file_actions") ;
  r = posix_spawn(&pid, inject_prog, &fa, 0, argv, environ) ;
  if (r) { errno = r ; die(inject_prog) ; }
  posix_spawn_file_actions_destroy(&fa) ;
  close(m[0]) ; close(e[0]) ;
  *msgfd = m[1] ; *envfd = e[1] ;
  return pid ;
}

static int inject_one (char const *home, unsigned long n, stralloc *msg, stralloc *env, long killafter_us)
{
  int msgfd, envfd, wstat ;
  pid_t pid ;
  if (fixed_size) message_fixed(msg, n) ; else message_make(msg, n) ;
  envelope_make(env, n) ;
  pid = start(home, &msgfd, &envfd) ;
  if (killafter_us < 0)
  {
    writeall(msgfd, msg->s, msg->len) ; close(msgfd) ;
    writeall(envfd, env->s, env->len) ; close(envfd) ;
  }
  else
  {
    /* a writer child feeds it, so the kill can land while it reads, writes or syncs */
    pid_t w = fork() ;
    struct timespec ts = { .tv_sec = killafter_us / 1000000, .tv_nsec = (killafter_us % 1000000) * 1000 } ;
    if (w < 0) die("fork") ;
    if (!w)
    {
      writeall(msgfd, msg->s, msg->len) ; close(msgfd) ;
      writeall(envfd, env->s, env->len) ; close(envfd) ;
      _exit(0) ;
    }
    close(msgfd) ; close(envfd) ;
    nanosleep(&ts, 0) ;
    kill(pid, SIGKILL) ;
    waitpid(w, &wstat, 0) ;
  }
  if (waitpid(pid, &wstat, 0) < 0) die("waitpid") ;
  if (WIFEXITED(wstat)) return WEXITSTATUS(wstat) ;
  return -WTERMSIG(wstat) ;
}

static int run (char const *home, unsigned long first, unsigned long count)
{
  stralloc msg = STRALLOC_ZERO, env = STRALLOC_ZERO ;
  unsigned long n ;
  for (n = first ; n < first + count ; n++)
  {
    int r = inject_one(home, n, &msg, &env, -1) ;
    if (r) { fprintf(stderr, "inject-load: message %lu: ferry-inject exited %d\n", n, r) ; return 1 ; }
  }
  return 0 ;
}

static int bench (char const *home, unsigned long count, size_t size)
{
  struct timespec a, b ;
  struct rusage ru ;
  int r ;
  fixed_size = size < 100 ? 100 : size ;
  clock_gettime(CLOCK_MONOTONIC, &a) ;
  r = run(home, 0, count) ;
  clock_gettime(CLOCK_MONOTONIC, &b) ;
  getrusage(RUSAGE_CHILDREN, &ru) ;
  printf("%lu messages in %.3f s, ferry-inject CPU %.3f s\n", count,
    (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
    ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) ;
  return r ;
}

static int spawn (unsigned long count, char const *prog)
{
  struct timespec a, b ;
  struct rusage ru ;
  unsigned long i ;
  clock_gettime(CLOCK_MONOTONIC, &a) ;
  for (i = 0 ; i < count ; i++)
  {
    int wstat ;
    char *const argv[] = { "true", 0 } ;
    pid_t pid ;
    int r = posix_spawn(&pid, prog, 0, 0, argv, environ) ;
    if (r) { errno = r ; die(prog) ; }
    if (waitpid(pid, &wstat, 0) < 0 || !WIFEXITED(wstat) || WEXITSTATUS(wstat)) die(prog) ;
  }
  clock_gettime(CLOCK_MONOTONIC, &b) ;
  getrusage(RUSAGE_CHILDREN, &ru) ;
  printf("%lu processes in %.3f s, their CPU %.3f s\n", count,
    (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
    ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) ;
  return 0 ;
}

static long elapsed_us (struct timespec const *a)
{
  struct timespec b ;
  clock_gettime(CLOCK_MONOTONIC, &b) ;
  return (b.tv_sec - a->tv_sec) * 1000000L + (b.tv_nsec - a->tv_nsec) / 1000 ;
}

static int killrun (char const *home, unsigned long count, unsigned int seed)
{
  stralloc msg = STRALLOC_ZERO, env = STRALLOC_ZERO ;
  unsigned long n, killed = 0, ok = 0, other = 0 ;
  long span[3] = { 0, 0, 0 } ;
  FILE *okf ;
  char fn[4096] ;
  snprintf(fn, sizeof(fn), "%s/../inject-ok", home) ;
  okf = fopen(fn, "w") ;
  if (!okf) die("open inject-ok") ;
  srandom(seed) ;
  /* calibrate: how long a whole injection of each size takes here */
  for (n = 0 ; n < 9 ; n++)
  {
    struct timespec a ;
    long t ;
    clock_gettime(CLOCK_MONOTONIC, &a) ;
    if (inject_one(home, 1000000 + n, &msg, &env, -1)) { fprintf(stderr, "calibration failed\n") ; return 1 ; }
    fprintf(okf, "%lu\n", 1000000 + n) ;
    t = elapsed_us(&a) ;
    if (t > span[n % 3]) span[n % 3] = t ;
  }
  for (n = 0 ; n < count ; n++)
  {
    long at = random() % (span[n % 3] * 5 / 4 + 1) ;
    int r = inject_one(home, n, &msg, &env, at) ;
    if (r == -SIGKILL) killed++ ;
    else if (!r) { ok++ ; fprintf(okf, "%lu\n", n) ; }
    else { other++ ; fprintf(stderr, "message %lu: exit %d\n", n, r) ; }
  }
  fclose(okf) ;
  printf("injections %lu: killed %lu, completed %lu, other %lu (calibrated %ld/%ld/%ld us)\n",
    count, killed, ok, other, span[0], span[1], span[2]) ;
  return other ? 1 : 0 ;
}

static int verify_one (char const *home, char const *sub, char const *name, unsigned long *num, stralloc *msg, stralloc *env, stralloc *got)
{
  char fn[4096] ;
  char const *p ;
  size_t i ;
  unsigned long n ;
  ferry_body want = FERRY_BODY_ZERO, have = FERRY_BODY_ZERO ;
  ferry_body_scan sc = FERRY_BODY_SCAN_ZERO ;
  snprintf(fn, sizeof(fn), "%s/queue/todo/%s/%s", home, sub, name) ;
  got->len = 0 ;
  if (!openreadfileclose(fn, got, 1 << 20)) { fprintf(stderr, "%s: %s\n", fn, strerror(errno)) ; return 0 ; }
  /* skip u, p, t */
  for (i = 0, p = got->s ; i < 3 ; i++)
  {
    char c = "upt"[i] ;
    if (p >= got->s + got->len || *p != c) { fprintf(stderr, "%s: record %c missing\n", fn, c) ; return 0 ; }
    p += strlen(p) + 1 ;
  }
  /* then the body facts the injector counted: w, b */
  for (i = 0 ; i < 2 ; i++)
  {
    if (p >= got->s + got->len || ferry_body_record_scan(p, strlen(p), &have) != "wb"[i])
    { fprintf(stderr, "%s: record %c missing or malformed\n", fn, "wb"[i]) ; return 0 ; }
    p += strlen(p) + 1 ;
  }
  if (sscanf(p, "Fsender-%lu@test", &n) != 1) { fprintf(stderr, "%s: bad sender\n", fn) ; return 0 ; }
  envelope_make(env, n) ;
  if ((size_t)(got->s + got->len - p) != env->len || memcmp(p, env->s, env->len))
  { fprintf(stderr, "%s: envelope of message %lu differs\n", fn, n) ; return 0 ; }
  snprintf(fn, sizeof(fn), "%s/queue/mess/%s/%s", home, sub, name) ;
  got->len = 0 ;
  if (!openreadfileclose(fn, got, 1 << 20)) { fprintf(stderr, "%s: committed but %s\n", fn, strerror(errno)) ; return 0 ; }
  message_make(msg, n) ;
  p = memchr(got->s, '\n', got->len) ;
  if (!p || strncmp(got->s, "Received: (ferry ", 17)) { fprintf(stderr, "%s: no Received: line\n", fn) ; return 0 ; }
  ferry_body_scan_feed(&sc, got->s, got->len) ;
  ferry_body_scan_end(&sc, &want) ;
  if (want.wire != have.wire || want.eightbit != have.eightbit || want.longline != have.longline)
  { fprintf(stderr, "%s: its w and b records are not the message file's\n", fn) ; return 0 ; }
  p++ ;
  if ((size_t)(got->s + got->len - p) != msg->len || memcmp(p, msg->s, msg->len))
  { fprintf(stderr, "%s: committed, but the message is incomplete or wrong (%zu bytes, want %zu)\n", fn, (size_t)(got->s + got->len - p), msg->len) ; return 0 ; }
  *num = n ;
  return 1 ;
}

static int cmpul (void const *a, void const *b)
{
  unsigned long x = *(unsigned long const *)a, y = *(unsigned long const *)b ;
  return x < y ? -1 : x > y ;
}

static int verify (char const *home, char const *okfile)
{
  stralloc msg = STRALLOC_ZERO, env = STRALLOC_ZERO, got = STRALLOC_ZERO ;
  unsigned long *nums = 0, nnums = 0, cap = 0, bad = 0, i ;
  char dn[4096] ;
  DIR *top, *d ;
  struct dirent *de, *sub ;
  snprintf(dn, sizeof(dn), "%s/queue/todo", home) ;
  top = opendir(dn) ;
  if (!top) die(dn) ;
  while ((sub = readdir(top)))
  {
    if (sub->d_name[0] == '.') continue ;
    snprintf(dn, sizeof(dn), "%s/queue/todo/%s", home, sub->d_name) ;
    d = opendir(dn) ;
    if (!d) die(dn) ;
    while ((de = readdir(d)))
    {
      unsigned long n ;
      if (de->d_name[0] == '.') continue ;
      if (!verify_one(home, sub->d_name, de->d_name, &n, &msg, &env, &got)) { bad++ ; continue ; }
      if (nnums == cap) { cap = cap * 2 + 64 ; nums = realloc(nums, cap * sizeof(*nums)) ; if (!nums) die("alloc") ; }
      nums[nnums++] = n ;
    }
    closedir(d) ;
  }
  closedir(top) ;
  qsort(nums, nnums, sizeof(*nums), &cmpul) ;
  for (i = 1 ; i < nnums ; i++)
    if (nums[i] == nums[i-1]) { fprintf(stderr, "message %lu committed twice\n", nums[i]) ; bad++ ; }
  if (okfile)
  {
    FILE *f = fopen(okfile, "r") ;
    unsigned long n ;
    if (!f) die(okfile) ;
    while (fscanf(f, "%lu", &n) == 1)
      if (!bsearch(&n, nums, nnums, sizeof(*nums), &cmpul))
      { fprintf(stderr, "message %lu: ferry-inject exited 0 but it is not in todo/\n", n) ; bad++ ; }
    fclose(f) ;
  }
  printf("committed %lu, bad %lu\n", nnums, bad) ;
  return bad ? 1 : 0 ;
}

int main (int argc, char const *const *argv)
{
  char const *bindir = getenv("FERRY_BIN") ;
  static char prog[4096] ;
  signal(SIGPIPE, SIG_IGN) ;
  snprintf(prog, sizeof(prog), "%s/ferry-inject", bindir ? bindir : ".") ;
  inject_prog = prog ;
  if (argc == 5 && !strcmp(argv[1], "run")) return run(argv[2], strtoul(argv[3], 0, 10), strtoul(argv[4], 0, 10)) ;
  if (argc == 5 && !strcmp(argv[1], "kill")) return killrun(argv[2], strtoul(argv[3], 0, 10), strtoul(argv[4], 0, 10)) ;
  if ((argc == 3 || argc == 4) && !strcmp(argv[1], "spawn")) return spawn(strtoul(argv[2], 0, 10), argc == 4 ? argv[3] : "/bin/true") ;
  if (argc == 5 && !strcmp(argv[1], "bench")) return bench(argv[2], strtoul(argv[3], 0, 10), strtoul(argv[4], 0, 10)) ;
  if ((argc == 3 || argc == 4) && !strcmp(argv[1], "verify")) return verify(argv[2], argc == 4 ? argv[3] : 0) ;
  fprintf(stderr, "usage: inject-load run HOME FIRST COUNT | kill HOME COUNT SEED | verify HOME [ OKFILE ] | bench HOME COUNT SIZE | spawn COUNT [ PROGRAM ]\n") ;
  return 100 ;
}
