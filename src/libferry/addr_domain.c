/* ferry_addr_domain, ferry_addr_domain_lower: the domain of an address. */

#include <string.h>

#include <ferry/addr.h>

char const *ferry_addr_domain (char const *addr)
{
  char const *at = strrchr(addr, '@') ;
  return at ? at + 1 : "" ;
}

size_t ferry_addr_domain_lower (char *dom, char const *addr)
{
  char const *d = ferry_addr_domain(addr) ;
  size_t n = strlen(d), i ;
  if (!n || n > FERRY_DOMAIN_MAX) return 0 ;
  for (i = 0 ; i < n ; i++) dom[i] = d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 32 : d[i] ;
  dom[n] = 0 ;
  return n ;
}
