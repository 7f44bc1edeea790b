/* The injection envelope: F<sender>\0, T<recipient>\0 ..., \0, with ferry's X records. */
#ifndef FERRY_ENVELOPE_H
#define FERRY_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <ferry/body.h>

#define FERRY_ADDRESS_MAX 1000

typedef enum ferry_envelope_status_e ferry_envelope_status ;
enum ferry_envelope_status_e
{
  FERRY_ENVELOPE_MORE = 0,     /* no terminator yet: feed more bytes */
  FERRY_ENVELOPE_DONE,         /* complete: pos is its length, terminator included */
  FERRY_ENVELOPE_NOSENDER,     /* the first record is not F */
  FERRY_ENVELOPE_TWOSENDERS,   /* a second F record */
  FERRY_ENVELOPE_NORECIPIENT,  /* terminated before any T record */
  FERRY_ENVELOPE_EMPTYRCPT,    /* a T record with an empty address */
  FERRY_ENVELOPE_TOOLONG,      /* an address or parameter longer than FERRY_ADDRESS_MAX */
  FERRY_ENVELOPE_BADCHAR,      /* a control character in an address */
  FERRY_ENVELOPE_BADRECORD,    /* a record type that clients may not send */
  FERRY_ENVELOPE_BADPARAM      /* an X record that is not a valid DSN parameter here */
} ;

typedef struct ferry_envelope_scanner_s ferry_envelope_scanner ;
struct ferry_envelope_scanner_s
{
  size_t pos ;          /* start of the first record not yet checked */
  size_t rcpts ;        /* T records seen */
  unsigned int seen ;   /* X keywords seen at the current level (bit per keyword) */
  char level ;          /* 0 before F, 'F' after it, 'T' after a T */
} ;
#define FERRY_ENVELOPE_SCANNER_ZERO { .pos = 0, .rcpts = 0, .seen = 0, .level = 0 }

 /* Checks the complete records of s[0..len) not yet checked. Call again with the same
    scanner and the grown buffer until it returns something other than MORE. */
extern ferry_envelope_status ferry_envelope_scan (ferry_envelope_scanner *sc, char const *s, size_t len) ;
extern char const *ferry_envelope_strstatus (ferry_envelope_status st) ;

 /* Is "KEYWORD=value" (or "KEYWORD") a valid DSN parameter at this level ('F' for the
    sender, 'T' for a recipient)? Returns its bit (for duplicate checks), or 0. */
extern unsigned int ferry_dsn_check (char const *s, size_t len, char level) ;

 /* The record of a stored envelope (queue/intd/N, queue/todo/N) at *pos. 1: *rec is the record, null-terminated
    within s, *reclen its length, *pos past it; 0: the final empty record (*pos past it); -1: torn,
    no null byte before len (or nothing left and no final empty record). Never reads past len. */
extern int ferry_envelope_next (char const *s, size_t len, size_t *pos, char const **rec, size_t *reclen) ;

 /* The number of T records (recipients) of a stored envelope, a torn last one not counted. */
extern size_t ferry_envelope_rcpts (char const *s, size_t len) ;

 /* The birth time (t record, 0 if none) and the sender (the first F record, pointing into s) of
    a stored envelope. 0, or what is wrong with it: torn, no sender, a bad birth time. */
extern char const *ferry_envelope_head (char const *s, size_t len, uint64_t *birth, char const **sender) ;

 /* The body facts of a stored envelope: its w and b records (before F, doc/queue.html) into *b.
    1 if both are there and good; 0 if not (an envelope written before the injector kept them),
    *b then partly set or untouched. */
extern int ferry_envelope_body (char const *s, size_t len, ferry_body *b) ;

 /* Does the stored envelope's message ask for REQUIRETLS (an XREQUIRETLS record after F, before
    the first T)? 1 if so, else 0. */
extern int ferry_envelope_requiretls (char const *s, size_t len) ;

 /* Checks a stored envelope whole, as ferry-preprocess-todo takes it from queue/todo/: u, p and t
    records holding numbers, at most one good w and one good b record, then a client envelope
    that ferry_envelope_scan finds complete and valid, and nothing after it. 0 and *fpos at the F record, or what is wrong. An envelope that
    passes also passes ferry_envelope_head. */
extern char const *ferry_envelope_stored_check (char const *s, size_t len, size_t *fpos) ;

#endif
