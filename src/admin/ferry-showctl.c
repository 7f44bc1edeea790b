/* ferry-showctl: the effective configuration of a home: every control setting, its value, and
   whether it is the default; a clear complaint about any file that does not parse, and about
   files in control/ that are no setting of ferry's (a typo is a setting silently ignored). */

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/buffer.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/home.h>

#include "admin.h"

#define USAGE "ferry-showctl [ -j ] [ home ]"

static stralloc out = STRALLOC_ZERO ;
static unsigned int problems = 0 ;
static void nomem (void) { strerr_diefu1sys(111, "allocate memory") ; }
static void cats (char const *s) { if (!stralloc_cats(&out, s)) nomem() ; }
static void catb (char const *s, size_t n) { if (!stralloc_catb(&out, s, n)) nomem() ; }

 /* files that are ferry's but not settings: compiled tables and their sources */
static int known_extra (char const *name)
{
  return !strcmp(name, "mailboxes") || !strcmp(name, "mailboxes.cdb") ;
}

static void trim_lines (stralloc *sa)
{
  while (sa->len && (sa->s[sa->len-1] == '\n' || sa->s[sa->len-1] == ' ' || sa->s[sa->len-1] == '\t' || sa->s[sa->len-1] == '\r')) sa->len-- ;
}

int main (int argc, char const *const *argv)
{
  ferry_control const *c ;
  int json = 0, first = 1 ;
  PROG = "ferry-showctl" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "j", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'j' : json = 1 ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc > 1) strerr_dieusage(100, USAGE) ;
  {
    char const *home = ferry_home(argc ? argv[0] : 0) ;
    if (chdir(home) < 0) strerr_diefu2sys(111, "enter the ferry home ", home) ;
    if (!json) { cats("ferry home ") ; cats(home) ; cats("\n\n") ; }
  }
  if (json) cats("{") ;
  for (c = ferry_control_table ; c->name ; c++)
  {
    stralloc val = STRALLOC_ZERO, def = STRALLOC_ZERO ;
    char const *problem = 0 ;
    int number = c->min <= c->max, fromfile, isdefault ;
    fromfile = ferry_control_readfile(&val, c->name) ;
    if (fromfile < 0) problem = "unreadable" ;
    if (!ferry_control_default(&def, c)) nomem() ;
    trim_lines(&val) ;
    trim_lines(&def) ;
    {
      size_t i ;
      for (i = 0 ; i < val.len ; i++) if (!val.s[i] || (val.s[i] != '\n' && (unsigned char)val.s[i] < 32)) val.s[i] = '?' ;
    }
    isdefault = fromfile == 0 || (val.len == def.len && (!val.len || !memcmp(val.s, def.s, val.len))) ;
    if (number && !problem)
    {
      uint64_t u ;
      int r = ferry_control_readu64(c->name, &u) ;
      if (r == -2) problem = "not a number in its range" ;
      else if (r == -1) problem = "unreadable" ;
    }
    if (problem)
    {
      char lo[UINT64_FMT], hi[UINT64_FMT] ;
      lo[uint64_fmt(lo, c->min)] = 0 ;
      hi[uint64_fmt(hi, c->max)] = 0 ;
      problems++ ;
      if (number && !strcmp(problem, "not a number in its range")) strerr_warnw("bad value in control/", c->name, ": it must be one number from ", lo, " to ", hi) ;
      else strerr_warnw("control/", c->name, ": ", problem) ;
    }
    if (json)
    {
      if (!first) cats(",") ;
      first = 0 ;
      if (!stralloc_0(&val)) nomem() ;
      val.len-- ;
      if (!json_cat(&out, c->name)) nomem() ;
      cats(":{\"value\":") ; if (!json_cat(&out, val.s)) nomem() ;
      cats(",\"default\":") ; cats(isdefault ? "true" : "false") ;
      cats(",\"file\":") ; cats(fromfile > 0 ? "true" : "false") ;
      if (problem) { cats(",\"problem\":") ; if (!json_cat(&out, problem)) nomem() ; }
      cats("}") ;
    }
    else
    {
      size_t i, start = 0 ;
      int lines = 0 ;
      cats(c->name) ; cats(":") ;
      for (i = strlen(c->name) ; i < 24 ; i++) cats(" ") ;
      if (!val.len) cats("(empty)") ;
      for (i = 0 ; i <= val.len ; i++) if (i == val.len || val.s[i] == '\n')
      {
        if (lines++) { size_t k ; cats("\n") ; for (k = 0 ; k < 25 ; k++) cats(" ") ; }
        catb(val.s + start, i - start) ;
        start = i + 1 ;
      }
      cats(problem ? "   <- BAD: " : isdefault ? (fromfile > 0 ? "   (the default)" : "   (the default; no file)") : "") ;
      if (problem) cats(problem) ;
      cats("\n") ;
    }
    stralloc_free(&val) ;
    stralloc_free(&def) ;
  }
  /* files in control/ that ferry does not read */
  {
    DIR *dh = opendir("control") ;
    struct dirent *de ;
    if (!dh) strerr_diefu1sys(111, "open control") ;
    while ((de = readdir(dh)))
    {
      if (de->d_name[0] == '.' || ferry_control_find(de->d_name) || known_extra(de->d_name)) continue ;
      {
        size_t k = strlen(de->d_name) ;
        if (k > 4 && !strcmp(de->d_name + k - 4, ".tmp")) continue ;
      }
      problems++ ;
      strerr_warnw("control/", de->d_name, ": not a ferry setting (a typo?): ignored by ferry") ;
      if (!json) { cats("control/") ; cats(de->d_name) ; cats(": not a ferry setting (a typo?)\n") ; }
    }
    closedir(dh) ;
  }
  {
    struct stat a, b ;
    if (stat("control/mailboxes", &a) == 0 && (stat("control/mailboxes.cdb", &b) < 0 || a.st_mtime > b.st_mtime))
    {
      problems++ ;
      strerr_warnw("control/mailboxes is newer than control/mailboxes.cdb: run ferry-mailboxes") ;
    }
  }
  if (json) cats("}\n") ;
  if (buffer_putflush(buffer_1, out.s, out.len) < 0) strerr_diefu1sys(111, "write to stdout") ;
  return problems ? 100 : 0 ;
}
