/* report_sts_cache: the id and the policy text of a cache file mtasts/DOMAIN (ferry-mtasts-fetch's
   format: header lines, "id ID" among them, an empty line, the policy as fetched). */

#include <string.h>

#include "report.h"

int report_sts_cache (char const *s, size_t n, char *id, char const **body, size_t *bodylen)
{
  size_t pos = 0 ;
  int gotid = 0 ;
  while (pos < n)
  {
    char const *nl = memchr(s + pos, '\n', n - pos) ;
    size_t end, len ;
    if (!nl) return 0 ;                 /* the header ends with an empty line */
    end = nl - s ;
    len = end - pos ;
    if (len && s[end-1] == '\r') len-- ;
    if (!len)
    {
      if (!gotid) return 0 ;
      *body = s + end + 1 ;
      *bodylen = n - end - 1 ;
      return 1 ;
    }
    if (len > 3 && !memcmp(s + pos, "id ", 3))
    {
      size_t i, k = len - 3 ;
      if (k > 32) return 0 ;
      for (i = 0 ; i < k ; i++)
      {
        char c = s[pos + 3 + i] ;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return 0 ;
      }
      memcpy(id, s + pos + 3, k) ;
      id[k] = 0 ;
      gotid = 1 ;
    }
    pos = end + 1 ;
  }
  return 0 ;
}
