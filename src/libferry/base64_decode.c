/* smtp_base64_decode: the base64 of the AUTH exchanges of an SMTP client, read by ferry-smtpd. */

#include <sys/types.h>

#include <ferry/smtp_auth.h>

static int value (unsigned char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A' ;
  if (c >= 'a' && c <= 'z') return c - 'a' + 26 ;
  if (c >= '0' && c <= '9') return c - '0' + 52 ;
  return c == '+' ? 62 : c == '/' ? 63 : -1 ;
}

ssize_t smtp_base64_decode (char *out, char const *in, size_t n)
{
  unsigned char const *s = (unsigned char const *)in ;
  size_t i, w = 0 ;
  if (n % 4) return -1 ;
  for (i = 0 ; i < n ; i += 4)
  {
    int v[4], k, pad = 0 ;
    for (k = 0 ; k < 4 ; k++)
    {
      /* = only in the last group's last two places, and nothing but = after one */
      if (s[i + k] == '=')
      {
        if (i + 4 < n || k < 2) return -1 ;
        pad++ ;
        v[k] = 0 ;
        continue ;
      }
      if (pad) return -1 ;
      v[k] = value(s[i + k]) ;
      if (v[k] < 0) return -1 ;
    }
    /* the bits a padded group does not use must be zero: one encoding per byte string */
    if (pad == 2 && v[1] & 15) return -1 ;
    if (pad == 1 && v[2] & 3) return -1 ;
    out[w++] = (char)(v[0] << 2 | v[1] >> 4) ;
    if (pad < 2) out[w++] = (char)((v[1] & 15) << 4 | v[2] >> 2) ;
    if (pad < 1) out[w++] = (char)((v[2] & 3) << 6 | v[3]) ;
  }
  return (ssize_t)w ;
}
