/* control/tlspolicy: the TLS level (and the names a certificate must match) of each destination,
   as ferry-spawn-remote reads it. Pure code: no globals, no I/O. */
#ifndef FERRY_TLS_POLICY_H
#define FERRY_TLS_POLICY_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/* In order of strength (dane-only requires TLS as encrypt does, and more): */
enum tls_level { TLS_NONE, TLS_MAY, TLS_DANE, TLS_ENCRYPT, TLS_DANE_ONLY, TLS_VERIFY, TLS_SECURE } ;

 /* One line: "key level [match=NAME[:NAME...]]"; key is *, a domain, .domain (its subdomains)
    or [host] (a route's host, as control/smtproutes gives it, brackets of an address dropped).
    Keys and levels are compared case-insensitively; # lines, blank lines and, after the key, a
    field starting with # (a comment to the end of the line) are ignored. */

 /* 1: every line is good; 0: why = "control/tlspolicy:LINE: reason" (terminated, the first bad
    line); -1: out of memory. */
extern int tls_policy_check (char const *table, size_t len, stralloc *why) ;

 /* The level of a destination domain (lower or upper case), reached through the route host
    routehost (0 for none): the line of [routehost], else of domain, else of the nearest .parent,
    else of *; none: may. match is overwritten with the colon-separated names a certificate must
    match, terminated (match->len counts the 0): for secure, those of match=, or by default
    "domain:.domain" (a [routehost] line: the route host); for the other levels, "" alone.
    1: a line was found, 0: the default (may), -1: out of memory. Lines that do not parse are
    skipped: check the table first. */
extern int tls_policy_find (char const *table, size_t len, char const *domain, char const *routehost, enum tls_level *level, stralloc *match) ;

 /* "none", "may", "dane", "encrypt", "dane-only", "verify", "secure"; "unknown" for anything else. */
extern char const *tls_level_name (enum tls_level) ;

#endif
