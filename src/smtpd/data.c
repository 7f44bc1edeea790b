/* The DATA and BDAT transform of ferry-smtpd: the client's bytes into the message the queue
   keeps (LF line ends), with the end of DATA found only at CRLF.CRLF. */

#include <sys/types.h>

#include <skalibs/stralloc.h>

#include "smtpd.h"

 /* where the transform is */
#define BOL 0       /* at the start of a line (after a CRLF) */
#define INLINE 1    /* inside a line */
#define CR 2        /* after a CR: a CRLF, or a bare CR */
#define DOT 3       /* DATA: after a dot that starts a line */
#define DOTCR 4     /* DATA: after a dot and a CR at the start of a line */

static void count (smtpd_data *d, unsigned char c)
{
  if (!c) d->flags |= SMTPD_DATA_NUL ;
  if (c >= 128) d->flags |= SMTPD_DATA_8BIT ;
  if (++d->linelen > 998) d->flags |= SMTPD_DATA_LONGLINE ;
}

 /* One byte in a line (INLINE or BOL taken as INLINE). A bare LF is not a line end: only a
    CRLF makes the next dot the start of a line, so "LF . CRLF" never ends the message. */
static int inline_byte (smtpd_data *d, char c, stralloc *out)
{
  if (c == '\r') { d->state = CR ; return 1 ; }
  if (c == '\n') d->flags |= SMTPD_DATA_BARELF ;
  else count(d, c) ;
  d->state = INLINE ;
  return stralloc_catb(out, &c, 1) ;
}

 /* The bytes of a line up to its next CR or LF, taken at once (what inline_byte does to each):
    the length taken, 0 when in[0] is a CR or an LF. -1 on running out of memory. */
static ssize_t inline_run (smtpd_data *d, char const *in, size_t n, stralloc *out)
{
  size_t k = 0 ;
  unsigned char any = 0, all = 0xff ;
  for (; k < n ; k++)
  {
    unsigned char c = in[k] ;
    if (c == '\r' || c == '\n') break ;
    any |= c ;
    all &= c ? 0xff : 0 ;
  }
  if (!k) return 0 ;
  if (!all) d->flags |= SMTPD_DATA_NUL ;
  if (any & 0x80) d->flags |= SMTPD_DATA_8BIT ;
  d->linelen += k ;
  if (d->linelen > 998) d->flags |= SMTPD_DATA_LONGLINE ;
  d->state = INLINE ;
  return stralloc_catb(out, in, k) ? (ssize_t)k : -1 ;
}

 /* After a CR: an LF ends the line, anything else makes the CR bare. */
static int cr_byte (smtpd_data *d, char c, stralloc *out)
{
  if (c == '\n')
  {
    d->state = BOL ;
    d->linelen = 0 ;
    return stralloc_catb(out, "\n", 1) ;
  }
  d->flags |= SMTPD_DATA_BARECR ;
  count(d, '\r') ;
  if (!stralloc_catb(out, "\r", 1)) return 0 ;
  return inline_byte(d, c, out) ;
}

 /* in[0] inside a line: a run of the line's bytes at once, or the CR or LF alone. The bytes
    taken (at least 1), 0 on running out of memory. */
static size_t inline_step (smtpd_data *d, char const *in, size_t n, stralloc *out)
{
  ssize_t k = inline_run(d, in, n, out) ;
  if (k < 0) return 0 ;
  if (k) return (size_t)k ;
  return inline_byte(d, in[0], out) ;
}

size_t smtpd_data_dot (smtpd_data *d, char const *in, size_t n, stralloc *out, int *done)
{
  size_t i = 0 ;
  *done = 0 ;
  for (; i < n ; i++)
  {
    char c = in[i] ;
    size_t k ;
    int ok = 1 ;
    switch (d->state)
    {
      case BOL :
        if (c == '.') { d->state = DOT ; break ; }
        goto line ;
      case INLINE : goto line ;
      case CR : ok = cr_byte(d, c, out) ; break ;
      case DOT :
        /* the dot that starts a line is removed: ".." is ".", ".x" is "x" */
        if (c == '\r') { d->state = DOTCR ; break ; }
      line:
        k = inline_step(d, in + i, n - i, out) ;
        if (!k) return 0 ;
        i += k - 1 ;
        break ;
      case DOTCR :
        if (c == '\n') { d->state = BOL ; d->linelen = 0 ; *done = 1 ; return i + 1 ; }
        ok = cr_byte(d, c, out) ;
        break ;
    }
    if (!ok) return 0 ;
  }
  return n ;
}

int smtpd_data_chunk (smtpd_data *d, char const *in, size_t n, stralloc *out)
{
  size_t i = 0 ;
  while (i < n)
  {
    size_t k = d->state == CR ? (size_t)cr_byte(d, in[i], out) : inline_step(d, in + i, n - i, out) ;
    if (!k) return 0 ;
    i += k ;
  }
  return 1 ;
}

int smtpd_data_chunk_end (smtpd_data *d, stralloc *out)
{
  if (d->state != CR) return 1 ;
  d->flags |= SMTPD_DATA_BARECR ;
  d->state = INLINE ;
  return stralloc_catb(out, "\r", 1) ;
}
