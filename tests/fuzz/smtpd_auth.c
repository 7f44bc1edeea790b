/* Fuzz target: ferry-smtpd's AUTH: base64 from a client (smtp_base64_decode), PLAIN's message
   (smtpd_auth_plain_decode) and the PLAIN and LOGIN exchanges fed line by line (smtpd_auth_begin,
   smtpd_auth_response). Properties: what decodes encodes back to the same text (one encoding per
   byte string); a decoded PLAIN message has a user and password without NUL; each step answers
   one reply line of a 3-digit code and a space, a challenge only to go on; credentials to check
   are complete, not empty, within the bound; a failed exchange leaves no password. */

#include <ferry/smtp_auth.h>

#include "smtpd/auth.h"
#include "fuzz.h"

static void reply_ok (stralloc const *r, int next)
{
  if (next == SMTPD_AUTH_CHECK) { FUZZ_ASSERT(r->len == 0) ; return ; }
  FUZZ_ASSERT(r->len >= 4 && r->s[0] >= '2' && r->s[0] <= '5' && r->s[3] == ' ') ;
  FUZZ_ASSERT(!memchr(r->s, '\r', r->len) && !memchr(r->s, '\n', r->len)) ;
  FUZZ_ASSERT((next == SMTPD_AUTH_CONTINUE) == (r->s[0] == '3')) ;
}

static void creds_ok (smtpd_auth const *a)
{
  FUZZ_ASSERT(a->user.len > 1 && a->user.len - 1 <= SMTPD_AUTH_FIELD_MAX && !a->user.s[a->user.len - 1]) ;
  FUZZ_ASSERT(a->pass.len > 1 && a->pass.len - 1 <= SMTPD_AUTH_FIELD_MAX && !a->pass.s[a->pass.len - 1]) ;
  FUZZ_ASSERT(strlen(a->user.s) == a->user.len - 1 && strlen(a->pass.s) == a->pass.len - 1) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  stralloc reply = STRALLOC_ZERO, u = STRALLOC_ZERO, p = STRALLOC_ZERO ;
  smtpd_auth a = SMTPD_AUTH_ZERO ;
  /* the whole input as base64 */
  {
    char *out = malloc(3 * (size / 4) + 1) ;
    ssize_t r ;
    if (!out) abort() ;
    r = smtp_base64_decode(out, s, size) ;
    if (r >= 0)
    {
      char *back = malloc(size + 4) ;
      if (!back) abort() ;
      FUZZ_ASSERT((size_t)r <= 3 * (size / 4)) ;
      FUZZ_ASSERT(smtp_base64_encode(back, out, (size_t)r) == size && !memcmp(back, s, size)) ;
      free(back) ;
    }
    free(out) ;
  }
  {
    int r = smtpd_auth_plain_decode(s, size, &u, &p) ;
    FUZZ_ASSERT(r == 0 || r == 1) ;
    if (r) FUZZ_ASSERT(u.len && !u.s[u.len - 1] && strlen(u.s) == u.len - 1 && p.len && !p.s[p.len - 1] && strlen(p.s) == p.len - 1) ;
  }
  /* the exchange: the first line is the AUTH command's argument, the others its responses */
  {
    size_t i = 0 ;
    int next = -2 ;
    unsigned int failures = 0 ;
    while (i <= size)
    {
      size_t n = 0 ;
      char *line ;
      while (i + n < size && s[i + n] != '\n') n++ ;
      line = fuzz_piece(s + i, n) ;
      if (next != SMTPD_AUTH_CONTINUE) next = smtpd_auth_begin(&a, line, n, &reply) ;
      else next = smtpd_auth_response(&a, line, n, &reply) ;
      free(line) ;
      FUZZ_ASSERT(next == SMTPD_AUTH_CONTINUE || next == SMTPD_AUTH_CHECK || next == SMTPD_AUTH_FAILED) ;
      reply_ok(&reply, next) ;
      if (next == SMTPD_AUTH_FAILED)
      {
        FUZZ_ASSERT(a.failures == ++failures && a.pass.len == 0 && a.mech == SMTPD_AUTH_NONE) ;
        FUZZ_ASSERT(smtpd_auth_exhausted(&a) == (reply.len >= 3 && !memcmp(reply.s, "421", 3))) ;
      }
      if (next == SMTPD_AUTH_CHECK)
      {
        stralloc lg = STRALLOC_ZERO ;
        size_t k ;
        creds_ok(&a) ;
        FUZZ_ASSERT(smtpd_auth_user_log(&a, &lg) && lg.len <= 64) ;
        for (k = 0 ; k < lg.len ; k++) FUZZ_ASSERT(lg.s[k] > 32 && lg.s[k] < 127) ;
        stralloc_free(&lg) ;
        FUZZ_ASSERT(smtpd_auth_result(&a, (int)(size % 3), &reply) == (size % 3 == 0)) ;
        if (size % 3) failures++ ;
        FUZZ_ASSERT(a.pass.len == 0 && a.failures == failures) ;
      }
      if (smtpd_auth_exhausted(&a)) break ;
      i += n + 1 ;
    }
  }
  stralloc_free(&reply) ;
  stralloc_free(&u) ;
  stralloc_free(&p) ;
  stralloc_free(&a.user) ;
  stralloc_free(&a.pass) ;
  free(s) ;
  return 0 ;
}
