/* Fuzz target: control/smtpauth as ferry-spawn-remote reads it (smtp_auth_check, smtp_auth_find),
   and the base64 of the AUTH responses. Properties: a refusal names the file and line; on a file
   it accepts, the host of its first line finds a user and a password, each one line without
   blanks at its ends; base64 has the right length and alphabet, and decodes back to the input. */

#include <ferry/smtp_auth.h>

#include "fuzz.h"

static int b64_value (char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A' ;
  if (c >= 'a' && c <= 'z') return c - 'a' + 26 ;
  if (c >= '0' && c <= '9') return c - '0' + 52 ;
  return c == '+' ? 62 : c == '/' ? 63 : -1 ;
}

 /* an independent decoder: the number of bytes written, or -1 */
static long b64_decode (char const *s, size_t n, unsigned char *out)
{
  size_t i ;
  long w = 0 ;
  if (n % 4) return -1 ;
  for (i = 0 ; i < n ; i += 4)
  {
    int v[4], k, pad = 0 ;
    for (k = 0 ; k < 4 ; k++)
    {
      if (s[i + k] == '=' && i + 4 == n && k >= 2) { v[k] = 0 ; pad++ ; continue ; }
      if (pad || (v[k] = b64_value(s[i + k])) < 0) return -1 ;
    }
    out[w++] = v[0] << 2 | v[1] >> 4 ;
    if (pad < 2) out[w++] = (v[1] & 15) << 4 | v[2] >> 2 ;
    if (pad < 1) out[w++] = (v[2] & 3) << 6 | v[3] ;
  }
  return w ;
}

static int blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r' ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  stralloc why = STRALLOC_ZERO, user = STRALLOC_ZERO, pass = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  char host[128] ;
  size_t i = 0, n = 0 ;
  int r = smtp_auth_check(s, size, &why) ;
  FUZZ_ASSERT(r == 0 || r == 1) ;
  if (!r) FUZZ_ASSERT(!why.s[why.len - 1] && !strncmp(why.s, "control/smtpauth:", 17) && strstr(why.s, ": write host user password")) ;
  /* the first field of the first line */
  while (i < size && blank(s[i])) i++ ;
  for (; i < size && n < sizeof host - 1 && !blank(s[i]) && s[i] != '\n' ; i++) host[n++] = s[i] ;
  host[n] = 0 ;
  if (!memchr(host, 0, n))
  {
    int f = smtp_auth_find(s, size, host, &user, &pass) ;
    FUZZ_ASSERT(f == 0 || f == 1) ;
    if (r && n && n < sizeof host - 1 && host[0] != '#' && i < size && s[i] != '\n') FUZZ_ASSERT(f == 1) ;
    if (f == 1)
    {
      FUZZ_ASSERT(user.len > 1 && !user.s[user.len - 1] && pass.len > 1 && !pass.s[pass.len - 1]) ;
      FUZZ_ASSERT(!memchr(user.s, '\n', user.len) && !memchr(pass.s, '\n', pass.len)) ;
      for (i = 0 ; i < user.len - 1 ; i++) FUZZ_ASSERT(!blank(user.s[i])) ;
      FUZZ_ASSERT(!blank(pass.s[0]) && !blank(pass.s[pass.len - 2])) ;
    }
  }
  /* base64 of the whole input, written then read back */
  {
    unsigned char *back = malloc(size + 3) ;
    long w ;
    if (!back) abort() ;
    if (!memchr(s, 0, size))
    {
      char *z = malloc(size + 1) ;
      if (!z) abort() ;
      memcpy(z, s, size) ; z[size] = 0 ;
      FUZZ_ASSERT(smtp_auth_b64(z, &out) && out.len == 4 * ((size + 2) / 3) + 1 && !out.s[out.len - 1]) ;
      free(z) ;
    }
    out.len = 0 ;
    FUZZ_ASSERT(stralloc_ready(&out, 4 * ((size + 2) / 3) + 1)) ;
    out.len = smtp_base64_encode(out.s, s, size) ;
    FUZZ_ASSERT(out.len == 4 * ((size + 2) / 3)) ;
    w = b64_decode(out.s, out.len, back) ;
    FUZZ_ASSERT(w == (long)size && !memcmp(back, s, size)) ;
    free(back) ;
  }
  if (n && !memchr(host, 0, n))
  {
    FUZZ_ASSERT(smtp_auth_plain(host, host, &out)) ;
    FUZZ_ASSERT(out.len == 4 * ((2 * n + 2 + 2) / 3) + 1 && !out.s[out.len - 1]) ;
  }
  stralloc_free(&why) ;
  stralloc_free(&user) ;
  stralloc_free(&pass) ;
  stralloc_free(&out) ;
  free(s) ;
  return 0 ;
}
