/* Fuzz target: the stored envelope, queue/todo/ID as ferry-preprocess-todo checks it
   (ferry_envelope_stored_check) and the same file queue/intd/ID as ferry-schedule reads it at start
   and ferry-bounce-build and ferry-qread after it (ferry_envelope_next, ferry_envelope_head,
   ferry_dsn_notify_scan, ferry_envelope_requiretls, and the body facts' w and b records: ferry_envelope_body). Properties: every record lies in the file and ends with its null
   byte; the walk moves forward and stops; the head is found exactly when the walk reaches the
   final empty record with an F record and every t record is a number; an envelope that
   ferry-preprocess-todo accepts is one whose head ferry-schedule finds, with the same sender, and
   whose body facts ferry-schedule finds exactly when it has a w and a b record before F; REQUIRETLS
   is found exactly when an XREQUIRETLS record follows an F record before the first T. */

#include <strings.h>

#include <ferry/dsn.h>
#include <ferry/envelope.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  size_t pos = 0, k ;
  char const *rec ;
  char const *firstF = 0, *sender ;
  char const *bad ;
  int r, badbirth = 0, afterf = 0, seent = 0, requiretls = 0 ;
  size_t ts = 0 ;
  uint64_t birth, lastbirth = 0 ;
  unsigned char bits[8] ;
  for (;;)
  {
    size_t before = pos ;
    r = ferry_envelope_next(s, size, &pos, &rec, &k) ;
    if (r < 0) { FUZZ_ASSERT(pos == before) ; break ; }
    FUZZ_ASSERT(rec == s + before && pos == before + k + 1 && pos <= size && !rec[k] && strlen(rec) == k) ;
    if (!r) { FUZZ_ASSERT(!k) ; break ; }
    if (rec[0] == 'F' && !firstF) firstF = rec + 1 ;
    if (rec[0] == 'T') { ts++ ; seent = 1 ; }
    if (!seent && rec[0] == 'F') afterf = 1 ;
    if (!seent && afterf && rec[0] == 'X' && k == 11 && !strncasecmp(rec + 1, "REQUIRETLS", 10)) requiretls = 1 ;
    if (rec[0] == 't')
    {
      size_t j ;
      uint64_t v = 0 ;
      int ok = k > 1 ;
      for (j = 1 ; ok && j < k ; j++)
      {
        unsigned int d = (unsigned char)rec[j] - '0' ;
        if (d > 9 || v > (UINT64_MAX - d) / 10) ok = 0 ;
        else v = v * 10 + d ;
      }
      if (ok) lastbirth = v ; else badbirth = 1 ;
    }
  }
  FUZZ_ASSERT(ferry_envelope_rcpts(s, size) == ts) ;
  FUZZ_ASSERT(ferry_envelope_requiretls(s, size) == requiretls) ;
  bad = ferry_envelope_head(s, size, &birth, &sender) ;
  if (r < 0) FUZZ_ASSERT(bad != 0) ;
  else if (badbirth) FUZZ_ASSERT(bad != 0) ;
  else if (!firstF) FUZZ_ASSERT(bad != 0) ;
  else
  {
    FUZZ_ASSERT(!bad && sender == firstF && birth == lastbirth) ;
    FUZZ_ASSERT(sender > s && sender <= s + size && sender + strlen(sender) < s + size) ;
  }
  {
    size_t fpos = size + 1 ;
    if (!ferry_envelope_stored_check(s, size, &fpos))
    {
      FUZZ_ASSERT(fpos < size && s[fpos] == 'F') ;
      FUZZ_ASSERT(!bad && sender == s + fpos + 1) ;
      {
        ferry_body b = FERRY_BODY_ZERO ;
        size_t i = 0 ;
        int w = 0, bb = 0 ;
        for (; i < fpos ; i += strlen(s + i) + 1) { if (s[i] == 'w') w++ ; if (s[i] == 'b') bb++ ; }
        FUZZ_ASSERT(w <= 1 && bb <= 1) ;
        FUZZ_ASSERT(ferry_envelope_body(s, size, &b) == (w && bb)) ;
      }
    }
  }
  ferry_dsn_notify_scan(s, size, bits, sizeof bits) ;
  for (k = 0 ; k < sizeof bits ; k++) FUZZ_ASSERT(bits[k] < 16) ;
  free(s) ;
  return 0 ;
}
