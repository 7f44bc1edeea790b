/* sendmail_request_length, sendmail_request_split: ferry-sendmail's request to ferry-sendmaild
   (doc/ferry-sendmaild.html, Protocol), a netstring of the arguments, each ended by a null byte. */

#include <stdlib.h>
#include <string.h>

#include "admin.h"

ssize_t sendmail_request_length (char const *s, size_t n)
{
  size_t i = 0, len = 0 ;
  for (; i < n && s[i] != ':' ; i++)
  {
    if (s[i] < '0' || s[i] > '9' || i >= 8) return -1 ;
    len = len * 10 + (s[i] - '0') ;
  }
  if (i == n) return 0 ;   /* the head is not whole yet */
  if (!i || !len || len > SENDMAIL_REQUEST_MAX) return -1 ;
  return i + 1 + len + 1 ;
}

int sendmail_request_split (char const *s, size_t total, char const ***argv)
{
  char const *colon = memchr(s, ':', total) ;
  size_t head, end, p, k = 0 ;
  char const **v ;
  if (!colon) return -1 ;
  head = colon + 1 - s ;
  end = total - 1 ;
  if (total < head + 2 || s[end] != ',' || s[end - 1]) return -1 ;
  for (p = head ; p < end ; p++) k += !s[p] ;
  v = malloc((k + 1) * sizeof(char const *)) ;
  if (!v) return -1 ;
  k = 0 ;
  for (p = head ; p < end ; p += strlen(s + p) + 1) v[k++] = s + p ;
  v[k] = 0 ;
  *argv = v ;
  return (int)k ;
}
