/* Growing arrays of slots. */
#ifndef FERRY_ARRAY_H
#define FERRY_ARRAY_H

#include <stddef.h>

 /* Doubles the array p of *n slots of size bytes (16 when empty), the new slots zeroed; dies
    with 111 when memory runs out. Returns the new array; *n is its new number of slots. */
extern void *ferry_array_grow (void *p, unsigned int *n, size_t size) ;

#endif
