/* ferry_inject_submit, ferry_inject_submit_answer: a whole message and envelope to ferry-injectd
   on public/inject, or to a ferry-inject subprocess when no server listens or the server turns it
   away (71). */

#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/inject.h>
#include <ferry/inject_run.h>

/* Sends the n pieces of v, in as few calls as the socket takes them (usually one). */
static int sendallv (int fd, struct iovec *v, unsigned int n)
{
  while (n)
  {
    struct msghdr m = { .msg_iov = v, .msg_iovlen = n } ;
    ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL) ;
    if (w < 0)
    {
      if (errno == EINTR) continue ;
      if (errno == EAGAIN || errno == EWOULDBLOCK) errno = ETIMEDOUT ;
      return 0 ;
    }
    while (n && (size_t)w >= v->iov_len) { w -= v->iov_len ; v++ ; n-- ; }
    if (n) { v->iov_base = (char *)v->iov_base + w ; v->iov_len -= w ; }
  }
  return 1 ;
}

int ferry_inject_submit (char const *prog, char const *const *argv, char const *msg, size_t msglen, char const *env, size_t envlen)
{
  return ferry_inject_submit_answer(prog, argv, msg, msglen, env, envlen, 0, 0) ;
}

int ferry_inject_submit_answer (char const *prog, char const *const *argv, char const *msg, size_t msglen, char const *env, size_t envlen, unsigned int timeout, stralloc *answer)
{
  struct sockaddr_un sa ;
  char head[UINT64_FMT + 1] ;
  char reply[200] ;
  size_t rlen = 0 ;
  unsigned int code ;
  int senderr = 0 ;
  int fd ;
  if (answer)
  {
    answer->len = 0 ;
    if (!stralloc_0(answer)) return -1 ;
    answer->len = 0 ;
  }
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
  if (fd < 0) return ferry_inject_run(prog, argv, msg, msglen, env, envlen) ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sun_family = AF_UNIX ;
  memcpy(sa.sun_path, FERRY_INJECT_SOCKET, sizeof(FERRY_INJECT_SOCKET)) ;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
  {
    /* no server (never started, stopped, or this home has none): ferry-inject commits it alone */
    close(fd) ;
    return ferry_inject_run(prog, argv, msg, msglen, env, envlen) ;
  }
  if (timeout)
  {
    /* each send and each read waits at most this long: a server that stopped is a failure */
    struct timeval tv = { .tv_sec = timeout, .tv_usec = 0 } ;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0
     || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) goto err ;
  }
  /* from here on, never a second try: a server that dies after its commit would see it twice */
  {
    struct iovec v[4] ;
    size_t n = uint64_fmt(head, msglen) ;
    head[n++] = ':' ;
    v[0].iov_base = head ; v[0].iov_len = n ;
    v[1].iov_base = (char *)msg ; v[1].iov_len = msglen ;
    v[2].iov_base = ",0:," ; v[2].iov_len = 4 ;
    v[3].iov_base = (char *)env ; v[3].iov_len = envlen ;
    if (!sendallv(fd, v, 4))
    {
      /* a server that refuses early (too large) answers and closes while we still send: its
         answer is there to read, and says what happened */
      if (errno != EPIPE && errno != ECONNRESET) goto err ;
      senderr = errno ;
    }
  }
  for (;;)
  {
    ssize_t r = read(fd, reply + rlen, sizeof(reply) - 1 - rlen) ;
    if (r < 0)
    {
      if (errno == EINTR) continue ;
      if (errno == EAGAIN || errno == EWOULDBLOCK) errno = ETIMEDOUT ;
      else if (senderr && !rlen) errno = senderr ;
      goto err ;
    }
    if (!r) break ;
    rlen += r ;
    if (memchr(reply, '\n', rlen) || rlen == sizeof(reply) - 1) break ;
  }
  if (senderr && !rlen) { errno = senderr ; goto err ; }
  close(fd) ;
  reply[rlen] = 0 ;
  {
    size_t n = uint_scan(reply, &code) ;
    if (!n || reply[n] != ' ' || code > 255) { errno = EPROTO ; return -1 ; }
  }
  /* turned away at the door (too many connections from this uid, or every slot taken): the
     server read nothing and committed nothing, so ferry-inject may commit it */
  if (code == FERRY_INJECT_BUSY) return ferry_inject_run(prog, argv, msg, msglen, env, envlen) ;
  if (answer)
  {
    /* the answer's text, its line end removed: "queued id 10978932" */
    char *nl = memchr(reply, '\n', rlen) ;
    size_t n = uint_scan(reply, &code) + 1 ;
    size_t end = nl ? (size_t)(nl - reply) : rlen ;
    answer->len = 0 ;
    if (!stralloc_catb(answer, reply + n, end > n ? end - n : 0) || !stralloc_0(answer)) { errno = ENOMEM ; return -1 ; }
    answer->len-- ;
  }
  return code ;
 err:
  {
    int e = errno ;
    close(fd) ;
    errno = e ;
    return -1 ;
  }
}
