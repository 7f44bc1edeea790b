/* The SMTP client session as one state machine: a state and an event (a reply, mostly) give the
   next state and an action for the connection code. It does no I/O: the commands it sends are
   appended to an output buffer, the results it decides are written into the delivery's view. */
#ifndef FERRY_SMTP_SESSION_H
#define FERRY_SMTP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include <ferry/frame.h>

#include "remote.h"

#define SMTP_TEXT_MAX 900     /* a result's text is cut there */
#define SMTP_HOST_MAX 320     /* "name[ip]:port" */

enum smtp_state
{
  SMTP_FREE,          /* no connection */
  SMTP_CONNECTING,    /* the TCP connection is being made */
  SMTP_GREETING,      /* waiting for the 220 */
  SMTP_EHLO,          /* EHLO sent */
  SMTP_HELO,          /* EHLO refused permanently: HELO sent */
  SMTP_STARTTLS,      /* STARTTLS sent */
  SMTP_HANDSHAKE,     /* the TLS handshake is under way (after STARTTLS, or from the first byte) */
  SMTP_AUTH,          /* AUTH sent (inside TLS): waiting for 235, or 334 for the next LOGIN step */
  SMTP_TRANS,         /* a transaction: RSET, MAIL, RCPT..., DATA sent as the plan says */
  SMTP_DATA,          /* 354: the message is going out */
  SMTP_DOT,           /* the end of the data went out: waiting for its reply */
  SMTP_IDLE           /* no delivery: kept for reuse */
} ;

enum smtp_event
{
  SMTP_EV_CONNECTED,  /* the TCP connection is made */
  SMTP_EV_REPLY,      /* a whole reply arrived */
  SMTP_EV_START,      /* a delivery is given to a connection that greeted, or to an idle one */
  SMTP_EV_BEGIN,      /* after SMTP_BEGIN: the caller decided the conversion, the transaction goes */
  SMTP_EV_CANCEL,     /* after SMTP_BEGIN: the message cannot go (the caller set the results) */
  SMTP_EV_DATA_SENT,  /* the whole message, its end included, was written */
  SMTP_EV_TLS_DONE    /* the TLS handshake succeeded (and the policy is met): tlsdesc and tlsverified set */
} ;

enum smtp_action
{
  SMTP_WAIT,          /* the commands (if any) are in the output: wait for replies */
  SMTP_BEGIN,         /* the transaction can go: decide the conversion, then step SMTP_EV_BEGIN or _CANCEL */
  SMTP_SEND_DATA,     /* send the message (then step SMTP_EV_DATA_SENT) */
  SMTP_DONE,          /* the delivery is done: the connection goes idle */
  SMTP_DONE_CLOSE,    /* the delivery is done: the connection is dropped */
  SMTP_FAIL,          /* the host failed the delivery (why, whymore): the next host */
  SMTP_CLOSE,         /* no delivery: drop the connection */
  SMTP_TLS_START      /* start the TLS handshake (the plain input left is dropped), then step SMTP_EV_TLS_DONE */
} ;

 /* What the session sees of a delivery. st: per recipient, 0 open, 'A' accepted by RCPT, 'K'
    'Z' 'H' 'D' final, each with its text (the status byte first). Made again before each step. */
typedef struct smtp_txn_s smtp_txn ;
struct smtp_txn_s
{
  char const *sender ;
  char const *const *rcpt ;
  unsigned int nrcpt ;
  char *st ;
  stralloc *text ;
  stralloc *lasterr ;
  uint64_t size ;
  int eightbit ;
  int utf8 ;
  int requiretls ;        /* the message asks for REQUIRETLS (RFC 8689): verified TLS and a host that offers it */
} ;

enum { SMTP_TLS_NO, SMTP_TLS_MAY, SMTP_TLS_MUST } ;

typedef struct smtp_session_s smtp_session ;
struct smtp_session_s
{
  enum smtp_state state ;
  int pipelining, eightbitmime, smtputf8, hassize ;
  int requiretls_offered ;   /* REQUIRETLS in the last EHLO */
  uint64_t sizemax ;     /* with hassize: the peer's limit, 0 for none */
  char plan[FERRY_REQUEST_RCPT_MAX + 10] ;       /* the transaction: R RSET, M MAIL, T RCPT, D DATA, . end, X ignored */
  unsigned int planrcpt[FERRY_REQUEST_RCPT_MAX + 10] ;
  unsigned int nplan, sent, replied ;
  int reused ;
  int mailok ;
  unsigned int accepted ;
  int toomany ;           /* a RCPT was refused as one too many: the open recipients go in another transaction */
  int hasdeliv ;          /* a delivery is on the connection */
  char host[SMTP_HOST_MAX] ;   /* the peer as texts name it */
  /* TLS and AUTH: what the policy asks (set by the caller after smtp_session_connect), what the
     peer offers, what was done */
  int tlswant ;           /* SMTP_TLS_NO, _MAY or _MUST */
  int implicit ;          /* TLS from the first byte (port 465) */
  char const *policy ;    /* the policy as the texts name it: "control/tlspolicy: encrypt", "dane: TLSA records of ..." */
  int starttls, authplain, authlogin ;   /* offered in the last EHLO */
  int tls ;               /* the connection is inside TLS */
  int tlsmissing ;        /* TLS was wanted and the host does not offer STARTTLS */
  int rtlsrefused ;       /* SMTP_FAIL because the host cannot take a REQUIRETLS message */
  int tlsverified ;       /* set by the connection code with tlsdesc: its TLS was verified as a policy
                             requires it (DANE, MTA-STS enforce, control/tlspolicy verify or secure);
                             0 from smtp_session_connect */
  int hascreds ;          /* credentials for this route: AUTH inside TLS */
  char credhost[256] ;    /* the route's host they are for, for the texts */
  int authed ;
  unsigned int authstep ;  /* LOGIN's answers sent (user, then password); PLAIN sends its one at once: 2 */
  stralloc authplain64, authuser64, authpass64 ;   /* PLAIN's initial response; LOGIN's two answers */
  char tlsdesc[200] ;     /* " over TLSv1.3 (cipher, certificate verified)", or empty */
  char const *why ;       /* with SMTP_FAIL */
  char const *whymore ;
  stralloc whybuf ;
} ;

 /* A new connection: to the host named host, SMTP_GREETING once it is made. */
extern void smtp_session_connect (smtp_session *s, char const *host) ;

 /* The transition function: state + event (+ reply) -> next state and action. helo is the
    name to greet with; commands are appended to out. */
extern enum smtp_action smtp_session_step (smtp_session *s, enum smtp_event ev, smtp_reply const *r, smtp_txn *t, stralloc const *helo, stralloc *out) ;

 /* A result for recipient i, or for every one still without a final result (dies if out of memory). */
extern void smtp_txn_set (smtp_txn *t, unsigned int i, char status, char const *s, size_t n) ;
extern void smtp_txn_all (smtp_txn *t, char status, char const *s, size_t n) ;

#endif
