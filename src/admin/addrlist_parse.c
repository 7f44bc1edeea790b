/* addrlist_parse: the addresses of a header's address list, for sendmail -t. */

#include <string.h>

#include "admin.h"

static int space (char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' ; }

 /* One mailbox: what is in angle brackets, else the words outside comments and quotes
    (a quoted local part keeps its quotes). */
static int one (stralloc *sa, char const *s, size_t n)
{
  size_t i, start = sa->len, lt = n ;
  int depth = 0, quoted = 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (quoted) { if (c == '\\' && i + 1 < n) i++ ; else if (c == '"') quoted = 0 ; continue ; }
    if (depth) { if (c == '\\' && i + 1 < n) i++ ; else if (c == '(') depth++ ; else if (c == ')') depth-- ; continue ; }
    if (c == '"') quoted = 1 ;
    else if (c == '(') depth = 1 ;
    else if (c == '<') { lt = i ; break ; }
  }
  if (lt < n)
  {
    size_t j = lt + 1, k ;
    k = j ;
    while (k < n && s[k] != '>') k++ ;
    /* a source route <@a,@b:user@host> keeps only user@host */
    if (j < k && s[j] == '@') { size_t c = j ; while (c < k && s[c] != ':') c++ ; if (c < k) j = c + 1 ; }
    while (j < k && space(s[j])) j++ ;
    while (k > j && space(s[k-1])) k-- ;
    if (!stralloc_catb(sa, s + j, k - j)) return -1 ;
  }
  else
  {
    depth = quoted = 0 ;
    for (i = 0 ; i < n ; i++)
    {
      char c = s[i] ;
      if (depth) { if (c == '\\' && i + 1 < n) i++ ; else if (c == '(') depth++ ; else if (c == ')') depth-- ; continue ; }
      if (!quoted && c == '(') { depth = 1 ; continue ; }
      if (c == '"') quoted = !quoted ;
      if (!quoted && space(c)) continue ;
      if (!stralloc_catb(sa, &c, 1)) return -1 ;
    }
  }
  if (sa->len == start) return 0 ;
  for (i = start ; i < sa->len ; i++)
  {
    unsigned char b = sa->s[i] ;
    if (b < 32 || b == 127) return -2 ;   /* a null byte would cut it short, a control byte has no place */
  }
  if (!stralloc_0(sa)) return -1 ;
  return 1 ;
}

int addrlist_parse (stralloc *sa, char const *s, size_t len)
{
  size_t i, start = 0 ;
  int depth = 0, quoted = 0, angle = 0, literal = 0 ;
  int n = 0 ;
  if (!len) return 0 ;   /* s may be null then */
  for (i = 0 ; i <= len ; i++)
  {
    char c = i < len ? s[i] : ',' ;
    if (quoted) { if (c == '\\' && i + 1 < len) i++ ; else if (c == '"') quoted = 0 ; continue ; }
    if (depth) { if (c == '\\' && i + 1 < len) i++ ; else if (c == '(') depth++ ; else if (c == ')') depth-- ; continue ; }
    if (c == '"') { quoted = 1 ; continue ; }
    if (c == '(') { depth = 1 ; continue ; }
    if (literal) { if (c == ']') literal = 0 ; continue ; }   /* [IPv6:2001:db8::1] */
    if (c == '[') { literal = 1 ; continue ; }
    if (c == '<') { angle = 1 ; continue ; }
    if (c == '>') { angle = 0 ; continue ; }
    if (angle) continue ;
    if (c == ':') { start = i + 1 ; continue ; }   /* a group's name */
    if (c == ',' || c == ';')
    {
      int r = one(sa, s + start, i - start) ;
      if (r < 0) return r ;
      n += r ;
      start = i + 1 ;
    }
  }
  return n ;
}
