/* ferry_envelope_next, ferry_envelope_head, ferry_envelope_stored_check: reading a stored
   envelope (queue/todo/N, the same file in queue/intd/N: the u, p, t records ferry-inject or ferry-injectd wrote, then the client's
   envelope), which may be torn or garbled: nothing is read past len. */

#include <string.h>
#include <strings.h>

#include <skalibs/uint64.h>

#include <ferry/body.h>
#include <ferry/envelope.h>

 /* a u, p or t record's value: decimal digits, no more than a uint64 holds */
static int number (char const *s, size_t n)
{
  uint64_t v ;
  return n && uint64_scan(s, &v) == n ;
}

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

size_t ferry_envelope_rcpts (char const *s, size_t len)
{
  size_t pos = 0, k, n = 0 ;
  char const *rec ;
  while (ferry_envelope_next(s, len, &pos, &rec, &k) == 1) if (rec[0] == 'T') n++ ;
  return n ;
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
      if (!number(rec + 1, k - 1)) return "a bad birth time in the envelope" ;
      uint64_scan(rec + 1, birth) ;
    }
    else if (rec[0] == 'F' && !*sender) *sender = rec + 1 ;
  }
  if (r < 0) return "a truncated envelope (no final null byte)" ;
  if (!*sender) return "no sender in the envelope" ;
  return 0 ;
}

int ferry_envelope_body (char const *s, size_t len, ferry_body *b)
{
  size_t pos = 0, k ;
  char const *rec ;
  int seen = 0 ;
  while (ferry_envelope_next(s, len, &pos, &rec, &k) == 1 && rec[0] != 'F')
  {
    int r = ferry_body_record_scan(rec, k, b) ;
    if (r == 'w') seen |= 1 ;
    else if (r == 'b') seen |= 2 ;
  }
  return seen == 3 ;
}

int ferry_envelope_requiretls (char const *s, size_t len)
{
  size_t pos = 0, k ;
  char const *rec ;
  int afterf = 0 ;
  while (ferry_envelope_next(s, len, &pos, &rec, &k) == 1 && rec[0] != 'T')
  {
    if (rec[0] == 'F') afterf = 1 ;
    else if (afterf && rec[0] == 'X' && k == 11 && !strncasecmp(rec + 1, "REQUIRETLS", 10)) return 1 ;
  }
  return 0 ;
}

char const *ferry_envelope_stored_check (char const *s, size_t len, size_t *fpos)
{
  ferry_envelope_scanner sc = FERRY_ENVELOPE_SCANNER_ZERO ;
  ferry_body b ;
  size_t i = 0 ;
  int seen = 0 ;
  ferry_envelope_status st ;
  while (i < len && (s[i] == 'u' || s[i] == 'p' || s[i] == 't' || s[i] == 'w' || s[i] == 'b'))
  {
    size_t k = strnlen(s + i, len - i) ;
    if (k == len - i) return "a record without its null byte" ;
    if (s[i] == 'w' || s[i] == 'b')
    {
      int bit = s[i] == 'w' ? 1 : 2 ;
      if (ferry_body_record_scan(s + i, k, &b) != s[i]) return s[i] == 'w' ? "a w record that is not a number" : "a b record that is not b7 or b8, with or without L" ;
      if (seen & bit) return "a second w or b record" ;
      seen |= bit ;
    }
    else if (!number(s + i + 1, k - 1)) return "a u, p or t record that is not a number" ;
    i += k + 1 ;
  }
  if (i == len) return "no sender record" ;
  *fpos = i ;
  st = ferry_envelope_scan(&sc, s + i, len - i) ;
  if (st != FERRY_ENVELOPE_DONE) return ferry_envelope_strstatus(st) ;
  if (i + sc.pos != len) return "bytes after the terminating null byte" ;
  return 0 ;
}
