/* ferry-schedule's shaping arithmetic: the token bucket, the adaptive steps, the last minute. */

#include "shape.h"

uint64_t bucket_interval (uint64_t rate, char unit)
{
  uint64_t per = unit == 'h' ? 3600000000000ULL : unit == 'm' ? 60000000000ULL : 1000000000ULL ;
  uint64_t i = per / rate ;
  return i ? i : 1 ;
}

 /* How far ahead of now the bucket may be and still hold a token. */
static uint64_t tolerance (bucket const *b)
{
  return (uint64_t)(b->burst ? b->burst - 1 : 0) * b->interval ;
}

unsigned int bucket_tokens (bucket const *b, uint64_t now)
{
  uint64_t t = tolerance(b), k ;
  unsigned int burst = b->burst ? b->burst : 1 ;
  if (!b->interval || b->tat <= now) return burst ;
  if (b->tat > now + t) return 0 ;
  k = (now + t - b->tat) / b->interval + 1 ;
  return k > burst ? burst : (unsigned int)k ;
}

void bucket_take (bucket *b, uint64_t now)
{
  b->tat = (b->tat > now ? b->tat : now) + b->interval ;
}

uint64_t bucket_next (bucket const *b, uint64_t now)
{
  uint64_t t = tolerance(b) ;
  if (!b->interval || b->tat <= now + t) return now ;
  return b->tat - t ;
}

unsigned int shape_lower_conn (unsigned int eff)
{
  return eff > 1 ? eff / 2 : 1 ;
}

uint64_t shape_lower_rate (uint64_t conf, uint64_t eff)
{
  uint64_t floor = conf / 10 ? conf / 10 : 1 ;
  return eff / 2 > floor ? eff / 2 : floor ;
}

unsigned int shape_raise_conn (unsigned int conf, unsigned int eff)
{
  unsigned int step = conf / 10 ? conf / 10 : 1 ;
  return eff >= conf || conf - eff <= step ? conf : eff + step ;
}

uint64_t shape_raise_rate (uint64_t conf, uint64_t eff)
{
  uint64_t step = conf / 10 ? conf / 10 : 1 ;
  return eff >= conf || conf - eff <= step ? conf : eff + step ;
}

void persec_add (persec *p, uint64_t sec)
{
  if (sec > p->last)
  {
    /* the slots of the seconds since the last one written are old: emptied */
    uint64_t s, gap = sec - p->last ;
    if (gap >= 60) { for (s = 0 ; s < 60 ; s++) p->n[s] = 0 ; }
    else for (s = p->last + 1 ; s <= sec ; s++) p->n[s % 60] = 0 ;
    p->last = sec ;
  }
  else if (sec + 60 <= p->last) return ;   /* the clock went back a minute: not counted */
  p->n[sec % 60]++ ;
}

uint64_t persec_sum (persec const *p, uint64_t sec)
{
  uint64_t total = 0, s ;
  unsigned int i ;
  if (sec >= p->last + 60) return 0 ;
  for (i = 0 ; i < 60 ; i++) total += p->n[i] ;
  /* slots of the seconds after the last one written hold what was sent a minute before */
  for (s = p->last + 1 ; s <= sec ; s++) total -= p->n[s % 60] ;
  return total ;
}
