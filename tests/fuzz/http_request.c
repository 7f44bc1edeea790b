/* Fuzz target: an HTTP client's request head as ferry-metrics -H reads it (ferry_http_request).
   Properties: a head taken has its length within the input, ending in LF, a path that is
   terminated, shorter than the field and free of spaces and control characters, and a version
   1.0 to 1.9; a refusal says why on one line. Fed in pieces: every prefix shorter than a taken
   head is incomplete, every longer one gives the same head; a refused prefix stays refused. */

#include <ferry/http.h>

#include "fuzz.h"

static int same (ferry_http_req const *a, ferry_http_req const *b)
{
  return a->method == b->method && a->minor == b->minor && a->headlen == b->headlen && !strcmp(a->path, b->path) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  ferry_http_req req, part ;
  char const *why = 0, *pwhy ;
  size_t k, i ;
  int r = ferry_http_request(s, size, &req, &why) ;
  FUZZ_ASSERT(r >= -1 && r <= 1) ;
  if (r == 1)
  {
    size_t len = strnlen(req.path, sizeof(req.path)) ;
    FUZZ_ASSERT(req.headlen && req.headlen <= size && s[req.headlen - 1] == '\n') ;
    FUZZ_ASSERT(len < sizeof(req.path) && len) ;
    for (i = 0 ; i < len ; i++) FUZZ_ASSERT((unsigned char)req.path[i] > 32 && (unsigned char)req.path[i] < 127) ;
    FUZZ_ASSERT(req.minor <= 9) ;
    FUZZ_ASSERT(req.method == FERRY_HTTP_GET || req.method == FERRY_HTTP_HEAD || req.method == FERRY_HTTP_OTHER) ;
  }
  if (r < 0) FUZZ_ASSERT(why && *why && !strchr(why, '\n')) ;
  /* prefixes, a few of them */
  for (k = 0 ; k < size ; k += 1 + size / 16)
  {
    char *p = fuzz_piece(s, k) ;
    int pr = ferry_http_request(p, k, &part, &pwhy) ;
    if (r == 1 && k < req.headlen) FUZZ_ASSERT(pr == 0) ;
    if (r == 1 && k >= req.headlen) FUZZ_ASSERT(pr == 1 && same(&part, &req)) ;
    if (pr < 0) FUZZ_ASSERT(r < 0) ;
    free(p) ;
  }
  free(s) ;
  return 0 ;
}
