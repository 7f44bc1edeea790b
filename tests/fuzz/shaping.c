/* Fuzz target: control/shaping as ferry-shaping compiles it, line by line (ferry_shaping_line),
   and the whole input as a settings text (ferry_shaping_settings), as the cdb's records and the
   channel's frames carry it. Properties: a line taken lies in the line, its key is in lower case
   and has a kind, only a site has patterns and each is good, it has a setting; settings written
   (ferry_shaping_settings_fmt) read back the same, and are written the same again. */

#include <skalibs/stralloc.h>

#include <ferry/shaping.h>

#include "fuzz.h"

static int same (ferry_shaping const *a, ferry_shaping const *b)
{
  return a->connections == b->connections && a->messages == b->messages && a->rate == b->rate
    && (!a->rate || a->rateunit == b->rateunit) && a->burst == b->burst && a->newconns == b->newconns
    && (!a->newconns || a->newconnsunit == b->newconnsunit) && a->daily == b->daily ;
}

 /* written, read back, written again */
static void roundtrip (ferry_shaping const *sh)
{
  stralloc a = STRALLOC_ZERO, b = STRALLOC_ZERO ;
  ferry_shaping back ;
  char *copy ;
  FUZZ_ASSERT(ferry_shaping_settings_fmt(&a, sh)) ;
  copy = fuzz_piece(a.s, a.len) ;
  FUZZ_ASSERT(!ferry_shaping_settings(copy, a.len, &back)) ;
  FUZZ_ASSERT(same(sh, &back)) ;
  FUZZ_ASSERT(ferry_shaping_settings_fmt(&b, &back)) ;
  FUZZ_ASSERT(a.len == b.len && (!a.len || !memcmp(a.s, b.s, a.len))) ;
  free(copy) ;
  stralloc_free(&a) ;
  stralloc_free(&b) ;
}

static int inside (char const *p, size_t n, char const *line, size_t len)
{
  return p >= line && p + n <= line + len ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  size_t i = 0 ;
  {
    ferry_shaping sh ;
    if (!ferry_shaping_settings(s, size, &sh)) roundtrip(&sh) ;
  }
  while (i < size)
  {
    char *nl = memchr(s + i, '\n', size - i) ;
    size_t n = nl ? (size_t)(nl - (s + i)) : size - i, k ;
    char *line = fuzz_piece(s + i, n) ;
    ferry_shaping_entry e ;
    char const *why = ferry_shaping_line(line, n, &e) ;
    if (why)
    {
      if (e.field) FUZZ_ASSERT(inside(e.field, e.fieldlen, line, n)) ;
    }
    else if (e.kind)
    {
      static ferry_shaping const zero = FERRY_SHAPING_ZERO ;
      FUZZ_ASSERT(e.kind == 'd' || e.kind == 'r' || e.kind == 's') ;
      FUZZ_ASSERT(inside(e.key, e.keylen, line, n) && inside(e.name, e.namelen, line, n) && e.namelen && e.name + e.namelen == e.key + e.keylen) ;
      for (k = 0 ; k < e.keylen ; k++) FUZZ_ASSERT(!(e.key[k] >= 'A' && e.key[k] <= 'Z') && e.key[k] != ' ' && e.key[k] != '\t') ;
      FUZZ_ASSERT(!same(&e.sh, &zero)) ;
      FUZZ_ASSERT(!e.sh.burst || e.sh.rate) ;
      if (e.kind == 's')
      {
        size_t j = 0 ;
        FUZZ_ASSERT(e.mx && inside(e.mx, e.mxlen, line, n)) ;
        for (;;)
        {
          size_t c = j ;
          while (c < e.mxlen && e.mx[c] != ',') c++ ;
          FUZZ_ASSERT(ferry_shaping_pattern_ok(e.mx + j, c - j)) ;
          if (c == e.mxlen) break ;
          j = c + 1 ;
        }
      }
      else FUZZ_ASSERT(!e.mx) ;
      roundtrip(&e.sh) ;
    }
    free(line) ;
    i += n + 1 ;
  }
  free(s) ;
  return 0 ;
}
