/* control/smtproutes: static routes and a smarthost, as ferry-spawn-remote uses them and
   ferry-showctl checks them. */
#ifndef FERRY_ROUTE_H
#define FERRY_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

 /* control/smtproutes: domain:host[:port], .suffix:host[:port], :host[:port] (everything else),
    domain: (use DNS). host is a name or [address]. */
 /* Checks every line; returns 0 if all are good, else the number of the first bad line. */
extern unsigned int ferry_route_check (char const *routes, size_t len) ;
 /* The route of a lower-cased domain: 1 with host (terminated) and port, 0 for DNS. */
extern int ferry_route_find (char const *routes, size_t len, char const *domain, stralloc *host, uint16_t *port, uint16_t defport) ;

#endif
