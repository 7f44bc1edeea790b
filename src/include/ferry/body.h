/* What the injector learns of a message as it writes it (its body facts), the envelope records
   that keep them (w, b: doc/queue.html) and the request fields that carry them to the channels. */
#ifndef FERRY_BODY_H
#define FERRY_BODY_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#define FERRY_BODY_LINE_MAX 998   /* octets in a line, its CR LF not counted (RFC 5322 2.1.1) */

typedef struct ferry_body_s ferry_body ;
struct ferry_body_s
{
  uint64_t wire ;               /* octets on the wire: the message's bytes and a CR for each LF */
  unsigned int eightbit : 1 ;   /* a byte of 128 or more */
  unsigned int longline : 1 ;   /* a line over FERRY_BODY_LINE_MAX octets, the last one too */
} ;
#define FERRY_BODY_ZERO { .wire = 0, .eightbit = 0, .longline = 0 }

typedef struct ferry_body_scan_s ferry_body_scan ;
struct ferry_body_scan_s
{
  uint64_t bytes ;
  uint64_t lf ;
  uint64_t linelen ;            /* octets of the current line so far, a CR in it counted */
  unsigned int lastcr : 1 ;     /* the last byte fed was a CR */
  unsigned int eightbit : 1 ;
  unsigned int longline : 1 ;
} ;
#define FERRY_BODY_SCAN_ZERO { .bytes = 0, .lf = 0, .linelen = 0, .lastcr = 0, .eightbit = 0, .longline = 0 }

 /* Feed every byte of the message file, in order, in chunks of any size; then end. */
extern void ferry_body_scan_feed (ferry_body_scan *sc, char const *s, size_t n) ;
extern void ferry_body_scan_end (ferry_body_scan const *sc, ferry_body *b) ;

 /* Appends the two records (or request fields) w<wire>\0 and b7\0 or b8\0, with L before the
    null byte when a line is too long. 0: out of memory. */
extern int ferry_body_records_cat (stralloc *sa, ferry_body const *b) ;

 /* One record (or field) s of n bytes, its null byte not counted: a good w record sets b->wire
    and returns 'w', a good b record sets the two bits and returns 'b'; 0 if it is neither. */
extern int ferry_body_record_scan (char const *s, size_t n, ferry_body *b) ;

#endif
