/* The request side of a spawner (doc/protocols.html): frames in on fd 0, answers out on fd 1. */

#define _GNU_SOURCE

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include <ferry/frame.h>
#include <ferry/spawner.h>

void ferry_spawner_refuse (ferry_spawner *sp, char const *num, char const *why)
{
  stralloc r = STRALLOC_ZERO ;
  strerr_warnw("malformed request", num ? " (delivery " : "", num ? num : "", num ? ")" : "", ": ", why) ;
  if (!num) return ;
  if (!stralloc_catb(&r, "Z", 1) || !stralloc_cats(&r, "malformed request to ") || !stralloc_cats(&r, PROG)
   || !stralloc_cats(&r, ": ") || !stralloc_cats(&r, why) || !ferry_answer_cat(&sp->out, num, &r, 1))
    strerr_diefu1sys(111, "allocate memory") ;
  stralloc_free(&r) ;
}

int ferry_spawner_fd (ferry_spawner *sp)
{
  int fd ;
  if (sp->fds.len < sizeof(int)) return -1 ;
  memcpy(&fd, sp->fds.s, sizeof(int)) ;
  memmove(sp->fds.s, sp->fds.s + sizeof(int), sp->fds.len - sizeof(int)) ;
  sp->fds.len -= sizeof(int) ;
  return fd ;
}

 /* read(0), or recvmsg keeping the descriptors that come with the bytes */
static ssize_t input_read (ferry_spawner *sp, char *buf, size_t n)
{
  union { struct cmsghdr h ; char b[CMSG_SPACE(16 * sizeof(int))] ; } ctl ;
  struct iovec v = { .iov_base = buf, .iov_len = n } ;
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) } ;
  struct cmsghdr *c ;
  ssize_t r ;
  if (!sp->passfd) return read(0, buf, n) ;
  r = recvmsg(0, &m, MSG_CMSG_CLOEXEC) ;
  if (r < 0) return r ;
  for (c = CMSG_FIRSTHDR(&m) ; c ; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
     && !stralloc_catb(&sp->fds, (char const *)CMSG_DATA(c), c->cmsg_len - CMSG_LEN(0)))
      strerr_diefu1sys(111, "allocate memory") ;
  /* a lost descriptor (at the descriptor limit, the kernel drops it) would give each later
     request the one before it: never go on out of step */
  if (m.msg_flags & MSG_CTRUNC) strerr_dief1x(111, "descriptors lost with a request (control data truncated): the requests and their descriptors would be out of step") ;
  return r ;
}

int ferry_spawner_read (ferry_spawner *sp, void (*take)(char const *, size_t))
{
  char buf[65536] ;
  size_t pos = 0 ;
  ssize_t r = input_read(sp, buf, sizeof(buf)) ;
  if (r < 0) return errno == EAGAIN || errno == EINTR ? 1 : -1 ;
  if (!r)
  {
    if (sp->in.len) strerr_warnw("end of input inside a request: it is dropped") ;
    sp->in.len = 0 ;
    return 0 ;
  }
  if (sp->skip)
  {
    size_t k = (size_t)r < sp->skip ? (size_t)r : sp->skip ;
    pos = k ;
    sp->skip -= k ;
  }
  if (!stralloc_catb(&sp->in, buf + pos, r - pos)) strerr_diefu1sys(111, "allocate memory") ;
  pos = 0 ;
  for (;;)
  {
    size_t start, plen ;
    int f = ferry_frame_take(sp->in.s, sp->in.len, &pos, &start, &plen) ;
    if (!f) break ;
    if (f == 1) (*take)(sp->in.s + start, plen) ;
    else if (f == -1)
    {
      if (sp->passfd) strerr_dief1x(111, "broken request frame: its descriptor would go to the next request") ;
      strerr_warnw("broken request frame: skipped to the next comma") ;
    }
    else
    {
      if (sp->passfd) strerr_dief1x(111, "a request larger than 16 MiB: its descriptor would go to the next request") ;
      /* too large: answer it if its delivery number is already here, and discard the rest */
      char num[11] ;
      size_t l = 0, have = sp->in.len - start ;
      while (l < have && l < 10 && sp->in.s[start + l] >= '0' && sp->in.s[start + l] <= '9') l++ ;
      memcpy(num, sp->in.s + start, l) ;
      num[l] = 0 ;
      ferry_spawner_refuse(sp, l && l < have && !sp->in.s[start + l] ? num : 0, "the request is larger than 16 MiB") ;
      sp->skip = plen + 1 > have ? plen + 1 - have : 0 ;
      pos = sp->in.len ;
    }
  }
  memmove(sp->in.s, sp->in.s + pos, sp->in.len - pos) ;
  sp->in.len -= pos ;
  return 1 ;
}

int ferry_spawner_write (ferry_spawner *sp)
{
  ssize_t w = write(1, sp->out.s, sp->out.len) ;
  if (w < 0) return errno == EAGAIN || errno == EINTR ;
  memmove(sp->out.s, sp->out.s + w, sp->out.len - w) ;
  sp->out.len -= w ;
  return 1 ;
}
