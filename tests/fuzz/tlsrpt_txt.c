/* Fuzz target: the TXT record of _smtp._tls.DOMAIN as ferry-tlsrpt reads it (ferry_tlsrpt_txt).
   Properties: 0 exactly when the text does not start with v=TLSRPTv1 then a blank, ";" or its
   end; on 0 and -1 rua is as it was; on 1 rua holds one or more terminated URIs, each a piece
   of the text, with a scheme and a colon, no blank, ",", ";", "!" or control character; written
   again as "v=TLSRPTv1;rua=URI,URI..." they read back the same. */

#include <ferry/tlsrpt.h>

#include "fuzz.h"

static int is_tlsrpt (char const *s, size_t n)
{
  return n >= 10 && !memcmp(s, "v=TLSRPTv1", 10) && (n == 10 || s[10] == ' ' || s[10] == '\t' || s[10] == ';') ;
}

 /* 1 if n bytes of p appear in s[0..len) */
static int found (char const *s, size_t len, char const *p, size_t n)
{
  size_t i ;
  if (n > len) return 0 ;
  for (i = 0 ; i + n <= len ; i++) if (!memcmp(s + i, p, n)) return 1 ;
  return 0 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  stralloc rua = STRALLOC_ZERO, rec = STRALLOC_ZERO, back = STRALLOC_ZERO ;
  size_t i ;
  int r ;
  if (!stralloc_catb(&rua, "x\0", 2)) abort() ;
  r = ferry_tlsrpt_txt(s, size, &rua) ;
  FUZZ_ASSERT(r >= -1 && r <= 1) ;
  FUZZ_ASSERT((r == 0) == !is_tlsrpt(s, size)) ;
  FUZZ_ASSERT(rua.len >= 2 && !memcmp(rua.s, "x\0", 2)) ;
  if (r <= 0) FUZZ_ASSERT(rua.len == 2) ;
  else
  {
    FUZZ_ASSERT(rua.len > 2 && !rua.s[rua.len - 1]) ;
    if (!stralloc_cats(&rec, "v=TLSRPTv1;rua=")) abort() ;
    for (i = 2 ; i < rua.len ; )
    {
      size_t n = strlen(rua.s + i), j, colon = 0 ;
      FUZZ_ASSERT(n > 0 && found(s, size, rua.s + i, n)) ;
      for (j = 0 ; j < n ; j++)
      {
        unsigned char c = rua.s[i + j] ;
        FUZZ_ASSERT(c > ' ' && c < 127 && c != ',' && c != ';' && c != '!') ;
        if (c == ':' && !colon) colon = j ;
      }
      FUZZ_ASSERT(colon > 0 && colon < n - 1) ;
      if ((i > 2 && !stralloc_catb(&rec, ",", 1)) || !stralloc_catb(&rec, rua.s + i, n)) abort() ;
      i += n + 1 ;
    }
    FUZZ_ASSERT(ferry_tlsrpt_txt(rec.s, rec.len, &back) == 1) ;
    FUZZ_ASSERT(back.len == rua.len - 2 && !memcmp(back.s, rua.s + 2, back.len)) ;
  }
  stralloc_free(&rua) ;
  stralloc_free(&rec) ;
  stralloc_free(&back) ;
  free(s) ;
  return 0 ;
}
