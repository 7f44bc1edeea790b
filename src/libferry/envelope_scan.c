/* ferry_envelope_scan: check an injection envelope record by record as it arrives. */

#include <skalibs/bytestr.h>

#include <ferry/envelope.h>

static int address_ok (char const *s, size_t n)
{
  for (; n ; n--, s++)
  {
    unsigned char c = *s ;
    if (c < 32 || c == 127) return 0 ;
  }
  return 1 ;
}

ferry_envelope_status ferry_envelope_scan (ferry_envelope_scanner *sc, char const *s, size_t len)
{
  while (sc->pos < len)
  {
    char const *rec = s + sc->pos ;
    size_t avail = len - sc->pos ;
    size_t n ;
    unsigned int bit ;
    if (!sc->level && rec[0] != 'F') return FERRY_ENVELOPE_NOSENDER ;
    if (!rec[0])
    {
      if (!sc->rcpts) return FERRY_ENVELOPE_NORECIPIENT ;
      sc->pos++ ;
      return FERRY_ENVELOPE_DONE ;
    }
    n = byte_chr(rec, avail, 0) ;
    if (n - 1 > FERRY_ADDRESS_MAX) return FERRY_ENVELOPE_TOOLONG ;
    if (n == avail) return FERRY_ENVELOPE_MORE ;
    switch (rec[0])
    {
      case 'F' :
        if (sc->level) return FERRY_ENVELOPE_TWOSENDERS ;
        if (!address_ok(rec + 1, n - 1)) return FERRY_ENVELOPE_BADCHAR ;
        sc->level = 'F' ;
        sc->seen = 0 ;
        break ;
      case 'T' :
        if (n == 1) return FERRY_ENVELOPE_EMPTYRCPT ;
        if (!address_ok(rec + 1, n - 1)) return FERRY_ENVELOPE_BADCHAR ;
        sc->level = 'T' ;
        sc->seen = 0 ;
        sc->rcpts++ ;
        break ;
      case 'X' :
        bit = ferry_dsn_check(rec + 1, n - 1, sc->level) ;
        if (!bit || (sc->seen & bit)) return FERRY_ENVELOPE_BADPARAM ;
        sc->seen |= bit ;
        break ;
      default : return FERRY_ENVELOPE_BADRECORD ;
    }
    sc->pos += n + 1 ;
  }
  return FERRY_ENVELOPE_MORE ;
}

char const *ferry_envelope_strstatus (ferry_envelope_status st)
{
  switch (st)
  {
    case FERRY_ENVELOPE_MORE : return "envelope ends before its terminating null byte" ;
    case FERRY_ENVELOPE_DONE : return "envelope complete" ;
    case FERRY_ENVELOPE_NOSENDER : return "envelope does not start with a sender (F) record" ;
    case FERRY_ENVELOPE_TWOSENDERS : return "envelope has a second sender (F) record" ;
    case FERRY_ENVELOPE_NORECIPIENT : return "envelope has no recipient (T) record" ;
    case FERRY_ENVELOPE_EMPTYRCPT : return "envelope has an empty recipient" ;
    case FERRY_ENVELOPE_TOOLONG : return "envelope has an address longer than 1000 bytes" ;
    case FERRY_ENVELOPE_BADCHAR : return "envelope has a control character in an address" ;
    case FERRY_ENVELOPE_BADRECORD : return "envelope has a record type other than F, T or X" ;
    case FERRY_ENVELOPE_BADPARAM : return "envelope has an invalid, misplaced or repeated X (DSN) parameter" ;
  }
  return "unknown envelope status" ;
}
