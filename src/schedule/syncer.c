/* ferry-schedule, the syncer: a child process that makes a round's marks durable while the loop
   goes on. The loop writes a round's marks, hands the sync to the syncer and keeps dispatching
   and taking answers; the messages the round finished are finished when the syncer says the sync
   is done. One sync is under way at a time: the rounds that end meanwhile are synced together by
   the next one (group commit), so under load the syncer runs one sync after another and the loop
   never waits for the disk. A sync that fails stops the set, as it always did.

   Two syncs of the file system start at least SYNCFS_GAP apart (ferry/syncgap.h). A syncfs writes every metadata
   block changed since the one before (allocation bitmaps, inode tables, directory blocks), and the
   next rounds' messages change most of them again: back to back, a drain of 100,000 messages
   wrote each such block some 20 times over, 606,000 writes; spaced out, a block changed by the
   messages of several rounds is written once for all of them (214,000 writes, the drain 8%
   faster). Under load a finished message waits at most that much longer; a sync asked for after
   a quiet spell starts at once.

   Between the two, a socket: the loop sends a descriptor (SCM_RIGHTS) and a byte, 's' for a
   syncfs of the descriptor's file system or 'f' for an fdatasync of that file; the syncer
   answers with an int, 0 or the errno of the failure. */

#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include <skalibs/ancil.h>
#include <skalibs/selfpipe.h>

#include <ferry/syncgap.h>

#include "schedule.h"

#define SYNCFS_GAP (FERRY_SYNCGAP_MS * 1000000L)   /* nanoseconds */

 /* until *next (the start of the last syncfs and SYNCFS_GAP: past at the first), which is then
    set from now */
static void syncfs_wait (struct timespec *next)
{
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, 0) == EINTR) ;
  clock_gettime(CLOCK_MONOTONIC, next) ;
  next->tv_nsec += SYNCFS_GAP ;
  if (next->tv_nsec >= 1000000000L) { next->tv_sec++ ; next->tv_nsec -= 1000000000L ; }
}

static void syncer_main (void)
{
  struct timespec next = { .tv_sec = 0, .tv_nsec = 0 } ;
  for (;;)
  {
    struct pollfd p = { .fd = 0, .events = POLLIN } ;
    char what ;
    int fd, e = 0 ;
    while (poll(&p, 1, -1) < 0) if (errno != EINTR) _exit(111) ;
    fd = ancil_recv_fd(0, 'y') ;
    if (fd < 0) _exit(0) ;   /* the queue manager is gone */
    if (fd_read(0, &what, 1) != 1) _exit(0) ;
    if (what == 's') syncfs_wait(&next) ;
    if ((what == 's' ? syncfs(fd) : fdatasync(fd)) < 0) e = errno ;
    fd_close(fd) ;
    if (fd_write(0, (char const *)&e, sizeof e) != sizeof e) _exit(0) ;
  }
}

void syncer_start (void)
{
  int sv[2] ;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) strerr_diefu1sys(111, "make the syncer's socket") ;
  sched.syncpid = fork() ;
  if (sched.syncpid < 0) strerr_diefu1sys(111, "fork the syncer") ;
  if (!sched.syncpid)
  {
    /* the child keeps its socket (fd 0) and the log (fd 2), and no member's pipe (fds 0, 1 and
       3 to 10): each member must see its input close when the queue manager goes; it goes when
       its socket closes, so the set's signals are not its business */
    PROG = "ferry-schedule (syncer)" ;
    selfpipe_finish() ;
    signal(SIGTERM, SIG_IGN) ; signal(SIGHUP, SIG_IGN) ; signal(SIGALRM, SIG_IGN) ; signal(SIGINT, SIG_IGN) ;
    if (dup2(sv[1], 0) < 0) _exit(111) ;
    close(1) ;
    if (close_range(3, ~0U, 0) < 0) _exit(111) ;
    syncer_main() ;
  }
  fd_close(sv[1]) ;
  sched.syncfd = sv[0] ;
}

 /* Sends the sync: of fd's file system (what 's') or of that file ('f'). */
void syncer_ask (int fd, char what)
{
  if (ancil_send_fd(sched.syncfd, fd, 'y') < 0 || fd_write(sched.syncfd, &what, 1) != 1)
    strerr_diefu1sys(111, "ask the syncer for a sync (the set stops; nothing is lost)") ;
  sched.syncing = what ;
}

 /* The syncer's answer, read when the loop sees it come (or waited for): 1, the sync is done. A
    sync that failed, or a syncer gone, stops the set. */
int syncer_answer (void)
{
  int e ;
  if (fd_read(sched.syncfd, (char *)&e, sizeof e) != sizeof e) strerr_dief1x(111, "the syncer is gone: the set stops, and s6 starts it again") ;
  if (e)
  {
    errno = e ;
    strerr_warnwu1sys(sched.syncing == 's' ? "syncfs the queue (the set stops)" : "sync a recipient file (the set stops)") ;
    _exit(111) ;
  }
  sched.syncing = 0 ;
  return 1 ;
}

 /* At the end: the syncer sees its socket close and goes. */
void syncer_stop (void)
{
  int wstat ;
  fd_close(sched.syncfd) ;
  sched.syncfd = -1 ;
  waitpid(sched.syncpid, &wstat, 0) ;
}
