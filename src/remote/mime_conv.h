/* The 7-bit conversion of a message for a peer: 8-bit body parts (for a peer without 8BITMIME)
   and parts with lines over 998 octets become quoted-printable (RFC 2045, RFC 6152, RFC 5321
   4.5.3.1.6). Two passes over the same bytes: a look that records each body region, then the
   conversion that follows what the look found. Both stream: any size, a line's first
   MIME_LBUF octets kept at most, and each header field being read. */
#ifndef FERRY_REMOTE_MIME_CONV_H
#define FERRY_REMOTE_MIME_CONV_H

#include <stddef.h>

#include <skalibs/stralloc.h>

#include <ferry/body.h>

#define MIME_LINE_MAX FERRY_BODY_LINE_MAX     /* octets in a line, CR LF not counted */
#define MIME_LBUF 1000        /* a line is kept this far: longer is too long, and no boundary */
#define MIME_DEPTH_MAX 32     /* nested multiparts followed; deeper ones are opaque */
#define MIME_BOUNDARY_MAX 70

 /* A body region: a leaf part's body, a multipart's preamble or epilogue. */
#define MIME_R_8BIT 1
#define MIME_R_LONG 2
#define MIME_R_ENCODABLE 4    /* a leaf part, neither message/ nor already encoded */

 /* What the look found: a flag byte per region, in order, and the headers' faults. */
typedef struct mime_look_s mime_look ;
struct mime_look_s
{
  stralloc regions ;
  int hdr8 ;
  int hdrlong ;
} ;
#define MIME_LOOK_ZERO { .regions = STRALLOC_ZERO, .hdr8 = 0, .hdrlong = 0 }

typedef struct mime_conv_s mime_conv ;
struct mime_conv_s
{
  mime_look *look ;
  int looking ;          /* 1: the look, fills look; 0: the conversion, reads it */
  int to7bit ;           /* the conversion: 8-bit data too, not only long lines */
  unsigned int nregions ;
  char line[MIME_LBUF] ;
  size_t linelen ;       /* octets of the line so far, its end not counted */
  int pendcr ;
  int spilled ;          /* the line outgrew line[]: its start went out as content */
  int inheader ;
  int toplevel ;
  int enc ;              /* the current region is encoded */
  unsigned int region ;
  stralloc field ;       /* the header field being read, its lines joined by \n */
  int multipart, message, encoded, hasmimever, hasct ;
  char bnd[MIME_BOUNDARY_MAX + 1] ;
  size_t bndlen ;
  char stack[MIME_DEPTH_MAX][MIME_BOUNDARY_MAX + 1] ;
  size_t stacklen[MIME_DEPTH_MAX] ;
  unsigned int depth ;
  unsigned int col ;     /* quoted-printable: octets on the output line */
  char pendws ;          /* quoted-printable: a space or tab that is encoded if it ends the line */
} ;
#define MIME_CONV_ZERO { .look = 0, .field = STRALLOC_ZERO }

 /* The look: look is filled (emptied first). */
extern void mime_look_start (mime_conv *m, mime_look *look) ;
 /* The conversion by what look found; to7bit for a peer without 8BITMIME. */
extern void mime_conv_start (mime_conv *m, mime_look *look, int to7bit) ;
 /* Bytes of the message; the conversion appends to out (lines end in LF). 0: out of memory. */
extern int mime_conv_feed (mime_conv *m, char const *s, size_t n, stralloc *out) ;
extern int mime_conv_end (mime_conv *m, stralloc *out) ;
extern void mime_conv_free (mime_conv *m) ;

 /* After the look: does the message need converting for this peer (1), can it not be (-1, *why
    is the reason, with its enhanced status code), or does it go as it is (0)? */
extern int mime_look_verdict (mime_look const *look, int to7bit, char const **why) ;

 /* The look over a whole file, read with pread from offset 0. 0: a read error (errno). */
extern int mime_look_fd (int fd, mime_look *look) ;

#endif
