/* ferry_hex_fmt, ferry_hex_scan: the fixed-width lower-case hex numbers of the queue's records. */

#include <ferry/queue.h>

void ferry_hex_fmt (char *s, uint64_t u, unsigned int digits)
{
  unsigned int k ;
  for (k = 0 ; k < digits ; k++) s[k] = "0123456789abcdef"[(u >> (4 * (digits - 1 - k))) & 15] ;
}

int ferry_hex_scan (char const *s, unsigned int digits, uint64_t *u)
{
  unsigned int k ;
  *u = 0 ;
  for (k = 0 ; k < digits ; k++)
  {
    char c = s[k] ;
    unsigned int v ;
    if (c >= '0' && c <= '9') v = c - '0' ;
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10 ;
    else return 0 ;
    *u = (*u << 4) | v ;
  }
  return 1 ;
}
