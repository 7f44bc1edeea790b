/* ferry_sysusers_*: which accounts ferry delivers no mail as (ferry's own users, system accounts). */

#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/sysusers.h>

#define UIDMIN_DEFAULT 1000
#define NOBODY_UID 65534

int ferry_sysusers_ferry (char const *name)
{
  static char const *const names[] = { "ferryq", "ferrys", "ferryr", "ferryl", 0 } ;
  char const *const *p = names ;
  for (; *p ; p++) if (!strcmp(*p, name)) return 1 ;
  return 0 ;
}

uid_t ferry_sysusers_uidmin (void)
{
  stralloc sa = STRALLOC_ZERO ;
  uid_t min = UIDMIN_DEFAULT ;
  size_t i = 0 ;
  if (!openslurpclose(&sa, "/etc/login.defs")) return min ;
  while (i < sa.len)
  {
    size_t k = byte_chr(sa.s + i, sa.len - i, '\n') ;
    char *line = sa.s + i ;
    i += k + 1 ;
    if (k > 7 && !memcmp(line, "UID_MIN", 7) && (line[7] == ' ' || line[7] == '\t'))
    {
      size_t j = 7 ;
      uint32_t u ;
      while (j < k && (line[j] == ' ' || line[j] == '\t')) j++ ;
      if (j < k && uint32_scan(line + j, &u)) min = u ;
      break ;
    }
  }
  stralloc_free(&sa) ;
  return min ;
}

int ferry_sysusers_system (uid_t uid, char const *name, uid_t uidmin)
{
  return uid < uidmin || uid == NOBODY_UID || ferry_sysusers_ferry(name) ;
}
