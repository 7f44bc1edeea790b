/* ferry-schedule's messages by id: open addressing, linear probing, at most half full. A slot
   holds an entry's index + 1 (0 is empty); the id of entry i is key(ctx, i), so the index costs
   4 bytes a slot and the entries keep their ids themselves. */
#ifndef FERRY_SCHEDULE_IDINDEX_H
#define FERRY_SCHEDULE_IDINDEX_H

#include <stdint.h>

typedef struct idindex_s idindex ;
struct idindex_s
{
  unsigned int *tab ;
  unsigned int n, used ;
  uint64_t (*key) (void const *ctx, unsigned int i) ;
  void const *ctx ;
} ;
#define IDINDEX_ZERO(key, ctx) { 0, 0, 0, (key), (ctx) }

 /* The entry of id, or -1. */
extern int idindex_find (idindex const *x, uint64_t id) ;
 /* Adds entry i under id (dies, 111, out of memory). */
extern void idindex_put (idindex *x, uint64_t id, unsigned int i) ;
 /* Takes id's entry out, if it is in. */
extern void idindex_del (idindex *x, uint64_t id) ;

#endif
