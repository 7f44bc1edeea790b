/* Fuzz target: the injection envelope as ferry-inject and ferry-preprocess-todo check it
   (ferry_envelope_scan), its DSN parameters (ferry_dsn_check, NOTIFY, xtext) as ferry-schedule
   and ferry-bounce-build read them from info files.
   Properties: fed in two pieces, the scan ends as it does fed whole, at the same place. */

#include <ferry/dsn.h>
#include <ferry/envelope.h>
#include <skalibs/stralloc.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  ferry_envelope_scanner whole = FERRY_ENVELOPE_SCANNER_ZERO, parts = FERRY_ENVELOPE_SCANNER_ZERO ;
  ferry_envelope_status w, p ;
  size_t cut = size ? data[size - 1] % (size + 1) : 0 ;
  char *head = fuzz_piece(s, cut) ;
  unsigned char bits[64] ;
  stralloc sa = STRALLOC_ZERO ;

  w = ferry_envelope_scan(&whole, s, size) ;
  FUZZ_ASSERT(ferry_envelope_strstatus(w)) ;
  p = ferry_envelope_scan(&parts, head, cut) ;
  if (p == FERRY_ENVELOPE_MORE) p = ferry_envelope_scan(&parts, s, size) ;
  FUZZ_ASSERT(p == w) ;
  if (w == FERRY_ENVELOPE_DONE) FUZZ_ASSERT(whole.pos <= size && whole.pos == parts.pos && whole.rcpts >= 1) ;
  free(head) ;

  ferry_dsn_notify_scan(s, size, bits, sizeof bits) ;
  for (size_t i = 0 ; i < sizeof bits ; i++) FUZZ_ASSERT(bits[i] < 16) ;
  FUZZ_ASSERT(ferry_dsn_notify(s, size) < 16) ;
  ferry_dsn_check(s, size, 'F') ;
  ferry_dsn_check(s, size, 'T') ;
  if (ferry_xtext_decode(&sa, s, size)) FUZZ_ASSERT(sa.len <= size) ;
  stralloc_free(&sa) ;
  return 0 ;
}
