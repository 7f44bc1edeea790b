/* Fuzz target: ferry-sendmail's request as a worker of ferry-sendmaild reads it, before anything
   else of the caller's: sendmail_request_length over every prefix, sendmail_request_split of a
   whole one. Properties: the length, once known, is the same for every longer prefix; a split
   gives as many arguments as the body has null bytes, each inside the body; and a request built
   as ferry-sendmail builds it from arguments cut out of the input comes back the same. */

#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"

#include "fuzz.h"

static void whole (char const *p, size_t total)
{
  char const **argv ;
  int argc = sendmail_request_split(p, total, &argv) ;
  if (argc < 0) return ;
  {
    char const *colon = memchr(p, ':', total) ;
    size_t head = colon + 1 - p, k = 0, i ;
    for (i = head ; i < total - 1 ; i++) k += !p[i] ;
    FUZZ_ASSERT((size_t)argc == k) ;
    for (i = 0 ; i < (size_t)argc ; i++) FUZZ_ASSERT(argv[i] >= p + head && argv[i] + strlen(argv[i]) < p + total - 1) ;
    FUZZ_ASSERT(!argv[argc]) ;
  }
  free(argv) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *p = fuzz_piece((char const *)data, size) ;
  ssize_t known = 0 ;
  size_t n ;
  for (n = 0 ; n <= size && n < 64 ; n++)
  {
    ssize_t t = sendmail_request_length(p, n) ;
    if (known > 0) FUZZ_ASSERT(t == known) ;
    else if (known < 0) FUZZ_ASSERT(t < 0) ;
    else known = t ;
  }
  if (known > 0 && (size_t)known <= size) whole(p, known) ;
  /* the input cut at its newlines into arguments, built into a request as ferry-sendmail does */
  {
    size_t len = 0, i, m, nargs = 0 ;
    char head[24], *req ;
    for (i = 0 ; i < size ; i++) if (!p[i]) p[i] = 'x' ;
    for (i = 0 ; i < size ; i++) if (p[i] == '\n') { p[i] = 0 ; nargs++ ; }
    len = size + (size && p[size - 1] ? 1 : 0) ;
    if (size && p[size - 1]) nargs++ ;
    if (len && len <= SENDMAIL_REQUEST_MAX)
    {
      char const **argv ;
      m = 0 ;
      {
        char t[24] ;
        size_t v = len, k = 0 ;
        do { t[k++] = '0' + v % 10 ; v /= 10 ; } while (v) ;
        while (k) head[m++] = t[--k] ;
        head[m++] = ':' ;
      }
      req = malloc(m + len + 1) ;
      FUZZ_ASSERT(req) ;
      memcpy(req, head, m) ;
      memcpy(req + m, p, size) ;
      if (len > size) req[m + size] = 0 ;
      req[m + len] = ',' ;
      FUZZ_ASSERT(sendmail_request_length(req, m + len + 1) == (ssize_t)(m + len + 1)) ;
      FUZZ_ASSERT(sendmail_request_split(req, m + len + 1, &argv) == (int)nargs) ;
      {
        /* the arguments as given: p, its last one terminated in a copy */
        char *c = malloc(size + 1) ;
        size_t q = 0 ;
        FUZZ_ASSERT(c) ;
        memcpy(c, p, size) ;
        c[size] = 0 ;
        for (i = 0 ; i < nargs ; i++) { FUZZ_ASSERT(!strcmp(argv[i], c + q)) ; q += strlen(c + q) + 1 ; }
        free(c) ;
      }
      free(argv) ;
      free(req) ;
    }
  }
  free(p) ;
  return 0 ;
}
