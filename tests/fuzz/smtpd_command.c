/* Fuzz target: the commands a client sends ferry-smtpd, one per line: the verb and its argument,
   the paths of MAIL and RCPT with their parameters, BDAT's size. Properties: every piece found
   lies inside its line; an address taken holds no control character, no unquoted space and at
   most 254 bytes; the parameters are read in order, each past the one before. */

#include "smtpd/smtpd.h"

#include "fuzz.h"

static void params (char const *arg, size_t len, size_t pos)
{
  smtpd_param p ;
  int r ;
  while ((r = smtpd_param_next(arg, len, &pos, &p)) == 1)
  {
    FUZZ_ASSERT(p.key >= arg && p.key + p.keylen <= arg + len && p.keylen) ;
    FUZZ_ASSERT(!p.value || (p.value > p.key && p.value + p.valuelen <= arg + len && p.valuelen)) ;
    FUZZ_ASSERT(pos <= len && arg + pos >= (p.value ? p.value + p.valuelen : p.key + p.keylen)) ;
  }
  FUZZ_ASSERT(r == 0 || r == -1) ;
}

static void one (char const *line, size_t len)
{
  smtpd_command c ;
  char *piece = fuzz_piece(line, len) ;
  smtpd_command_parse(piece, len, &c) ;
  FUZZ_ASSERT(c.arg >= piece && c.arg + c.arglen <= piece + len) ;
  if (c.verb == SMTPD_MAIL || c.verb == SMTPD_RCPT)
  {
    stralloc addr = STRALLOC_ZERO ;
    size_t pos = 0, i ;
    char const *why = smtpd_path_parse(c.arg, c.arglen, c.verb == SMTPD_MAIL ? "FROM:" : "TO:", &addr, &pos) ;
    if (!why)
    {
      FUZZ_ASSERT(pos <= c.arglen && addr.len <= 254) ;
      for (i = 0 ; i < addr.len ; i++) FUZZ_ASSERT((unsigned char)addr.s[i] >= 32 && addr.s[i] != 127) ;
      (void)smtpd_ascii(addr.s, addr.len) ;
      params(c.arg, c.arglen, pos) ;
    }
    else FUZZ_ASSERT(why[0] == '4' || why[0] == '5') ;
    stralloc_free(&addr) ;
  }
  else if (c.verb == SMTPD_BDAT)
  {
    uint64_t size ;
    int last = -1 ;
    if (smtpd_bdat_parse(c.arg, c.arglen, &size, &last)) FUZZ_ASSERT(last == 0 || last == 1) ;
  }
  free(piece) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  size_t i = 0 ;
  while (i < size)
  {
    size_t k = i ;
    while (k < size && s[k] != '\n') k++ ;
    one(s + i, k > i && s[k-1] == '\r' ? k - i - 1 : k - i) ;
    i = k + 1 ;
  }
  return 0 ;
}
