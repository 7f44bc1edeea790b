/* ferry_dns_servers_csv: the servers of control/dnssecservers or control/dnsservers, for c-ares. */

#include <errno.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/control.h>
#include <ferry/dns_servers.h>

int ferry_dns_servers_join (stralloc *csv, char const *s, size_t n)
{
  size_t pos = 0 ;
  while (pos < n)
  {
    size_t k = pos, a, b ;
    while (k < n && s[k] != '\n') k++ ;
    a = pos ; b = k ;
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++ ;
    while (b > a && (s[b-1] == ' ' || s[b-1] == '\t' || s[b-1] == '\r')) b-- ;
    if (b > a && s[a] != '#')
      if ((csv->len && !stralloc_catb(csv, ",", 1)) || !stralloc_catb(csv, s + a, b - a)) return 0 ;
    pos = k + 1 ;
  }
  return 1 ;
}

 /* control/name's servers appended to csv: 1, 0 why set, -1 nomem */
static int servers_of (stralloc *csv, char const *name, stralloc *why)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = 1 ;
  if (ferry_control_readfile(&sa, name) < 0)
  {
    int e = errno ;
    why->len = 0 ;
    r = stralloc_cats(why, "unable to read control/") && stralloc_cats(why, name) && stralloc_cats(why, ": ")
      && stralloc_cats(why, strerror(e)) && stralloc_0(why) ? 0 : -1 ;
  }
  else if (!ferry_dns_servers_join(csv, sa.s, sa.len)) r = -1 ;
  stralloc_free(&sa) ;
  return r ;
}

int ferry_dns_servers_csv (stralloc *csv, stralloc *why)
{
  stralloc plain = STRALLOC_ZERO ;
  int r ;
  csv->len = 0 ;
  r = servers_of(csv, "dnssecservers", why) ;
  if (r > 0) r = servers_of(&plain, "dnsservers", why) ;
  if (r > 0)
  {
    if (csv->len && plain.len)
    {
      why->len = 0 ;
      r = stralloc_cats(why, "control/dnssecservers and control/dnsservers both have lines: "
        "with validating resolvers in dnssecservers, every lookup goes there and dnsservers must be empty") && stralloc_0(why) ? 0 : -1 ;
    }
    else if (csv->len) r = 2 ;
    else if (!stralloc_copyb(csv, plain.s, plain.len)) r = -1 ;
  }
  if (r > 0 && !stralloc_0(csv)) r = -1 ;
  stralloc_free(&plain) ;
  return r ;
}
