/* ferry_dns_servers, ferry_dns_servers_csv: control/dnssecservers or control/dnsservers as
   c-ares's list of servers. */

#include <errno.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/control.h>
#include <ferry/dns_servers.h>

int ferry_dns_servers_csv (char const *s, size_t n, stralloc *csv)
{
  size_t pos = 0, start = csv->len ;
  while (pos < n)
  {
    size_t k = pos, a, b ;
    while (k < n && s[k] != '\n') k++ ;
    a = pos ; b = k ;
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++ ;
    while (b > a && (s[b-1] == ' ' || s[b-1] == '\t' || s[b-1] == '\r')) b-- ;
    if (b > a && s[a] != '#')
      if ((csv->len > start && !stralloc_catb(csv, ",", 1)) || !stralloc_catb(csv, s + a, b - a)) return 0 ;
    pos = k + 1 ;
  }
  return 1 ;
}

static int unreadable (stralloc *why, char const *name)
{
  int e = errno ;
  why->len = 0 ;
  return stralloc_cats(why, "unable to read control/") && stralloc_cats(why, name) && stralloc_cats(why, ": ")
    && stralloc_cats(why, strerror(e)) && stralloc_0(why) ? 0 : -1 ;
}

int ferry_dns_servers (stralloc *csv, int *dnssec, stralloc *why)
{
  stralloc sa = STRALLOC_ZERO, plain = STRALLOC_ZERO ;
  int r = -1 ;
  csv->len = 0 ;
  if (ferry_control_readfile(&sa, "dnssecservers") < 0) { r = unreadable(why, "dnssecservers") ; goto end ; }
  if (!ferry_dns_servers_csv(sa.s, sa.len, csv)) goto end ;
  if (ferry_control_readfile(&sa, "dnsservers") < 0) { r = unreadable(why, "dnsservers") ; goto end ; }
  if (!ferry_dns_servers_csv(sa.s, sa.len, &plain)) goto end ;
  *dnssec = !!csv->len ;
  if (csv->len && plain.len)
  {
    why->len = 0 ;
    r = stralloc_cats(why, "control/dnsservers must be empty when control/dnssecservers has lines: every lookup goes to the validating resolvers") && stralloc_0(why) ? 0 : -1 ;
    goto end ;
  }
  if (!csv->len && !stralloc_catb(csv, plain.s, plain.len)) goto end ;
  r = stralloc_0(csv) ? 1 : -1 ;
 end:
  stralloc_free(&sa) ;
  stralloc_free(&plain) ;
  return r ;
}
