/* ferry_inject_submit: a whole message and envelope to ferry-injectd on public/inject, or to a
   ferry-inject subprocess when no server listens or the server turns it away (71). */

#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <skalibs/types.h>

#include <ferry/inject.h>
#include <ferry/inject_run.h>

static int sendall (int fd, char const *s, size_t n)
{
  while (n)
  {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL) ;
    if (w < 0) { if (errno == EINTR) continue ; return 0 ; }
    s += w ; n -= w ;
  }
  return 1 ;
}

int ferry_inject_submit (char const *prog, char const *const *argv, char const *msg, size_t msglen, char const *env, size_t envlen)
{
  struct sockaddr_un sa ;
  char head[UINT64_FMT + 1] ;
  char reply[200] ;
  size_t rlen = 0 ;
  unsigned int code ;
  int senderr = 0 ;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
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
  /* from here on, never a second try: a server that dies after its commit would see it twice */
  {
    size_t n = uint64_fmt(head, msglen) ;
    head[n++] = ':' ;
    if (!sendall(fd, head, n)
     || !sendall(fd, msg, msglen)
     || !sendall(fd, ",0:,", 4)
     || !sendall(fd, env, envlen))
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
    if (r < 0) { if (errno == EINTR) continue ; if (senderr && !rlen) errno = senderr ; goto err ; }
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
  return code ;
 err:
  {
    int e = errno ;
    close(fd) ;
    errno = e ;
    return -1 ;
  }
}
