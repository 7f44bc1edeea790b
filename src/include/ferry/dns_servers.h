/* control/dnsservers and control/dnssecservers: where the remote channel and its helpers send
   their DNS queries. */
#ifndef FERRY_DNS_SERVERS_H
#define FERRY_DNS_SERVERS_H

#include <skalibs/stralloc.h>

 /* The servers as c-ares' ares_set_servers_ports_csv takes them, in csv (overwritten; empty, not
    terminated, for /etc/resolv.conf; else terminated, csv->len counting the 0); *dnssec = 1 when
    they are control/dnssecservers (validating resolvers whose AD bit is trusted), else 0.
    1: good; 0: why says what is wrong (terminated); -1: out of memory. Reads the files of the
    current directory (the home). */
extern int ferry_dns_servers_csv (stralloc *csv, int *dnssec, stralloc *why) ;

#endif
