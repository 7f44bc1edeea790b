/* ferry-smtpd's pieces: the command parser (parse.c), the DATA and BDAT transform (data.c), the
   I/O layer (io.c), the session (session.c), the recipient checks (rcpt.c), the Received: line
   (received.c), the message (message.c). */
#ifndef FERRY_SMTPD_H
#define FERRY_SMTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <ferry/local_resolve.h>

#define SMTPD_LINE_MAX 512        /* a command line, its CRLF included (RFC 5321 4.5.3.1.4) */
#define SMTPD_TEXTLINE_MAX 1000   /* a text line, its CRLF included (RFC 5321 4.5.3.1.6) */


 /* The command parser (parse.c). */

enum smtpd_verb_e
{
  SMTPD_UNKNOWN = 0,
  SMTPD_HELO, SMTPD_EHLO, SMTPD_MAIL, SMTPD_RCPT, SMTPD_DATA, SMTPD_BDAT, SMTPD_RSET,
  SMTPD_NOOP, SMTPD_QUIT, SMTPD_VRFY, SMTPD_EXPN, SMTPD_HELP, SMTPD_STARTTLS, SMTPD_AUTH
} ;

typedef struct smtpd_command_s smtpd_command ;
struct smtpd_command_s
{
  unsigned int verb ;    /* enum smtpd_verb_e */
  char const *arg ;      /* what follows the verb and its spaces, trailing spaces removed */
  size_t arglen ;
} ;

 /* Splits a command line (without its line end) into verb and argument. A verb must be followed
    by a space or end the line; any other line is SMTPD_UNKNOWN. */
extern void smtpd_command_parse (char const *line, size_t len, smtpd_command *c) ;

 /* The reverse-path of MAIL (prefix "FROM:") or the forward-path of RCPT ("TO:"), from arg (the
    command's argument): the prefix in any case, spaces allowed after it, then <path> (a path
    without brackets is taken up to the first space). The address goes into addr in its plain
    form (quotes and backslashes of a quoted local part removed, a source route dropped), not
    terminated; *params is the offset in arg of the parameters after it. Returns 0, or the reply
    for what is wrong ("501 5.1.7 ..."). An empty path <> is accepted (the caller decides). */
extern char const *smtpd_path_parse (char const *arg, size_t len, char const *prefix, stralloc *addr, size_t *params) ;

typedef struct smtpd_param_s smtpd_param ;
struct smtpd_param_s
{
  char const *key ;
  size_t keylen ;
  char const *value ;    /* 0: no =value */
  size_t valuelen ;
} ;

 /* The next ESMTP parameter (keyword[=value]) of s[*pos..len), spaces skipped. 1: p filled and
    *pos past it; 0: no more; -1: malformed (a bad keyword or value). */
extern int smtpd_param_next (char const *s, size_t len, size_t *pos, smtpd_param *p) ;

 /* BDAT's argument: "size" or "size LAST" (any case). 1 and *size, *last; 0 if malformed. */
extern int smtpd_bdat_parse (char const *arg, size_t len, uint64_t *size, int *last) ;

 /* Is the address 7-bit (no byte of 128 or more)? */
extern int smtpd_ascii (char const *s, size_t n) ;


 /* The transform of a message's bytes as the client sends them into the message as the queue
    keeps it (data.c): CRLF becomes LF; for DATA, a leading dot is removed and CRLF.CRLF ends the
    message. Only CRLF ends a line: a bare LF or a bare CR is kept as it is and flagged, and the
    session refuses such a message (no smuggled end of data: doc/ferry-smtpd.html). */

#define SMTPD_DATA_BARELF 0x01
#define SMTPD_DATA_BARECR 0x02
#define SMTPD_DATA_NUL 0x04
#define SMTPD_DATA_LONGLINE 0x08    /* a line over 998 octets, its CRLF not counted */
#define SMTPD_DATA_8BIT 0x10

typedef struct smtpd_data_s smtpd_data ;
struct smtpd_data_s
{
  unsigned char state ;
  unsigned char flags ;
  size_t linelen ;
} ;
#define SMTPD_DATA_ZERO { .state = 0, .flags = 0, .linelen = 0 }

 /* DATA: transforms in[0..n) into out up to the end of the message. Returns the bytes consumed;
    *done is set when they include the final CRLF.CRLF (the bytes after it are not consumed).
    0 only on running out of memory (n > 0). */
extern size_t smtpd_data_dot (smtpd_data *d, char const *in, size_t n, stralloc *out, int *done) ;

 /* BDAT: transforms a chunk's bytes (no dot and no end marker). 0 on running out of memory. */
extern int smtpd_data_chunk (smtpd_data *d, char const *in, size_t n, stralloc *out) ;

 /* The end of a BDAT message: a CR left pending is bare. 0 on running out of memory. */
extern int smtpd_data_chunk_end (smtpd_data *d, stralloc *out) ;


 /* The I/O layer (io.c): buffered reading with a deadline and buffered writing, through a
    transport that is the plain descriptors at first and that STARTTLS swaps for TLS; the session
    never touches a descriptor. */

typedef struct smtpd_transport_s smtpd_transport ;
struct smtpd_transport_s
{
   /* Each returns the bytes moved (> 0), 0 at end of input (recv), or -1 with errno; EAGAIN
      means wait, for the output descriptor writable when *wantwrite is set, else for the input
      descriptor readable. */
  ssize_t (*recv) (void *ctx, char *s, size_t n, int *wantwrite) ;
  ssize_t (*send) (void *ctx, char const *s, size_t n, int *wantwrite) ;
   /* bytes the transport already holds for recv (TLS records decoded), or 0; may be null */
  size_t (*pending) (void *ctx) ;
  void *ctx ;
} ;

#define SMTPD_IO_INSIZE 8192

typedef struct smtpd_io_s smtpd_io ;
struct smtpd_io_s
{
  int fdin ;
  int fdout ;
  smtpd_transport t ;
  char in[SMTPD_IO_INSIZE] ;
  size_t inpos ;
  size_t inlen ;
  stralloc out ;
  unsigned int timeout ;     /* seconds each wait may take */
  tain end ;                 /* the session's deadline: no wait goes past it */
  int timedout ;             /* a wait reached its deadline (errno was ETIMEDOUT) */
} ;

 /* Plain descriptors fdin and fdout (made non-blocking), a timeout per wait, the session's end. */
extern void smtpd_io_init (smtpd_io *io, int fdin, int fdout, unsigned int timeout, tain const *end) ;
 /* From now on, bytes go through t (STARTTLS); what was buffered from the client is dropped. */
extern void smtpd_io_transport (smtpd_io *io, smtpd_transport const *t) ;
 /* Drops the input read but not yet used (pipelined after STARTTLS, for one). */
extern void smtpd_io_discard (smtpd_io *io) ;
 /* Bytes of input read and not yet used, the transport's included. */
extern size_t smtpd_io_buffered (smtpd_io const *io) ;

 /* Waits until fd is readable (or writable) within the deadline: 1, or 0 with errno
    (ETIMEDOUT at the deadline). For transports. */
extern int smtpd_io_wait (smtpd_io *io, int fd, int wantwrite) ;

 /* One line: 1 and the line in sa (without its LF, nor a CR before it), or 2 when it was longer
    than max bytes (its line end included; the rest of it is read and dropped, sa empty); 0 at
    end of input (a last line without LF is dropped); -1 on error (errno; io->timedout). */
extern int smtpd_io_getline (smtpd_io *io, stralloc *sa, size_t max) ;

 /* The input bytes buffered (reading more first when there are none): 1 with *s and *n, 0 at
    end of input, -1 on error. smtpd_io_consume then says how many were used. */
extern int smtpd_io_peek (smtpd_io *io, char const **s, size_t *n) ;
extern void smtpd_io_consume (smtpd_io *io, size_t n) ;

 /* Buffered output; smtpd_io_flush writes it all within the deadline: 1, or 0 (errno). */
extern int smtpd_io_put (smtpd_io *io, char const *s, size_t n) ;
extern int smtpd_io_puts (smtpd_io *io, char const *s) ;
extern int smtpd_io_flush (smtpd_io *io) ;


 /* The recipient checks (rcpt.c): who may relay, and whether a local recipient exists. */

typedef struct smtpd_rcpt_s smtpd_rcpt ;
struct smtpd_rcpt_s
{
  ferry_local_ctx local ;    /* control/locals, virtualdomains, mailboxes.cdb, the users */
  stralloc relaydomains ;    /* control/relaydomains, lower-cased */
  char const *relayclient ;  /* RELAYCLIENT's value, or 0 when it is not set */
  int relay ;                /* this client may relay: RELAYCLIENT set, or AUTH succeeded */
} ;
#define SMTPD_RCPT_ZERO { .local = FERRY_LOCAL_CTX_ZERO, .relaydomains = STRALLOC_ZERO, .relayclient = 0, .relay = 0 }

 /* Reads the settings (the current directory is the home). 1, or 0 with the reason in err. */
extern int smtpd_rcpt_load (smtpd_rcpt *r, stralloc *err) ;

 /* Decides a recipient (addr, terminated): 'K' accepted; 'D' refused for good or 'Z' for now,
    with the whole reply ("550 5.7.1 ...") in reply and, for 'Z', the reason for the log in why. */
extern char smtpd_rcpt_check (smtpd_rcpt *r, char const *addr, stralloc *reply, stralloc *why) ;

 /* Is the lower-cased domain d[0..n) in a list like control/relaydomains (a line "example.com"
    is that domain, ".example.com" any domain under it)? */
extern int smtpd_domain_listed (stralloc const *list, char const *d, size_t n) ;


 /* The Received: line (received.c). */

typedef struct smtpd_received_s smtpd_received ;
struct smtpd_received_s
{
  char const *helo ;         /* as the client gave it, or 0 */
  char const *remotehost ;   /* TCPREMOTEHOST, or 0 */
  char const *remoteip ;     /* TCPREMOTEIP, or 0 */
  char const *me ;
  char const *protocol ;     /* SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA */
  char const *tlsversion ;   /* 0 without TLS */
  char const *tlscipher ;
  char const *rcpt ;         /* the one recipient, or 0 when there are several */
  time_t when ;
} ;

 /* Appends the Received: field, folded, ending in LF. 0 on running out of memory. */
extern int smtpd_received_fmt (stralloc *sa, smtpd_received const *r) ;

 /* Appends s with every byte that is not printable ASCII, and every character that would
    break the field's syntax ("()[]\\"), replaced with '?', at most max bytes. */
extern int smtpd_received_clean (stralloc *sa, char const *s, size_t max) ;


 /* The session (session.c: the commands and their replies; message.c: DATA, BDAT and the
    message's way into the queue). */

typedef struct smtpd_config_s smtpd_config ;
struct smtpd_config_s
{
  char const *me ;               /* control/me: the greeting, EHLO, the Received: line */
  uint64_t databytes ;           /* control/databytes; 0: no limit */
  unsigned int maxrcpts ;        /* recipients per message (-r) */
  unsigned int maxcommands ;     /* commands without a message queued (-c) */
  unsigned int maxerrors ;       /* refused commands before 421 (-e) */
  unsigned int timeout ;         /* seconds each wait for the client may take (-t) */
  char const *remoteip ;         /* TCPREMOTEIP */
  char const *remotehost ;       /* TCPREMOTEHOST */
  char const *const *authargv ;  /* the checkpassword program and its arguments, or 0 */
  char const *const *authenv ;   /* "NAME=value" for its environment (the server mode's TCP variables), or 0 */
} ;

typedef struct smtpd_session_s smtpd_session ;
struct smtpd_session_s
{
  smtpd_config const *cfg ;
  smtpd_io io ;
  smtpd_rcpt rcpt ;
  stralloc line ;
  stralloc helo ;
  int greeted ;              /* 0: no HELO or EHLO yet; 1: HELO; 2: EHLO */
  int quit ;
  char const *ended ;        /* why the session ended, for its log line */

   /* the transaction */
  int inmail ;
  int utf8 ;                 /* MAIL said SMTPUTF8 */
  stralloc sender ;
  stralloc env ;             /* the envelope for ferry-inject, without its final null byte */
  stralloc rcpts ;           /* the accepted recipients, each null-terminated */
  unsigned int nrcpts ;
  int bdat ;                 /* a BDAT message has started */
  char const *bdatfail ;     /* the reply every BDAT gets after one failed, until LAST or RSET */
  smtpd_data data ;
  stralloc msg ;             /* the Received: line, then the message as the queue keeps it */
  int toobig ;               /* past databytes: the rest is read and dropped */
  uint64_t octets ;          /* of the message, as the client sent them */

  unsigned int commands ;
  unsigned int unqueued ;        /* commands since the last message queued: held to maxcommands */
  unsigned int errors ;
  unsigned int queued ;
  unsigned int refused ;
  stralloc scratch ;

   /* STARTTLS and AUTH: what their layer sets and calls. A hook runs the whole command (its
      replies through smtpd_session_reply) and returns 1, or 0 when the session must end. */
  int tls ;                  /* the connection is inside TLS: the protocol gets its S */
  char const *tlsversion ;   /* for the Received: line and the log, or 0 */
  char const *tlscipher ;
  int authenticated ;        /* AUTH succeeded: the protocol gets its A (and rcpt.relay is set) */
  char const *authuser ;     /* for the log, or 0 */
  int (*starttls) (smtpd_session *s, smtpd_command const *c) ;   /* 0: STARTTLS not offered */
  int (*auth) (smtpd_session *s, smtpd_command const *c) ;       /* 0: AUTH not offered */
  char const *authmechs ;    /* "PLAIN LOGIN": AUTH is offered now (0: not now) */
  void *ext ;                /* the TLS and AUTH layer's own state */
} ;

 /* A session from zero, reading the client on fdin and writing to it on fdout, with these
    settings; the recipient settings must be loaded into s->rcpt (smtpd_rcpt_load) before
    smtpd_session_run. */
extern void smtpd_session_init (smtpd_session *s, smtpd_config const *cfg, int fdin, int fdout, tain const *end) ;

 /* Gives back all the session's memory and sets it to zero: nothing of it reaches the next. */
extern void smtpd_session_free (smtpd_session *s) ;

 /* The greeting, then commands until QUIT, end of input, a timeout or a limit. */
extern void smtpd_session_run (smtpd_session *s) ;

 /* One reply line ("250 2.0.0 ok", without CRLF), buffered; a 5xx counts as an error. */
extern void smtpd_session_reply (smtpd_session *s, char const *text) ;

 /* The EHLO reply's lines after the first, each null-terminated, into sa: the one place the
    extensions are listed (STARTTLS and AUTH when their hooks offer them). */
extern int smtpd_ehlo_caps (smtpd_session const *s, stralloc *sa) ;

 /* Forgets the transaction (RSET, HELO, EHLO, the end of a message). */
extern void smtpd_session_reset (smtpd_session *s) ;

 /* After STARTTLS: back to the state of a new connection (RFC 3207 4.2): no HELO, no
    transaction, no buffered input. */
extern void smtpd_session_restart (smtpd_session *s) ;

 /* "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" (RFC 3848). */
extern char const *smtpd_protocol (smtpd_session const *s) ;

 /* A log line on fd 2: "ferry-smtpd: info: " and text. */
extern void smtpd_log (char const *text) ;

 /* "host[ip]" of the client, into sa (appended). */
extern int smtpd_client_cat (smtpd_session const *s, stralloc *sa) ;

 /* message.c: DATA and BDAT, each with its replies. 1: go on; 0: the session ends (the client
    left or timed out mid-message: nothing is queued). */
extern int smtpd_message_data (smtpd_session *s, smtpd_command const *c) ;
extern int smtpd_message_bdat (smtpd_session *s, smtpd_command const *c) ;

#endif
