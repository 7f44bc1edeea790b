/* SMTP TLS reporting (RFC 8460): the TXT record of _smtp._tls.DOMAIN, as ferry-tlsrpt reads it.
   Pure code: no globals, no I/O. */
#ifndef FERRY_TLSRPT_H
#define FERRY_TLSRPT_H

#include <stddef.h>

#include <skalibs/stralloc.h>

 /* One TXT record's text s[0..n) (its strings joined), "v=TLSRPTv1; rua=URI[,URI...]" (RFC 8460
    3): fields separated by ";", blanks (space, tab) allowed around ";" and ",", a final ";"
    allowed; v first and exactly so (case counts); rua= once; other fields name=value, kept
    to their syntax and ignored. A URI has a scheme (any: the caller picks mailto: and https:),
    something after its colon, and only the characters of RFC 3986 but "," ";" and "!"
    (which must be percent-escaped there), every "%" followed by two hex digits.
    1: a TLSRPTv1 record with a rua list, its URIs appended to rua as written (escapes left),
    each terminated; 0: not a TLSRPT record (it does not start with v=TLSRPTv1 then a blank,
    ";" or its end); -1: a TLSRPTv1 record that is malformed; -2: out of memory. On 0, -1 and
    -2, rua is as it was. */
extern int ferry_tlsrpt_txt (char const *s, size_t n, stralloc *rua) ;

#endif
