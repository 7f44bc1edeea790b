/* ferry_envelope_next, ferry_envelope_head: reading a stored envelope (queue/info/N, the records
   ferry-inject and ferry-injectd wrote), which may be torn or garbled: nothing is read past len. */

#include <string.h>

#include <skalibs/uint64.h>

#include <ferry/envelope.h>

int ferry_envelope_next (char const *s, size_t len, size_t *pos, char const **rec, size_t *reclen)
{
  size_t k ;
  if (*pos >= len) return -1 ;
  k = strnlen(s + *pos, len - *pos) ;
  if (*pos + k == len) return -1 ;
  *rec = s + *pos ;
  *reclen = k ;
  *pos += k + 1 ;
  return !!k ;
}

char const *ferry_envelope_head (char const *s, size_t len, uint64_t *birth, char const **sender)
{
  size_t pos = 0, k ;
  char const *rec ;
  int r ;
  *birth = 0 ;
  *sender = 0 ;
  while ((r = ferry_envelope_next(s, len, &pos, &rec, &k)) == 1)
  {
    if (rec[0] == 't')
    {
      if (k < 2 || uint64_scan(rec + 1, birth) != k - 1) return "a bad birth time" ;
    }
    else if (rec[0] == 'F' && !*sender) *sender = rec + 1 ;
  }
  if (r < 0) return "truncated (no final null byte)" ;
  if (!*sender) return "no sender" ;
  return 0 ;
}
