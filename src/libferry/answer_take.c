/* ferry_answer_head, ferry_answer_results: a channel's answer as the queue manager reads it. */

#include <string.h>

#include <skalibs/types.h>

#include <ferry/frame.h>

int ferry_answer_head (char const *p, size_t n, uint64_t *num, size_t *first)
{
  char const *f[2] ;
  int nf = ferry_fields_split(p, n, f, 2) ;
  if (nf == -2) nf = 2 ;
  if (nf < 2 || !f[0][0] || uint640_scan(f[0], num) != strlen(f[0])) return 0 ;
  *first = f[1] - p ;
  return 1 ;
}

void ferry_answer_results (char const *p, size_t n, size_t first, char const **res, unsigned int want)
{
  unsigned int count = 0, i ;
  size_t pos ;
  int single ;
  for (pos = first ; pos < n ; pos += strlen(p + pos) + 1) count++ ;
  single = count != want ;
  for (i = 0, pos = first ; i < want ; i++)
  {
    char st = pos < n ? p[pos] : 0 ;
    res[i] = st == 'K' || st == 'D' || st == 'Z' || st == 'H' ? p + pos : FERRY_ANSWER_INVALID ;
    if (!single) pos += strlen(p + pos) + 1 ;
  }
}
