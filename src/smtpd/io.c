/* ferry-smtpd's I/O layer: buffered lines and bytes from the client and replies to it, each wait
   bounded by the timeout and the session's deadline, through a swappable transport. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "smtpd.h"

static ssize_t plain_recv (void *ctx, char *s, size_t n, int *wantwrite)
{
  smtpd_io *io = ctx ;
  *wantwrite = 0 ;
  return read(io->fdin, s, n) ;
}

static ssize_t plain_send (void *ctx, char const *s, size_t n, int *wantwrite)
{
  smtpd_io *io = ctx ;
  *wantwrite = 1 ;
  return write(io->fdout, s, n) ;
}

void smtpd_io_init (smtpd_io *io, int fdin, int fdout, unsigned int timeout, tain const *end)
{
  io->fdin = fdin ;
  io->fdout = fdout ;
  io->t.recv = &plain_recv ;
  io->t.send = &plain_send ;
  io->t.pending = 0 ;
  io->t.ctx = io ;
  io->inpos = io->inlen = 0 ;
  io->out = stralloc_zero ;
  io->timeout = timeout ;
  io->end = *end ;
  io->timedout = 0 ;
  ndelay_on(fdin) ;
  ndelay_on(fdout) ;
}

void smtpd_io_transport (smtpd_io *io, smtpd_transport const *t)
{
  io->t = *t ;
  smtpd_io_discard(io) ;
}

void smtpd_io_discard (smtpd_io *io)
{
  io->inpos = io->inlen = 0 ;
}

size_t smtpd_io_buffered (smtpd_io const *io)
{
  return io->inlen - io->inpos + (io->t.pending ? (*io->t.pending)(io->t.ctx) : 0) ;
}

int smtpd_io_wait (smtpd_io *io, int fd, int wantwrite)
{
  tain deadline ;
  iopause_fd x = { .fd = fd, .events = wantwrite ? IOPAUSE_WRITE : IOPAUSE_READ, .revents = 0 } ;
  tain_addsec_g(&deadline, io->timeout) ;
  if (tain_less(&io->end, &deadline)) deadline = io->end ;
  for (;;)
  {
    int r = iopause_g(&x, 1, &deadline) ;
    if (r < 0) { if (errno == EINTR) continue ; return 0 ; }
    if (!r) { io->timedout = 1 ; errno = ETIMEDOUT ; return 0 ; }
    return 1 ;   /* ready, or an error or hangup that the next call reports */
  }
}

 /* Reads more input after what is buffered: 1, 0 at end of input, -1 on error. */
static int fill (smtpd_io *io)
{
  if (io->inpos == io->inlen) io->inpos = io->inlen = 0 ;
  else if (io->inpos && io->inlen == sizeof(io->in))
  {
    memmove(io->in, io->in + io->inpos, io->inlen - io->inpos) ;
    io->inlen -= io->inpos ;
    io->inpos = 0 ;
  }
  if (io->inlen == sizeof(io->in)) return 1 ;
  for (;;)
  {
    int wantwrite = 0 ;
    ssize_t r = (*io->t.recv)(io->t.ctx, io->in + io->inlen, sizeof(io->in) - io->inlen, &wantwrite) ;
    if (r > 0) { io->inlen += r ; return 1 ; }
    if (!r) return 0 ;
    if (errno == EINTR) continue ;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1 ;
    if (!smtpd_io_wait(io, wantwrite ? io->fdout : io->fdin, wantwrite)) return -1 ;
  }
}

int smtpd_io_getline (smtpd_io *io, stralloc *sa, size_t max)
{
  int toolong = 0 ;
  sa->len = 0 ;
  for (;;)
  {
    char const *s = io->in + io->inpos ;
    size_t n = io->inlen - io->inpos ;
    char const *lf = n ? memchr(s, '\n', n) : 0 ;
    size_t take = lf ? (size_t)(lf - s) + 1 : n ;
    int r ;
    if (!toolong)
    {
      if (sa->len + take > max) { toolong = 1 ; sa->len = 0 ; }
      else if (!stralloc_catb(sa, s, take)) return -1 ;
    }
    io->inpos += take ;
    if (lf)
    {
      if (toolong) { sa->len = 0 ; return 2 ; }
      sa->len-- ;
      if (sa->len && sa->s[sa->len - 1] == '\r') sa->len-- ;
      return 1 ;
    }
    r = fill(io) ;
    if (r <= 0) { sa->len = 0 ; return r ; }
  }
}

int smtpd_io_peek (smtpd_io *io, char const **s, size_t *n)
{
  if (io->inpos == io->inlen)
  {
    int r = fill(io) ;
    if (r <= 0) return r ;
  }
  *s = io->in + io->inpos ;
  *n = io->inlen - io->inpos ;
  return 1 ;
}

void smtpd_io_consume (smtpd_io *io, size_t n)
{
  io->inpos += n ;
}

int smtpd_io_put (smtpd_io *io, char const *s, size_t n)
{
  return stralloc_catb(&io->out, s, n) ;
}

int smtpd_io_puts (smtpd_io *io, char const *s)
{
  return stralloc_cats(&io->out, s) ;
}

int smtpd_io_flush (smtpd_io *io)
{
  size_t pos = 0 ;
  while (pos < io->out.len)
  {
    int wantwrite = 1 ;
    ssize_t w = (*io->t.send)(io->t.ctx, io->out.s + pos, io->out.len - pos, &wantwrite) ;
    if (w > 0) { pos += w ; continue ; }
    if (w < 0 && errno == EINTR) continue ;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { io->out.len = 0 ; return 0 ; }
    if (!smtpd_io_wait(io, wantwrite ? io->fdout : io->fdin, wantwrite)) { io->out.len = 0 ; return 0 ; }
  }
  io->out.len = 0 ;
  return 1 ;
}
