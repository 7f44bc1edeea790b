/* duration_fmt: a short human duration, the two largest units. */

#include <skalibs/types.h>

#include "admin.h"

size_t duration_fmt (char *s, uint64_t t)
{
  static uint64_t const unit[4] = { 86400, 3600, 60, 1 } ;
  static char const name[4] = { 'd', 'h', 'm', 's' } ;
  size_t n = 0 ;
  unsigned int i, shown = 0 ;
  for (i = 0 ; i < 4 && shown < 2 ; i++)
  {
    uint64_t q = t / unit[i] ;
    if (!q && !(i == 3 && !n)) { if (shown) shown++ ; continue ; }
    n += uint64_fmt(s + n, q) ;
    s[n++] = name[i] ;
    t -= q * unit[i] ;
    shown++ ;
  }
  s[n] = 0 ;
  return n ;
}
