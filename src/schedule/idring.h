/* A first-in first-out ring of indices that grows as needed: ferry-schedule's ready lists and
   each destination's parked recipients. */
#ifndef FERRY_IDRING_H
#define FERRY_IDRING_H

typedef struct idring_s idring ;
struct idring_s
{
  unsigned int *a ;
  unsigned int head, n, cap ;
} ;
#define IDRING_ZERO { 0, 0, 0, 0 }

 /* Adds x at the end (dies, 111, out of memory). */
extern void idring_push (idring *r, unsigned int x) ;
 /* Takes the first entry; r->n must not be 0. */
extern unsigned int idring_pop (idring *r) ;
 /* The entry i places from the first; i must be below r->n. */
extern unsigned int idring_at (idring const *r, unsigned int i) ;
 /* Among the first upto entries, keeps those keep says (in order) and drops the others: costs
    upto, whatever the ring's size. */
extern void idring_filter (idring *r, unsigned int upto, int (*keep) (unsigned int x, void const *ctx), void const *ctx) ;
 /* Gives the memory back; the ring is empty after. */
extern void idring_free (idring *r) ;

#endif
