/* ferry_body_records_cat, ferry_body_record_scan: the w and b records of a stored envelope
   (doc/queue.html), which are also the two fields of a delivery request (doc/protocols.html). */

#include <skalibs/uint64.h>

#include <ferry/body.h>

int ferry_body_records_cat (stralloc *sa, ferry_body const *b)
{
  char rec[1 + UINT64_FMT + 1] ;
  size_t n = 1 ;
  rec[0] = 'w' ;
  n += uint64_fmt(rec + 1, b->wire) ;
  rec[n++] = 0 ;
  if (!stralloc_catb(sa, rec, n)) return 0 ;
  n = 0 ;
  rec[n++] = 'b' ;
  rec[n++] = b->eightbit ? '8' : '7' ;
  if (b->longline) rec[n++] = 'L' ;
  rec[n++] = 0 ;
  return stralloc_catb(sa, rec, n) ;
}

int ferry_body_record_scan (char const *s, size_t n, ferry_body *b)
{
  if (n >= 2 && s[0] == 'w')
  {
    uint64_t u ;
    if (s[1] < '0' || s[1] > '9' || uint64_scan(s + 1, &u) != n - 1) return 0 ;
    b->wire = u ;
    return 'w' ;
  }
  if ((n == 2 || (n == 3 && s[2] == 'L')) && s[0] == 'b' && (s[1] == '7' || s[1] == '8'))
  {
    b->eightbit = s[1] == '8' ;
    b->longline = n == 3 ;
    return 'b' ;
  }
  return 0 ;
}
