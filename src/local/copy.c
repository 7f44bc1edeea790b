/* local_copy: a message as a delivery writes it, its prefix first; the one copy of the message
   that the kinds of delivery (Maildir, mbox, program) share. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>

#include "local.h"

 /* Does s[0..n), a line start, begin with >*"From "? need_more if n is too short to say. */
static int fromline_at (char const *s, size_t n, int *need_more)
{
  size_t i = 0 ;
  while (i < n && s[i] == '>') i++ ;
  if (n - i < 5) { *need_more = 1 ; return 0 ; }
  *need_more = 0 ;
  return !memcmp(s + i, "From ", 5) ;
}

int local_copy (int out, local_msg const *m, int mboxrd)
{
  char buf[65536] ;
  size_t have = 0 ;
  off_t off = 0 ;
  int atstart = 1, eof = 0 ;
  if (allwrite(out, m->prefix.s, m->prefix.len) < m->prefix.len) return 0 ;
  for (;;)
  {
    size_t i = 0, from = 0 ;
    if (!eof && have < sizeof(buf))
    {
      ssize_t r = pread(m->fd, buf + have, sizeof(buf) - have, off) ;
      if (r < 0) { errno = EIO ; return 0 ; }
      if (!r) eof = 1 ;
      off += r ;
      have += r ;
    }
    if (!have) break ;
    if (!mboxrd)
    {
      if (allwrite(out, buf, have) < have) return 0 ;
      have = 0 ;
      if (eof) break ;
      continue ;
    }
    /* mboxrd: write up to each line start that needs a '>' */
    while (i < have)
    {
      if (atstart)
      {
        int more ;
        int quote = fromline_at(buf + i, have - i, &more) ;
        if (more && !eof) break ;   /* keep the undecided line start for the next read */
        if (quote)
        {
          if (allwrite(out, buf + from, i - from) < i - from || allwrite(out, ">", 1) < 1) return 0 ;
          from = i ;
        }
        atstart = 0 ;
      }
      {
        size_t k = byte_chr(buf + i, have - i, '\n') ;
        if (k == have - i) { i = have ; break ; }
        i += k + 1 ;
        atstart = 1 ;
      }
    }
    if (allwrite(out, buf + from, i - from) < i - from) return 0 ;
    memmove(buf, buf + i, have - i) ;
    have -= i ;
    if (eof && !have) break ;
    if (eof && have && i == 0 && atstart)
    {
      /* a short last line at end of file: decided as not "From " */
      if (allwrite(out, buf, have) < have) return 0 ;
      break ;
    }
  }
  return 1 ;
}
