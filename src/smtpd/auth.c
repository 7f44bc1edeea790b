/* ferry-smtpd's AUTH exchanges, PLAIN and LOGIN: the base64 responses, the replies, the failures
   counted. No I/O: the session sends the replies and reads the responses. */

#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>

#include <ferry/smtp_auth.h>

#include "auth.h"

#define R_USERNAME "334 VXNlcm5hbWU6"        /* "Username:" */
#define R_PASSWORD "334 UGFzc3dvcmQ6"        /* "Password:" */
#define R_EMPTY "334 "
#define R_UNKNOWN "504 5.5.4 Unrecognized authentication type"
#define R_CANCEL "501 5.0.0 Authentication cancelled"
#define R_BASE64 "501 5.5.2 Cannot decode the response"
#define R_SYNTAX "501 5.5.4 Syntax: AUTH mechanism [initial-response]"
#define R_LONG "500 5.5.6 Authentication Exchange line is too long"
#define R_BAD "535 5.7.8 Authentication credentials invalid"
#define R_GOOD "235 2.7.0 Authentication successful"
#define R_TEMP "454 4.7.0 Temporary authentication failure"
#define R_TOOMANY "421 4.7.0 Too many failed authentications: closing the connection"

static void wipe (stralloc *sa)
{
  if (sa->s) memset(sa->s, 0, sa->a) ;
  sa->len = 0 ;
}

void smtpd_auth_clear (smtpd_auth *a)
{
  wipe(&a->pass) ;
  a->mech = SMTPD_AUTH_NONE ;
  a->step = 0 ;
}

static int say (stralloc *reply, char const *s)
{
  reply->len = 0 ;
  return stralloc_cats(reply, s) ;
}

 /* The end of an exchange that failed: the reply, the failure counted. */
static int failed (smtpd_auth *a, stralloc *reply, char const *s)
{
  smtpd_auth_clear(a) ;
  a->failures++ ;
  return say(reply, smtpd_auth_exhausted(a) ? R_TOOMANY : s) ? SMTPD_AUTH_FAILED : SMTPD_AUTH_NOMEM ;
}

 /* The base64 b[0..n) decoded into out, terminated: 1; 0 not base64; -1 out of memory. */
static int decode (char const *b, size_t n, stralloc *out)
{
  ssize_t r ;
  wipe(out) ;
  if (!stralloc_ready(out, 3 * (n / 4) + 1)) return -1 ;
  r = smtp_base64_decode(out->s, b, n) ;
  if (r < 0) { memset(out->s, 0, 3 * (n / 4)) ; return 0 ; }
  out->len = (size_t)r ;
  out->s[out->len++] = 0 ;
  return 1 ;
}

 /* A decoded field (terminated, len counting the 0) that checkpassword can take: not empty, no
    NUL inside, not too long. */
static int field_ok (stralloc const *f)
{
  return f->len > 1 && f->len - 1 <= SMTPD_AUTH_FIELD_MAX && !memchr(f->s, 0, f->len - 1) ;
}

int smtpd_auth_plain_decode (char const *b, size_t n, stralloc *user, stralloc *pass)
{
  stralloc raw = STRALLOC_ZERO ;
  char *z1, *z2 ;
  size_t len ;
  int r = decode(b, n, &raw) ;
  if (r <= 0) { stralloc_free(&raw) ; return r ; }
  len = raw.len - 1 ;
  r = 0 ;
  z1 = memchr(raw.s, 0, len) ;
  z2 = z1 ? memchr(z1 + 1, 0, len - (z1 + 1 - raw.s)) : 0 ;
  if (z2 && !memchr(z2 + 1, 0, len - (z2 + 1 - raw.s)))
  {
    size_t zn = z1 - raw.s, un = z2 - z1 - 1 ;
    /* an authorization identity, when given, must be the user's own */
    if (!zn || (zn == un && !memcmp(raw.s, z1 + 1, un)))
    {
      wipe(user) ;
      wipe(pass) ;
      r = stralloc_catb(user, z1 + 1, un + 1) && stralloc_catb(pass, z2 + 1, len - (z2 + 1 - raw.s) + 1) ? 1 : -1 ;
    }
  }
  wipe(&raw) ;
  stralloc_free(&raw) ;
  return r ;
}

 /* The PLAIN message b[0..n): the next step. */
static int plain_take (smtpd_auth *a, char const *b, size_t n, stralloc *reply)
{
  int r = smtpd_auth_plain_decode(b, n, &a->user, &a->pass) ;
  if (r < 0) return SMTPD_AUTH_NOMEM ;
  if (!r) return failed(a, reply, R_BASE64) ;
  if (!field_ok(&a->user) || !field_ok(&a->pass)) return failed(a, reply, R_BAD) ;
  reply->len = 0 ;
  return SMTPD_AUTH_CHECK ;
}

 /* LOGIN's user name or password b[0..n): the next step. */
static int login_take (smtpd_auth *a, char const *b, size_t n, stralloc *reply)
{
  stralloc *f = a->step ? &a->pass : &a->user ;
  int r = decode(b, n, f) ;
  if (r < 0) return SMTPD_AUTH_NOMEM ;
  if (!r) return failed(a, reply, R_BASE64) ;
  if (!field_ok(f)) return failed(a, reply, R_BAD) ;
  if (!a->step++) return say(reply, R_PASSWORD) ? SMTPD_AUTH_CONTINUE : SMTPD_AUTH_NOMEM ;
  reply->len = 0 ;
  return SMTPD_AUTH_CHECK ;
}

int smtpd_auth_begin (smtpd_auth *a, char const *s, size_t n, stralloc *reply)
{
  size_t m = 0, i ;
  smtpd_auth_clear(a) ;
  a->user.len = 0 ;
  while (m < n && s[m] != ' ') m++ ;
  i = m < n ? m + 1 : n ;
  if (!m || (i < n && memchr(s + i, ' ', n - i)) || (m < n && i == n)) return failed(a, reply, R_SYNTAX) ;
  if (m == 5 && !strncasecmp(s, "PLAIN", 5)) a->mech = SMTPD_AUTH_PLAIN ;
  else if (m == 5 && !strncasecmp(s, "LOGIN", 5)) a->mech = SMTPD_AUTH_LOGIN ;
  else return failed(a, reply, R_UNKNOWN) ;
  if (i == n) return say(reply, a->mech == SMTPD_AUTH_PLAIN ? R_EMPTY : R_USERNAME) ? SMTPD_AUTH_CONTINUE : SMTPD_AUTH_NOMEM ;
  /* an initial response (RFC 4954 4): "=" is the empty one */
  if (n - i == 1 && s[i] == '=') return failed(a, reply, R_BAD) ;
  return a->mech == SMTPD_AUTH_PLAIN ? plain_take(a, s + i, n - i, reply) : login_take(a, s + i, n - i, reply) ;
}

int smtpd_auth_response (smtpd_auth *a, char const *s, size_t n, stralloc *reply)
{
  if (n > SMTPD_AUTH_LINE_MAX) return failed(a, reply, R_LONG) ;
  if (n == 1 && s[0] == '*') return failed(a, reply, R_CANCEL) ;
  switch (a->mech)
  {
    case SMTPD_AUTH_PLAIN : return plain_take(a, s, n, reply) ;
    case SMTPD_AUTH_LOGIN : return login_take(a, s, n, reply) ;
    default : return failed(a, reply, R_SYNTAX) ;
  }
}

int smtpd_auth_result (smtpd_auth *a, int verdict, stralloc *reply)
{
  smtpd_auth_clear(a) ;
  if (!verdict) return say(reply, R_GOOD) ? 1 : -1 ;
  a->failures++ ;
  if (smtpd_auth_exhausted(a)) return say(reply, R_TOOMANY) ? 0 : -1 ;
  return say(reply, verdict == 1 ? R_BAD : R_TEMP) ? 0 : -1 ;
}

int smtpd_auth_exhausted (smtpd_auth const *a)
{
  return a->failures >= SMTPD_AUTH_FAILURES ;
}

int smtpd_auth_user_log (smtpd_auth const *a, stralloc *sa)
{
  size_t i, n = a->user.len && !a->user.s[a->user.len - 1] ? a->user.len - 1 : a->user.len ;
  if (n > 64) n = 64 ;
  if (!stralloc_readyplus(sa, n)) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = a->user.s[i] ;
    sa->s[sa->len++] = c > 32 && c < 127 ? c : '?' ;
  }
  return 1 ;
}
