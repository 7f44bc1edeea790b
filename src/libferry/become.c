/* ferry_dedicated, ferry_become: the dedicated users of a root install (ferry-setup -u). */

#define _DEFAULT_SOURCE
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/strerr.h>

#include <ferry/home.h>

int ferry_dedicated (void)
{
  struct stat st ;
  struct passwd *pw ;
  if (geteuid()) return 0 ;
  if (stat("queue", &st) < 0) strerr_diefu1sys(111, "stat queue") ;
  pw = getpwnam("ferryq") ;
  return pw && st.st_uid == pw->pw_uid ;
}

void ferry_become (char const *user)
{
  struct passwd *pw = getpwnam(user) ;
  if (!pw) strerr_dief(111, "no user ", user, ": run ferry-setup -u") ;
  if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
    strerr_diefu2sys(111, "switch to user ", user) ;
}
