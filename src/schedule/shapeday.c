/* ferry-schedule, the shaping day's counts: each key's messages of the day in
   queue/shaping/counts, so that a restart keeps the daily caps. "day N" (N: the day's number,
   seconds since the Epoch / control/shapingday), then a line "KEY COUNT" per key that sent
   something that day; written through counts.tmp and a rename, at most every 10 seconds while
   it changes, and at stop (a crash loses at most 10 seconds of counts). */

#include "schedule.h"

#define COUNTS "queue/shaping/counts"
#define SAVE_EVERY 10

void shapeday_save (int force)
{
  static int warned = 0 ;
  stralloc sa = STRALLOC_ZERO ;
  uint64_t today = shape_today() ;
  uint32_t now = time(0) ;
  unsigned int k ;
  char fmt[UINT64_FMT] ;
  if (!sched.daydirty || (!force && now < sched.daysaved + SAVE_EVERY)) return ;
  if (!stralloc_cats(&sa, "day ") || !stralloc_catb(&sa, fmt, uint64_fmt(fmt, today)) || !stralloc_catb(&sa, "\n", 1))
    strerr_diefu1sys(111, "allocate memory") ;
  for (k = 0 ; k < sched.keys.top ; k++)
  {
    key const *K = sched.keys.a + k ;
    if (!K->name || !K->daysent || K->day != today) continue ;
    if (!stralloc_cats(&sa, K->name) || !stralloc_catb(&sa, " ", 1) || !stralloc_catb(&sa, fmt, uint64_fmt(fmt, K->daysent)) || !stralloc_catb(&sa, "\n", 1))
      strerr_diefu1sys(111, "allocate memory") ;
  }
  if (!openwritenclose_suffix(COUNTS, sa.s, sa.len, ".tmp"))
  {
    if (!warned++) strerr_warnwu2sys("write ", COUNTS " (ferry-setup makes queue/shaping/): a restart forgets the day's counts") ;
  }
  else warned = 0 ;
  stralloc_free(&sa) ;
  sched.daydirty = 0 ;
  sched.daysaved = now ;
}

 /* At start: the counts of today, when the file is of today. */
void shapeday_load (void)
{
  stralloc sa = STRALLOC_ZERO ;
  uint64_t day ;
  size_t pos, eol ;
  if (!openreadfileclose(COUNTS, &sa, 1 << 24))
  {
    if (errno != ENOENT) strerr_warnwu2sys("read ", COUNTS " (the day's counts start from 0)") ;
    stralloc_free(&sa) ;
    return ;
  }
  eol = byte_chr(sa.s, sa.len, '\n') ;
  if (eol == sa.len || eol < 5 || memcmp(sa.s, "day ", 4) || uint64_scan(sa.s + 4, &day) != eol - 4 || day != shape_today())
  {
    stralloc_free(&sa) ;
    return ;
  }
  for (pos = eol + 1 ; pos < sa.len ; pos = eol + 1)
  {
    size_t sp ;
    uint64_t count ;
    eol = pos + byte_chr(sa.s + pos, sa.len - pos, '\n') ;
    if (eol == sa.len) break ;   /* a line without its end: not whole */
    sa.s[eol] = 0 ;
    sp = byte_rchr(sa.s + pos, eol - pos, ' ') ;
    if (!sp || pos + sp == eol || uint64_scan(sa.s + pos + sp + 1, &count) != eol - pos - sp - 1) continue ;
    sa.s[pos + sp] = 0 ;
    {
      unsigned int k = keys_get(&sched.keys, sa.s + pos) ;
      sched.keys.a[k].day = day ;
      sched.keys.a[k].daysent = count ;
    }
  }
  stralloc_free(&sa) ;
}
