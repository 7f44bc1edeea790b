/* Fuzz target: the frames between the programs (doc/protocols.html) as every reader takes them:
   ferry_frame_take over a stream, ferry_fields_split of each payload, a delivery request as a
   channel checks it (ferry_request_check, its body fields written again with
   ferry_request_facts_cat), an answer as the queue manager takes it
   (ferry_answer_head, ferry_answer_results), a job as a local worker unpacks it
   (local_target_unpack). Property: fields written with ferry_field_cat come back the same,
   control bytes made spaces. */

#include <ferry/frame.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include "local/local.h"
#include "fuzz.h"

#define FIELDS_MAX 64

static void payload (char const *s, size_t n)
{
  char *p = fuzz_piece(s, n) ;
  char const *f[FIELDS_MAX] ;
  char numbuf[UINT64_FMT] ;
  ferry_request rq ;
  int nf = ferry_fields_split(p, n, f, FIELDS_MAX) ;
  /* more fields than FIELDS_MAX: the first FIELDS_MAX are filled, as the channel's reader takes them */
  if (nf == -2) nf = FIELDS_MAX ;
  if (nf > 0)
  {
    ferry_local_target t = FERRY_LOCAL_TARGET_ZERO ;
    for (int i = 0 ; i < nf ; i++) FUZZ_ASSERT(f[i] >= p && f[i] < p + n) ;
    local_target_unpack(&t, f, (unsigned int)nf) ;
    stralloc_free(&t.sa) ;
  }
  if (!ferry_request_check(p, n, &rq, numbuf))
  {
    stralloc sa = STRALLOC_ZERO ;
    ferry_body b = FERRY_BODY_ZERO ;
    FUZZ_ASSERT(rq.nrcpt >= 1 && rq.sender && rq.rcpt && nf >= 5 && rq.sender == f[4] && f[2][0] == 'w' && f[3][0] == 'b'
      && rq.eightbit == (f[3][1] == '8') && rq.longline == (f[3][2] == 'L') && rq.requiretls == (f[3][strlen(f[3]) - 1] == 'T')) ;
    /* the queue manager's writer makes the same b field again */
    b.wire = rq.wire ; b.eightbit = rq.eightbit ; b.longline = rq.longline ;
    FUZZ_ASSERT(ferry_request_facts_cat(&sa, &b, rq.requiretls)) ;
    FUZZ_ASSERT(sa.len >= strlen(f[3]) + 1 && !strcmp(sa.s + sa.len - strlen(f[3]) - 1, f[3])) ;
    stralloc_free(&sa) ;
  }
  {
    uint64_t num ;
    size_t first ;
    if (ferry_answer_head(p, n, &num, &first))
    {
      char const *res[4] ;
      FUZZ_ASSERT(first < n) ;
      for (unsigned int want = 1 ; want <= 4 ; want++)
      {
        ferry_answer_results(p, n, first, res, want) ;
        for (unsigned int i = 0 ; i < want ; i++)
          FUZZ_ASSERT(!strcmp(res[i], FERRY_ANSWER_INVALID)
                      || (res[i] >= p + first && res[i] < p + n && (res[i][0] == 'K' || res[i][0] == 'D' || res[i][0] == 'Z' || res[i][0] == 'H'))) ;
      }
    }
  }
  free(p) ;
}

 /* the bytes as fields of one frame, then read back */
static void roundtrip (char const *s, size_t n)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t mark, pos = 0, start, plen, i, k = 0 ;
  char const *f[FIELDS_MAX] ;
  int nf ;
  FUZZ_ASSERT(ferry_frame_begin(&sa, &mark)) ;
  for (i = 0 ; i < n && k < FIELDS_MAX ; k++)
  {
    size_t len = (unsigned char)s[i] % 16 ;
    i++ ;
    if (len > n - i) len = n - i ;
    FUZZ_ASSERT(ferry_field_cat(&sa, s + i, len)) ;
    i += len ;
  }
  FUZZ_ASSERT(ferry_frame_end(&sa, mark)) ;
  FUZZ_ASSERT(ferry_frame_take(sa.s, sa.len, &pos, &start, &plen) == 1 && pos == sa.len) ;
  nf = ferry_fields_split(sa.s + start, plen, f, FIELDS_MAX) ;
  /* no field at all is an empty payload, which does not end with a null byte */
  FUZZ_ASSERT(nf == (k ? (int)k : -1)) ;
  for (i = 0, k = 0 ; i < n && k < (size_t)nf ; k++)
  {
    size_t len = (unsigned char)s[i] % 16, j ;
    i++ ;
    if (len > n - i) len = n - i ;
    FUZZ_ASSERT(strlen(f[k]) == len) ;
    for (j = 0 ; j < len ; j++)
    {
      unsigned char c = s[i + j] ;
      FUZZ_ASSERT(f[k][j] == (c < 32 || c == 127 ? ' ' : (char)c)) ;
    }
    i += len ;
  }
  stralloc_free(&sa) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  size_t pos = 0, start, plen, rounds = 0 ;
  while (pos < size)
  {
    size_t before = pos ;
    int r = ferry_frame_take(s, size, &pos, &start, &plen) ;
    if (!r) break ;
    FUZZ_ASSERT(pos > before && pos <= size) ;
    if (r == 1)
    {
      FUZZ_ASSERT(start >= before && start + plen < pos) ;
      payload(s + start, plen) ;
    }
    FUZZ_ASSERT(++rounds <= size) ;
  }
  roundtrip(s, size) ;
  return 0 ;
}
