/* The DNS servers of the remote channel and of ferry-mtasts-fetch: control/dnssecservers
   (validating resolvers, whose AD bit is trusted) when it has lines, else control/dnsservers,
   else the system's /etc/resolv.conf. */
#ifndef FERRY_DNS_SERVERS_H
#define FERRY_DNS_SERVERS_H

#include <stddef.h>

#include <skalibs/stralloc.h>

 /* The lines of such a file (ip, ip:port or [ip6]:port; blanks around them, empty lines and #
    lines skipped) appended to csv as c-ares's comma-separated list (not terminated). 1, or 0
    out of memory. */
extern int ferry_dns_servers_csv (char const *s, size_t n, stralloc *csv) ;

 /* Both files, from the home (the current directory): csv = the list for c-ares
    (ares_set_servers_ports_csv), terminated, csv->len counting the 0 (csv->len == 1: no server
    given, /etc/resolv.conf's are used); *dnssec = 1 when the list is control/dnssecservers'.
    1 good; 0 why (terminated): a file is unreadable, or control/dnsservers has lines while
    control/dnssecservers has some too; -1 out of memory. Whether c-ares takes each address is
    for the caller to see, who names the file (*dnssec). */
extern int ferry_dns_servers (stralloc *csv, int *dnssec, stralloc *why) ;

#endif
