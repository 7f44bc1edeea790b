/* The server mode's reading of tcprules(1)'s cdb (control/smtpd.cdb), as tcpserver reads it:
   the rule of the client's address, else of shorter and shorter prefixes of it, else the empty
   rule; a rule is deny, or allow with environment variables (RELAYCLIENT, TCPREMOTEHOST...). */
#ifndef FERRY_SMTPD_RULES_H
#define FERRY_SMTPD_RULES_H

#include <skalibs/stralloc.h>

 /* The decision for the client ip (text, as TCPREMOTEIP) in the cdb file: 1 allow, with the
    rule's variables in vars ("NAME=value\0" each, replacing what it held); 0 deny; -1 the file
    could not be read (errno). For IPv4 the prefixes end with a dot ("10.1.", "10."), for IPv6
    with a colon; a host name rule (=host) never applies: the server mode looks up no name. No
    rule at all is allow with no variables. */
extern int smtpd_rules_find (char const *file, char const *ip, stralloc *vars) ;

 /* The value of the variable name in vars, or 0 when the rule does not set it. */
extern char const *smtpd_rules_var (stralloc const *vars, char const *name) ;

#endif
