/* ferry-spawn-local's delivery worker: the process that runs as one mailbox owner, takes jobs
   (a frame and the message's descriptor) on its socket to the channel, delivers each with the
   local delivery code and answers; its syncs go through the channel's shared syncs. */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/ancil.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/frame.h>

#include "local.h"
#include "syncgroup.h"
#include "worker.h"

 /* The worker side: reads exactly one frame, so the next job's descriptor is never read early. */
static int frame_read_exact (int fd, stralloc *sa)
{
  uint64_t n = 0 ;
  unsigned int digits = 0 ;
  char c ;
  for (;;)
  {
    ssize_t r = fd_read(fd, &c, 1) ;
    if (r <= 0) return 0 ;
    if (c == ':') break ;
    if (c < '0' || c > '9' || ++digits > 10) return 0 ;
    n = n * 10 + (c - '0') ;
  }
  if (n > FERRY_FRAME_MAX) return 0 ;
  sa->len = 0 ;
  if (!stralloc_ready(sa, n + 1)) return 0 ;
  if (allread(fd, sa->s, n + 1) < n + 1 || sa->s[n] != ',') return 0 ;
  sa->len = n ;
  return 1 ;
}

 /* A worker's way to the channel's shared syncs: its socket, and the buffer of the answers. */
typedef struct channel_link_s channel_link ;
struct channel_link_s
{
  int fd ;
  stralloc frame ;
} ;

 /* A frame of the shared syncs, both ways: its kind, then a number if it has one. One buffer,
    reused: a frame goes out before the next is made. */
stralloc const *local_sync_frame (char kind, int hasnum, uint64_t u)
{
  static stralloc sa = STRALLOC_ZERO ;
  size_t mark ;
  sa.len = 0 ;
  if (!ferry_frame_begin(&sa, &mark) || !ferry_field_cat(&sa, &kind, 1)
   || (hasnum && !ferry_field_catu64(&sa, u)) || !ferry_frame_end(&sa, mark)) strerr_diefu1sys(111, "allocate memory") ;
  return &sa ;
}

static void worker_send (channel_link const *l, char kind, uint64_t u)
{
  stralloc const *sa = local_sync_frame(kind, 1, u) ;
  if (allwrite(l->fd, sa->s, sa->len) < sa->len) _exit(111) ;
}

 /* A worker's local_sync: asks the channel, which answers alone, lead, ok or fail. */
static int worker_sync (int fd, void *data)
{
  channel_link *l = data ;
  char const *f[2] ;
  struct stat st ;
  uint64_t e ;
  int nf ;
  if (fstat(fd, &st) < 0) return -1 ;
  worker_send(l, 's', st.st_dev) ;
  if (!frame_read_exact(l->fd, &l->frame)) _exit(111) ;
  nf = ferry_fields_split(l->frame.s, l->frame.len, f, 2) ;
  if (nf < 1 || strlen(f[0]) != 1) _exit(111) ;
  switch (f[0][0])
  {
    case SYNCGROUP_ALONE :
    case SYNCGROUP_LEAD :
    {
      int r = f[0][0] == SYNCGROUP_ALONE ? fsync(fd) : syncfs(fd) ;
      int err = r < 0 ? errno : 0 ;
      worker_send(l, 'r', err) ;
      errno = err ;
      return r ;
    }
    case SYNCGROUP_OK :
      /* the leader's syncfs reports the errors seen since its own descriptor opened; this one's
         own writeback error state is checked too, which costs no I/O */
      return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE) ;
    case SYNCGROUP_FAIL :
      if (nf != 2 || !uint640_scan(f[1], &e) || !e) _exit(111) ;
      errno = e ;
      return -1 ;
    default : _exit(111) ;
  }
}

void local_worker_main (int fd, ferry_local_target const *first, ferry_local_ctx const *ctx)
{
  stralloc job = STRALLOC_ZERO, report = STRALLOC_ZERO, ans = STRALLOC_ZERO ;
  ferry_local_target t = FERRY_LOCAL_TARGET_ZERO ;
  channel_link l = { .fd = fd, .frame = STRALLOC_ZERO } ;
  local_state st = { .sync = &worker_sync, .syncdata = &l, .seq = 0, .noproc = -1 } ;
  PROG = "ferry-spawn-local (worker)" ;
  if (!local_become(first)) strerr_diefu1sys(111, "switch to the mailbox owner") ;
  for (;;)
  {
    char const *f[3 + LOCAL_TARGET_FIELDS] ;
    char status ;
    size_t mark ;
    int nf ;
    struct pollfd pfd = { .fd = fd, .events = POLLIN } ;
    int msgfd ;
    /* ancil_recv_fd does not wait (MSG_DONTWAIT): wait for the next job here */
    while (poll(&pfd, 1, -1) < 0) if (errno != EINTR) _exit(111) ;
    msgfd = ancil_recv_fd(fd, 'j') ;
    if (msgfd < 0) _exit(0) ;   /* the parent closed the socket: retire */
    if (!frame_read_exact(fd, &job)) _exit(111) ;
    nf = ferry_fields_split(job.s, job.len, f, 3 + LOCAL_TARGET_FIELDS) ;
    report.len = 0 ;
    if (nf != 3 + LOCAL_TARGET_FIELDS || !local_target_unpack(&t, f + 3, LOCAL_TARGET_FIELDS))
    {
      status = 'Z' ;
      stralloc_cats(&report, "internal error: a bad job for a delivery worker") ;
    }
    else status = local_deliver(ctx, &st, &t, msgfd, f[1], f[2], &report) ;
    fd_close(msgfd) ;
    ans.len = 0 ;
    if (!ferry_frame_begin(&ans, &mark) || !ferry_field_cats(&ans, nf > 0 ? f[0] : "0")
     || !stralloc_catb(&ans, &status, 1) || !ferry_field_cat(&ans, report.s, report.len)
     || !ferry_frame_end(&ans, mark)) _exit(111) ;
    if (allwrite(fd, ans.s, ans.len) < ans.len) _exit(111) ;
  }
}
