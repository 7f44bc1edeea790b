/* Reading control files: the first line of a setting, or a number in its range. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/uint64.h>

#include <ferry/control.h>

int ferry_control_default (stralloc *sa, ferry_control const *c)
{
  sa->len = 0 ;
  if (c->def[0] == '=')
  {
    if (ferry_control_readline(sa, c->def + 1) < 0) return 0 ;
    return stralloc_catb(sa, "\n", 1) ;
  }
  if (!strcmp(c->name, "me"))
  {
    char host[256] ;
    if (gethostname(host, sizeof(host) - 1) < 0) return 0 ;
    host[sizeof(host) - 1] = 0 ;
    return stralloc_cats(sa, host) && stralloc_catb(sa, "\n", 1) ;
  }
  if (!c->def[0]) return 1 ;
  return stralloc_cats(sa, c->def) && stralloc_catb(sa, "\n", 1) ;
}

static void firstline (stralloc *sa)
{
  size_t n = byte_chr(sa->s, sa->len, '\n') ;
  while (n && (sa->s[n-1] == ' ' || sa->s[n-1] == '\t' || sa->s[n-1] == '\r')) n-- ;
  sa->len = n ;
}

 /* control/name into sa, at most max bytes: 1 from the file, 0 its default (empty if it has none),
    -1 on an error (errno). */
static int control_get (stralloc *sa, char const *name, size_t max)
{
  char fn[16 + strlen(name)] ;
  ferry_control const *c ;
  memcpy(fn, "control/", 8) ;
  memcpy(fn + 8, name, strlen(name) + 1) ;
  sa->len = 0 ;
  if (openreadfileclose(fn, sa, max)) return 1 ;
  if (errno != ENOENT) return -1 ;
  c = ferry_control_find(name) ;
  sa->len = 0 ;
  if (!c) return 0 ;
  return ferry_control_default(sa, c) ? 0 : -1 ;
}

int ferry_control_readline (stralloc *sa, char const *name)
{
  int r = control_get(sa, name, 65536) ;
  if (r >= 0 && sa->len) firstline(sa) ;
  return r ;
}

int ferry_control_readfile (stralloc *sa, char const *name)
{
  return control_get(sa, name, 1 << 24) ;
}

int ferry_control_readu64 (char const *name, uint64_t *u)
{
  stralloc sa = STRALLOC_ZERO ;
  ferry_control const *c = ferry_control_find(name) ;
  uint64_t v ;
  int r = ferry_control_readline(&sa, name) ;
  if (r < 0) goto end ;
  if (!stralloc_0(&sa)) { r = -1 ; goto end ; }
  if (!sa.s[0] || uint640_scan(sa.s, &v) != sa.len - 1 || (c && (v < c->min || v > c->max)))
  {
    r = -2 ;
    goto end ;
  }
  *u = v ;
 end:
  stralloc_free(&sa) ;
  return r ;
}
