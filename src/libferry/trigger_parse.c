/* ferry_trigger_parse: the ids in what a drain of the trigger FIFO read (ferry/queue.h). */

#include <string.h>

#include <skalibs/types.h>

#include <ferry/queue.h>

int ferry_trigger_parse (ferry_trigger_carry *c, char const *s, size_t n, void (*f)(uint64_t, void *), void *data)
{
  size_t i ;
  for (i = 0 ; i < n ; i++)
  {
    uint64_t id ;
    if (s[i] != '\n')
    {
      /* at once: anything but a digit (the null byte of a wake-up without ids), a line longer
         than an id */
      if (s[i] < '0' || s[i] > '9' || c->len >= UINT64_FMT - 1) { c->len = 0 ; return 0 ; }
      c->s[c->len++] = s[i] ;
      continue ;
    }
    c->s[c->len] = 0 ;
    if (!c->len || uint640_scan(c->s, &id) != c->len) { c->len = 0 ; return 0 ; }
    c->len = 0 ;
    (*f)(id, data) ;
  }
  return 1 ;
}
