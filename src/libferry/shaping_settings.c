/* ferry_shaping_setting, ferry_shaping_settings, ferry_shaping_settings_fmt: the settings of a
   shaping key, as control/shaping writes them and the frames carry them. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/shaping.h>

enum { S_CONNECTIONS = 1, S_MESSAGES = 2, S_RATE = 4, S_BURST = 8, S_NEWCONNS = 16, S_DAILY = 32 } ;

static char const unknown[] = "unknown setting: write connections=, messages=, rate=, burst=, newconns= or daily=" ;
static char const twice[] = "a setting given twice" ;
static char const badunit[] = "bad unit: write N/s, N/m or N/h (per second, minute or hour)" ;

unsigned int ferry_shaping_unit_seconds (char unit)
{
  return unit == 'h' ? 3600 : unit == 'm' ? 60 : 1 ;
}

 /* v[0..n) as a number from 1 to max: 1, else 0. */
static int number (char const *v, size_t n, uint64_t max, uint64_t *u)
{
  char buf[21] ;
  if (!n || n >= sizeof(buf)) return 0 ;
  memcpy(buf, v, n) ; buf[n] = 0 ;
  if (v[0] < '0' || v[0] > '9' || uint640_scan(buf, u) != n) return 0 ;
  return *u >= 1 && *u <= max ;
}

 /* N/s, N/m or N/h, N from 1 to 1000000. */
static char const *per (char const *v, size_t n, uint64_t *u, char *unit, char const *bad)
{
  size_t k = 0 ;
  while (k < n && v[k] != '/') k++ ;
  if (!number(v, k, 1000000, u)) return bad ;
  if (k + 2 != n || (v[k + 1] != 's' && v[k + 1] != 'm' && v[k + 1] != 'h')) return badunit ;
  *unit = v[k + 1] ;
  return 0 ;
}

static int is (char const *s, size_t n, char const *name, size_t *eq)
{
  size_t k = strlen(name) ;
  if (n <= k || memcmp(s, name, k) || s[k] != '=') return 0 ;
  *eq = k + 1 ;
  return 1 ;
}

char const *ferry_shaping_setting (char const *s, size_t n, ferry_shaping *sh, unsigned int *seen)
{
  size_t e ;
  uint64_t u ;
  unsigned int bit ;
  char const *why = 0 ;
  if (is(s, n, "connections", &e))
  {
    bit = S_CONNECTIONS ;
    if (!number(s + e, n - e, 1000, &u)) why = "connections= takes a number from 1 to 1000" ;
    else sh->connections = u ;
  }
  else if (is(s, n, "messages", &e))
  {
    bit = S_MESSAGES ;
    if (!number(s + e, n - e, 100000, &u)) why = "messages= takes a number from 1 to 100000" ;
    else sh->messages = u ;
  }
  else if (is(s, n, "rate", &e))
  {
    bit = S_RATE ;
    why = per(s + e, n - e, &sh->rate, &sh->rateunit, "rate= takes N/s, N/m or N/h with N from 1 to 1000000") ;
  }
  else if (is(s, n, "burst", &e))
  {
    bit = S_BURST ;
    if (!number(s + e, n - e, 100000, &u)) why = "burst= takes a number from 1 to 100000" ;
    else sh->burst = u ;
  }
  else if (is(s, n, "newconns", &e))
  {
    bit = S_NEWCONNS ;
    why = per(s + e, n - e, &sh->newconns, &sh->newconnsunit, "newconns= takes N/s, N/m or N/h with N from 1 to 1000000") ;
  }
  else if (is(s, n, "daily", &e))
  {
    bit = S_DAILY ;
    if (!number(s + e, n - e, 1000000000, &u)) why = "daily= takes a number from 1 to 1000000000" ;
    else sh->daily = u ;
  }
  else return unknown ;
  if (*seen & bit) return twice ;
  *seen |= bit ;
  return why ;
}

char const *ferry_shaping_settings (char const *s, size_t n, ferry_shaping *sh)
{
  static ferry_shaping const zero = FERRY_SHAPING_ZERO ;
  unsigned int seen = 0 ;
  size_t i = 0 ;
  *sh = zero ;
  for (;;)
  {
    size_t k ;
    char const *why ;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++ ;
    if (i == n) break ;
    for (k = i ; k < n && s[k] != ' ' && s[k] != '\t' ; k++) ;
    why = ferry_shaping_setting(s + i, k - i, sh, &seen) ;
    if (why) return why ;
    i = k ;
  }
  if (sh->burst && !sh->rate) return "burst= needs rate=: it is the size of the rate's bucket" ;
  return 0 ;
}

static int cat_num (stralloc *sa, size_t start, char const *name, uint64_t u, char unit)
{
  char fmt[UINT64_FMT] ;
  if (sa->len > start && !stralloc_catb(sa, " ", 1)) return 0 ;
  if (!stralloc_cats(sa, name) || !stralloc_catb(sa, "=", 1) || !stralloc_catb(sa, fmt, uint64_fmt(fmt, u))) return 0 ;
  if (unit && (!stralloc_catb(sa, "/", 1) || !stralloc_catb(sa, &unit, 1))) return 0 ;
  return 1 ;
}

int ferry_shaping_settings_fmt (stralloc *sa, ferry_shaping const *sh)
{
  size_t start = sa->len ;
  int ok = (!sh->connections || cat_num(sa, start, "connections", sh->connections, 0))
        && (!sh->messages || cat_num(sa, start, "messages", sh->messages, 0))
        && (!sh->rate || cat_num(sa, start, "rate", sh->rate, sh->rateunit ? sh->rateunit : 's'))
        && (!sh->burst || cat_num(sa, start, "burst", sh->burst, 0))
        && (!sh->newconns || cat_num(sa, start, "newconns", sh->newconns, sh->newconnsunit ? sh->newconnsunit : 's'))
        && (!sh->daily || cat_num(sa, start, "daily", sh->daily, 0)) ;
  if (!ok) sa->len = start ;
  return ok ;
}
