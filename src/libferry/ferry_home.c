/* ferry_home: the documented way every ferry program finds its home. */

#include <stdlib.h>
#include <unistd.h>

#include <ferry/config.h>
#include <ferry/home.h>

char const *ferry_home (char const *arg)
{
  char const *e ;
  if (getuid() != geteuid() || getgid() != getegid()) return FERRY_CONF_HOME ;
  if (arg && *arg) return arg ;
  e = getenv("FERRY_HOME") ;
  if (e && *e) return e ;
  return FERRY_CONF_HOME ;
}
