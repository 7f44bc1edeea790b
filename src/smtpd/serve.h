/* ferry-smtpd's one session from start to end (serve.c), the same under tcpserver and in a
   worker of the server mode: the settings read, the session run, its log line, all freed. */
#ifndef FERRY_SMTPD_SERVE_H
#define FERRY_SMTPD_SERVE_H

#include "secure.h"
#include "smtpd.h"

 /* What the command line says, the same for every session. */
typedef struct smtpd_opts_s smtpd_opts ;
struct smtpd_opts_s
{
  unsigned int maxrcpts ;
  unsigned int maxcommands ;
  unsigned int maxerrors ;
  unsigned int timeout ;
  unsigned int maxtime ;           /* seconds a whole session may take (-T) */
  int smtps ;                      /* TLS from the first byte (-s) */
  char const *const *authargv ;    /* the checkpassword program and its arguments, or 0 */
} ;
#define SMTPD_OPTS_ZERO { .maxrcpts = 100, .maxcommands = 1000, .maxerrors = 10, .timeout = 300, .maxtime = 3600, .smtps = 0, .authargv = 0 }

 /* What is known of one connection: tcpserver's environment, or accept() and the rules. */
typedef struct smtpd_conn_s smtpd_conn ;
struct smtpd_conn_s
{
  int fdin ;
  int fdout ;
  char const *remoteip ;       /* TCPREMOTEIP, or 0 */
  char const *remotehost ;     /* TCPREMOTEHOST, or 0 */
  char const *relayclient ;    /* RELAYCLIENT's value, or 0 when it is not set */
  char const *const *env ;     /* "NAME=value" tcpserver would have set, for the checkpassword program, or 0 */
} ;

 /* One session on c, the current directory the home: control/me, control/databytes and the
    recipient settings read, STARTTLS, SMTPS and AUTH set up through x (its TLS context kept
    there for the next session when keepctx), the session run, its log line. s and x are left
    at zero (but x's context when kept). 1: done; 0: the settings could not be read: the
    client got 421 4.3.0 and the log (fd 2) says why. */
extern int smtpd_serve (smtpd_session *s, smtpd_secure *x, int keepctx, smtpd_opts const *o, smtpd_conn const *c) ;

#endif
