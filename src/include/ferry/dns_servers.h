/* The DNS servers of a home's lookups: control/dnssecservers (validating resolvers, whose AD bit
   is trusted), else control/dnsservers, else those of /etc/resolv.conf. */
#ifndef FERRY_DNS_SERVERS_H
#define FERRY_DNS_SERVERS_H

#include <stddef.h>

#include <skalibs/stralloc.h>

 /* The lines of a servers file (ip, ip:port or [ip6]:port each; blanks around them trimmed,
    empty lines and # lines skipped) joined by commas, appended to csv, not terminated.
    1, or 0 out of memory. */
extern int ferry_dns_servers_join (stralloc *csv, char const *s, size_t n) ;

 /* In the home (the current directory): the list for ares_set_servers_ports_csv into csv
    (overwritten, terminated; "" when neither file has a line: /etc/resolv.conf's servers).
    2: from control/dnssecservers (ask for the AD bit and trust it); 1: from control/dnsservers,
    or empty; 0: why (overwritten, terminated) says what is wrong (a file that cannot be read, or
    lines in both); -1: out of memory. */
extern int ferry_dns_servers_csv (stralloc *csv, stralloc *why) ;

#endif
