/* json_cat: a string for JSON output, escaped, always valid UTF-8. */

#include "admin.h"

 /* the length of the valid UTF-8 sequence at s (at most n bytes), or 0 */
static size_t utf8_len (unsigned char const *s, size_t n)
{
  size_t k, need ;
  unsigned int c = s[0] ;
  if (c < 0x80) return 1 ;
  if (c >= 0xc2 && c <= 0xdf) need = 2 ;
  else if (c >= 0xe0 && c <= 0xef) need = 3 ;
  else if (c >= 0xf0 && c <= 0xf4) need = 4 ;
  else return 0 ;
  if (n < need) return 0 ;
  for (k = 1 ; k < need ; k++) if ((s[k] & 0xc0) != 0x80) return 0 ;
  if (c == 0xe0 && s[1] < 0xa0) return 0 ;
  if (c == 0xed && s[1] >= 0xa0) return 0 ;
  if (c == 0xf0 && s[1] < 0x90) return 0 ;
  if (c == 0xf4 && s[1] >= 0x90) return 0 ;
  return need ;
}

int json_cat (stralloc *sa, char const *s)
{
  unsigned char const *p = (unsigned char const *)s ;
  size_t n = 0 ;
  while (p[n]) n++ ;
  if (!stralloc_catb(sa, "\"", 1)) return 0 ;
  while (n)
  {
    unsigned char c = *p ;
    size_t k ;
    if (c == '"' || c == '\\') { char e[2] = { '\\', (char)c } ; if (!stralloc_catb(sa, e, 2)) return 0 ; k = 1 ; }
    else if (c < 0x20 || c == 0x7f)
    {
      char e[6] = { '\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15] } ;
      if (!stralloc_catb(sa, e, 6)) return 0 ;
      k = 1 ;
    }
    else if (!(k = utf8_len(p, n))) { if (!stralloc_catb(sa, "\\ufffd", 6)) return 0 ; k = 1 ; }
    else if (!stralloc_catb(sa, (char const *)p, k)) return 0 ;
    p += k ; n -= k ;
  }
  return stralloc_catb(sa, "\"", 1) ;
}
