/* Netstring frames with null-terminated fields: the protocol between the programs. */
#ifndef FERRY_FRAME_H
#define FERRY_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include <ferry/body.h>

#define FERRY_FRAME_MAX (16 << 20)

 /* Looks for one complete frame at s[*pos..len).
    1: found, payload at s[*start..*start+*plen), *pos moved past the comma;
    0: incomplete, feed more bytes; -1: broken frame, *pos moved past the next comma (or to len);
    -2: frame longer than FERRY_FRAME_MAX: *plen is its length, *pos moved past as much of it as is here
    (call ferry_frame_skip with the rest). */
extern int ferry_frame_take (char const *s, size_t len, size_t *pos, size_t *start, size_t *plen) ;

 /* Reads what fd 0 (non-blocking) has onto in (dies 111 if memory runs out): 1 read, or nothing
    there yet; 0 end of input; -1 error (errno). Taking the frames is the caller's. */
extern int ferry_frame_input (stralloc *in) ;

 /* Appends "LEN:" to sa, and remembers where the payload starts; ferry_frame_end closes it. */
extern int ferry_frame_begin (stralloc *sa, size_t *mark) ;
extern int ferry_frame_end (stralloc *sa, size_t mark) ;

 /* Appends a field: s (n bytes, any null or control byte made a space), then a null byte. */
extern int ferry_field_cat (stralloc *sa, char const *s, size_t n) ;
extern int ferry_field_cats (stralloc *sa, char const *s) ;
extern int ferry_field_catu64 (stralloc *sa, uint64_t u) ;

 /* Splits a payload into its fields: at most max pointers into p (which must end with a null byte).
    Returns the number of fields; -1 if p does not end with a null byte, -2 if there are more than max. */
extern int ferry_fields_split (char const *p, size_t n, char const **fields, unsigned int max) ;

 /* The most recipients in one delivery request (doc/protocols.html): ferry-schedule makes
    batches of at most this many, ferry-spawn-remote refuses a request of more. */
#define FERRY_REQUEST_RCPT_MAX 1000

 /* A delivery request (doc/protocols.html), checked: delivery\0id\0wWIRE\0b7|b8[L][T]\0sender\0rcpt\0...
    Returns 0 if good, else the reason; num is the delivery number when it could be read, else 0. */
typedef struct ferry_request_s ferry_request ;
struct ferry_request_s
{
  char const *num ;
  uint64_t id ;
  uint64_t wire ;          /* the message's body facts, as its injector found them (ferry/body.h) */
  int eightbit ;
  int longline ;
  int requiretls ;         /* T after the b field: the message asks for REQUIRETLS (RFC 8689) */
  char const *sender ;
  char const *rcpt ;       /* the first recipient; the others follow, each after the previous null */
  unsigned int nrcpt ;
} ;
extern char const *ferry_request_check (char const *p, size_t n, ferry_request *r, char *numbuf) ;

 /* A request's two body fields: the envelope's w and b records (ferry_body_records_cat), T added
    to the b one when requiretls. 0: out of memory. */
extern int ferry_request_facts_cat (stralloc *sa, ferry_body const *b, int requiretls) ;

 /* An answer frame: num, then one field per result (a status byte and its text), appended to out. */
extern int ferry_answer_cat (stralloc *out, char const *num, stralloc const *results, unsigned int n) ;

 /* An answer payload as the queue manager takes it (it must end with a null byte, as frames do).
    ferry_answer_head: 1 with the delivery number and the offset of the first result; 0 if it
    is not an answer. ferry_answer_results: want results into res, pointers into p: one per
    recipient in request order, or, when the count differs (a refused request's single Z), the
    first for all. A result whose status byte is not K, D, Z or H becomes FERRY_ANSWER_INVALID. */
#define FERRY_ANSWER_INVALID "Zthe channel gave no valid result"
extern int ferry_answer_head (char const *p, size_t n, uint64_t *num, size_t *first) ;
extern void ferry_answer_results (char const *p, size_t n, size_t first, char const **res, unsigned int want) ;

#endif
