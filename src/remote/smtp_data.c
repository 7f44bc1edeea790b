/* The DATA transform: every line end becomes CRLF, a leading dot is doubled (RFC 5321 4.5.2). */

#include <skalibs/stralloc.h>

#include "remote.h"

int smtp_data_transform (smtp_data *st, char const *s, size_t n, stralloc *out)
{
  size_t i ;
  if (!stralloc_readyplus(out, n + n / 8 + 16)) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (out->len + 3 > out->a && !stralloc_readyplus(out, n - i + 16)) return 0 ;
    if (st->atstart && c == '.') out->s[out->len++] = '.' ;
    if (c == '\n')
    {
      if (!st->lastcr) out->s[out->len++] = '\r' ;
      out->s[out->len++] = '\n' ;
      st->atstart = 1 ;
      st->lastcr = 0 ;
    }
    else
    {
      out->s[out->len++] = c ;
      st->atstart = 0 ;
      st->lastcr = c == '\r' ;
    }
  }
  return 1 ;
}

int smtp_data_finish (smtp_data *st, stralloc *out)
{
  if (!st->atstart && !stralloc_cats(out, st->lastcr ? "\n" : "\r\n")) return 0 ;
  st->atstart = 1 ;
  st->lastcr = 0 ;
  return stralloc_cats(out, ".\r\n") ;
}
