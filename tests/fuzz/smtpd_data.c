/* Fuzz target: a message's bytes as a client sends them to ferry-smtpd, through the DATA
   transform (dot removal, CRLF to LF, the end at CRLF.CRLF) and the BDAT transform. Properties:
   fed in pieces, each gives what it gives fed whole (the bytes, where DATA ends, the flags); the
   message ends only where CRLF.CRLF stands in the input; a message without a bare CR, a bare LF
   or a NUL comes back the same when sent again (LF to CRLF, dots doubled). */

#include "smtpd/smtpd.h"

#include "fuzz.h"

typedef struct { stralloc out ; size_t used ; int done ; unsigned char flags ; } result ;

static void dot (char const *s, size_t n, size_t step, result *r)
{
  smtpd_data d = SMTPD_DATA_ZERO ;
  size_t i = 0 ;
  r->used = 0 ;
  r->done = 0 ;
  while (i < n && !r->done)
  {
    size_t k = n - i < step ? n - i : step ;
    char *piece = fuzz_piece(s + i, k) ;
    size_t u = smtpd_data_dot(&d, piece, k, &r->out, &r->done) ;
    free(piece) ;
    FUZZ_ASSERT(u && u <= k) ;
    FUZZ_ASSERT(r->done || u == k) ;
    i += u ;
  }
  r->used = i ;
  r->flags = d.flags ;
}

static void chunk (char const *s, size_t n, size_t step, result *r)
{
  smtpd_data d = SMTPD_DATA_ZERO ;
  size_t i ;
  for (i = 0 ; i < n ; i += step)
  {
    size_t k = n - i < step ? n - i : step ;
    char *piece = fuzz_piece(s + i, k) ;
    FUZZ_ASSERT(smtpd_data_chunk(&d, piece, k, &r->out)) ;
    free(piece) ;
  }
  FUZZ_ASSERT(smtpd_data_chunk_end(&d, &r->out)) ;
  r->flags = d.flags ;
}

static int same (result const *a, result const *b)
{
  return a->out.len == b->out.len && (!a->out.len || !memcmp(a->out.s, b->out.s, a->out.len))
      && a->used == b->used && a->done == b->done && a->flags == b->flags ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data_, size_t size)
{
  char const *s = (char const *)data_ ;
  size_t step = size ? 1 + data_[0] % 7 : 1 ;
  result a = { STRALLOC_ZERO, 0, 0, 0 }, b = { STRALLOC_ZERO, 0, 0, 0 } ;
  dot(s, size, size ? size : 1, &a) ;
  dot(s, size, step, &b) ;
  FUZZ_ASSERT(same(&a, &b)) ;
  /* the end is a CRLF.CRLF of the input (the first CRLF may be the DATA command's) */
  if (a.done)
  {
    FUZZ_ASSERT(a.used >= 3 && !memcmp(s + a.used - 3, ".\r\n", 3)) ;
    FUZZ_ASSERT(a.used == 3 || (a.used >= 5 && !memcmp(s + a.used - 5, "\r\n", 2))) ;
  }
  if (a.done && !(a.flags & (SMTPD_DATA_BARECR | SMTPD_DATA_BARELF | SMTPD_DATA_NUL)))
  {
    /* sent again as a client would: the same message, ending at the same place */
    stralloc wire = STRALLOC_ZERO ;
    result c = { STRALLOC_ZERO, 0, 0, 0 } ;
    size_t i, bol = 1 ;
    for (i = 0 ; i < a.out.len ; i++)
    {
      if (bol && a.out.s[i] == '.') stralloc_catb(&wire, ".", 1) ;
      if (a.out.s[i] == '\n') stralloc_catb(&wire, "\r\n", 2) ;
      else stralloc_catb(&wire, a.out.s + i, 1) ;
      bol = a.out.s[i] == '\n' ;
    }
    if (!bol) stralloc_catb(&wire, "\r\n", 2) ;
    stralloc_catb(&wire, ".\r\n", 3) ;
    dot(wire.s, wire.len, step, &c) ;
    FUZZ_ASSERT(c.done && c.used == wire.len && !(c.flags & (SMTPD_DATA_BARECR | SMTPD_DATA_BARELF))) ;
    FUZZ_ASSERT(c.out.len >= a.out.len && (!a.out.len || !memcmp(c.out.s, a.out.s, a.out.len))) ;
    stralloc_free(&wire) ;
    stralloc_free(&c.out) ;
  }
  a.out.len = b.out.len = 0 ;
  a.used = b.used = a.done = b.done = 0 ;
  chunk(s, size, size ? size : 1, &a) ;
  chunk(s, size, step, &b) ;
  FUZZ_ASSERT(same(&a, &b)) ;
  stralloc_free(&a.out) ; stralloc_free(&b.out) ;
  return 0 ;
}
