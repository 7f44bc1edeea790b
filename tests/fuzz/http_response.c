/* Fuzz target: an HTTPS server's response as ferry-mtasts-fetch reads it (ferry_http_response).
   Properties: a response taken has a final status (200 to 599), a media type in lower case with
   no parameter, and a body within the bound; a refusal says why on one line; a larger bound
   takes what a smaller one took, with the same body; what a smaller bound refused for another
   reason than the bound, a larger one refuses for the same reason. */

#include <ferry/http.h>

#include "fuzz.h"

static size_t const bounds[] = { 0, 7, 100, 65536 } ;
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  ferry_http_resp resp[NBOUNDS] ;
  stralloc why[NBOUNDS] ;
  int r[NBOUNDS] ;
  size_t i, j ;
  for (i = 0 ; i < NBOUNDS ; i++)
  {
    ferry_http_resp z = FERRY_HTTP_RESP_ZERO ;
    stralloc w = STRALLOC_ZERO ;
    resp[i] = z ;
    why[i] = w ;
    r[i] = ferry_http_response(s, size, bounds[i], resp + i, why + i) ;
    FUZZ_ASSERT(r[i] == 0 || r[i] == 1) ;
    FUZZ_ASSERT(strlen(resp[i].ctype) < sizeof(resp[i].ctype) && !strchr(resp[i].ctype, ';')) ;
    for (j = 0 ; resp[i].ctype[j] ; j++) FUZZ_ASSERT(!(resp[i].ctype[j] >= 'A' && resp[i].ctype[j] <= 'Z')) ;
    if (r[i])
    {
      FUZZ_ASSERT(resp[i].status >= 200 && resp[i].status <= 599) ;
      FUZZ_ASSERT(resp[i].body.len <= bounds[i] && resp[i].body.len <= size) ;
    }
    else
    {
      FUZZ_ASSERT(why[i].len && !why[i].s[why[i].len - 1] && strlen(why[i].s) == why[i].len - 1 && !strchr(why[i].s, '\n')) ;
      FUZZ_ASSERT(!resp[i].status || (resp[i].status >= 100 && resp[i].status <= 599)) ;
    }
  }
  for (i = 1 ; i < NBOUNDS ; i++)
  {
    if (r[i - 1])
      FUZZ_ASSERT(r[i] && resp[i].status == resp[i - 1].status && resp[i].body.len == resp[i - 1].body.len
                  && (!resp[i].body.len || !memcmp(resp[i].body.s, resp[i - 1].body.s, resp[i].body.len)) && !strcmp(resp[i].ctype, resp[i - 1].ctype)) ;
    else if (!r[i] && strncmp(why[i - 1].s, "the body is larger than ", 24))
      FUZZ_ASSERT(!strcmp(why[i].s, why[i - 1].s)) ;
    if (!r[i] && strncmp(why[i].s, "the body is larger than ", 24))
      FUZZ_ASSERT(!r[i - 1] && (!strcmp(why[i].s, why[i - 1].s) || !strncmp(why[i - 1].s, "the body is larger than ", 24))) ;
  }
  for (i = 0 ; i < NBOUNDS ; i++)
  {
    stralloc_free(&resp[i].body) ;
    stralloc_free(why + i) ;
  }
  free(s) ;
  return 0 ;
}
