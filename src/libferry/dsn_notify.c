/* ferry_dsn_notify, ferry_dsn_notify_scan, ferry_dsn_wants: RFC 3461's NOTIFY parameter. */

#include <string.h>
#include <strings.h>

#include <ferry/dsn.h>
#include <ferry/envelope.h>

static unsigned int word (char const *s, size_t n)
{
  if (n == 7 && !strncasecmp(s, "SUCCESS", 7)) return FERRY_NOTIFY_SUCCESS ;
  if (n == 7 && !strncasecmp(s, "FAILURE", 7)) return FERRY_NOTIFY_FAILURE ;
  if (n == 5 && !strncasecmp(s, "DELAY", 5)) return FERRY_NOTIFY_DELAY ;
  if (n == 5 && !strncasecmp(s, "NEVER", 5)) return FERRY_NOTIFY_NEVER ;
  return 0 ;
}

unsigned int ferry_dsn_notify (char const *value, size_t len)
{
  unsigned int bits = 0 ;
  while (len)
  {
    size_t k = 0 ;
    unsigned int b ;
    while (k < len && value[k] != ',') k++ ;
    b = word(value, k) ;
    if (!b) return 0 ;
    bits |= b ;
    if (k == len) break ;
    value += k + 1 ;
    len -= k + 1 ;
  }
  return bits ;
}

void ferry_dsn_notify_scan (char const *env, size_t len, unsigned char *bits, size_t n)
{
  size_t pos = 0, rcpt = 0, k ;
  char const *rec ;
  int inrcpt = 0 ;
  memset(bits, 0, n) ;
  while (ferry_envelope_next(env, len, &pos, &rec, &k) == 1)   /* a torn last record is ignored */
  {
    if (rec[0] == 'T') { if (inrcpt) rcpt++ ; inrcpt = 1 ; }
    else if (rec[0] == 'X' && inrcpt && rcpt < n && k > 7 && !strncasecmp(rec + 1, "NOTIFY=", 7))
      bits[rcpt] = ferry_dsn_notify(rec + 8, k - 8) ;
  }
}

int ferry_dsn_wants (unsigned int bits, char kind)
{
  if (!bits) bits = FERRY_NOTIFY_FAILURE | FERRY_NOTIFY_DELAY ;
  if (bits & FERRY_NOTIFY_NEVER) return 0 ;
  switch (kind)
  {
    case 'D' : return !!(bits & FERRY_NOTIFY_FAILURE) ;
    case 'Z' : return !!(bits & FERRY_NOTIFY_DELAY) ;
    case 'S' : return !!(bits & FERRY_NOTIFY_SUCCESS) ;
  }
  return 0 ;
}
