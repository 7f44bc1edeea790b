/* ferry_xtext_decode: RFC 3461's xtext, as in ENVID and ORCPT. */

#include <ferry/dsn.h>

static int hexval (char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1 ;
}

int ferry_xtext_decode (stralloc *sa, char const *s, size_t n)
{
  size_t i = 0 ;
  while (i < n)
  {
    unsigned char c = s[i] ;
    if (c == '+')
    {
      int h, l ;
      if (n - i < 3) return 0 ;
      h = hexval(s[i+1]) ;
      l = hexval(s[i+2]) ;
      if (h < 0 || l < 0) return 0 ;
      c = (unsigned char)(h * 16 + l) ;
      i += 3 ;
    }
    else if (c < 33 || c > 126 || c == '=') return 0 ;
    else i++ ;
    if (!stralloc_catb(sa, (char const *)&c, 1)) return 0 ;
  }
  return 1 ;
}
