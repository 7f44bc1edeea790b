/* A hash of entries by name (case-insensitive; open addressing, linear probing, at most half
   full): a slot holds an entry's index + 1, and the entry keeps its name, given by a function of
   the caller's, so the index costs 4 bytes a slot. ferry-schedule's destinations, shaping keys and
   told domains. */
#ifndef FERRY_SCHEDULE_NAMEHASH_H
#define FERRY_SCHEDULE_NAMEHASH_H

typedef struct namehash_s namehash ;
struct namehash_s
{
  unsigned int *tab ;
  unsigned int ntab, used ;
  char const *(*name) (void const *ctx, unsigned int i) ;
  void const *ctx ;
} ;
#define NAMEHASH_ZERO(name, ctx) { 0, 0, 0, (name), (ctx) }

 /* The entry named s, or -1. */
extern int namehash_find (namehash const *h, char const *s) ;
 /* Adds entry i, under its name (dies, 111, out of memory). */
extern void namehash_put (namehash *h, unsigned int i) ;
 /* Takes entry i out; its name must still be readable. */
extern void namehash_del (namehash *h, unsigned int i) ;
 /* A copy of s in lower case, malloc'ed, for an entry's name (dies, 111, out of memory). */
extern char *namehash_fold (char const *s) ;

#endif
