/* Fuzz target: control/smtproutes as ferry-spawn-remote and ferry-showctl read it (ferry_route_check,
   ferry_route_find). Property: a file ferry_route_check accepts answers every lookup with a host or DNS,
   and a found host is a terminated string no longer than the file. */

#include <ferry/route.h>

#include "fuzz.h"

static char const *const domains[] = { "example.org", "mx.example.org", "a.b.c.example.org", "x", "", "localhost", 0 } ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  stralloc host = STRALLOC_ZERO ;
  char dom[64] ;
  size_t i, n = 0 ;
  unsigned int bad = ferry_route_check(s, size) ;
  /* a domain taken from the file itself, up to its first colon, lower-cased */
  for (i = 0 ; i < size && n < sizeof dom - 1 && s[i] != ':' && s[i] != '\n' ; i++)
    dom[n++] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i] ;
  dom[n] = 0 ;
  if (!bad)
  {
    for (i = 0 ; domains[i] ; i++)
    {
      uint16_t port = 0 ;
      host.len = 0 ;
      if (ferry_route_find(s, size, domains[i], &host, &port, 25)) FUZZ_ASSERT(host.len && host.s[host.len - 1] == 0 && host.len <= size + 1 && port) ;
    }
    if (!memchr(dom, 0, n))
    {
      uint16_t port = 0 ;
      host.len = 0 ;
      if (ferry_route_find(s, size, dom, &host, &port, 25)) FUZZ_ASSERT(host.len && host.s[host.len - 1] == 0) ;
    }
  }
  stralloc_free(&host) ;
  free(s) ;
  return 0 ;
}
