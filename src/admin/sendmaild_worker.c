/* ferry-sendmaild's worker: forked by the server for a caller, it becomes the caller's identity
   (uid, gid, supplementary groups) and serves that call, then every call of the same identity
   that the server hands it on its control socket, one at a time, until the server closes that
   socket (the worker idle too long, or its calls counted out, or the server stopping). Between
   calls it holds nothing of any caller's: its 0, 1 and 2 are /dev/null again before the answer
   goes. A call that ends otherwise than by its job's return (a failure that exits, the exec of
   ferry-qread, a caller gone) ends the worker: the server answers from its exit status. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/ancil.h>
#include <skalibs/djbunix.h>
#include <skalibs/sig.h>
#include <skalibs/strerr.h>

#include "admin.h"
#include "sendmaild.h"

static unsigned int calltimeout ;

static void handshake_late (int sig)
{
  (void)sig ;
  _exit(SENDMAILD_ALONE) ;
}

 /* One call on conn: its request (sendmail-request, as ferry-sendmail writes it: "LEN:" arguments
    each ended by a null byte "," with descriptors 0, 1 and 2 on its first byte), "S", the
    caller's "G", then the job, whose exit code it returns. Anything amiss before a byte of the
    message is read: SENDMAILD_ALONE, as the exit. */
static int call_serve (int conn)
{
  static char req[SENDMAIL_REQUEST_MAX + 32] ;
  char const **argv ;
  size_t got = 0 ;
  ssize_t total ;
  int fds[3] = { -1, -1, -1 } ;
  int argc, code ;
  unsigned int i ;
  /* the handshake, whole, in -t seconds, or the worker ends having read nothing */
  if (!sig_catch(SIGALRM, &handshake_late)) _exit(SENDMAILD_ALONE) ;
  alarm(calltimeout) ;
  {
    union { struct cmsghdr h ; char buf[CMSG_SPACE(3 * sizeof(int))] ; } c ;
    struct iovec v = { .iov_base = req, .iov_len = sizeof(req) } ;
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) } ;
    struct cmsghdr *h ;
    ssize_t r ;
    do r = recvmsg(conn, &m, MSG_CMSG_CLOEXEC) ;
    while (r < 0 && errno == EINTR) ;
    if (r <= 0 || m.msg_flags & MSG_CTRUNC) _exit(SENDMAILD_ALONE) ;
    h = CMSG_FIRSTHDR(&m) ;
    if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(3 * sizeof(int))) _exit(SENDMAILD_ALONE) ;
    memcpy(fds, CMSG_DATA(h), sizeof(fds)) ;
    got = r ;
  }
  /* the length, then the rest of the netstring, and nothing after it */
  for (;;)
  {
    ssize_t r ;
    total = sendmail_request_length(req, got) ;
    if (total < 0) _exit(SENDMAILD_ALONE) ;
    if (total && got >= (size_t)total) break ;
    r = read(conn, req + got, (total ? (size_t)total : sizeof(req)) - got) ;
    if (r < 0 && errno == EINTR) continue ;
    if (r <= 0) _exit(SENDMAILD_ALONE) ;
    got += r ;
  }
  if (got != (size_t)total) _exit(SENDMAILD_ALONE) ;
  argc = sendmail_request_split(req, total, &argv) ;
  if (argc < 1) _exit(SENDMAILD_ALONE) ;
  /* the caller's 0, 1 and 2 become the worker's (a received one numbered 0 to 2 is moved out of
     the way first) */
  for (i = 0 ; i < 3 ; i++)
    if (fds[i] < 3 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0) _exit(SENDMAILD_ALONE) ;
  for (i = 0 ; i < 3 ; i++) if (dup2(fds[i], i) < 0) _exit(SENDMAILD_ALONE) ;
  for (i = 0 ; i < 3 ; i++) close(fds[i]) ;
  /* "S": the request is taken; the message is read only once the caller says "G" (a caller
     that gave up runs the job alone, and must find its input whole) */
  {
    char g ;
    ssize_t r ;
    if (send(conn, "S\n", 2, MSG_NOSIGNAL) != 2) _exit(SENDMAILD_ALONE) ;
    do r = read(conn, &g, 1) ;
    while (r < 0 && errno == EINTR) ;
    if (r != 1 || g != 'G') _exit(SENDMAILD_ALONE) ;
  }
  alarm(0) ;
  sig_restore(SIGALRM) ;
  code = sendmail_run(argc, argv, conn) ;
  free(argv) ;
  return code ;
}

 /* The next call from the server: its connection, or -1 when the server has closed the
    control socket (or it broke) */
static int call_next (int cfd)
{
  struct pollfd p = { .fd = cfd, .events = POLLIN } ;
  int fd ;
  /* ancil_recv_fd does not wait: wait here */
  while (poll(&p, 1, -1) < 0) if (errno != EINTR) return -1 ;
  fd = ancil_recv_fd(cfd, SENDMAILD_CALL) ;
  if (fd < 0) return -1 ;
  if (coe(fd) < 0) _exit(111) ;
  return fd ;
}

void sendmaild_worker (int cfd, int conn, uid_t uid, gid_t gid, gid_t const *groups, int ngroups, char const *home, unsigned int timeout)
{
  int null ;
  PROG = "ferry-sendmail" ;
  calltimeout = timeout ;
  {
    sigset_t none ;
    sigemptyset(&none) ;
    sigprocmask(SIG_SETMASK, &none, 0) ;
  }
  sig_restore(SIGPIPE) ;   /* as in the caller's own process (the server ignores it) */
  sig_restore(SIGCHLD) ;
  sig_restore(SIGTERM) ;
  if (!geteuid())
  {
    if (setgroups(ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0) _exit(SENDMAILD_ALONE) ;
  }
  if (getuid() != uid || geteuid() != uid) _exit(SENDMAILD_ALONE) ;
  if (setenv("FERRY_HOME", home, 1) < 0) _exit(SENDMAILD_ALONE) ;
  null = open("/dev/null", O_RDWR | O_CLOEXEC) ;
  if (null < 0) _exit(SENDMAILD_ALONE) ;
  for (;;)
  {
    int code = call_serve(conn) ;
    unsigned int i ;
    /* the caller's descriptors go before the answer does: when ferry-sendmail exits, nothing of
       its pipes or terminal is held here */
    for (i = 0 ; i < 3 ; i++) if (dup2(null, i) < 0) _exit(code) ;
    sendmaild_answer_code(conn, code) ;
    fd_close(conn) ;
    {
      char d = SENDMAILD_DONE ;
      if (send(cfd, &d, 1, MSG_NOSIGNAL) != 1) _exit(0) ;
    }
    conn = call_next(cfd) ;
    if (conn < 0) _exit(0) ;
  }
}
