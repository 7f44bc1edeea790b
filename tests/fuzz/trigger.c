/* Fuzz target: what a drain of queue/lock/trigger reads, as ferry-preprocess-todo parses it
   (ferry_trigger_parse); any local user may write there. Properties: fed in two pieces (cut
   where the first byte says), the answer and the ids are those of the whole; each id reported
   is a line of the input, its decimal form byte for byte; an answer of 1 means every byte was
   a digit or a newline. */

#include <skalibs/types.h>

#include <ferry/queue.h>

#include "fuzz.h"

#define MAXIDS 4096

typedef struct { uint64_t ids[MAXIDS] ; size_t n ; } taken ;

static void take (uint64_t id, void *data)
{
  taken *t = data ;
  if (t->n < MAXIDS) t->ids[t->n] = id ;
  t->n++ ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static taken whole, parts ;
  ferry_trigger_carry c = FERRY_TRIGGER_CARRY_ZERO ;
  char const *s ;
  size_t n, cut, i, line = 0, k = 0 ;
  char *p ;
  int r1, r2 ;
  if (!size) return 0 ;
  cut = data[0] ;
  s = (char const *)data + 1 ;
  n = size - 1 ;
  if (cut > n) cut = n ;
  p = fuzz_piece(s, n) ;
  whole.n = parts.n = 0 ;
  r1 = ferry_trigger_parse(&c, p, n, &take, &whole) ;
  c.len = 0 ;
  r2 = ferry_trigger_parse(&c, p, cut, &take, &parts) ;
  if (r2) r2 = ferry_trigger_parse(&c, p + cut, n - cut, &take, &parts) ;
  FUZZ_ASSERT(r1 == r2) ;
  FUZZ_ASSERT(whole.n == parts.n) ;
  for (i = 0 ; i < whole.n && i < MAXIDS ; i++) FUZZ_ASSERT(whole.ids[i] == parts.ids[i]) ;
  if (r1) for (i = 0 ; i < n ; i++) FUZZ_ASSERT(p[i] == '\n' || (p[i] >= '0' && p[i] <= '9')) ;
  /* each id is its line, written again */
  for (i = 0 ; i < n && k < whole.n && k < MAXIDS ; i++)
  {
    if (p[i] != '\n') continue ;
    {
      char fmt[UINT64_FMT] ;
      size_t m = uint64_fmt(fmt, whole.ids[k]) ;
      /* ids written with leading zeros read back without them */
      size_t l = line ;
      while (i - l > m && p[l] == '0') l++ ;
      FUZZ_ASSERT(i - l == m && !memcmp(p + l, fmt, m)) ;
    }
    k++ ;
    line = i + 1 ;
  }
  FUZZ_ASSERT(k == (whole.n < MAXIDS ? whole.n : MAXIDS)) ;
  free(p) ;
  return 0 ;
}
