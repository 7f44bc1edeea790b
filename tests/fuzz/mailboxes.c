/* Fuzz target: control/mailboxes as ferry-mailboxes compiles it, line by line (ferry_mailboxes_line).
   Properties: a line taken is a lower-case address with one @, not last, and no space or control
   byte; its instruction starts with /, | or & and is more than that; every piece lies in the line. */

#include <ferry/mailboxes.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  size_t i = 0 ;
  while (i < size)
  {
    char *nl = memchr(s + i, '\n', size - i) ;
    size_t n = nl ? (size_t)(nl - (s + i)) : size - i ;
    char *line = fuzz_piece(s + i, n) ;
    ferry_mailboxes_entry e ;
    if (!ferry_mailboxes_line(line, n, &e) && e.addr)
    {
      size_t at = 0, k ;
      FUZZ_ASSERT(e.addr >= line && e.addr + e.addrlen <= line + n) ;
      FUZZ_ASSERT(e.instr >= line && e.instr + e.instrlen <= line + n && e.instrlen > 1) ;
      FUZZ_ASSERT(*e.instr == '/' || *e.instr == '|' || *e.instr == '&') ;
      if (e.owner) FUZZ_ASSERT(e.ownerlen && e.owner >= line && e.owner + e.ownerlen <= line + n) ;
      for (k = 0 ; k < e.addrlen ; k++)
      {
        unsigned char c = e.addr[k] ;
        FUZZ_ASSERT(c > 32 && c != 127 && !(c >= 'A' && c <= 'Z')) ;
        if (c == '@') at++ ;
      }
      FUZZ_ASSERT(at == 1 && e.addr[e.addrlen - 1] != '@') ;
    }
    free(line) ;
    i += n + 1 ;
  }
  free(s) ;
  return 0 ;
}
