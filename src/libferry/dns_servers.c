/* ferry_dns_servers_csv: control/dnssecservers, else control/dnsservers, as one csv line. */

#include <errno.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/control.h>
#include <ferry/dns_servers.h>

 /* The lines of control/NAME that are not blank or comments, joined by commas onto csv.
    1 good, 0 unreadable (why), -1 out of memory. */
static int servers_read (char const *name, stralloc *csv, stralloc *why)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t pos = 0 ;
  int r = 1 ;
  if (ferry_control_readfile(&sa, name) < 0)
  {
    int e = errno ;
    stralloc_free(&sa) ;
    return stralloc_cats(why, "unable to read control/") && stralloc_cats(why, name) && stralloc_cats(why, ": ")
      && stralloc_cats(why, strerror(e)) && stralloc_0(why) ? 0 : -1 ;
  }
  while (pos < sa.len)
  {
    size_t k = pos, a = pos, b ;
    while (k < sa.len && sa.s[k] != '\n') k++ ;
    b = k ;
    while (a < b && (sa.s[a] == ' ' || sa.s[a] == '\t')) a++ ;
    while (b > a && (sa.s[b-1] == ' ' || sa.s[b-1] == '\t' || sa.s[b-1] == '\r')) b-- ;
    if (b > a && sa.s[a] != '#')
      if ((csv->len && !stralloc_catb(csv, ",", 1)) || !stralloc_catb(csv, sa.s + a, b - a)) { r = -1 ; break ; }
    pos = k + 1 ;
  }
  stralloc_free(&sa) ;
  return r ;
}

int ferry_dns_servers_csv (stralloc *csv, int *dnssec, stralloc *why)
{
  stralloc plain = STRALLOC_ZERO ;
  int r ;
  csv->len = 0 ;
  why->len = 0 ;
  r = servers_read("dnssecservers", csv, why) ;
  if (r <= 0) return r ;
  r = servers_read("dnsservers", &plain, why) ;
  if (r > 0 && csv->len && plain.len)
    r = stralloc_cats(why, "control/dnssecservers and control/dnsservers both name servers: the validating resolvers of dnssecservers answer every lookup, empty dnsservers") && stralloc_0(why) ? 0 : -1 ;
  if (r > 0)
  {
    *dnssec = !!csv->len ;
    if (!csv->len && !stralloc_copyb(csv, plain.s, plain.len)) r = -1 ;
    if (r > 0 && csv->len && !stralloc_0(csv)) r = -1 ;
  }
  stralloc_free(&plain) ;
  return r ;
}
