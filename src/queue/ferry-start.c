/* ferry-start: make the pipes (and the remote channel's request socket) of the ferry set, start its members on their fixed descriptors,
   and become ferry-schedule. Run by the s6 service's run script. */

#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/home.h>
#include <ferry/queue.h>

#define USAGE "ferry-start [ home ]"

extern char **environ ;

 /* In a root install with the dedicated users (ferry-setup -u), each member runs as its own user. */
static int dedicated = 0 ;

static void become (char const *user)
{
  if (dedicated) ferry_become(user) ;
}

 /* Starts bin/prog with in on fd 0 and out on fd 1; returns its pid. */
static pid_t member (char const *home, char const *prog, char const *user, int in, int out, int const *closeme, unsigned int n)
{
  pid_t pid = fork() ;
  if (pid < 0) strerr_diefu2sys(111, "fork for ", prog) ;
  if (!pid)
  {
    char path[strlen(home) + strlen(prog) + 6] ;
    char const *argv[] = { prog, home, 0 } ;
    unsigned int i ;
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0) strerr_diefu1sys(111, "set up descriptors") ;
    for (i = 0 ; i < n ; i++) if (closeme[i] > 2) close(closeme[i]) ;
    become(user) ;
    memcpy(path, home, strlen(home)) ;
    memcpy(path + strlen(home), "/bin/", 5) ;
    memcpy(path + strlen(home) + 5, prog, strlen(prog) + 1) ;
    execve(path, (char *const *)argv, environ) ;
    strerr_diefu2sys(111, "exec ", path) ;
  }
  return pid ;
}

int main (int argc, char const *const *argv)
{
  char const *home ;
  int p[10][2] ;     /* pre->sched, sched->pre, sched->local, local->sched, sched->remote, remote->sched, sched->clean, clean->sched,
                        sched->its own clean, that clean->sched */
  int all[20] ;
  pid_t pids[5] ;
  unsigned int i ;
  PROG = "ferry-start" ;
  if (argc > 2) strerr_dieusage(100, USAGE) ;
  home = ferry_home(argc > 1 ? argv[1] : 0) ;
  if (home[0] != '/') strerr_dief1x(100, "the home must be an absolute path") ;
  if (chdir(home) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  ferry_queue_split_or_die(111) ;   /* a changed control/queuesplit: no member starts */
  /* a home made with -u has its queue owned by ferryq: then, as root, the members change users */
  dedicated = ferry_dedicated() ;
  for (i = 0 ; i < 10 ; i++)
  {
    /* sched->remote is a socket: each request carries its message's descriptor (SCM_RIGHTS), as
       the remote channel's user cannot open the queue's files */
    if (i == 4 ? socketpair(AF_UNIX, SOCK_STREAM, 0, p[i]) < 0 : pipe(p[i]) < 0) strerr_diefu1sys(111, "make a pipe") ;
    /* one way only, as a pipe: the remote channel, which talks to the Internet, cannot send
       anything (bytes or descriptors) back on it */
    if (i == 4 && (shutdown(p[i][0], SHUT_WR) < 0 || shutdown(p[i][1], SHUT_RD) < 0)) strerr_diefu1sys(111, "shut the socket's other way") ;
    all[2*i] = p[i][0] ; all[2*i+1] = p[i][1] ;
  }
  pids[0] = member(home, "ferry-preprocess-todo", "ferrys", p[1][0], p[0][1], all, 20) ;
  pids[1] = member(home, "ferry-spawn-local", "root", p[2][0], p[3][1], all, 20) ;
  pids[2] = member(home, "ferry-spawn-remote", "ferryr", p[4][0], p[5][1], all, 20) ;
  pids[3] = member(home, "ferry-clean", "ferryq", p[6][0], p[7][1], all, 20) ;
  /* a second ferry-clean, as the queue manager's user, removes the queue manager's files of
     finished messages: their removals (a fifth of a millisecond each, or more, on a disk that
     discards freed blocks) leave the scheduling loop */
  pids[4] = member(home, "ferry-clean", "ferrys", p[8][0], p[9][1], all, 20) ;
  {
    /* the queue manager's own ends, on their fixed descriptors (doc/ferry-start.html) */
    int mine[11] = { p[0][0], p[1][1], -1, p[2][1], p[3][0], p[4][1], p[5][0], p[6][1], p[7][0], p[8][1], p[9][0] } ;
    int tmp[11] ;
    for (i = 0 ; i < 11 ; i++) if (i != 2) { tmp[i] = fcntl(mine[i], F_DUPFD, 30) ; if (tmp[i] < 0) strerr_diefu1sys(111, "dup") ; }
    for (i = 0 ; i < 20 ; i++) close(all[i]) ;
    for (i = 0 ; i < 11 ; i++) if (i != 2)
    {
      if (dup2(tmp[i], i) < 0) strerr_diefu1sys(111, "set up descriptors") ;
      close(tmp[i]) ;
    }
  }
  {
    char env[16 + 5 * (PID_FMT + 1)] ;
    size_t n = 0 ;
    memcpy(env, "FERRY_MEMBERS=", 14) ; n = 14 ;
    for (i = 0 ; i < 5 ; i++)
    {
      if (i) env[n++] = ',' ;
      n += pid_fmt(env + n, pids[i]) ;
    }
    env[n] = 0 ;
    if (putenv(strdup(env)) < 0) strerr_diefu1sys(111, "set FERRY_MEMBERS") ;
  }
  become("ferrys") ;
  {
    char path[strlen(home) + 30] ;
    char const *av[] = { "ferry-schedule", home, 0 } ;
    memcpy(path, home, strlen(home)) ;
    memcpy(path + strlen(home), "/bin/ferry-schedule", 20) ;
    execve(path, (char *const *)av, environ) ;
    strerr_diefu2sys(111, "exec ", path) ;
  }
}
