/* Domain lists in control files: control/locals, control/virtualdomains. */

#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include <ferry/control.h>

int ferry_control_readlist (stralloc *sa, char const *name)
{
  size_t i ;
  int r = ferry_control_readfile(sa, name) ;
  if (r < 0) return r ;
  for (i = 0 ; i < sa->len ; i++) if (sa->s[i] >= 'A' && sa->s[i] <= 'Z') sa->s[i] += 'a' - 'A' ;
  return r ;
}

int ferry_control_listed (stralloc const *list, char const *s, size_t n)
{
  size_t i = 0 ;
  while (i < list->len)
  {
    size_t k = byte_chr(list->s + i, list->len - i, '\n') ;
    size_t m = k ;
    size_t a = 0 ;
    while (m && (list->s[i + m - 1] == ' ' || list->s[i + m - 1] == '\t' || list->s[i + m - 1] == '\r')) m-- ;
    while (a < m && (list->s[i + a] == ' ' || list->s[i + a] == '\t')) a++ ;
    if (m - a == n && !memcmp(list->s + i + a, s, n)) return 1 ;
    i += k + 1 ;
  }
  return 0 ;
}
