/* ferry_tlsrpt_txt: the TLSRPT TXT record of a domain (RFC 8460 3) and the URIs of its rua=. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/tlsrpt.h>

static int blank (char c)
{
  return c == ' ' || c == '\t' ;
}

static int letter (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ;
}

static int alnum (char c)
{
  return letter(c) || (c >= '0' && c <= '9') ;
}

static int hexdigit (char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ;
}

static size_t blanks_skip (char const *s, size_t n, size_t i)
{
  while (i < n && blank(s[i])) i++ ;
  return i ;
}

 /* A character of a URI (RFC 3986) but for "%", and "," ";" "!" which a rua URI must escape */
static int uri_char (char c)
{
  return alnum(c) || (c && strchr("-._~:/?#[]@$&'()*+=", c)) ;
}

 /* The URI at s[i..n), ended by a blank, ",", ";" or the end: the index of its end, or 0 if
    it is not one. */
static size_t uri_scan (char const *s, size_t n, size_t i)
{
  size_t j = i, rest ;
  if (j == n || !letter(s[j])) return 0 ;
  for (j++ ; j < n && (alnum(s[j]) || s[j] == '+' || s[j] == '-' || s[j] == '.') ; j++) ;
  if (j == n || s[j] != ':') return 0 ;
  rest = ++j ;
  while (j < n && !blank(s[j]) && s[j] != ',' && s[j] != ';')
  {
    if (s[j] == '%')
    {
      if (n - j < 3 || !hexdigit(s[j + 1]) || !hexdigit(s[j + 2])) return 0 ;
      j += 3 ;
    }
    else if (uri_char(s[j])) j++ ;
    else return 0 ;
  }
  return j > rest ? j : 0 ;
}

int ferry_tlsrpt_txt (char const *s, size_t n, stralloc *rua)
{
  size_t start = rua->len, i = 10 ;
  int hasrua = 0 ;
  if (n < 10 || memcmp(s, "v=TLSRPTv1", 10)) return 0 ;
  if (i < n && !blank(s[i]) && s[i] != ';') return 0 ;
  for (;;)
  {
    size_t name ;
    i = blanks_skip(s, n, i) ;
    if (i == n) break ;
    if (s[i] != ';') goto bad ;
    i = blanks_skip(s, n, i + 1) ;
    if (i == n) break ;
    /* a field: name=value, the name a letter or digit then at most 31 of those, _ - . */
    name = i ;
    while (i < n && (alnum(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.')) i++ ;
    if (i == n || s[i] != '=' || i == name || !alnum(s[name]) || i - name > 32) goto bad ;
    if (i - name == 3 && !memcmp(s + name, "rua", 3))
    {
      if (hasrua++) goto bad ;
      i++ ;
      for (;;)
      {
        size_t end = uri_scan(s, n, i) ;
        if (!end) goto bad ;
        if (!stralloc_catb(rua, s + i, end - i) || !stralloc_0(rua)) goto nomem ;
        i = blanks_skip(s, n, end) ;
        if (i == n || s[i] != ',') break ;
        i = blanks_skip(s, n, i + 1) ;
      }
    }
    else
    {
      /* another field's value: printable, no blank, "=" or ";" */
      size_t value = ++i ;
      while (i < n && (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 127 && s[i] != ';' && s[i] != '=') i++ ;
      if (i == value) goto bad ;
    }
  }
  if (hasrua) return 1 ;
 bad:
  rua->len = start ;
  return -1 ;
 nomem:
  rua->len = start ;
  return -2 ;
}
