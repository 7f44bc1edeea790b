/* Fuzz target: what an SMTP peer sends ferry-spawn-remote: replies (smtp_reply_parse) fed in
   pieces as a socket gives them, one-line summaries for the log, EHLO keywords and the AUTH
   mechanisms offered, whether a reply says the host throttles; and the DATA
   transform of a message's bytes. Properties: a reply parsed from pieces equals the reply parsed
   whole; the DATA transform of pieces equals the transform of the whole. */

#include "remote/remote.h"

#include "fuzz.h"

 /* Parses replies from s until the end or an error, feeding step bytes more each time. The replies'
    codes and texts are appended to log. */
static void replies (char const *s, size_t n, size_t step, stralloc *log)
{
  smtp_reply r = SMTP_REPLY_ZERO ;
  size_t pos = 0, have = 0 ;
  for (;;)
  {
    char *piece ;
    size_t used = 0 ;
    char const *why = 0 ;
    int got ;
    have = have + step > n ? n : have + step ;
    piece = fuzz_piece(s + pos, have - pos) ;
    got = smtp_reply_parse(&r, piece, have - pos, &used, &why) ;
    free(piece) ;
    FUZZ_ASSERT(used <= have - pos) ;
    pos += used ;
    if (got < 0) { FUZZ_ASSERT(why) ; stralloc_cats(log, "error\n") ; break ; }
    if (got == 1)
    {
      char const *param ;
      size_t plen ;
      char code[8] ;
      FUZZ_ASSERT(r.code >= 100 && r.code <= 999 && r.lines >= 1 && r.lines <= SMTP_LINES_MAX) ;
      snprintf(code, sizeof code, "%u ", r.code) ;
      stralloc_cats(log, code) ;
      stralloc_catb(log, r.text.s, r.text.len) ;
      stralloc_cats(log, "\n") ;
      {
        stralloc one = STRALLOC_ZERO ;
        FUZZ_ASSERT(smtp_reply_oneline(&r, &one, 200)) ;
        FUZZ_ASSERT(one.len <= 200) ;
        stralloc_free(&one) ;
      }
      if (smtp_ehlo_has(&r, "SIZE", &param, &plen)) FUZZ_ASSERT(!plen || (param >= r.text.s && param + plen <= r.text.s + r.text.len)) ;
      if (smtp_ehlo_has(&r, "AUTH", &param, &plen))
      {
        /* the mechanisms a host offers: found only as whole words of the AUTH line */
        int plain = smtp_auth_offers(param, plen, "PLAIN") ;
        FUZZ_ASSERT(!plen || (param >= r.text.s && param + plen <= r.text.s + r.text.len)) ;
        FUZZ_ASSERT(!plain || plen >= 5) ;
        FUZZ_ASSERT(smtp_auth_offers(param, plen, "plain") == plain) ;
        (void)smtp_auth_offers(param, plen, "LOGIN") ;
      }
      /* a throttling reply (the "!throttle" frame) is a 4xx */
      FUZZ_ASSERT(!smtp_reply_throttling(&r) || r.code / 100 == 4) ;
      smtp_reply_reset(&r) ;
      continue ;
    }
    if (have == n) break ;
  }
  stralloc_free(&r.text) ;
}

static void data (char const *s, size_t n, size_t step, stralloc *out)
{
  smtp_data st = SMTP_DATA_ZERO ;
  size_t i ;
  for (i = 0 ; i < n ; i += step) FUZZ_ASSERT(smtp_data_transform(&st, s + i, n - i < step ? n - i : step, out)) ;
  FUZZ_ASSERT(smtp_data_finish(&st, out)) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data_, size_t size)
{
  char const *s = (char const *)data_ ;
  size_t step = size ? 1 + data_[0] % 7 : 1 ;
  stralloc a = STRALLOC_ZERO, b = STRALLOC_ZERO ;
  replies(s, size, size ? size : 1, &a) ;
  replies(s, size, step, &b) ;
  FUZZ_ASSERT(a.len == b.len && (!a.len || !memcmp(a.s, b.s, a.len))) ;
  a.len = b.len = 0 ;
  data(s, size, size ? size : 1, &a) ;
  data(s, size, step, &b) ;
  FUZZ_ASSERT(a.len == b.len && (!a.len || !memcmp(a.s, b.s, a.len))) ;
  FUZZ_ASSERT(a.len >= 3 && !memcmp(a.s + a.len - 3, ".\r\n", 3)) ;
  stralloc_free(&a) ; stralloc_free(&b) ;
  return 0 ;
}
