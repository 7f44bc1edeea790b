/* ferry_body_scan_feed, ferry_body_scan_end: a message's body facts from its bytes, as they are
   written. A line's length counts its octets up to the LF, a CR just before the LF not counted;
   the last line, without an LF, is judged the same way (a CR that ends the file not counted). */

#include <ferry/body.h>

void ferry_body_scan_feed (ferry_body_scan *sc, char const *s, size_t n)
{
  size_t i = 0 ;
  for (; i < n ; i++)
  {
    unsigned char c = s[i] ;
    if (c == '\n')
    {
      sc->lf++ ;
      if (sc->linelen - sc->lastcr > FERRY_BODY_LINE_MAX) sc->longline = 1 ;
      sc->linelen = 0 ;
    }
    else
    {
      if (c >= 128) sc->eightbit = 1 ;
      sc->linelen++ ;
    }
    sc->lastcr = c == '\r' ;
  }
  sc->bytes += n ;
}

void ferry_body_scan_end (ferry_body_scan const *sc, ferry_body *b)
{
  b->wire = sc->bytes + sc->lf ;
  b->eightbit = sc->eightbit ;
  b->longline = sc->longline || sc->linelen - sc->lastcr > FERRY_BODY_LINE_MAX ;
}
