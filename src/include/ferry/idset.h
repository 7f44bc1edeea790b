/* A set of message ids (64-bit numbers): open addressing, linear probing, at most half full, so
   that adding, finding and removing cost the same whatever the number of ids in it. */
#ifndef FERRY_IDSET_H
#define FERRY_IDSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ferry_idset_s ferry_idset ;
struct ferry_idset_s
{
  uint64_t *tab ;       /* slots; ~0 is an empty one */
  size_t n, used ;      /* slots (0 or a power of two); ids in them */
  int top ;             /* whether ~0 itself is in the set (it has no slot) */
} ;
#define FERRY_IDSET_ZERO { 0, 0, 0, 0 }

 /* 1 when id is in the set. */
extern int ferry_idset_has (ferry_idset const *s, uint64_t id) ;
 /* Puts id in: 1, or 0 when memory ran out (the set is as it was). */
extern int ferry_idset_add (ferry_idset *s, uint64_t id) ;
 /* Takes id out, if it is in. */
extern void ferry_idset_del (ferry_idset *s, uint64_t id) ;

#endif
