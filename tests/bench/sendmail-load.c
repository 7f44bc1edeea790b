/* sendmail-load: the same injection load for any MTA, through its sendmail command.
     sendmail-load COUNT SIZE FIRST prog [ args... ]
   runs prog args... COUNT times, one after the other, each with a message of about SIZE bytes on
   its stdin (Subject: load N, for N from FIRST), and every argument "%" replaced by N. Prints the
   wall seconds and the CPU seconds its children used; exits 1 if any run failed.
   With SENDMAIL_LOAD_QQ set in its environment, prog is a qmail-queue program (ferry-inject) and
   args are "-f sender recipient...": prog gets the message on fd 0 and the envelope
   (Fsender\0Trecipient\0...\0) on fd 1, as a front end gives them. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char **environ ;

/* The envelope of args "prog -f sender rcpt...", each "%" replaced by num: its length, 0 if it
   does not fit or has no -f. */
static size_t envelope (char *env, size_t max, int argc, char **argv, char const *num)
{
  size_t n = 0 ;
  int i ;
  if (argc < 3 || strcmp(argv[1], "-f")) return 0 ;
  for (i = 2 ; i < argc ; i++)
  {
    char const *a = strcmp(argv[i], "%") ? argv[i] : num ;
    size_t l = strlen(a) ;
    if (n + l + 3 > max) return 0 ;
    env[n++] = i == 2 ? 'F' : 'T' ;
    memcpy(env + n, a, l) ; n += l ;
    env[n++] = 0 ;
  }
  env[n++] = 0 ;
  return n ;
}

int main (int argc, char **argv)
{
  int qq = !!getenv("SENDMAIL_LOAD_QQ") ;
  unsigned long count, size, first, n ;
  struct timespec a, b ;
  struct rusage ru ;
  char *msg ;
  size_t len ;
  int failed = 0 ;
  if (argc < 5) { fprintf(stderr, "usage: sendmail-load COUNT SIZE FIRST prog [ args... ]\n") ; return 100 ; }
  count = strtoul(argv[1], 0, 10) ;
  size = strtoul(argv[2], 0, 10) ;
  first = strtoul(argv[3], 0, 10) ;
  msg = malloc(size + 200) ;
  if (!msg) return 111 ;
  clock_gettime(CLOCK_MONOTONIC, &a) ;
  for (n = first ; n < first + count ; n++)
  {
    int p[2], q[2], status, e ;
    pid_t pid ;
    posix_spawn_file_actions_t fa ;
    char num[32], *args[argc] ;
    int i, k ;
    len = (size_t)snprintf(msg, 200, "Subject: load %lu\nFrom: load@bench.test\n\n", n) ;
    while (len + 64 < size) { memset(msg + len, 'x', 63) ; msg[len + 63] = '\n' ; len += 64 ; }
    snprintf(num, sizeof num, "%lu", n) ;
    for (i = 4, k = 0 ; i < argc ; i++) args[k++] = strcmp(argv[i], "%") ? argv[i] : num ;
    args[k] = 0 ;
    /* posix_spawn, as a front end would (qmail's vfork, skalibs' cspawn): a fork's child would
       pay, in the CPU counted as the injection's, for a copy of this program's memory that the
       exec throws away (about 2 ms a message with 4 loads on the benchmark's 2 cores) */
    if (pipe2(p, O_CLOEXEC) < 0) { perror("pipe") ; return 111 ; }
    if (qq && pipe2(q, O_CLOEXEC) < 0) { perror("pipe") ; return 111 ; }
    if (posix_spawn_file_actions_init(&fa) || posix_spawn_file_actions_adddup2(&fa, p[0], 0)
     || (qq && posix_spawn_file_actions_adddup2(&fa, q[0], 1))) { perror("posix_spawn_file_actions") ; return 111 ; }
    if (qq) args[1] = 0 ;   /* the program alone: the rest is the envelope */
    e = posix_spawn(&pid, args[0], &fa, 0, args, environ) ;
    posix_spawn_file_actions_destroy(&fa) ;
    if (e) { errno = e ; perror(args[0]) ; return 111 ; }
    close(p[0]) ;
    if (qq)
    {
      /* the envelope first: it fits in its pipe, so neither write waits for the other */
      char env[4096] ;
      size_t el ;
      close(q[0]) ;
      el = envelope(env, sizeof env, argc - 4, argv + 4, num) ;
      if (!el || write(q[1], env, el) != (ssize_t)el) failed = 1 ;
      close(q[1]) ;
    }
    if (write(p[1], msg, len) != (ssize_t)len) failed = 1 ;
    close(p[1]) ;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) failed = 1 ;
  }
  clock_gettime(CLOCK_MONOTONIC, &b) ;
  getrusage(RUSAGE_CHILDREN, &ru) ;
  printf("%.3f %.3f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
         ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) ;
  return failed ;
}
