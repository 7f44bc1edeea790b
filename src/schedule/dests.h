/* ferry-schedule's remote destinations: one entry per domain with deliveries out, a failure
   being backed off, or recipients waiting for a free slot. Found by name (case-insensitive) in
   constant time; an entry that holds none of these is dropped (dests_drop_idle).

   A recipient that comes up while its domain has concurrencydestination deliveries out is parked
   on the domain, in arrival order, instead of going round the ready ring again: with one busy
   domain and many thousands of its recipients due, each dispatch would otherwise look at every
   one of them again. A slot freed by the domain wakes it, and the scheduler moves parked
   recipients back to the ring (doc/ferry-schedule.html, "Destinations"). */
#ifndef FERRY_DESTS_H
#define FERRY_DESTS_H

#include <stdint.h>

#include "idring.h"
#include "namehash.h"

typedef struct dest_s dest ;
struct dest_s
{
  char *name ;                  /* lower case; 0 for a free slot */
  unsigned int inflight ;       /* deliveries out to it */
  unsigned int failures ;       /* failed deliveries in a row; 0 when not failing */
  uint32_t until ;              /* while failing: backed off until then */
  idring parked ;               /* recipients (the scheduler's indices), in the order they came */
  int key ;                     /* its shaping key (keys.h), -1: none, the domain alone */
  unsigned int waking : 1 ;     /* on the wake list */
  unsigned int attached : 1 ;   /* its key and marks looked up since it was made */
  unsigned int known : 1 ;      /* the remote channel told its key */
  unsigned int suspended : 1 ;  /* ferry-qctl suspend @domain */
} ;

typedef struct desttable_s desttable ;
struct desttable_s
{
  dest *a ;
  unsigned int n ;              /* slots in a, used or not */
  namehash names ;              /* the entries by name */
  unsigned int *freed ;         /* free entries below top */
  unsigned int nfreed, afreed, top ;
  unsigned int *wake ;          /* a stack: the order entries wake in does not matter */
  unsigned int nwake, awake ;
} ;
#define DESTTABLE_ZERO { 0, 0, NAMEHASH_ZERO(0, 0), 0, 0, 0, 0, 0, 0, 0 }

 /* The domain's entry, or -1. */
extern int dests_find (desttable *t, char const *dom) ;
 /* The domain's entry, made if there is none (key -1, nothing else set; dies, 111, out of
    memory). Indices stay valid until the entry is dropped. */
extern unsigned int dests_get (desttable *t, char const *dom) ;
 /* Drops the entry if nothing keeps it: no delivery out, not failing, none parked; 1 when it
    did (the caller gives up what the entry's key held first). */
extern int dests_drop_idle (desttable *t, unsigned int d) ;

extern void dests_park (desttable *t, unsigned int d, unsigned int ri) ;
 /* The oldest parked recipient, or -1 when none is left. */
extern int dests_unpark (desttable *t, unsigned int d) ;

 /* The wake list: entries with recipients parked that may have a free slot now. */
extern void dests_wake (desttable *t, unsigned int d) ;
 /* Takes the next entry off the wake list; -1 when it is empty. */
extern int dests_woken (desttable *t) ;

#endif
