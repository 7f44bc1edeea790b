/* The remote channel's pieces that can be tested alone: SMTP replies, the DATA transform. */
#ifndef FERRY_REMOTE_H
#define FERRY_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#define SMTP_LINE_MAX 2048    /* a reply line longer than this is a protocol error */
#define SMTP_LINES_MAX 100    /* so is a reply of more lines */

 /* One SMTP reply, possibly multi-line: code, and the lines as received (CR LF removed), joined by \n. */
typedef struct smtp_reply_s smtp_reply ;
struct smtp_reply_s
{
  unsigned int code ;
  unsigned int lines ;
  stralloc text ;
} ;
#define SMTP_REPLY_ZERO { .code = 0, .lines = 0, .text = STRALLOC_ZERO }

 /* Takes complete lines from s[0..len). 1: a whole reply is in r (*used bytes consumed);
    0: more bytes needed (*used bytes consumed, the lines so far kept in r);
    -1: not SMTP (why says what), the connection is to be dropped. */
extern int smtp_reply_parse (smtp_reply *r, char const *s, size_t len, size_t *used, char const **why) ;
extern void smtp_reply_reset (smtp_reply *r) ;

 /* The text of a reply on one line ("250-a / 250 b"), at most max bytes, appended to sa. */
extern int smtp_reply_oneline (smtp_reply const *r, stralloc *sa, size_t max) ;

 /* Does the reply say the host is throttling (doc/protocols.html, "!throttle"): a 421, or a 4xx
    whose enhanced code is 4.7.x or 4.2.1 (a 450, 451 or 452 with none) and whose text says
    "too many" or "rate" (in any case)? */
extern int smtp_reply_throttling (smtp_reply const *r) ;

 /* Is the EHLO keyword (case-insensitive) in the reply? Its parameter (after a space) into param. */
extern int smtp_ehlo_has (smtp_reply const *r, char const *keyword, char const **param, size_t *paramlen) ;

 /* Is the SASL mechanism (case-insensitive) among the AUTH keyword's parameters p[0..n)? */
extern int smtp_auth_offers (char const *p, size_t n, char const *mech) ;

 /* The DATA transform: LF to CRLF (CRLF kept), a dot doubled at line start. */
typedef struct smtp_data_s smtp_data ;
struct smtp_data_s
{
  int atstart ;
  int lastcr ;
} ;
#define SMTP_DATA_ZERO { .atstart = 1, .lastcr = 0 }
extern int smtp_data_transform (smtp_data *st, char const *s, size_t n, stralloc *out) ;
 /* The end: CRLF if the message does not end with a line end, then ".\r\n". */
extern int smtp_data_finish (smtp_data *st, stralloc *out) ;

#endif
