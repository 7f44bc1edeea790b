/* ferry-bounce-build's parts: reading a channel's text as DSN fields, and composing the
   multipart/report of RFC 3464 and RFC 6522. */
#ifndef FERRY_BOUNCE_BOUNCE_H
#define FERRY_BOUNCE_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

 /* What a channel's text (doc/protocols.html) says in DSN terms. */
typedef struct dsn_diag_s dsn_diag ;
struct dsn_diag_s
{
  char status[12] ;       /* the enhanced status code of RFC 3463, e.g. "5.1.1" */
  char const *mta ;       /* the remote host that answered, or 0 */
  size_t mtalen ;
  char const *reply ;     /* its SMTP reply, or 0 */
  size_t replylen ;
} ;

 /* kind: 'D' failed, 'Z' delayed, 'S' delivered or relayed; the status's class agrees with it. */
extern void dsn_diag_parse (dsn_diag *d, char const *text, char kind) ;

typedef struct bounce_rcpt_s bounce_rcpt ;
struct bounce_rcpt_s
{
  char kind ;
  char channel ;          /* L, R */
  uint64_t when ;         /* the last attempt, or 0 */
  char const *addr ;
  char const *text ;
  char const *orcpt ;     /* ORCPT, decoded ("rfc822;bob@example.org"), or 0 */
} ;

typedef struct bounce_report_s bounce_report ;
struct bounce_report_s
{
  char kind ;             /* D, Z, S */
  int doublebounce ;      /* a failure of a notification, to the postmaster */
  uint64_t id ;
  char const *name ;      /* the message's name (ferry/msgname.h), or 0: the id alone */
  uint64_t birth ;
  uint64_t retryuntil ;   /* for delays: the end of the queue lifetime, or 0 */
  uint64_t now ;
  char const *me ;
  char const *from ;      /* bouncefrom@bouncehost */
  char const *to ;
  char const *sender ;    /* the original message's */
  char const *envid ;     /* decoded, or 0 */
  int utf8 ;              /* SMTPUTF8: message/global-* parts */
  int headersonly ;       /* return the header, not the whole message */
  char const *why ;       /* why only the header, for the text; or 0 */
  char const *mess ;      /* the message, or 0 when it is gone */
  size_t messlen ;
  bounce_rcpt const *rcpts ;
  unsigned int n ;
} ;

 /* The whole notification into sa. *eightbit tells whether it needs BODY=8BITMIME. */
extern int bounce_report_compose (stralloc *sa, bounce_report const *b, int *eightbit) ;

 /* The length of the message's header section, the blank line included; len if it has none. */
extern size_t bounce_header_len (char const *s, size_t len) ;

#endif
