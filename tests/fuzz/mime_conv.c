/* Fuzz target: a message's bytes through the remote channel's 7-bit conversion (mime_conv, in
   ferry-spawn-remote). Properties: the look and the conversion fed in pieces equal them fed
   whole; when the verdict is to convert, every output line is at most 998 octets, and for a
   peer without 8BITMIME every output byte is 7-bit. */

#include "remote/mime_conv.h"

#include "fuzz.h"

static int look (char const *s, size_t n, size_t step, mime_look *l)
{
  mime_conv m = MIME_CONV_ZERO ;
  stralloc none = STRALLOC_ZERO ;
  size_t i ;
  mime_look_start(&m, l) ;
  for (i = 0 ; i < n ; i += step)
  {
    char *piece = fuzz_piece(s + i, n - i < step ? n - i : step) ;
    FUZZ_ASSERT(mime_conv_feed(&m, piece, n - i < step ? n - i : step, &none)) ;
    free(piece) ;
  }
  FUZZ_ASSERT(mime_conv_end(&m, &none)) ;
  FUZZ_ASSERT(!none.len) ;
  mime_conv_free(&m) ;
  return 1 ;
}

static void convert (char const *s, size_t n, size_t step, mime_look *l, int to7bit, stralloc *out)
{
  mime_conv m = MIME_CONV_ZERO ;
  size_t i ;
  mime_conv_start(&m, l, to7bit) ;
  for (i = 0 ; i < n ; i += step)
  {
    char *piece = fuzz_piece(s + i, n - i < step ? n - i : step) ;
    FUZZ_ASSERT(mime_conv_feed(&m, piece, n - i < step ? n - i : step, out)) ;
    free(piece) ;
  }
  FUZZ_ASSERT(mime_conv_end(&m, out)) ;
  mime_conv_free(&m) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  size_t step = size ? 1 + data[0] % 13 : 1 ;
  mime_look a = MIME_LOOK_ZERO, b = MIME_LOOK_ZERO ;
  int to7bit ;
  look(s, size, size ? size : 1, &a) ;
  look(s, size, step, &b) ;
  FUZZ_ASSERT(a.hdr8 == b.hdr8 && a.hdrlong == b.hdrlong && a.regions.len == b.regions.len
           && (!a.regions.len || !memcmp(a.regions.s, b.regions.s, a.regions.len))) ;
  for (to7bit = 0 ; to7bit < 2 ; to7bit++)
  {
    char const *why = 0 ;
    int v = mime_look_verdict(&a, to7bit, &why) ;
    stralloc x = STRALLOC_ZERO, y = STRALLOC_ZERO ;
    size_t i, col = 0 ;
    FUZZ_ASSERT(v >= -1 && v <= 1 && (v >= 0 || (why && !strncmp(why, "5.6.3 ", 6)))) ;
    if (v != 1) continue ;
    convert(s, size, size ? size : 1, &a, to7bit, &x) ;
    convert(s, size, step, &a, to7bit, &y) ;
    FUZZ_ASSERT(x.len == y.len && (!x.len || !memcmp(x.s, y.s, x.len))) ;
    for (i = 0 ; i < x.len ; i++)
    {
      if (x.s[i] == '\n') col = 0 ;
      else FUZZ_ASSERT(++col <= 998 + (x.s[i] == '\r')) ;
      if (to7bit) FUZZ_ASSERT((unsigned char)x.s[i] < 128) ;
    }
    stralloc_free(&x) ; stralloc_free(&y) ;
  }
  stralloc_free(&a.regions) ; stralloc_free(&b.regions) ;
  return 0 ;
}
