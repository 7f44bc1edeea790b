/* ferry_tlsrpt_txt: a TLSRPT record (RFC 8460 section 3): v=TLSRPTv1, then fields separated by
   ";" with optional blanks around it, one of them rua= (URIs separated by ","), the others
   extensions (name=value), ignored. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/tlsrpt.h>

static int alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ;
}

static size_t blanks (char const *s, size_t n, size_t i)
{
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++ ;
  return i ;
}

 /* a URI's character here: visible ASCII but the separators "," and ";" */
static int urichar (char c)
{
  return c > 32 && c < 127 && c != ',' && c != ';' ;
}

 /* scheme ":" at s[0..n): ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) then a colon, and more */
static int uri_ok (char const *s, size_t n)
{
  size_t i = 1 ;
  if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return 0 ;
  while (i < n && (alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) i++ ;
  return i + 1 < n && s[i] == ':' ;
}

 /* the rua list from s[i]: 1 with *pos after it, 0 malformed (or out of memory) */
static int rua_take (char const *s, size_t n, size_t i, size_t *pos, stralloc *rua)
{
  for (;;)
  {
    size_t k = i ;
    while (k < n && urichar(s[k])) k++ ;
    if (!uri_ok(s + i, k - i)) return 0 ;
    if (!stralloc_catb(rua, s + i, k - i) || !stralloc_0(rua)) return 0 ;
    i = blanks(s, n, k) ;
    if (i >= n || s[i] != ',') break ;
    i = blanks(s, n, i + 1) ;
  }
  *pos = i ;
  return 1 ;
}

int ferry_tlsrpt_txt (char const *s, size_t n, stralloc *rua)
{
  size_t start = rua->len, i = 10 ;
  int gotrua = 0 ;
  if (n < 10 || memcmp(s, "v=TLSRPTv1", 10)) return 0 ;
  if (n > 10 && s[10] != ' ' && s[10] != '\t' && s[10] != ';') return 0 ;   /* another version */
  for (;;)
  {
    size_t k ;
    i = blanks(s, n, i) ;
    if (i >= n) break ;
    if (s[i] != ';') goto bad ;
    i = blanks(s, n, i + 1) ;
    if (i >= n) break ;                 /* a final ";" */
    /* a field's name: a letter or digit, then up to 31 of them, "_", "-" or "." */
    k = i ;
    if (!alnum(s[k])) goto bad ;
    for (k++ ; k < n && k - i <= 32 && (alnum(s[k]) || s[k] == '_' || s[k] == '-' || s[k] == '.') ; k++) ;
    if (k >= n || s[k] != '=' || k - i > 32) goto bad ;
    if (k - i == 3 && !memcmp(s + i, "rua", 3))
    {
      if (gotrua) goto bad ;
      gotrua = 1 ;
      if (!rua_take(s, n, k + 1, &i, rua)) goto bad ;
    }
    else
    {
      /* an extension's value: visible ASCII but "=" and ";" */
      size_t v = ++k ;
      while (k < n && s[k] > 32 && s[k] < 127 && s[k] != '=' && s[k] != ';') k++ ;
      if (k == v) goto bad ;
      i = k ;
    }
  }
  if (gotrua) return 1 ;
 bad:
  rua->len = start ;
  return -1 ;
}
