/* Delivery status notifications: the NOTIFY parameter, xtext, and the bounce records of
   queue/bounce/ (doc/queue.html) that ferry-schedule writes and ferry-bounce-build reads. */
#ifndef FERRY_DSN_H
#define FERRY_DSN_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#define FERRY_NOTIFY_SUCCESS 1
#define FERRY_NOTIFY_FAILURE 2
#define FERRY_NOTIFY_DELAY 4
#define FERRY_NOTIFY_NEVER 8

 /* The bits of a NOTIFY value ("SUCCESS,DELAY", "NEVER"), case-insensitive; 0 for garbage. */
extern unsigned int ferry_dsn_notify (char const *value, size_t len) ;

 /* Fills bits[i] with the NOTIFY bits of the recipient of envelope index i (0: none given), for
    every i < n, from a stored envelope (doc/queue.html). */
extern void ferry_dsn_notify_scan (char const *env, size_t len, unsigned char *bits, size_t n) ;

 /* Does a recipient with these NOTIFY bits (0: not given, meaning FAILURE,DELAY as RFC 3461
    allows) get a notification of this kind: 'D' failure, 'Z' delay, 'S' success? */
extern int ferry_dsn_wants (unsigned int bits, char kind) ;

 /* Appends the decoding of the xtext s[0..n) (RFC 3461 section 4) to sa; 0 if it is not valid
    xtext or memory runs out. */
extern int ferry_xtext_decode (stralloc *sa, char const *s, size_t n) ;

 /* One record of queue/bounce/ID or queue/bounce/ID.delay:
    kind, channel, 8 hex envelope index, 16 hex time, then recipient\0 text\0 */
#define FERRY_BOUNCE_HEAD 26

typedef struct ferry_bounce_record_s ferry_bounce_record ;
struct ferry_bounce_record_s
{
  char kind ;           /* D failed, S delivered (NOTIFY=SUCCESS), Z delayed */
  char channel ;        /* L local, R remote */
  uint32_t index ;      /* the recipient's envelope index */
  uint64_t when ;       /* the attempt, seconds since the Epoch */
  char const *rcpt ;
  char const *text ;    /* the channel's text (doc/protocols.html) */
} ;

extern int ferry_bounce_record_cat (stralloc *sa, ferry_bounce_record const *r) ;

 /* Takes the record at *pos of s[0..len) into r and moves *pos past it: 1. At the end: 0. A
    malformed or truncated record (a crash while appending): -1, and *pos is left alone. */
extern int ferry_bounce_record_take (char const *s, size_t len, size_t *pos, ferry_bounce_record *r) ;

#endif
