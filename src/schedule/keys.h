/* ferry-schedule's shaping keys: what the remote channel's table groups destinations under (a
   domain, route:HOST, site:NAME), each with its limits, its deliveries out, its token bucket, its
   day's count, its adaptive state and the recipients its limits hold (parked, in the order they
   came). Found by name in constant time. And the domains whose key the channel told (!shape),
   kept apart from the destinations, which go when idle: a domain comes back to its key at once.
   A domain alone with no limit of its own has no key entry: its destination is all it needs
   (the path without a table costs what it did before keys). */
#ifndef FERRY_SCHEDULE_KEYS_H
#define FERRY_SCHEDULE_KEYS_H

#include <stdint.h>

#include <ferry/shaping.h>

#include "idring.h"
#include "namehash.h"
#include "shape.h"
#include "timeheap.h"

enum { RESULT_SUCCESS, RESULT_DEFERRAL, RESULT_FAILURE } ;

typedef struct key_s key ;
struct key_s
{
  char *name ;                  /* lower case; 0: a free slot */
  ferry_shaping lim ;           /* the table's settings; all 0 for a domain alone */
  unsigned int conn ;           /* while lowered: the effective connections */
  uint64_t rate ;               /* while lowered: the effective rate, per lim.rateunit */
  bucket tb ;                   /* the effective rate's bucket (interval 0: no rate) */
  unsigned int inflight ;       /* deliveries out under it */
  unsigned int refs ;           /* destinations and domains that name it */
  idring parked ;               /* recipients (the scheduler's indices) held by its limits */
  uint64_t day, daysent ;       /* a shaping day, and the messages sent under it that day */
  uint64_t nextstep ;           /* while lowered: the next step up (monotonic nanoseconds) */
  unsigned int epoch ;          /* lowerings so far */
  persec sent ;                 /* messages sent, for the measured rate */
  uint64_t results[3] ;         /* its recipients' results (RESULT_*) */
  uint64_t throttles ;          /* throttling replies */
  unsigned int tabled : 1 ;     /* a line of the channel's table */
  unsigned int suspended : 1 ;
  unsigned int lowered : 1 ;
  unsigned int waking : 1 ;     /* on the wake list */
} ;

typedef struct keytable_s keytable ;
struct keytable_s
{
  key *a ;
  unsigned int n, top ;         /* slots in a; slots used at some time */
  unsigned int live ;
  namehash names ;
  unsigned int *freed ;
  unsigned int nfreed, afreed ;
  unsigned int *wake ;          /* a stack: keys whose held recipients may go now */
  unsigned int nwake, awake ;
  timeheap timers ;             /* keys waiting for a time: a token, the next day, a step up */
} ;

 /* The key of that name, or -1. */
extern int keys_find (keytable *t, char const *name) ;
 /* The key of that name, made (no limit, nothing out) when there is none (dies, 111, out of
    memory). Indices stay valid until keys_free. */
extern unsigned int keys_get (keytable *t, char const *name) ;
 /* Gives the slot back; the caller knows nothing refers to it. */
extern void keys_free (keytable *t, unsigned int k) ;

extern void keys_park (keytable *t, unsigned int k, unsigned int ri) ;
 /* The oldest held recipient, or -1. */
extern int keys_unpark (keytable *t, unsigned int k) ;
 /* The wake list: keys with recipients held that may go now. */
extern void keys_wake (keytable *t, unsigned int k) ;
extern int keys_woken (keytable *t) ;

 /* A domain the channel named in a !shape: its key (-1: the domain alone) and when it was told. */
typedef struct domkey_s domkey ;
struct domkey_s
{
  char *name ;                  /* lower case; 0: a free slot */
  int key ;
  uint32_t seen ;
} ;

typedef struct domtable_s domtable ;
struct domtable_s
{
  domkey *a ;
  unsigned int n, top, live ;
  namehash names ;
  unsigned int *freed ;
  unsigned int nfreed, afreed ;
} ;

extern int domains_find (domtable *t, char const *dom) ;
 /* The domain's entry, made (key -1) when there is none. */
extern unsigned int domains_get (domtable *t, char const *dom) ;
extern void domains_free (domtable *t, unsigned int i) ;

#endif
