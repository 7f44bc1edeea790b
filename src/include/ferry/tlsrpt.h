/* TLS-RPT (RFC 8460): the TXT record of _smtp._tls.DOMAIN. Pure code: no globals, no I/O. */
#ifndef FERRY_TLSRPT_H
#define FERRY_TLSRPT_H

#include <stddef.h>

#include <skalibs/stralloc.h>

 /* A TXT RR's text (its strings joined) for _smtp._tls.DOMAIN: 1 = v=TLSRPTv1 with a rua= list:
    the URIs appended to rua, each NUL-terminated (mailto: and https: kept as written,
    percent-escapes left); 0 = not a TLSRPT record; -1 malformed (rua as it was). */
extern int ferry_tlsrpt_txt (char const *s, size_t n, stralloc *rua) ;

#endif
