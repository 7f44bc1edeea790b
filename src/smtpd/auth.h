/* ferry-smtpd's AUTH (RFC 4954): the PLAIN (RFC 4616) and LOGIN exchanges, and the check of the
   credentials by a checkpassword program. The exchange is pure code (auth.c); running the
   program is apart (checkpassword.c). */
#ifndef FERRY_SMTPD_AUTH_H
#define FERRY_SMTPD_AUTH_H

#include <sys/types.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

 /* the longest AUTH command or response line a server must take (RFC 4954 4), without CRLF */
#define SMTPD_AUTH_LINE_MAX 12288
 /* the longest user name and password taken (decoded): longer ones fail as bad credentials */
#define SMTPD_AUTH_FIELD_MAX 1024
 /* failed AUTH commands in a session before 421 and the end of the connection */
#define SMTPD_AUTH_FAILURES 3

enum smtpd_auth_mech { SMTPD_AUTH_NONE, SMTPD_AUTH_PLAIN, SMTPD_AUTH_LOGIN } ;

typedef struct smtpd_auth_s smtpd_auth ;
struct smtpd_auth_s
{
  int mech ;              /* the exchange under way, or SMTPD_AUTH_NONE */
  int step ;              /* LOGIN: 0 the user name comes next, 1 the password */
  stralloc user ;         /* terminated once complete */
  stralloc pass ;         /* terminated once complete; wiped by smtpd_auth_clear */
  unsigned int failures ; /* failed AUTH commands in the session */
} ;
#define SMTPD_AUTH_ZERO { SMTPD_AUTH_NONE, 0, STRALLOC_ZERO, STRALLOC_ZERO, 0 }

 /* What smtpd_auth_begin and smtpd_auth_response say the session does next. */
enum smtpd_auth_next
{
  SMTPD_AUTH_NOMEM = -1,
  SMTPD_AUTH_CONTINUE,    /* send *reply (a 334 challenge) and read a response line for smtpd_auth_response */
  SMTPD_AUTH_CHECK,       /* a->user and a->pass are complete: check them (smtpd_auth_run), then smtpd_auth_result */
  SMTPD_AUTH_FAILED       /* send *reply (an error); the exchange is over and counted as a failure:
                             421 when smtpd_auth_exhausted, and the session then ends */
} ;

 /* The AUTH command's argument s[0..n) ("MECHANISM [initial-response]"), after the session checked
    that AUTH may run now (offered, TLS on, not yet authenticated, no transaction). reply is
    overwritten (a line without CRLF, not terminated). */
extern int smtpd_auth_begin (smtpd_auth *a, char const *s, size_t n, stralloc *reply) ;

 /* A response line s[0..n) (without CRLF) of the exchange under way. n > SMTPD_AUTH_LINE_MAX
    (the reader cut the line) fails with 500 5.5.6. */
extern int smtpd_auth_response (smtpd_auth *a, char const *s, size_t n, stralloc *reply) ;

 /* PLAIN's message (RFC 4616), the base64 b[0..n): "[authzid] NUL authcid NUL passwd" into user and
    pass (terminated). 1; 0 not base64 or not such a message (an authzid other than the authcid
    included: no one may act as someone else); -1 out of memory. */
extern int smtpd_auth_plain_decode (char const *b, size_t n, stralloc *user, stralloc *pass) ;

 /* The verdict of the check, as smtpd_auth_run gives it: the reply line into reply, the failure
    counted. 1 the client is authenticated (235); 0 not (535, 454); when failures reach
    SMTPD_AUTH_FAILURES the reply is 421 and the session ends: smtpd_auth_exhausted says so. The
    password is wiped. */
extern int smtpd_auth_result (smtpd_auth *a, int verdict, stralloc *reply) ;
extern int smtpd_auth_exhausted (smtpd_auth const *a) ;

 /* Wipes the password and forgets the exchange (the user name stays for the log). */
extern void smtpd_auth_clear (smtpd_auth *a) ;

 /* The user name for the log: printable ASCII only (others as ?), at most 64 bytes, into sa
    (appended, not terminated). 0: out of memory. */
extern int smtpd_auth_user_log (smtpd_auth const *a, stralloc *sa) ;

 /* Runs the checkpassword program argv (argv[0] a path, or a name found through PATH) with
    "user\0password\0\0" on its fd 3 (the timestamp empty: PLAIN and LOGIN have none), fds 0 and 1
    on /dev/null, fd 2 and the environment ferry-smtpd's with envp's "NAME=value" strings added
    (envp may be 0), waiting at most until deadline (then
    it is killed). 0 good (it exited 0), 1 bad (exit 1), 2 temporary (111, any other exit, a
    signal, the deadline, or it could not run): why (terminated) says which. */
extern int smtpd_auth_run (char const *const *argv, char const *const *envp, char const *user, char const *pass, tain const *deadline, stralloc *why) ;

#endif
