/* maxrss: runs a command (its output to /dev/null) and prints its wall time in seconds and its
   peak resident memory in KiB. A small process forks it, so the figure is the command's own, not
   inherited from a large parent (ru_maxrss survives exec). */

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

int main (int argc, char *const *argv)
{
  struct timespec a, b ;
  struct rusage ru ;
  int status ;
  pid_t pid ;
  if (argc < 2) { fprintf(stderr, "usage: maxrss prog [ args... ]\n") ; return 100 ; }
  clock_gettime(CLOCK_MONOTONIC, &a) ;
  pid = fork() ;
  if (pid < 0) { perror("maxrss: fork") ; return 111 ; }
  if (!pid)
  {
    int fd = open("/dev/null", O_WRONLY) ;
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(111) ;
    execv(argv[1], argv + 1) ;
    _exit(111) ;
  }
  if (wait4(pid, &status, 0, &ru) < 0) { perror("maxrss: wait4") ; return 111 ; }
  clock_gettime(CLOCK_MONOTONIC, &b) ;
  printf("%.3f %ld\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, ru.ru_maxrss) ;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 111 ;
}
