/* local_line_next: the delivery lines of a dot file or of a mailboxes entry. */

#include <skalibs/bytestr.h>

#include "local.h"

int local_line_next (char *s, size_t len, size_t *pos, char **line, size_t *n)
{
  while (*pos < len)
  {
    size_t k = byte_chr(s + *pos, len - *pos, '\n') ;
    char *l = s + *pos ;
    size_t m = k ;
    *pos += k + 1 ;
    while (m && (l[m-1] == ' ' || l[m-1] == '\t' || l[m-1] == '\r')) m-- ;
    while (m && (*l == ' ' || *l == '\t')) { l++ ; m-- ; }
    if (!m || *l == '#') continue ;
    l[m] = 0 ;
    *line = l ;
    *n = m ;
    return 1 ;
  }
  return 0 ;
}
