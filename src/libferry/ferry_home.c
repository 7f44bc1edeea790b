/* ferry_home: the documented way every ferry program finds its home. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ferry/config.h>
#include <ferry/home.h>

 /* a set-id program run by anyone but root: no argument or environment chooses its home */
static int setid_caller (void)
{
  return getuid() && (getuid() != geteuid() || getgid() != getegid()) ;
}

char const *ferry_home (char const *arg)
{
  char const *e ;
  if (setid_caller()) return FERRY_CONF_HOME ;
  if (arg && *arg) return arg ;
  e = getenv("FERRY_HOME") ;
  if (e && *e) return e ;
  return FERRY_CONF_HOME ;
}

int ferry_home_of_program (char *buf, size_t n)
{
  ssize_t r ;
  char *slash ;
  if (n < 10) return 0 ;
  r = readlink("/proc/self/exe", buf, n - 9) ;
  if (r <= 0 || (size_t)r >= n - 9) return 0 ;
  buf[r] = 0 ;
  slash = strrchr(buf, '/') ;
  if (!slash || slash - buf < 4 || memcmp(slash - 4, "/bin", 4)) return 0 ;
  memcpy(slash - 4, "/control", 9) ;
  if (access(buf, X_OK) < 0) return 0 ;
  slash[-4] = 0 ;
  if (!buf[0]) { buf[0] = '/' ; buf[1] = 0 ; }
  return 1 ;
}

char const *ferry_home_bare (char *buf, size_t n)
{
  char const *e = getenv("FERRY_HOME") ;
  if (setid_caller() || (e && *e)) return ferry_home(0) ;
  return ferry_home_of_program(buf, n) ? buf : FERRY_CONF_HOME ;
}
