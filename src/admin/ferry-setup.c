/* ferry-setup: make (or check) a complete ferry home: control/, queue/, service/, log/. */

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/config.h>
#include <ferry/control.h>
#include <ferry/queue.h>

#include "setup.h"

#define USAGE "ferry-setup [ -u ] [ -c ] [ -b bindir ] [ -s split ] dir"
#define dieusage() strerr_dieusage(100, USAGE)

extern char **environ ;

static setup S = SETUP_ZERO ;

static void run_or_die (char const *const *argv, char const *name)
{
  int wstat ;
  pid_t pid = child_spawn0(argv[0], argv, (char const *const *)environ) ;
  if (!pid) strerr_diefu2sys(111, "spawn ", argv[0]) ;
  if (wait_pid(pid, &wstat) < 0) strerr_diefu2sys(111, "wait for ", argv[0]) ;
  if (!WIFEXITED(wstat) || WEXITSTATUS(wstat)) strerr_dief(111, argv[0], " failed for ", name) ;
}

static int own_group (char const *user)
{
  return !strcmp(user, "ferryr") || !strcmp(user, "ferryl") || !strcmp(user, "ferryd") ;
}

 /* ferryr (the remote channel) and ferryl (the loggers) have a group of their own, not ferry: the
    group ferry reads the queue, and neither needs to (ferry-spawn-remote is handed each message
    open). A user made by an older ferry-setup in group ferry is moved. */
static void group_fix (char const *user)
{
  struct passwd *pw = getpwnam(user) ;
  struct group *gr = getgrnam("ferry") ;
  if (!pw || !gr || pw->pw_gid != gr->gr_gid) return ;
  if (S.checkonly) { setup_say("wrong group: user ", user, " is in group ferry, which reads the queue (ferry-setup -u gives it a group of its own)") ; S.problems++ ; return ; }
  {
    char const *argv[] = { "/usr/sbin/usermod", "--gid", user, user, 0 } ;
    run_or_die(argv, user) ;
    setup_say("moved user ", user, " from group ferry to its own group: it can no longer read the queue") ;
    S.created++ ;
  }
}

static void users_make (void)
{
  setup_item const *it ;
  if (!getgrnam("ferry"))
  {
    char const *argv[] = { "/usr/sbin/groupadd", "--system", "ferry", 0 } ;
    if (!S.checkonly) { run_or_die(argv, "ferry") ; setup_say("created group ", "ferry", "") ; S.created++ ; }
  }
  /* the owners of package/modes (ferryr runs the remote channel: it owns mtasts/ and tlsrpt/; remote/ is root's, its group ferryr);
     ferryd runs the SMTP services (ferry-smtpd's workers) and owns nothing: its group reads control/smtpdkey */
  static char const *const users[] = { "ferryq", "ferrys", "ferryr", "ferryl", "ferryd", 0 } ;
  char const *const *u ;
  for (u = users ; *u ; u++)
  {
    if (own_group(*u) && !getgrnam(*u) && !S.checkonly)
    {
      char const *argv[] = { "/usr/sbin/groupadd", "--system", *u, 0 } ;
      run_or_die(argv, *u) ;
      setup_say("created group ", *u, "") ;
      S.created++ ;
    }
    if (getpwnam(*u) || S.checkonly) { if (own_group(*u)) group_fix(*u) ; continue ; }
    {
      char const *argv[] = { "/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir", FERRY_CONF_HOME, "--shell", "/usr/sbin/nologin", "--gid", own_group(*u) ? *u : "ferry", *u, 0 } ;
      run_or_die(argv, *u) ;
      setup_say("created user ", *u, "") ;
      S.created++ ;
    }
  }
  for (it = setup_items ; it->kind ; it++)
    if (strcmp(it->owner, "root") && !getpwnam(it->owner))
      strerr_dief(111, "package/modes names an owner that is not a dedicated user: ", it->owner) ;
}

static gid_t ferryd_gid (void)
{
  struct group *gr ;
  if (!S.dedicated) return S.homegid ;
  gr = getgrnam("ferryd") ;
  if (!gr) strerr_dief(111, "no group ", "ferryd", ": run ferry-setup -u as root to create it") ;
  return gr->gr_gid ;
}

 /* control/smtpdkey: the SMTP services' private key, readable by them alone (group ferryd in a
    root install), made empty so that a key copied into it keeps the mode */
static void smtpdkey_make (char const *fn, char const *data, size_t len)
{
  unsigned int before = S.created ;
  setup_file(&S, fn, data, len, 0640) ;
  if (S.created == before) return ;
  if (chown(fn, S.dedicated ? 0 : S.homeuid, ferryd_gid()) < 0) strerr_diefu2sys(111, "chown ", fn) ;
}

static void control_make (char const *split)
{
  ferry_control const *c ;
  stralloc sa = STRALLOC_ZERO ;
  for (c = ferry_control_table ; c->name ; c++)
  {
    char fn[9 + strlen(c->name)] ;
    memcpy(fn, "control/", 8) ;
    memcpy(fn + 8, c->name, strlen(c->name) + 1) ;
    if (split && !strcmp(c->name, "queuesplit"))
    {
      sa.len = 0 ;
      if (!stralloc_cats(&sa, split) || !stralloc_catb(&sa, "\n", 1)) strerr_diefu1sys(111, "allocate") ;
    }
    else if (!ferry_control_default(&sa, c)) strerr_diefu2sys(111, "compute the default of ", fn) ;
    if (!strcmp(c->name, "smtpauth"))
    {
      /* credentials: the remote channel refuses them if others may read them; it reads them
         through remote/'s group (ferryr in a root install) */
      unsigned int before = S.created ;
      uid_t uid ;
      gid_t gid ;
      setup_file(&S, fn, sa.s, sa.len, 0640) ;
      if (S.created == before) continue ;
      setup_owner(&S, setup_item_of("remote"), &uid, &gid) ;
      if (chown(fn, uid, gid) < 0) strerr_diefu2sys(111, "chown ", fn) ;
      continue ;
    }
    if (!strcmp(c->name, "smtpdkey")) { smtpdkey_make(fn, sa.s, sa.len) ; continue ; }
    setup_file(&S, fn, sa.s, sa.len, 0644) ;
  }
  stralloc_free(&sa) ;
}

static void bin_make (char const *home, char const *bindir)
{
  struct stat st ;
  char want[PATH_MAX] ;
  if (lstat("bin", &st) == 0) return ;
  if (errno != ENOENT) strerr_diefu1sys(111, "stat bin") ;
  if (S.checkonly) { setup_say("missing: ", "bin", "") ; S.problems++ ; return ; }
  if (!realpath(bindir, want)) strerr_diefu2sys(111, "resolve the program directory ", bindir) ;
  {
    size_t n = strlen(home) ;
    if (!strncmp(want, home, n) && !strcmp(want + n, "/bin")) return ;
  }
  if (symlink(want, "bin") < 0) strerr_diefu2sys(111, "symlink bin to ", want) ;
  setup_say("created bin -> ", want, "") ;
  S.created++ ;
}

 /* A home made with -u (its queue owned by ferryq, not by the home's owner) is checked and
    completed as one, with or without -u. */
static int queue_is_dedicated (void)
{
  struct stat st ;
  struct passwd *pw ;
  if (stat("queue", &st) < 0) return 0 ;
  pw = getpwnam("ferryq") ;
  return pw && st.st_uid == pw->pw_uid && st.st_uid != S.homeuid ;
}

 /* The installed programs (bin/ a directory of the home, as make install leaves it) get the
    owners and modes of package/modes: -u sets them, -c reports what differs. A bin/ that is a
    symlink (to a build tree) is left alone. */
static void bin_modes (void)
{
  setup_item const *it ;
  struct stat st ;
  if (!S.dedicated || lstat("bin", &st) < 0 || !S_ISDIR(st.st_mode)) return ;
  for (it = setup_items ; it->kind ; it++)
  {
    uid_t uid ;
    gid_t gid ;
    if (it->kind != 'b') continue ;
    if (S.checkonly) { setup_check(&S, it->path, it, 'b') ; continue ; }
    if (lstat(it->path, &st) < 0)
    {
      if (errno != ENOENT) strerr_diefu2sys(111, "stat ", it->path) ;
      setup_say("missing: ", it->path, " (make install puts it there)") ;
      S.problems++ ;
      continue ;
    }
    if (!S_ISREG(st.st_mode)) { setup_check(&S, it->path, it, 'b') ; continue ; }
    setup_owner(&S, it, &uid, &gid) ;
    if (st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == it->mode) continue ;
    /* chown first: it clears the set-id bits that chmod then sets */
    if (chown(it->path, uid, gid) < 0) strerr_diefu2sys(111, "chown ", it->path) ;
    if (chmod(it->path, it->mode) < 0) strerr_diefu2sys(111, "chmod ", it->path) ;
    {
      char m[UINT_OFMT + 64] = " to 0" ;
      size_t k = 5 + uint_ofmt(m + 5, it->mode) ;
      m[k++] = ' ' ;
      if (strlen(it->owner) + strlen(it->group) + k + 2 > sizeof(m)) strerr_dief1x(111, "package/modes: owner name too long") ;
      memcpy(m + k, it->owner, strlen(it->owner)) ; k += strlen(it->owner) ;
      m[k++] = ':' ;
      memcpy(m + k, it->group, strlen(it->group) + 1) ;
      setup_say("set ", it->path, m) ;
    }
    S.created++ ;
  }
}

 /* What a home needs, checked before anything is changed: the programs that bin will point at,
    and with -u the tools that make users. */
static void preflight (char const *dir, char const *bindir)
{
  struct stat st ;
  char binpath[strlen(dir) + 5] ;
  char prog[strlen(bindir) + 20] ;
  memcpy(binpath, dir, strlen(dir)) ;
  memcpy(binpath + strlen(dir), "/bin", 5) ;
  if (S.dedicated && !S.checkonly && (access("/usr/sbin/useradd", X_OK) < 0 || access("/usr/sbin/groupadd", X_OK) < 0))
    strerr_dief1x(111, "-u needs /usr/sbin/useradd and /usr/sbin/groupadd (Debian's passwd package); nothing was changed") ;
  if (S.checkonly || lstat(binpath, &st) == 0) return ;
  memcpy(prog, bindir, strlen(bindir)) ;
  memcpy(prog + strlen(bindir), "/ferry-start", 13) ;
  if (access(prog, X_OK) < 0)
    strerr_dief(100, "no ferry programs in ", bindir, ": install them first (make install, as root), or name their directory with -b; nothing was changed") ;
}

 /* The numbered subdirectories of an existing queue/mess: the split the queue was made with, which
    queue/split must name when it is written again. 0 when there is no queue/mess yet, or when its
    entries are not exactly 0 to N-1: then a run stops, and -c reports it. */
static unsigned int mess_dirs (void)
{
  unsigned char seen[FERRY_QUEUE_SPLIT_MAX] ;
  unsigned int n = 0, i ;
  struct dirent *de ;
  DIR *dh = opendir("queue/mess") ;
  if (!dh)
  {
    if (errno == ENOENT) return 0 ;
    strerr_diefu1sys(111, "open queue/mess") ;
  }
  memset(seen, 0, sizeof(seen)) ;
  while (errno = 0, (de = readdir(dh)))
  {
    unsigned int u ;
    size_t len = strlen(de->d_name) ;
    if (de->d_name[0] == '.') continue ;
    if (uint_scan(de->d_name, &u) != len || (len > 1 && de->d_name[0] == '0') || u >= FERRY_QUEUE_SPLIT_MAX || seen[u])
    {
      if (!S.checkonly)
        strerr_dief(111, "queue/split is missing and queue/mess holds ", de->d_name, ", not only the numbered subdirectories 0 to N-1: write N (the split the queue was made with) into queue/split by hand; nothing in the queue was changed") ;
      setup_say("wrong split: queue/mess holds ", de->d_name, ", not only the numbered subdirectories 0 to N-1") ;
      S.problems++ ;
      closedir(dh) ;
      return 0 ;
    }
    seen[u] = 1 ;
    n++ ;
  }
  if (errno) strerr_diefu1sys(111, "read queue/mess") ;
  closedir(dh) ;
  for (i = 0 ; i < n ; i++) if (!seen[i])
  {
    if (!S.checkonly)
      strerr_dief(111, "queue/split is missing and queue/mess's numbered subdirectories are not 0 to N-1: write N (the split the queue was made with) into queue/split by hand; nothing in the queue was changed") ;
    setup_say("wrong split: queue/mess's numbered subdirectories are not 0 to N-1", "", "") ;
    S.problems++ ;
    return 0 ;
  }
  return n ;
}

 /* The split to make or check the queue with: control/queuesplit for a new queue, and for one
    whose queue/split is missing (a run writes it: the repair ferry_queue_split_get asks for); for
    one that has it, its own, which control/queuesplit must name: else -c reports it, and a run
    changes nothing in the queue. */
static unsigned int queue_split (void)
{
  stralloc why = STRALLOC_ZERO ;
  unsigned int split = 0 ;
  int r ;
  if (access("queue/split", F_OK) < 0 && errno == ENOENT)
  {
    /* a new queue, or one whose queue/split went: then what its subdirectories say, which
       control/queuesplit must name (messages are looked for by their id modulo the split) */
    unsigned int want = (unsigned int)ferry_control_u64_or_die("queuesplit", 111), have = mess_dirs() ;
    if (have && have != want)
    {
      char fw[UINT_FMT], fh[UINT_FMT] ;
      fw[uint_fmt(fw, want)] = 0 ;
      fh[uint_fmt(fh, have)] = 0 ;
      if (!S.checkonly)
        strerr_dief(111, "queue/split is missing, and control/queuesplit says ", fw, " but queue/mess has ", fh,
          " numbered subdirectories: put ", fh, " into control/queuesplit (the split the queue was made with); nothing in the queue was changed") ;
      setup_say("wrong split: control/queuesplit says ", fw, " but queue/mess was made with another number of subdirectories") ;
      S.problems++ ;
      return have ;
    }
    return want ;
  }
  r = ferry_queue_split_get(&split, &why) ;
  if (r == -2) strerr_diefu1sys(111, "allocate memory") ;
  if (r == -1) strerr_diefu1sys(111, why.s + 10) ;
  if (!r)
  {
    if (!S.checkonly) strerr_dief(111, why.s, "; nothing in the queue was changed") ;
    setup_say("wrong split: ", why.s, "") ;
    S.problems++ ;
    if (!split) split = (unsigned int)ferry_control_u64_or_die("queuesplit", 111) ;
  }
  stralloc_free(&why) ;
  return split ;
}

static int home_name_ok (char const *s)
{
  for (; *s ; s++) if (*s == '"' || *s == '\\' || *s == '\n' || *s == '$') return 0 ;
  return 1 ;
}

int main (int argc, char const *const *argv)
{
  char const *bindir = FERRY_CONF_HOME "/bin" ;
  char const *split = 0 ;
  char home[PATH_MAX] ;
  char bindirbuf[PATH_MAX] ;
  struct stat st ;
  unsigned int n ;
  PROG = "ferry-setup" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "ucb:s:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'u' : S.dedicated = 1 ; break ;
        case 'c' : S.checkonly = 1 ; break ;
        case 'b' : bindir = l.arg ; break ;
        case 's' : if (!uint0_scan(l.arg, &n) || n < 1 || n > 1000) strerr_dief1x(100, "-s wants a number from 1 to 1000") ; split = l.arg ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc != 1) dieusage() ;
  if (S.dedicated && geteuid()) strerr_dief1x(100, "-u (dedicated users) needs root") ;
  umask(022) ;

  if (bindir[0] != '/')
  {
    size_t k ;
    if (!getcwd(bindirbuf, PATH_MAX - 1)) strerr_diefu1sys(111, "get the current directory") ;
    k = strlen(bindirbuf) ;
    if (k + strlen(bindir) + 2 > PATH_MAX) strerr_dief1x(100, "-b: path too long") ;
    bindirbuf[k++] = '/' ;
    memcpy(bindirbuf + k, bindir, strlen(bindir) + 1) ;
    bindir = bindirbuf ;
  }
  if (split && S.checkonly) strerr_dief1x(100, "-s does not go with -c") ;
  preflight(argv[0], bindir) ;
  if (mkdir(argv[0], 0755) == 0) { setup_say("created ", argv[0], "") ; S.created++ ; }
  else if (errno != EEXIST) strerr_diefu2sys(111, "create ", argv[0]) ;
  if (!realpath(argv[0], home)) strerr_diefu2sys(111, "resolve ", argv[0]) ;
  if (!home_name_ok(home)) strerr_dief(100, "the home's path may not contain \" \\ $ or a newline: ", home) ;
  if (chdir(home) < 0) strerr_diefu2sys(111, "enter ", home) ;
  if (stat(".", &st) < 0) strerr_diefu2sys(111, "stat ", home) ;
  S.homeuid = st.st_uid ;
  S.homegid = st.st_gid ;
  if (S.dedicated) users_make() ;
  else S.dedicated = queue_is_dedicated() ;
  setup_make(&S, "control", setup_item_of("control"), 0, 0) ;
  control_make(split) ;
  setup_tree(&S, queue_split()) ;
  setup_services(&S, home) ;
  bin_make(home, bindir) ;
  bin_modes() ;

  if (S.checkonly)
  {
    if (S.problems) strerr_dief(1, home, " is not a complete ferry home: see the lines above") ;
    setup_say(home, " is a complete ferry home", "") ;
    return 0 ;
  }
  if (S.created) sync() ;
  if (!S.created && !S.problems) setup_say(home, " is already a complete ferry home: nothing changed", "") ;
  else if (!S.created) strerr_warnw(home, ": nothing changed, but what is listed above differs from package/modes") ;
  else if (S.problems) strerr_warnw(home, " was completed, but some of what was already there differs from package/modes: see above") ;
  return 0 ;
}
