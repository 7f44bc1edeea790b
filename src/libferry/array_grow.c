/* ferry_array_grow: room for more slots in a program's tables. */

#include <stdlib.h>
#include <string.h>

#include <skalibs/strerr.h>

#include <ferry/array.h>

void *ferry_array_grow (void *p, unsigned int *n, size_t size)
{
  unsigned int m = *n ? *n * 2 : 16 ;
  char *q = realloc(p, (size_t)m * size) ;
  if (!q) strerr_diefu1sys(111, "allocate memory") ;
  memset(q + (size_t)*n * size, 0, (size_t)(m - *n) * size) ;
  *n = m ;
  return q ;
}
