/* login_name: the login name of a uid, for a statically linked program (ferry-sendmail), which
   cannot call getpwuid: glibc's name services load shared libraries at run time, and a static
   binary would load those of whatever glibc is installed later, not its own. So /etc/passwd is
   read here (the "files" source, first in every nsswitch.conf that Debian ships), and a uid
   that is not in it (LDAP, sssd, systemd's dynamic users) is asked of getent, which goes
   through the name services as configured. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include "admin.h"

extern char **environ ;

 /* A passwd line "name:pw:uid:...", newline excluded: its name appended to sa if its uid is
    uid. 1 appended, 0 another uid or not a passwd line, -1 out of memory. NIS compat lines
    (+name, -name) are not accounts. */
static int line_match (stralloc *sa, char const *s, size_t len, uid_t uid)
{
  char const *c1 = memchr(s, ':', len), *c2, *c3 ;
  uint64_t u ;
  size_t n ;
  if (!c1 || c1 == s || s[0] == '+' || s[0] == '-') return 0 ;
  c2 = memchr(c1 + 1, ':', len - (c1 + 1 - s)) ;
  if (!c2) return 0 ;
  c3 = memchr(c2 + 1, ':', len - (c2 + 1 - s)) ;
  if (!c3) return 0 ;
  n = uint64_scan(c2 + 1, &u) ;
  if (!n || c2 + 1 + n != c3 || u != (uint64_t)uid) return 0 ;
  return stralloc_catb(sa, s, c1 - s) && stralloc_0(sa) ? 1 : -1 ;
}

 /* Every line of the text through line_match: 1 found, 0 not, -1 out of memory. */
static int scan (stralloc *sa, char const *s, size_t len, uid_t uid)
{
  while (len)
  {
    char const *nl = memchr(s, '\n', len) ;
    size_t n = nl ? (size_t)(nl - s) : len ;
    int r = line_match(sa, s, n, uid) ;
    if (r) return r ;
    if (!nl) break ;
    s += n + 1 ; len -= n + 1 ;
  }
  return 0 ;
}

 /* getent passwd UID, found on PATH: 1 found, 0 unknown (or no getent), -1 error. */
static int from_getent (stralloc *sa, uid_t uid)
{
  char fmt[UINT64_FMT] ;
  char *const argv[] = { "getent", "passwd", fmt, 0 } ;
  posix_spawn_file_actions_t fa ;
  int p[2], r, wstat, e ;
  pid_t pid ;
  fmt[uint64_fmt(fmt, uid)] = 0 ;
  if (pipe2(p, O_CLOEXEC) < 0) return -1 ;
  if ((e = posix_spawn_file_actions_init(&fa))) { fd_close(p[0]) ; fd_close(p[1]) ; errno = e ; return -1 ; }
  e = posix_spawn_file_actions_adddup2(&fa, p[1], 1) ;
  if (!e) e = posix_spawnp(&pid, "getent", &fa, 0, argv, environ) ;
  posix_spawn_file_actions_destroy(&fa) ;
  fd_close(p[1]) ;
  if (e) { fd_close(p[0]) ; return e == ENOENT ? 0 : (errno = e, -1) ; }
  {
    stralloc out = STRALLOC_ZERO ;
    r = slurp(&out, p[0]) ? scan(sa, out.s, out.len, uid) : -1 ;
    e = errno ;
    fd_close(p[0]) ;
    stralloc_free(&out) ;
  }
  if (waitpid(pid, &wstat, 0) < 0) return -1 ;
  errno = e ;
  return r ;
}

int login_name (stralloc *sa, uid_t uid)
{
  stralloc file = STRALLOC_ZERO ;
  int r = 0 ;
  if (openslurpclose(&file, "/etc/passwd")) r = scan(sa, file.s, file.len, uid) ;
  else if (errno != ENOENT) return -1 ;
  stralloc_free(&file) ;
  return r ? r : from_getent(sa, uid) ;
}
