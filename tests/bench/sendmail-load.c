/* sendmail-load: the same injection load for any MTA, through its sendmail command.
     sendmail-load COUNT SIZE FIRST prog [ args... ]
   runs prog args... COUNT times, one after the other, each with a message of about SIZE bytes on
   its stdin (Subject: load N, for N from FIRST), and every argument "%" replaced by N. Prints the
   wall seconds and the CPU seconds its children used; exits 1 if any run failed. */

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

int main (int argc, char **argv)
{
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
    int p[2], status, e ;
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
    if (posix_spawn_file_actions_init(&fa) || posix_spawn_file_actions_adddup2(&fa, p[0], 0)) { perror("posix_spawn_file_actions") ; return 111 ; }
    e = posix_spawn(&pid, args[0], &fa, 0, args, environ) ;
    posix_spawn_file_actions_destroy(&fa) ;
    if (e) { errno = e ; perror(args[0]) ; return 111 ; }
    close(p[0]) ;
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
