/* smtp_auth_check, smtp_auth_find: control/smtpauth; smtp_base64_encode and the AUTH responses. */

#include <string.h>
#include <strings.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/table.h>
#include <ferry/smtp_auth.h>

typedef struct auth_line_s auth_line ;
struct auth_line_s
{
  char const *host ;
  size_t hostlen ;
  char const *user ;
  size_t userlen ;
  char const *pass ;
  size_t passlen ;
} ;

 /* A trimmed line, not blank, not a comment: 1 if it has host, user and password. */
static int auth_parse (char const *s, size_t n, auth_line *a)
{
  size_t i = 0, j ;
  for (j = i ; j < n && !ferry_table_blank(s[j]) ; j++) ;
  a->host = s ; a->hostlen = j ;
  for (i = j ; i < n && ferry_table_blank(s[i]) ; i++) ;
  for (j = i ; j < n && !ferry_table_blank(s[j]) ; j++) ;
  a->user = s + i ; a->userlen = j - i ;
  for (i = j ; i < n && ferry_table_blank(s[i]) ; i++) ;
  a->pass = s + i ; a->passlen = n - i ;
  return a->hostlen && a->userlen && a->passlen ;
}

int smtp_auth_check (char const *table, size_t len, stralloc *why)
{
  size_t i = 0, n ;
  char const *line ;
  unsigned int lineno = 0 ;
  while (ferry_table_line(table, len, &i, &line, &n))
  {
    auth_line a ;
    char fmt[UINT_FMT] ;
    lineno++ ;
    if (!n || line[0] == '#' || auth_parse(line, n, &a)) continue ;
    why->len = 0 ;
    return stralloc_cats(why, "control/smtpauth:") && stralloc_catb(why, fmt, uint_fmt(fmt, lineno))
      && stralloc_cats(why, ": write host user password") && stralloc_0(why) ? 0 : -1 ;
  }
  return 1 ;
}

int smtp_auth_find (char const *table, size_t len, char const *host, stralloc *user, stralloc *pass)
{
  size_t i = 0, n, hn = strlen(host) ;
  char const *line ;
  while (ferry_table_line(table, len, &i, &line, &n))
  {
    auth_line a ;
    if (!n || line[0] == '#' || !auth_parse(line, n, &a)) continue ;
    if (a.hostlen != hn || strncasecmp(a.host, host, hn)) continue ;
    user->len = 0 ;
    pass->len = 0 ;
    return stralloc_catb(user, a.user, a.userlen) && stralloc_0(user)
      && stralloc_catb(pass, a.pass, a.passlen) && stralloc_0(pass) ? 1 : -1 ;
  }
  return 0 ;
}

int smtp_auth_mode_ok (unsigned int mode)
{
  return !(mode & 07) ;
}

size_t smtp_base64_encode (char *out, char const *in, size_t n)
{
  static char const alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" ;
  unsigned char const *s = (unsigned char const *)in ;
  size_t w = 0 ;
  for (; n >= 3 ; n -= 3, s += 3)
  {
    out[w++] = alphabet[s[0] >> 2] ;
    out[w++] = alphabet[(s[0] & 3) << 4 | s[1] >> 4] ;
    out[w++] = alphabet[(s[1] & 15) << 2 | s[2] >> 6] ;
    out[w++] = alphabet[s[2] & 63] ;
  }
  if (n)
  {
    out[w++] = alphabet[s[0] >> 2] ;
    out[w++] = alphabet[(s[0] & 3) << 4 | (n == 2 ? s[1] >> 4 : 0)] ;
    out[w++] = n == 2 ? alphabet[(s[1] & 15) << 2] : '=' ;
    out[w++] = '=' ;
  }
  return w ;
}

static int b64_of (char const *s, size_t n, stralloc *out)
{
  size_t m = 4 * ((n + 2) / 3) ;
  out->len = 0 ;
  if (!stralloc_ready(out, m + 1)) return 0 ;
  out->len = smtp_base64_encode(out->s, s, n) ;
  return stralloc_0(out) ;
}

int smtp_auth_plain (char const *user, char const *pass, stralloc *out)
{
  size_t un = strlen(user), pn = strlen(pass) ;
  stralloc raw = STRALLOC_ZERO ;
  int r ;
  if (!stralloc_catb(&raw, "", 1) || !stralloc_catb(&raw, user, un) || !stralloc_catb(&raw, "", 1) || !stralloc_catb(&raw, pass, pn))
  {
    stralloc_free(&raw) ;
    return 0 ;
  }
  r = b64_of(raw.s, raw.len, out) ;
  /* the password does not stay in freed memory */
  memset(raw.s, 0, raw.len) ;
  stralloc_free(&raw) ;
  return r ;
}

int smtp_auth_b64 (char const *s, stralloc *out)
{
  return b64_of(s, strlen(s), out) ;
}
