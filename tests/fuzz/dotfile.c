/* Fuzz target: the delivery lines of a user's dot file (~/.ferry, ~/.ferry-EXT) or of a mailboxes
   entry, as the local delivery code splits them (local_line_next), given one byte of room
   as it gives. Properties: every line taken lies in the file, is terminated, has no newline, no
   space or tab at either end, and is neither blank nor a comment. */

#include "local/local.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = malloc(size + 1) ;
  size_t pos = 0, n, lines = 0 ;
  char *line ;
  if (!s) abort() ;
  if (size) memcpy(s, data, size) ;
  while (local_line_next(s, size, &pos, &line, &n))
  {
    FUZZ_ASSERT(line >= s && line + n <= s + size && n > 0 && !line[n]) ;
    FUZZ_ASSERT(!memchr(line, '\n', n) && *line != '#' && *line != ' ' && *line != '\t') ;
    FUZZ_ASSERT(line[n-1] != ' ' && line[n-1] != '\t' && line[n-1] != '\r') ;
    FUZZ_ASSERT(++lines <= size) ;
  }
  free(s) ;
  return 0 ;
}
