/* Unit tests of the envelope scanner and the DSN parameter checks. */

#include <string.h>

#include <ferry/envelope.h>

#include "unit.h"

#define E(lit) lit, sizeof(lit) - 1

static ferry_envelope_status whole (char const *s, size_t n, size_t *pos)
{
  ferry_envelope_scanner sc = FERRY_ENVELOPE_SCANNER_ZERO ;
  ferry_envelope_status st = ferry_envelope_scan(&sc, s, n) ;
  if (pos) *pos = sc.pos ;
  return st ;
}

 /* The same bytes fed one at a time must give the same verdict. */
static ferry_envelope_status bytewise (char const *s, size_t n)
{
  ferry_envelope_scanner sc = FERRY_ENVELOPE_SCANNER_ZERO ;
  ferry_envelope_status st = FERRY_ENVELOPE_MORE ;
  size_t i ;
  for (i = 1 ; i <= n && st == FERRY_ENVELOPE_MORE ; i++) st = ferry_envelope_scan(&sc, s, i) ;
  return st ;
}

static void both (char const *s, size_t n, ferry_envelope_status want, char const *what)
{
  ferry_envelope_status a = whole(s, n, 0), b = bytewise(s, n) ;
  CHECK(a == want, "%s: whole gives %s", what, ferry_envelope_strstatus(a)) ;
  CHECK(b == want, "%s: byte by byte gives %s", what, ferry_envelope_strstatus(b)) ;
}

int main (void)
{
  char buf[3000] ;
  size_t pos ;

  both(E("Fa@b\0Tc@d\0\0"), FERRY_ENVELOPE_DONE, "simple") ;
  CHECK(whole(E("Fa@b\0Tc@d\0\0"), &pos) == FERRY_ENVELOPE_DONE && pos == 11, "length %zu", pos) ;
  CHECK(whole(E("Fa@b\0Tc@d\0\0trailing"), &pos) == FERRY_ENVELOPE_DONE && pos == 11, "stops at the terminator: %zu", pos) ;
  both(E("F\0Tc@d\0Te@f\0\0"), FERRY_ENVELOPE_DONE, "null sender, two recipients") ;
  both(E("Fa\0Tc\0"), FERRY_ENVELOPE_MORE, "no terminator") ;
  both(E(""), FERRY_ENVELOPE_MORE, "nothing") ;
  both(E("\0"), FERRY_ENVELOPE_NOSENDER, "terminator only") ;
  both(E("Tc\0\0"), FERRY_ENVELOPE_NOSENDER, "recipient first") ;
  both(E("Fa\0\0"), FERRY_ENVELOPE_NORECIPIENT, "no recipient") ;
  both(E("Fa\0T\0\0"), FERRY_ENVELOPE_EMPTYRCPT, "empty recipient") ;
  both(E("Fa\0Fb\0Tc\0\0"), FERRY_ENVELOPE_TWOSENDERS, "two senders") ;
  both(E("Fa\0Zb\0Tc\0\0"), FERRY_ENVELOPE_BADRECORD, "unknown record") ;
  both(E("Fa\0Tc\tx\0\0"), FERRY_ENVELOPE_BADCHAR, "tab in recipient") ;
  both(E("Fa\x7f\0Tc\0\0"), FERRY_ENVELOPE_BADCHAR, "DEL in sender") ;
  both(E("Fa\0T\xc3\xa9@x\0\0"), FERRY_ENVELOPE_DONE, "UTF-8 recipient") ;

  memset(buf, 'a', sizeof(buf)) ;
  buf[0] = 'F' ; buf[1001] = 0 ; memcpy(buf + 1002, "Tc\0", 4) ;
  both(buf, 1006, FERRY_ENVELOPE_DONE, "1000-byte sender") ;
  buf[1001] = 'a' ; buf[1002] = 0 ;
  both(buf, 1003, FERRY_ENVELOPE_TOOLONG, "1001-byte sender") ;
  both(buf, 1500, FERRY_ENVELOPE_TOOLONG, "unterminated long sender is refused before its end") ;

  both(E("Fa\0XRET=HDRS\0XENVID=x+2By\0XBODY=8bitmime\0XSMTPUTF8\0XREQUIRETLS\0Tc\0XNOTIFY=success,failure\0XORCPT=rfc822;c@d\0\0"), FERRY_ENVELOPE_DONE, "every DSN parameter") ;
  both(E("Fa\0Tc\0XNOTIFY=DELAY\0Td\0XNOTIFY=NEVER\0\0"), FERRY_ENVELOPE_DONE, "NOTIFY per recipient") ;
  both(E("Fa\0XRET=FULL\0XRET=HDRS\0Tc\0\0"), FERRY_ENVELOPE_BADPARAM, "RET twice") ;
  both(E("Fa\0XRET\0Tc\0\0"), FERRY_ENVELOPE_BADPARAM, "RET without value") ;
  both(E("Fa\0XSMTPUTF8=yes\0Tc\0\0"), FERRY_ENVELOPE_BADPARAM, "SMTPUTF8 with a value") ;
  both(E("Fa\0XrequireTLS\0Tc\0\0"), FERRY_ENVELOPE_DONE, "REQUIRETLS, any case") ;
  both(E("Fa\0XREQUIRETLS=yes\0Tc\0\0"), FERRY_ENVELOPE_BADPARAM, "REQUIRETLS with a value") ;
  both(E("Fa\0XREQUIRETLS\0XREQUIRETLS\0Tc\0\0"), FERRY_ENVELOPE_BADPARAM, "REQUIRETLS twice") ;
  both(E("Fa\0Tc\0XREQUIRETLS\0\0"), FERRY_ENVELOPE_BADPARAM, "REQUIRETLS after a recipient") ;
  both(E("Fa\0XFOO=bar\0Tc\0\0"), FERRY_ENVELOPE_BADPARAM, "unknown keyword") ;
  both(E("Fa\0Tc\0XRET=FULL\0\0"), FERRY_ENVELOPE_BADPARAM, "RET after a recipient") ;

  CHECK(ferry_dsn_check(E("ENVID=abc"), 'F'), "ENVID") ;
  CHECK(!ferry_dsn_check(E("ENVID="), 'F'), "empty ENVID") ;
  CHECK(!ferry_dsn_check(E("ENVID=a=b"), 'F'), "= in xtext") ;
  CHECK(!ferry_dsn_check(E("ENVID=a+2"), 'F'), "cut +XX") ;
  CHECK(!ferry_dsn_check(E("ENVID=a+2b"), 'F'), "lower-case hex in +XX") ;
  CHECK(!ferry_dsn_check(E("ENVID=a b"), 'F'), "space in xtext") ;
  memset(buf, 'x', 200) ; memcpy(buf, "ENVID=", 6) ;
  CHECK(ferry_dsn_check(buf, 106, 'F'), "100-char ENVID") ;
  CHECK(!ferry_dsn_check(buf, 107, 'F'), "101-char ENVID") ;
  CHECK(!ferry_dsn_check(E("NOTIFY=SUCCESS,"), 'T'), "trailing comma") ;
  CHECK(!ferry_dsn_check(E("NOTIFY=SUCCESS,SUCCESS"), 'T'), "repeated NOTIFY value") ;
  CHECK(!ferry_dsn_check(E("NOTIFY="), 'T'), "empty NOTIFY") ;
  CHECK(ferry_dsn_check(E("ORCPT=utf-8;b@c"), 'T'), "ORCPT utf-8") ;
  CHECK(!ferry_dsn_check(E("ORCPT=;b@c"), 'T'), "ORCPT empty type") ;
  CHECK(!ferry_dsn_check(E("ORCPT=rfc822;"), 'T'), "ORCPT empty address") ;
  CHECK(ferry_dsn_check(E("RET=FULL"), 'F') != ferry_dsn_check(E("ENVID=x"), 'F'), "distinct bits") ;
  CHECK(ferry_dsn_check(E("REQUIRETLS"), 'F') && ferry_dsn_check(E("REQUIRETLS"), 'F') != ferry_dsn_check(E("SMTPUTF8"), 'F'), "REQUIRETLS has its own bit") ;
  CHECK(!ferry_dsn_check(E("REQUIRETLS"), 'T'), "REQUIRETLS is the message's, not a recipient's") ;

  /* the queue manager's question of a stored envelope */
  CHECK(ferry_envelope_requiretls(E("u1\0p2\0t3\0w5\0b7\0Fa\0XRET=HDRS\0XrequireTLS\0Tc\0\0")), "XREQUIRETLS after F") ;
  CHECK(!ferry_envelope_requiretls(E("u1\0p2\0t3\0Fa\0XRET=HDRS\0Tc\0\0")), "no XREQUIRETLS") ;
  CHECK(!ferry_envelope_requiretls(E("Fa\0Tc\0XREQUIRETLS\0\0")), "after a T it is not the message's") ;
  CHECK(!ferry_envelope_requiretls(E("Fa\0XREQUIRETLSX\0Tc\0\0")), "a longer keyword") ;
  CHECK(!ferry_envelope_requiretls(E("Fa\0XREQUIRETLS")), "torn before its null byte") ;
  return UNIT_END() ;
}
