/* ferry_table_line, ferry_table_blank: the lines of a control table held in memory. */

#include <skalibs/bytestr.h>

#include <ferry/table.h>

int ferry_table_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r' ;
}

int ferry_table_line (char const *table, size_t len, size_t *i, char const **line, size_t *n)
{
  size_t k ;
  if (*i >= len) return 0 ;
  k = byte_chr(table + *i, len - *i, '\n') ;
  *line = table + *i ;
  *n = k ;
  *i += k + 1 ;
  while (*n && ferry_table_blank((*line)[*n - 1])) (*n)-- ;
  while (*n && ferry_table_blank(**line)) { (*line)++ ; (*n)-- ; }
  return 1 ;
}
