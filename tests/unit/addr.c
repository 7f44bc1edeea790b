/* Unit tests of the domain of an address (ferry/addr.h): after the last '@', lower-cased on
   request, none for an address without one, and a domain over 255 octets refused. */

#include <string.h>

#include <ferry/addr.h>

#include "unit.h"

int main (void)
{
  char dom[FERRY_DOMAIN_MAX + 1], big[300] ;
  CHECK(!strcmp(ferry_addr_domain("bob@Example.ORG"), "Example.ORG"), "the part after the '@'") ;
  CHECK(!strcmp(ferry_addr_domain("\"a@b\"@c.test"), "c.test"), "after the last '@', not a quoted one") ;
  CHECK(!strcmp(ferry_addr_domain("postmaster"), ""), "no '@': no domain") ;
  CHECK(ferry_addr_domain_lower(dom, "bob@Example.ORG") == 11 && !strcmp(dom, "example.org"), "lower case: %s", dom) ;
  CHECK(!ferry_addr_domain_lower(dom, "postmaster"), "no domain: 0") ;
  CHECK(!ferry_addr_domain_lower(dom, "bob@"), "an empty domain: 0") ;
  memset(big, 'a', sizeof(big)) ;
  big[0] = '@' ;
  big[256] = 0 ;
  CHECK(ferry_addr_domain_lower(dom, big) == 255, "255 octets: taken") ;
  big[256] = 'a' ; big[257] = 0 ;
  CHECK(!ferry_addr_domain_lower(dom, big), "256 octets: refused") ;
  return UNIT_END() ;
}
