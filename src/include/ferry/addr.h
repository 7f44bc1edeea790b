/* The domain of an address: the one rule every program uses to tell it (the part after the last
   '@'), so that the queue manager, the remote channel, preparation and the hand tools agree. */
#ifndef FERRY_ADDR_H
#define FERRY_ADDR_H

#include <stddef.h>

#define FERRY_DOMAIN_MAX 255

 /* The domain of addr, pointing into it; "" when it has no '@'. */
extern char const *ferry_addr_domain (char const *addr) ;

 /* The domain of addr in lower case, into dom (FERRY_DOMAIN_MAX + 1 bytes, null-terminated): its
    length; 0 when addr has no domain or a longer one than FERRY_DOMAIN_MAX. */
extern size_t ferry_addr_domain_lower (char *dom, char const *addr) ;

#endif
