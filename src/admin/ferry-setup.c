/* ferry-setup: make (or check) a complete ferry home: control/, queue/, service/, log/. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/config.h>
#include <ferry/control.h>
#include <ferry/modes.h>
#include <ferry/queue.h>

#define USAGE "ferry-setup [ -u ] [ -c ] [ -b bindir ] [ -s split ] dir"
#define dieusage() strerr_dieusage(100, USAGE)

typedef struct item_s item ;
struct item_s
{
  char kind ;          /* 'b' installed program (bin/NAME), 'd' directory, 's' split directory, 'f' fifo,
                          'r' a record file (queue/split) */
  char const *path ;
  char const *owner ;
  char const *group ;
  mode_t mode ;
} ;

extern char **environ ;

static item const items[] = { FERRY_MODES_TABLE } ;

static int dedicated = 0 ;     /* -u: owners are the dedicated users */
static int checkonly = 0 ;     /* -c */
static unsigned int created = 0 ;
static unsigned int problems = 0 ;
static uid_t homeuid ;
static gid_t homegid ;

static void say (char const *what, char const *path, char const *more)
{
  if (buffer_puts(buffer_1, what) < 0
   || buffer_puts(buffer_1, path) < 0
   || buffer_puts(buffer_1, more) < 0
   || buffer_put(buffer_1, "\n", 1) < 0
   || !buffer_flush(buffer_1))
    strerr_diefu1sys(111, "write to stdout") ;
}

static void owner_ids (item const *it, uid_t *uid, gid_t *gid)
{
  struct passwd *pw ;
  struct group *gr ;
  if (!dedicated) { *uid = homeuid ; *gid = homegid ; return ; }
  pw = getpwnam(it->owner) ;
  if (!pw) strerr_dief(111, "no user ", it->owner, ": run ferry-setup -u as root to create it") ;
  gr = getgrnam(it->group) ;
  if (!gr) strerr_dief(111, "no group ", it->group, ": run ferry-setup -u as root to create it") ;
  *uid = pw->pw_uid ;
  *gid = gr->gr_gid ;
}

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
  if (checkonly) { say("wrong group: user ", user, " is in group ferry, which reads the queue (ferry-setup -u gives it a group of its own)") ; problems++ ; return ; }
  {
    char const *argv[] = { "/usr/sbin/usermod", "--gid", user, user, 0 } ;
    run_or_die(argv, user) ;
    say("moved user ", user, " from group ferry to its own group: it can no longer read the queue") ;
    created++ ;
  }
}

static void users_make (void)
{
  item const *it ;
  if (!getgrnam("ferry"))
  {
    char const *argv[] = { "/usr/sbin/groupadd", "--system", "ferry", 0 } ;
    if (!checkonly) { run_or_die(argv, "ferry") ; say("created group ", "ferry", "") ; created++ ; }
  }
  /* the owners of package/modes (ferryr runs the remote channel: it owns mtasts/ and tlsrpt/; remote/ is root's, its group ferryr);
     ferryd runs the SMTP services (ferry-smtpd under tcpserver) and owns nothing: its group reads control/smtpdkey */
  static char const *const users[] = { "ferryq", "ferrys", "ferryr", "ferryl", "ferryd", 0 } ;
  char const *const *u ;
  for (u = users ; *u ; u++)
  {
    if (own_group(*u) && !getgrnam(*u) && !checkonly)
    {
      char const *argv[] = { "/usr/sbin/groupadd", "--system", *u, 0 } ;
      run_or_die(argv, *u) ;
      say("created group ", *u, "") ;
      created++ ;
    }
    if (getpwnam(*u) || checkonly) { if (own_group(*u)) group_fix(*u) ; continue ; }
    {
      char const *argv[] = { "/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir", FERRY_CONF_HOME, "--shell", "/usr/sbin/nologin", "--gid", own_group(*u) ? *u : "ferry", *u, 0 } ;
      run_or_die(argv, *u) ;
      say("created user ", *u, "") ;
      created++ ;
    }
  }
  for (it = items ; it->kind ; it++)
    if (strcmp(it->owner, "root") && !getpwnam(it->owner))
      strerr_dief(111, "package/modes names an owner that is not a dedicated user: ", it->owner) ;
}

static void check_one (char const *path, item const *it, char kind)
{
  struct stat st ;
  uid_t uid ;
  gid_t gid ;
  if (lstat(path, &st) < 0)
  {
    if (errno != ENOENT) strerr_diefu2sys(111, "stat ", path) ;
    say("missing: ", path, "") ;
    problems++ ;
    return ;
  }
  owner_ids(it, &uid, &gid) ;
  if (kind == 'f' ? !S_ISFIFO(st.st_mode) : kind == 'b' || kind == 'r' ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))
  {
    say("wrong type: ", path, kind == 'f' ? " (want a FIFO)" : kind == 'b' ? " (want a program)" : kind == 'r' ? " (want a file)" : " (want a directory)") ;
    problems++ ;
  }
  if ((st.st_mode & 07777) != it->mode)
  {
    char want[16] = " (want 0" ;
    size_t n = 8 + uint_ofmt(want + 8, it->mode) ;
    want[n++] = ')' ; want[n] = 0 ;
    say("wrong mode: ", path, want) ;
    problems++ ;
  }
  if (st.st_uid != uid || st.st_gid != gid)
  {
    say("wrong owner: ", path, dedicated ? "" : " (want the owner of the home)") ;
    problems++ ;
  }
}

 /* Creates path if missing (1), else only checks it (0). */
static int make_one (char const *path, item const *it, int fifo, int quiet)
{
  uid_t uid ;
  gid_t gid ;
  if (checkonly) { check_one(path, it, fifo ? 'f' : 'd') ; return 0 ; }
  if ((fifo ? mkfifo(path, it->mode) : mkdir(path, it->mode)) < 0)
  {
    if (errno != EEXIST) strerr_diefu2sys(111, "create ", path) ;
    check_one(path, it, fifo ? 'f' : 'd') ;  /* left as it is: only reported */
    return 0 ;
  }
  owner_ids(it, &uid, &gid) ;
  if (chown(path, uid, gid) < 0) strerr_diefu2sys(111, "chown ", path) ;
  if (chmod(path, it->mode) < 0) strerr_diefu2sys(111, "chmod ", path) ;
  if (!quiet) say("created ", path, fifo ? " (FIFO)" : "") ;
  created++ ;
  return 1 ;
}

static void file_make (char const *fn, char const *s, size_t len, mode_t mode) ;

 /* queue/split: the split the queue is made with, written before any numbered subdirectory, so
    that the queue always says what it was made with (doc/queue.html). One already there is only
    checked (its value by queue_split). */
static void split_record (item const *it, unsigned int split)
{
  char fmt[UINT_FMT + 1] ;
  size_t n = uint_fmt(fmt, split) ;
  unsigned int before = created ;
  uid_t uid ;
  gid_t gid ;
  fmt[n++] = '\n' ;
  if (access(it->path, F_OK) == 0) { check_one(it->path, it, 'r') ; return ; }
  file_make(it->path, fmt, n, it->mode) ;
  if (created == before) return ;   /* -c: reported missing */
  owner_ids(it, &uid, &gid) ;
  if (chown(it->path, uid, gid) < 0) strerr_diefu2sys(111, "chown ", it->path) ;
}

static void tree_make (unsigned int split)
{
  item const *it ;
  for (it = items ; it->kind ; it++)
  {
    if (it->kind == 'b' || it->kind == 'r' || !strcmp(it->path, "control")) continue ;
    make_one(it->path, it, it->kind == 'f', 0) ;
    if (!strcmp(it->path, "queue"))
    {
      item const *r ;
      for (r = items ; r->kind ; r++) if (r->kind == 'r') split_record(r, split) ;
    }
    if (it->kind == 's')
    {
      unsigned int i = 0, made = 0 ;
      for (; i < split ; i++)
      {
        char sub[strlen(it->path) + UINT_FMT + 2] ;
        size_t n = strlen(it->path) ;
        memcpy(sub, it->path, n) ;
        sub[n++] = '/' ;
        sub[n + uint_fmt(sub + n, i)] = 0 ;
        made += make_one(sub, it, 0, 1) ;
      }
      if (made)
      {
        char fmt[UINT_FMT + 24] ;
        size_t k = uint_fmt(fmt, made) ;
        memcpy(fmt + k, " subdirectories in ", 20) ;
        say("created ", fmt, it->path) ;
      }
    }
  }
}

 /* Writes fn with s, mode, atomically, only if fn does not exist. */
static void file_make (char const *fn, char const *s, size_t len, mode_t mode)
{
  char tmp[strlen(fn) + 5] ;
  int fd ;
  if (access(fn, F_OK) == 0) return ;
  if (errno != ENOENT) strerr_diefu2sys(111, "access ", fn) ;
  if (checkonly) { say("missing: ", fn, "") ; problems++ ; return ; }
  memcpy(tmp, fn, strlen(fn)) ;
  memcpy(tmp + strlen(fn), ".tmp", 5) ;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) ;
  if (fd < 0) strerr_diefu2sys(111, "create ", tmp) ;
  if (allwrite(fd, s, len) < len || fchmod(fd, mode) < 0 || fsync(fd) < 0)
    strerr_diefu2sys(111, "write ", tmp) ;
  fd_close(fd) ;
  if (rename(tmp, fn) < 0) strerr_diefu4sys(111, "rename ", tmp, " to ", fn) ;
  say("created ", fn, "") ;
  created++ ;
}

static item const *item_of (char const *path)
{
  item const *it ;
  for (it = items ; it->kind ; it++) if (!strcmp(it->path, path)) return it ;
  strerr_dief(111, "package/modes has no line for ", path) ;
}

static gid_t ferryd_gid (void)
{
  struct group *gr ;
  if (!dedicated) return homegid ;
  gr = getgrnam("ferryd") ;
  if (!gr) strerr_dief(111, "no group ", "ferryd", ": run ferry-setup -u as root to create it") ;
  return gr->gr_gid ;
}

 /* control/smtpdkey: the SMTP services' private key, readable by them alone (group ferryd in a
    root install), made empty so that a key copied into it keeps the mode */
static void smtpdkey_make (char const *fn, char const *s, size_t len)
{
  unsigned int before = created ;
  file_make(fn, s, len, 0640) ;
  if (created == before) return ;
  if (chown(fn, dedicated ? 0 : homeuid, ferryd_gid()) < 0) strerr_diefu2sys(111, "chown ", fn) ;
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
      unsigned int before = created ;
      uid_t uid ;
      gid_t gid ;
      file_make(fn, sa.s, sa.len, 0640) ;
      if (created == before) continue ;
      owner_ids(item_of("remote"), &uid, &gid) ;
      if (chown(fn, uid, gid) < 0) strerr_diefu2sys(111, "chown ", fn) ;
      continue ;
    }
    if (!strcmp(c->name, "smtpdkey")) { smtpdkey_make(fn, sa.s, sa.len) ; continue ; }
    file_make(fn, sa.s, sa.len, 0644) ;
  }
  stralloc_free(&sa) ;
}

 /* service/NAME/run runs HOME/bin/PROG [OPT] HOME (as user in a home with the dedicated users,
    when user is given) with its log (fd 2) in the log pipe; service/NAME/log/run keeps that log
    in HOME/LOGDIR with TAI64N stamps, 20 archives of 1 MB. */
static void service_make (char const *home, char const *name, char const *why, char const *user, char const *prog, char const *opt, char const *logdir)
{
  stralloc sa = STRALLOC_ZERO ;
  char fn[64] ;
  if (!stralloc_cats(&sa, "#!/usr/bin/execlineb -P\n# ")
   || !stralloc_cats(&sa, why)
   || !stralloc_cats(&sa, "\nfdmove -c 2 1\n")
   || (dedicated && user && (!stralloc_cats(&sa, "s6-setuidgid ") || !stralloc_cats(&sa, user) || !stralloc_cats(&sa, "\n")))
   || !stralloc_cats(&sa, "\"")
   || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/bin/") || !stralloc_cats(&sa, prog)
   || !stralloc_cats(&sa, "\" ") || (opt && (!stralloc_cats(&sa, opt) || !stralloc_cats(&sa, " ")))
   || !stralloc_cats(&sa, "\"") || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "\"\n"))
    strerr_diefu1sys(111, "allocate") ;
  memcpy(fn, "service/", 8) ; memcpy(fn + 8, name, strlen(name)) ; memcpy(fn + 8 + strlen(name), "/run", 5) ;
  file_make(fn, sa.s, sa.len, 0755) ;
  sa.len = 0 ;
  if (!stralloc_cats(&sa, "#!/usr/bin/execlineb -P\n# the log of service/")
   || !stralloc_cats(&sa, name)
   || !stralloc_cats(&sa, ": TAI64N stamps, 20 archives of 1 MB, in the home's ")
   || !stralloc_cats(&sa, logdir) || !stralloc_cats(&sa, "/.\n")
   || (dedicated && !stralloc_cats(&sa, "s6-setuidgid ferryl\n"))
   || !stralloc_cats(&sa, "s6-log -b -- n20 s1000000 t \"")
   || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/") || !stralloc_cats(&sa, logdir)
   || !stralloc_cats(&sa, "\"\n"))
    strerr_diefu1sys(111, "allocate") ;
  memcpy(fn + 8 + strlen(name), "/log/run", 9) ;
  file_make(fn, sa.s, sa.len, 0755) ;
  stralloc_free(&sa) ;
}

#define TCPRULES "/usr/bin/tcprules"

static char const smtpd_rules[] =
  "# Who may connect to the SMTP services, and with what environment: tcprules(1) rules, compiled\n"
  "# to control/smtpd.cdb, which tcpserver reads at each connection. After a change, run:\n"
  "#   tcprules control/smtpd.cdb control/smtpd.tmp < control/smtpd.rules\n"
  "# This host relays without AUTH (RELAYCLIENT); everyone else may send to the domains ferry\n"
  "# accepts, or anywhere after AUTH (ports 587 and 465).\n"
  "127.0.0.1:allow,RELAYCLIENT=\"\"\n"
  ":allow\n" ;

 /* control/smtpd.rules, and control/smtpd.cdb compiled from it when missing */
static void smtpd_rules_make (void)
{
  file_make("control/smtpd.rules", smtpd_rules, sizeof(smtpd_rules) - 1, 0644) ;
  if (access("control/smtpd.cdb", F_OK) == 0) return ;
  if (checkonly) { say("missing: ", "control/smtpd.cdb", " (tcprules control/smtpd.cdb control/smtpd.tmp < control/smtpd.rules)") ; problems++ ; return ; }
  if (access(TCPRULES, X_OK) < 0)
  {
    strerr_warnw("no ", TCPRULES, ": control/smtpd.cdb not made (install ucspi-tcp, then run tcprules as control/smtpd.rules says)") ;
    return ;
  }
  {
    int fd = open("control/smtpd.rules", O_RDONLY | O_CLOEXEC) ;
    int wstat ;
    pid_t pid ;
    char const *argv[] = { TCPRULES, "control/smtpd.cdb", "control/smtpd.tmp", 0 } ;
    if (fd < 0) strerr_diefu1sys(111, "open control/smtpd.rules") ;
    pid = fork() ;
    if (pid < 0) strerr_diefu1sys(111, "fork") ;
    if (!pid)
    {
      if (dup2(fd, 0) < 0) _exit(111) ;
      execve(argv[0], (char *const *)argv, environ) ;
      _exit(111) ;
    }
    fd_close(fd) ;
    if (wait_pid(pid, &wstat) < 0) strerr_diefu2sys(111, "wait for ", TCPRULES) ;
    if (!WIFEXITED(wstat) || WEXITSTATUS(wstat)) strerr_dief(111, TCPRULES, " failed for ", "control/smtpd.rules") ;
    say("created ", "control/smtpd.cdb", " (from control/smtpd.rules)") ;
    created++ ;
  }
}

 /* One SMTP service: service/NAME/run runs tcpserver on 0.0.0.0 PORT with the rules of
    control/smtpd.cdb, as ferryd in a root install, starting ferry-smtpd [OPT] HOME [CHECKPASSWORD
    /bin/true] for each connection; its log (fds 2 of both) in HOME/log/LOGDIR. Down until started. */
static void smtpd_service_make (char const *home, char const *name, char const *why, char const *port, char const *opt, int auth, char const *logdir)
{
  stralloc sa = STRALLOC_ZERO ;
  char fn[64] ;
  int isnew ;
  size_t k = strlen(name) ;
  memcpy(fn, "service/", 8) ; memcpy(fn + 8, name, k) ; memcpy(fn + 8 + k, "/run", 5) ;
  isnew = access(fn, F_OK) < 0 ;
  if (!stralloc_cats(&sa, "#!/usr/bin/execlineb -P\n# ") || !stralloc_cats(&sa, why)
   || !stralloc_cats(&sa, "\n# Down until s6-svc -u starts it; remove the down file to start it with the supervision tree.\n")
   || (auth && !stralloc_cats(&sa, "# AUTH: name your checkpassword program (qmail's interface: see ferry-smtpd.html) in place of\n"
        "# /usr/local/bin/checkpassword; it runs for each AUTH with the arguments that follow it.\n"))
   || !stralloc_cats(&sa, "fdmove -c 2 1\n")
   || (dedicated && !stralloc_cats(&sa, "s6-envuidgid ferryd\n"))
   || !stralloc_cats(&sa, "/usr/bin/tcpserver -v -R -l 0 -c 100 ")
   || (dedicated && !stralloc_cats(&sa, "-U "))
   || !stralloc_cats(&sa, "-x \"") || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/control/smtpd.cdb\" 0.0.0.0 ")
   || !stralloc_cats(&sa, port) || !stralloc_cats(&sa, "\n\"") || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/bin/ferry-smtpd\" ")
   || (opt && (!stralloc_cats(&sa, opt) || !stralloc_cats(&sa, " ")))
   || !stralloc_cats(&sa, "\"") || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "\"")
   || (auth && !stralloc_cats(&sa, " /usr/local/bin/checkpassword /bin/true"))
   || !stralloc_cats(&sa, "\n"))
    strerr_diefu1sys(111, "allocate") ;
  file_make(fn, sa.s, sa.len, 0755) ;
  sa.len = 0 ;
  if (!stralloc_cats(&sa, "#!/usr/bin/execlineb -P\n# the log of service/")
   || !stralloc_cats(&sa, name)
   || !stralloc_cats(&sa, ": TAI64N stamps, 20 archives of 1 MB, in the home's ")
   || !stralloc_cats(&sa, logdir) || !stralloc_cats(&sa, "/.\n")
   || (dedicated && !stralloc_cats(&sa, "s6-setuidgid ferryl\n"))
   || !stralloc_cats(&sa, "s6-log -b -- n20 s1000000 t \"")
   || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/") || !stralloc_cats(&sa, logdir)
   || !stralloc_cats(&sa, "\"\n"))
    strerr_diefu1sys(111, "allocate") ;
  memcpy(fn + 8 + k, "/log/run", 9) ;
  file_make(fn, sa.s, sa.len, 0755) ;
  stralloc_free(&sa) ;
  /* down by default: made with the service, never again (its removal is the admin's choice) */
  memcpy(fn + 8 + k, "/down", 6) ;
  if (isnew && !checkonly) file_make(fn, "", 0, 0644) ;
}

 /* ferry-smtpd's services: port 25 (smtp: mail from other hosts, STARTTLS, no AUTH), 587
    (submission: STARTTLS, then AUTH), 465 (smtps: TLS from the first byte, AUTH) */
static void smtpd_services_make (char const *home)
{
  smtpd_rules_make() ;
  smtpd_service_make(home, "ferry-smtpd", "ferry-smtpd on port 25 (smtp): mail from other hosts, STARTTLS with control/smtpdcert, no AUTH.",
    "25", 0, 0, "log/smtpd") ;
  smtpd_service_make(home, "ferry-submission", "ferry-smtpd on port 587 (submission): STARTTLS, then AUTH; an authenticated client relays.",
    "587", 0, 1, "log/submission") ;
  smtpd_service_make(home, "ferry-smtps", "ferry-smtpd on port 465 (smtps): TLS from the first byte (-s), AUTH; an authenticated client relays.",
    "465", "-s", 1, "log/smtps") ;
}

static void scripts_make (char const *home)
{
  int newmetrics = access("service/ferry-metrics/run", F_OK) < 0 ;
  service_make(home, "ferry", "The ferry set: ferry-start becomes the queue manager; its log (fd 2) goes to log/run.",
    0, "ferry-start", 0, "log") ;
  service_make(home, "ferry-injectd", "ferry-injectd: ferry-inject as a server on public/inject (group commit), apart from\n"
    "# the set, so that mail is accepted while the set is stopped. Without it, injection runs ferry-inject.",
    0, "ferry-injectd", 0, "log/injectd") ;
  service_make(home, "ferry-metrics", "ferry-metrics: the metrics over HTTP (tcpserver on control/metricslisten). Down until\n"
    "# s6-svc -u starts it; remove the down file to start it with the supervision tree.",
    "ferryl", "ferry-metrics", "-L", "log/metrics") ;
  /* down by default: made with the service, never again (its removal is the admin's choice) */
  if (newmetrics && !checkonly) file_make("service/ferry-metrics/down", "", 0, 0644) ;
  smtpd_services_make(home) ;
}

static void bin_make (char const *home, char const *bindir)
{
  struct stat st ;
  char want[PATH_MAX] ;
  if (lstat("bin", &st) == 0) return ;
  if (errno != ENOENT) strerr_diefu1sys(111, "stat bin") ;
  if (checkonly) { say("missing: ", "bin", "") ; problems++ ; return ; }
  if (!realpath(bindir, want)) strerr_diefu2sys(111, "resolve the program directory ", bindir) ;
  {
    size_t n = strlen(home) ;
    if (!strncmp(want, home, n) && !strcmp(want + n, "/bin")) return ;
  }
  if (symlink(want, "bin") < 0) strerr_diefu2sys(111, "symlink bin to ", want) ;
  say("created bin -> ", want, "") ;
  created++ ;
}


 /* A home made with -u (its queue owned by ferryq, not by the home's owner) is checked and
    completed as one, with or without -u. */
static int queue_is_dedicated (void)
{
  struct stat st ;
  struct passwd *pw ;
  if (stat("queue", &st) < 0) return 0 ;
  pw = getpwnam("ferryq") ;
  return pw && st.st_uid == pw->pw_uid && st.st_uid != homeuid ;
}


 /* The installed programs (bin/ a directory of the home, as make install leaves it) get the
    owners and modes of package/modes: -u sets them, -c reports what differs. A bin/ that is a
    symlink (to a build tree) is left alone. */
static void bin_modes (void)
{
  item const *it ;
  struct stat st ;
  if (!dedicated || lstat("bin", &st) < 0 || !S_ISDIR(st.st_mode)) return ;
  for (it = items ; it->kind ; it++)
  {
    uid_t uid ;
    gid_t gid ;
    if (it->kind != 'b') continue ;
    if (checkonly) { check_one(it->path, it, 'b') ; continue ; }
    if (lstat(it->path, &st) < 0)
    {
      if (errno != ENOENT) strerr_diefu2sys(111, "stat ", it->path) ;
      say("missing: ", it->path, " (make install puts it there)") ;
      problems++ ;
      continue ;
    }
    if (!S_ISREG(st.st_mode)) { check_one(it->path, it, 'b') ; continue ; }
    owner_ids(it, &uid, &gid) ;
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
      say("set ", it->path, m) ;
    }
    created++ ;
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
  if (dedicated && !checkonly && (access("/usr/sbin/useradd", X_OK) < 0 || access("/usr/sbin/groupadd", X_OK) < 0))
    strerr_dief1x(111, "-u needs /usr/sbin/useradd and /usr/sbin/groupadd (Debian's passwd package); nothing was changed") ;
  if (checkonly || lstat(binpath, &st) == 0) return ;
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
      if (!checkonly)
        strerr_dief(111, "queue/split is missing and queue/mess holds ", de->d_name, ", not only the numbered subdirectories 0 to N-1: write N (the split the queue was made with) into queue/split by hand; nothing in the queue was changed") ;
      say("wrong split: queue/mess holds ", de->d_name, ", not only the numbered subdirectories 0 to N-1") ;
      problems++ ;
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
    if (!checkonly)
      strerr_dief(111, "queue/split is missing and queue/mess's numbered subdirectories are not 0 to N-1: write N (the split the queue was made with) into queue/split by hand; nothing in the queue was changed") ;
    say("wrong split: queue/mess's numbered subdirectories are not 0 to N-1", "", "") ;
    problems++ ;
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
      if (!checkonly)
        strerr_dief(111, "queue/split is missing, and control/queuesplit says ", fw, " but queue/mess has ", fh,
          " numbered subdirectories: put ", fh, " into control/queuesplit (the split the queue was made with); nothing in the queue was changed") ;
      say("wrong split: control/queuesplit says ", fw, " but queue/mess was made with another number of subdirectories") ;
      problems++ ;
      return have ;
    }
    return want ;
  }
  r = ferry_queue_split_get(&split, &why) ;
  if (r == -2) strerr_diefu1sys(111, "allocate memory") ;
  if (r == -1) strerr_diefu1sys(111, why.s + 10) ;
  if (!r)
  {
    if (!checkonly) strerr_dief(111, why.s, "; nothing in the queue was changed") ;
    say("wrong split: ", why.s, "") ;
    problems++ ;
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
        case 'u' : dedicated = 1 ; break ;
        case 'c' : checkonly = 1 ; break ;
        case 'b' : bindir = l.arg ; break ;
        case 's' : if (!uint0_scan(l.arg, &n) || n < 1 || n > 1000) strerr_dief1x(100, "-s wants a number from 1 to 1000") ; split = l.arg ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc != 1) dieusage() ;
  if (dedicated && geteuid()) strerr_dief1x(100, "-u (dedicated users) needs root") ;
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
  if (split && checkonly) strerr_dief1x(100, "-s does not go with -c") ;
  preflight(argv[0], bindir) ;
  if (mkdir(argv[0], 0755) == 0) { say("created ", argv[0], "") ; created++ ; }
  else if (errno != EEXIST) strerr_diefu2sys(111, "create ", argv[0]) ;
  if (!realpath(argv[0], home)) strerr_diefu2sys(111, "resolve ", argv[0]) ;
  if (!home_name_ok(home)) strerr_dief(100, "the home's path may not contain \" \\ $ or a newline: ", home) ;
  if (chdir(home) < 0) strerr_diefu2sys(111, "enter ", home) ;
  if (stat(".", &st) < 0) strerr_diefu2sys(111, "stat ", home) ;
  homeuid = st.st_uid ;
  homegid = st.st_gid ;
  if (dedicated) users_make() ;
  else dedicated = queue_is_dedicated() ;
  make_one("control", item_of("control"), 0, 0) ;
  control_make(split) ;
  tree_make(queue_split()) ;
  scripts_make(home) ;
  bin_make(home, bindir) ;
  bin_modes() ;

  if (checkonly)
  {
    if (problems) strerr_dief(1, home, " is not a complete ferry home: see the lines above") ;
    say(home, " is a complete ferry home", "") ;
    return 0 ;
  }
  if (created) sync() ;
  if (!created && !problems) say(home, " is already a complete ferry home: nothing changed", "") ;
  else if (!created) strerr_warnw(home, ": nothing changed, but what is listed above differs from package/modes") ;
  else if (problems) strerr_warnw(home, " was completed, but some of what was already there differs from package/modes: see above") ;
  return 0 ;
}
