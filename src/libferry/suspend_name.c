/* ferry_suspend_name: @domain, site:NAME or route:HOST, lower-cased. */

#include <string.h>

#include <ferry/suspend.h>

size_t ferry_suspend_name (char *out, char const *s)
{
  size_t n = strlen(s), pre, k ;
  int site = !strncmp(s, "site:", 5) ;
  if (s[0] == '@') pre = 1 ;
  else if (site) pre = 5 ;
  else if (!strncmp(s, "route:", 6)) pre = 6 ;
  else return 0 ;
  if (n == pre || n >= FERRY_SUSPEND_NAME_MAX || s[pre] == '.') return 0 ;
  for (k = pre ; k < n ; k++)
  {
    unsigned char c = s[k] ;
    /* a file name in queue/suspend/ and a word of a line on queue/lock/steer */
    if (c <= ' ' || c >= 127 || c == '/') return 0 ;
    if (site && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return 0 ;
  }
  for (k = 0 ; k <= n ; k++) out[k] = s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k] ;
  return n ;
}
