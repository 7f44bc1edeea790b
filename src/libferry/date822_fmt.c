/* ferry_date822_fmt: an RFC 5322 date-time in UTC. */

#include <string.h>
#include <time.h>

#include <skalibs/types.h>

#include <ferry/date822.h>

static char const days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" } ;
static char const months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" } ;

static size_t two (char *s, unsigned int u)
{
  s[0] = '0' + (u / 10) % 10 ;
  s[1] = '0' + u % 10 ;
  return 2 ;
}

size_t ferry_date822_fmt (char *s, time_t t)
{
  struct tm tm ;
  size_t n = 0 ;
  if (!gmtime_r(&t, &tm)) { memcpy(s, "Thu, 1 Jan 1970 00:00:00 +0000", 30) ; return 30 ; }
  memcpy(s, days[tm.tm_wday], 3) ; n += 3 ;
  s[n++] = ',' ; s[n++] = ' ' ;
  n += uint_fmt(s + n, tm.tm_mday) ;
  s[n++] = ' ' ;
  memcpy(s + n, months[tm.tm_mon], 3) ; n += 3 ;
  s[n++] = ' ' ;
  n += uint_fmt(s + n, tm.tm_year + 1900) ;
  s[n++] = ' ' ;
  n += two(s + n, tm.tm_hour) ; s[n++] = ':' ;
  n += two(s + n, tm.tm_min) ; s[n++] = ':' ;
  n += two(s + n, tm.tm_sec) ;
  memcpy(s + n, " +0000", 6) ; n += 6 ;
  return n ;
}
