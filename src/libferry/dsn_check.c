/* ferry_dsn_check: the DSN parameters of RFC 3461 (and BODY, SMTPUTF8, REQUIRETLS) as X records. */

#include <string.h>
#include <strings.h>

#include <ferry/envelope.h>

#define DSN_ENVID 0x01
#define DSN_RET 0x02
#define DSN_BODY 0x04
#define DSN_SMTPUTF8 0x08
#define DSN_NOTIFY 0x10
#define DSN_ORCPT 0x20
#define DSN_REQUIRETLS 0x40

static int ishexu (char c)
{
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ;
}

 /* xtext of RFC 3461 section 4: printable ASCII but + and =, and +XX hex escapes. */
static int xtext_ok (char const *s, size_t n, size_t max)
{
  size_t i = 0 ;
  if (!n || n > max) return 0 ;
  while (i < n)
  {
    unsigned char c = s[i] ;
    if (c == '+')
    {
      if (n - i < 3) return 0 ;
      if (!ishexu(s[i+1]) || !ishexu(s[i+2])) return 0 ;
      i += 3 ;
    }
    else if (c < 33 || c > 126 || c == '=') return 0 ;
    else i++ ;
  }
  return 1 ;
}

static int word_is (char const *s, size_t n, char const *w)
{
  return n == strlen(w) && !strncasecmp(s, w, n) ;
}

static int notify_ok (char const *s, size_t n)
{
  unsigned int seen = 0 ;
  if (word_is(s, n, "NEVER")) return 1 ;
  while (n)
  {
    size_t k = 0 ;
    unsigned int bit ;
    while (k < n && s[k] != ',') k++ ;
    if (word_is(s, k, "SUCCESS")) bit = 1 ;
    else if (word_is(s, k, "FAILURE")) bit = 2 ;
    else if (word_is(s, k, "DELAY")) bit = 4 ;
    else return 0 ;
    if (seen & bit) return 0 ;
    seen |= bit ;
    if (k == n) break ;
    s += k + 1 ; n -= k + 1 ;
    if (!n) return 0 ;
  }
  return !!seen ;
}

static int orcpt_ok (char const *s, size_t n)
{
  size_t k = 0 ;
  while (k < n && s[k] != ';')
  {
    char c = s[k] ;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return 0 ;
    k++ ;
  }
  if (!k || k == n) return 0 ;
  return xtext_ok(s + k + 1, n - k - 1, 500) ;
}

unsigned int ferry_dsn_check (char const *s, size_t len, char level)
{
  size_t k = 0 ;
  char const *v ;
  size_t vn ;
  while (k < len && s[k] != '=') k++ ;
  v = s + k + 1 ;
  vn = k < len ? len - k - 1 : 0 ;
  if (level == 'F')
  {
    if (word_is(s, k, "SMTPUTF8")) return k == len ? DSN_SMTPUTF8 : 0 ;
    if (word_is(s, k, "REQUIRETLS")) return k == len ? DSN_REQUIRETLS : 0 ;
    if (k == len) return 0 ;
    if (word_is(s, k, "ENVID")) return xtext_ok(v, vn, 100) ? DSN_ENVID : 0 ;
    if (word_is(s, k, "RET")) return word_is(v, vn, "FULL") || word_is(v, vn, "HDRS") ? DSN_RET : 0 ;
    if (word_is(s, k, "BODY")) return word_is(v, vn, "7BIT") || word_is(v, vn, "8BITMIME") || word_is(v, vn, "BINARYMIME") ? DSN_BODY : 0 ;
    return 0 ;
  }
  if (level == 'T')
  {
    if (k == len) return 0 ;
    if (word_is(s, k, "NOTIFY")) return notify_ok(v, vn) ? DSN_NOTIFY : 0 ;
    if (word_is(s, k, "ORCPT")) return orcpt_ok(v, vn) ? DSN_ORCPT : 0 ;
  }
  return 0 ;
}
