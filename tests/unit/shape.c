/* Unit tests of ferry-schedule's shaping arithmetic and tables (src/schedule/shape.c,
   timeheap.c, keys.c, namehash.c): the token bucket paces messages at its rate with its burst,
   without drift; the adaptive steps (halved, at least a tenth of the configured rate; up by a
   tenth back to the limit); the last minute's count; the timer heap pops in time order through
   sets, moves and deletions; keys and domains are found by name whatever the case, 10,000 of
   them, after deletions too. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/keys.h"
#include "schedule/shape.h"
#include "schedule/timeheap.h"

#include "unit.h"

#define S 1000000000ULL

 /* n messages sent as soon as the bucket lets them, from t: the time of the last. */
static uint64_t drain (bucket *b, uint64_t t, unsigned int n)
{
  unsigned int i ;
  for (i = 0 ; i < n ; i++)
  {
    t = bucket_next(b, t) ;
    if (!bucket_tokens(b, t)) return 0 ;
    bucket_take(b, t) ;
  }
  return t ;
}

static void buckets (void)
{
  bucket b = { 0, 0, 1 } ;
  uint64_t t0 = 5 * S, last ;
  b.interval = bucket_interval(10, 's') ;
  CHECK(b.interval == S / 10, "10/s: a token every 100 ms, not %llu ns", (unsigned long long)b.interval) ;
  CHECK(bucket_tokens(&b, t0) == 1, "a new bucket holds its burst") ;
  bucket_take(&b, t0) ;
  CHECK(!bucket_tokens(&b, t0) && bucket_next(&b, t0) == t0 + S / 10, "then none, the next in 100 ms") ;
  CHECK(bucket_tokens(&b, t0 + S / 10) == 1, "and one 100 ms later") ;
  b.tat = 0 ;
  last = drain(&b, t0, 60) ;
  CHECK(last - t0 == 59 * S / 10, "60 messages at 10/s take 5.9 s from the first to the last, not %llu ns", (unsigned long long)(last - t0)) ;

  /* a burst: that many at once, then the rate */
  b.tat = 0 ; b.burst = 5 ;
  CHECK(bucket_tokens(&b, t0) == 5, "burst 5: 5 tokens") ;
  last = drain(&b, t0, 5) ;
  CHECK(last == t0, "5 at once") ;
  CHECK(bucket_next(&b, t0) == t0 + S / 10, "then one every 100 ms") ;
  CHECK(bucket_tokens(&b, t0 + 3 * S / 10) == 3, "3 after 300 ms: %u", bucket_tokens(&b, t0 + 3 * S / 10)) ;
  CHECK(bucket_tokens(&b, t0 + 100 * S) == 5, "never more than the burst after a long pause") ;

  /* units, and rates that do not divide a second: no drift over many */
  CHECK(bucket_interval(300, 'm') == S / 5 && bucket_interval(1, 'h') == 3600 * S && bucket_interval(1000000, 's') == 1000, "units") ;
  b.tat = 0 ; b.burst = 1 ; b.interval = bucket_interval(7, 's') ;
  last = drain(&b, t0, 7001) ;
  CHECK(last - t0 >= 1000 * S - 10000 && last - t0 <= 1000 * S, "7,001 at 7/s take 1,000 s (within 10 us), not %llu ns", (unsigned long long)(last - t0)) ;
  b.interval = 0 ;
  CHECK(bucket_tokens(&b, t0) == 1 && bucket_next(&b, t0) == t0, "no rate: always a token") ;
}

static void steps (void)
{
  unsigned int c = 10 ;
  uint64_t r = 300 ;
  CHECK(shape_lower_conn(10) == 5 && shape_lower_conn(3) == 1 && shape_lower_conn(1) == 1, "connections halved, at least 1") ;
  CHECK(shape_lower_rate(300, 300) == 150 && shape_lower_rate(300, 40) == 30 && shape_lower_rate(300, 30) == 30, "the rate halved, at least a tenth") ;
  CHECK(shape_lower_rate(5, 5) == 2 && shape_lower_rate(5, 2) == 1 && shape_lower_rate(1, 1) == 1, "a rate below 10: at least 1") ;
  c = shape_lower_conn(c) ; r = shape_lower_rate(300, r) ;
  CHECK(c == 5 && r == 150, "10 and 300/m lowered: 5 and 150/m") ;
  c = shape_raise_conn(10, c) ; r = shape_raise_rate(300, r) ;
  CHECK(c == 6 && r == 180, "a step up: 6 and 180/m, not %u and %llu", c, (unsigned long long)r) ;
  while (c < 10) { c = shape_raise_conn(10, c) ; r = shape_raise_rate(300, r) ; }
  CHECK(c == 10 && r == 300, "back to the limits together") ;
  CHECK(shape_raise_conn(8, 1) == 2 && shape_raise_conn(8, 7) == 8 && shape_raise_conn(8, 8) == 8, "steps of at least 1, never past the limit") ;
  CHECK(shape_raise_rate(5, 1) == 2 && shape_raise_rate(100, 95) == 100, "a rate's steps too") ;
}

static void minute (void)
{
  persec p ;
  uint64_t s = 1700000000 ;
  unsigned int i ;
  memset(&p, 0, sizeof p) ;
  for (i = 0 ; i < 10 ; i++) persec_add(&p, s) ;
  CHECK(persec_sum(&p, s) == 10 && persec_sum(&p, s + 59) == 10 && persec_sum(&p, s + 60) == 0, "10 in a second: counted for a minute") ;
  for (i = 0 ; i < 5 ; i++) persec_add(&p, s + 30) ;
  CHECK(persec_sum(&p, s + 30) == 15 && persec_sum(&p, s + 60) == 5 && persec_sum(&p, s + 89) == 5 && persec_sum(&p, s + 90) == 0, "slots leave as they age") ;
  persec_add(&p, s + 200) ;
  CHECK(persec_sum(&p, s + 200) == 1, "after a long pause: only the new one") ;
}

static void timers (void)
{
  timeheap h = TIMEHEAP_ZERO ;
  uint64_t at[500], t, prev = 0 ;
  unsigned int i, bad = 0, n = 0 ;
  int id ;
  srandom(7) ;
  for (i = 0 ; i < 500 ; i++) { at[i] = random() % 100000 ; timeheap_set(&h, i, at[i]) ; }
  for (i = 0 ; i < 500 ; i += 3) { at[i] = random() % 100000 ; timeheap_set(&h, i, at[i]) ; }   /* moved */
  for (i = 1 ; i < 500 ; i += 5) { timeheap_del(&h, i) ; at[i] = UINT64_MAX ; }
  timeheap_del(&h, 1) ;   /* twice: nothing */
  CHECK(!timeheap_has(&h, 1) && timeheap_has(&h, 0), "has") ;
  while ((id = timeheap_top(&h, &t)) >= 0)
  {
    if (t < prev || at[id] != t) bad++ ;
    prev = t ;
    at[id] = UINT64_MAX ;
    timeheap_del(&h, id) ;
    n++ ;
  }
  for (i = 0 ; i < 500 ; i++) if (at[i] != UINT64_MAX) bad++ ;
  CHECK(!bad && n == 400, "400 timers in order, each at its time: %u wrong, %u popped", bad, n) ;
}

#define N 10000

static void tables (void)
{
  keytable t ;
  domtable dt ;
  char name[64] ;
  unsigned int k, bad = 0, top ;
  memset(&t, 0, sizeof t) ;
  memset(&dt, 0, sizeof dt) ;
  CHECK(keys_find(&t, "site:x") == -1, "an empty table finds nothing") ;
  k = keys_get(&t, "Site:Big") ;
  CHECK(!strcmp(t.a[k].name, "site:big") && keys_find(&t, "SITE:big") == (int)k && t.a[k].tb.burst == 1, "kept in lower case, found whatever the case") ;
  keys_free(&t, k) ;
  CHECK(keys_find(&t, "site:big") == -1 && !t.live, "freed") ;
  for (k = 0 ; k < N ; k++) { snprintf(name, sizeof name, "site:s%u", k) ; keys_get(&t, name) ; }
  for (k = 0 ; k < N ; k++)
  {
    int got ;
    snprintf(name, sizeof name, "site:S%u", k) ;
    got = keys_find(&t, name) ;
    snprintf(name, sizeof name, "site:s%u", k) ;
    if (got < 0 || strcmp(t.a[got].name, name)) bad++ ;
  }
  CHECK(!bad && t.live == N, "%u keys: %u not found", N, bad) ;
  for (k = 0 ; k < N ; k += 2) { snprintf(name, sizeof name, "site:s%u", k) ; keys_free(&t, keys_find(&t, name)) ; }
  for (k = 0, bad = 0 ; k < N ; k++)
  {
    snprintf(name, sizeof name, "site:s%u", k) ;
    if ((keys_find(&t, name) >= 0) != (k % 2)) bad++ ;
  }
  CHECK(!bad, "half freed: %u wrong", bad) ;
  top = t.top ;
  for (k = 0 ; k < N / 2 ; k++) { snprintf(name, sizeof name, "route:r%u", k) ; keys_get(&t, name) ; }
  CHECK(t.top == top, "freed slots are used again") ;

  /* parked recipients in order; the wake list needs one and lists a key once */
  k = keys_get(&t, "example.com") ;
  keys_wake(&t, k) ;
  CHECK(keys_woken(&t) == -1, "nothing parked: not woken") ;
  keys_park(&t, k, 3) ; keys_park(&t, k, 4) ;
  keys_wake(&t, k) ; keys_wake(&t, k) ;
  CHECK(keys_woken(&t) == (int)k && keys_woken(&t) == -1, "woken once") ;
  CHECK(keys_unpark(&t, k) == 3 && keys_unpark(&t, k) == 4 && keys_unpark(&t, k) == -1, "unparked in order") ;

  /* the told domains */
  for (k = 0 ; k < N ; k++)
  {
    unsigned int i ;
    snprintf(name, sizeof name, "d%u.test", k) ;
    i = domains_get(&dt, name) ;
    dt.a[i].key = k ;
  }
  for (k = 0, bad = 0 ; k < N ; k++)
  {
    int i ;
    snprintf(name, sizeof name, "D%u.TEST", k) ;
    i = domains_find(&dt, name) ;
    if (i < 0 || dt.a[i].key != (int)k) bad++ ;
  }
  CHECK(!bad && dt.live == N, "%u domains: %u wrong", N, bad) ;
  domains_free(&dt, domains_find(&dt, "d5.test")) ;
  CHECK(domains_find(&dt, "d5.test") == -1 && domains_find(&dt, "d6.test") >= 0 && dt.live == N - 1, "a domain freed, the others found") ;
  k = domains_get(&dt, "new.test") ;
  CHECK(dt.a[k].key == -1, "a new domain has no key") ;
}

int main (void)
{
  buckets() ;
  steps() ;
  minute() ;
  timers() ;
  tables() ;
  return UNIT_END() ;
}
