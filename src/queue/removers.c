/* ferry-clean's removers: one job pipe that every remover reads (a job is a record written in one
   piece, so each read takes exactly one), and an answer pipe per remover (its end of file is the
   remover's death). */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/sig.h>
#include <skalibs/strerr.h>

#include "removers.h"

#define REMOVERS_MAX 16

struct job_s { uint64_t id ; uint32_t job ; char kind ; unsigned char step ; char pad[2] ; } ;
struct answer_s { char const *why ; uint32_t job ; int32_t err ; int32_t durable ; char pad[4] ; } ;

static int jobfd = -1 ;
static int answerfd[REMOVERS_MAX] ;
static unsigned int nremovers = 0 ;

static void remover (int in, int out, removers_work_func *work)
{
  for (;;)
  {
    struct job_s j ;
    struct answer_s a ;
    int durable = 0 ;
    ssize_t r = fd_read(in, (char *)&j, sizeof j) ;
    if (!r) _exit(0) ;     /* the parent is gone */
    if (r != (ssize_t)sizeof j) strerr_diefu1sys(111, "read a job (a remover)") ;
    errno = 0 ;
    memset(&a, 0, sizeof a) ;
    a.why = (*work)(j.kind, j.id, j.step, &durable) ;
    a.err = a.why ? errno : 0 ;
    a.durable = durable ;
    a.job = j.job ;
    if (fd_write(out, (char const *)&a, sizeof a) != (ssize_t)sizeof a) _exit(111) ;   /* the parent is gone */
  }
}

void removers_start (unsigned int n, removers_work_func *work)
{
  int jp[2] ;
  unsigned int i ;
  if (n > REMOVERS_MAX) n = REMOVERS_MAX ;
  if (pipe(jp) < 0) strerr_diefu1sys(111, "make the removers' job pipe") ;
  for (i = 0 ; i < n ; i++)
  {
    int ap[2] ;
    pid_t pid ;
    if (pipe(ap) < 0) strerr_diefu1sys(111, "make a remover's answer pipe") ;
    pid = fork() ;
    if (pid < 0) strerr_diefu1sys(111, "fork a remover") ;
    if (!pid)
    {
      unsigned int k ;
      int nul = open("/dev/null", O_RDWR) ;
      /* the set's pipes (fds 0 and 1) must close when the parent closes them */
      if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0) strerr_diefu1sys(111, "set up a remover's descriptors") ;
      if (nul > 1) close(nul) ;
      close(jp[1]) ; close(ap[0]) ;
      for (k = 0 ; k < i ; k++) close(answerfd[k]) ;
      sig_ignore(SIGTERM) ;
      sig_ignore(SIGHUP) ;
      sig_ignore(SIGINT) ;
      remover(jp[0], ap[1], work) ;
    }
    close(ap[1]) ;
    if (ndelay_on(ap[0]) < 0 || coe(ap[0]) < 0) strerr_diefu1sys(111, "set up a remover's answer pipe") ;
    answerfd[i] = ap[0] ;
  }
  close(jp[0]) ;
  if (coe(jp[1]) < 0) strerr_diefu1sys(111, "set up the removers' job pipe") ;
  jobfd = jp[1] ;
  nremovers = n ;
}

void removers_give (uint32_t job, char kind, uint64_t id, unsigned int step)
{
  struct job_s j ;
  memset(&j, 0, sizeof j) ;
  j.id = id ; j.job = job ; j.kind = kind ; j.step = (unsigned char)step ;
  if (fd_write(jobfd, (char const *)&j, sizeof j) != (ssize_t)sizeof j) strerr_diefu1sys(111, "give a job to the removers") ;
}

unsigned int removers_pollset (iopause_fd *x)
{
  unsigned int i ;
  for (i = 0 ; i < nremovers ; i++) { x[i].fd = answerfd[i] ; x[i].events = IOPAUSE_READ ; }
  return nremovers ;
}

void removers_collect (iopause_fd const *x, removers_done_func *done)
{
  unsigned int i ;
  for (i = 0 ; i < nremovers ; i++)
  {
    struct answer_s a[64] ;
    ssize_t r, k ;
    if (!(x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT))) continue ;
    r = fd_read(answerfd[i], (char *)a, sizeof a) ;
    if (r < 0 && errno == EAGAIN) continue ;
    if (r < 0) strerr_diefu1sys(111, "read a remover's answers") ;
    /* answers are written whole (a pipe's write of fewer than PIPE_BUF bytes is), read whole */
    if (!r) strerr_dief1x(111, "a remover died: its removals are left to the next start") ;
    if (r % sizeof a[0]) strerr_dief1x(111, "a remover's answer cut short") ;
    for (k = 0 ; k < r / (ssize_t)sizeof a[0] ; k++) (*done)(a[k].job, a[k].why, a[k].err, a[k].durable) ;
  }
}
