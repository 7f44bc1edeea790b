/* ferry-smtpd's STARTTLS (RFC 3207), SMTPS and AUTH (RFC 4954) as the session's hooks:
   secure.c sets them up and runs the commands, with tls_server.c and auth.c underneath. */
#ifndef FERRY_SMTPD_SECURE_H
#define FERRY_SMTPD_SECURE_H

#include <skalibs/stralloc.h>

#include "auth.h"
#include "smtpd.h"
#include "tls_server.h"

typedef struct smtpd_secure_s smtpd_secure ;
struct smtpd_secure_s
{
  smtpd_tls tls ;
  smtpd_auth auth ;
  char const *const *authargv ;   /* the checkpassword program and its arguments, or 0: no AUTH */
  stralloc reply ;
  stralloc why ;
  stralloc line ;
  stralloc user ;                 /* the authenticated user, for the log */
} ;
#define SMTPD_SECURE_ZERO { SMTPD_TLS_ZERO, SMTPD_AUTH_ZERO, 0, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO }

 /* Sets s's hooks: STARTTLS when control/smtpdcert and control/smtpdkey are there, readable and
    the key not readable by others (else the log says why, and STARTTLS is not offered): the
    files are loaded only when a client sends STARTTLS (454 4.7.0 and the log line when they do
    not load), and kept for the next sessions of the process. AUTH when authargv is given
    (offered once TLS is on). smtps: TLS from the first byte, the context loaded and the
    handshake done here before the greeting. 1: go on; 0: the connection ends (SMTPS without a
    certificate, or its handshake failed; logged). */
extern int smtpd_secure_init (smtpd_secure *x, smtpd_session *s, int smtps, char const *const *authargv) ;

 /* The end of the connection: close_notify, memory given back, the password wiped, x back to
    zero; keepctx: the TLS context (and its certificate's facts) stays for the next session. */
extern void smtpd_secure_end (smtpd_secure *x, int keepctx) ;

#endif
