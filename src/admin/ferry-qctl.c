/* ferry-qctl: steer queued messages while the set runs: hold, release, delete (with or without a
   failure notice), requeue; suspend and resume a domain or a shaping key. hold, delete and
   suspend are files first (durable), then a command on queue/lock/steer that the queue manager
   acts on at once. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/addr.h>
#include <ferry/control.h>
#include <ferry/home.h>
#include <ferry/queue.h>
#include <ferry/suspend.h>

#include "admin.h"

#define USAGE "ferry-qctl [ -h home ] hold|release|delete|bounce|requeue name|@domain|all ... | suspend|resume @domain|site:NAME|route:HOST ... | suspended | deadhosts | undead ip[:port]|all"
#define ANSWER_WAIT 10000   /* milliseconds for the remote channel's answer */

static unsigned int split ;
static char const *cmd ;
static int steerfd = -2 ;       /* -2 not opened yet, -1 no queue manager listening */
static unsigned int done = 0, bad = 0 ;

static void nomem (void) { strerr_diefu1sys(111, "allocate memory") ; }

static void say (char const *a, char const *name, char const *b)
{
  if (buffer_puts(buffer_1, a) < 0 || buffer_puts(buffer_1, name) < 0 || buffer_puts(buffer_1, b) < 0 || buffer_putflush(buffer_1, "\n", 1) < 0)
    strerr_diefu1sys(111, "write to stdout") ;
}

 /* The command to the queue manager; 0 when none is listening. */
static int steer (char const *verb, char const *arg)
{
  stralloc line = STRALLOC_ZERO ;
  if (steerfd == -2)
  {
    steerfd = open("queue/lock/steer", O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;
    if (steerfd < 0)
    {
      if (errno != ENXIO && errno != ENOENT) strerr_diefu1sys(111, "open queue/lock/steer") ;
      steerfd = -1 ;
    }
    else if (ndelay_off(steerfd) < 0) strerr_diefu1sys(111, "set queue/lock/steer blocking") ;
  }
  if (steerfd < 0) return 0 ;
  if (!stralloc_cats(&line, verb) || !stralloc_catb(&line, " ", 1) || !stralloc_cats(&line, arg) || !stralloc_catb(&line, "\n", 1)) nomem() ;
  if (allwrite(steerfd, line.s, line.len) < line.len) strerr_diefu1sys(111, "write to queue/lock/steer") ;
  stralloc_free(&line) ;
  return 1 ;
}

static void marker (char const *dir, uint64_t id, char const *content, int remove)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  ferry_queue_path(fn, dir, id, 0) ;
  if (remove)
  {
    if (unlink(fn) < 0 && errno != ENOENT) strerr_diefu2sys(111, "remove ", fn) ;
  }
  else if (!openwritenclose_suffix(fn, content, strlen(content), ".tmp")) strerr_diefu2sys(111, "write ", fn) ;
  {
    char dn[FERRY_QUEUE_PATH_MAX] ;
    ferry_queue_subdir(dn, dir, 0, 0) ;
    if (ferry_dir_sync(dn) < 0) strerr_diefu2sys(111, "sync ", dn) ;
  }
}

typedef struct { uint64_t stamp ; int damaged ; } recheck ;

static int still_damaged (qmsg const *m, void *data)
{
  recheck *r = data ;
  r->damaged = m->prepared && m->unloadable && m->stamp == r->stamp ;
  return 1 ;
}

 /* One file of a damaged message: 1 removed, 0 not there; dies when it stays. */
static int drop (char const *dir, uint64_t id, unsigned int splitby, char const *suffix, char const *name)
{
  char fn[FERRY_QUEUE_PATH_MAX + 16] ;
  size_t k = ferry_queue_path(fn, dir, id, splitby) ;
  memcpy(fn + k, suffix, strlen(suffix) + 1) ;
  if (unlink(fn) == 0)
  {
    char dn[FERRY_QUEUE_PATH_MAX] ;
    ferry_queue_subdir(dn, dir, id, splitby) ;
    if (ferry_dir_sync(dn) < 0) strerr_diefu2sys(111, "sync ", dn) ;
    return 1 ;
  }
  if (errno == ENOENT) return 0 ;
  strerr_diefu5sys(111, "remove ", fn, " of the damaged msg ", name, " (its other files are still there)") ;
}

 /* A message whose envelope or recipient records do not parse is one the queue manager left
    alone: it never loads it, so a delete mark would wait forever. (One whose message file is
    missing is loaded, and takes the delete mark like any other.) Its files go here, in the order
    the queue manager removes a finished message's: marks, recipient files (then it is no message
    any more), envelope, message file last (it holds the id). It is read again first: a message
    that was only finishing while it was read has no recipient file by then, and one of another
    name on the same inode is not this one; either is left alone. */
static void damaged_delete (qmsg const *m)
{
  static char const *const marks[][2] = { { "bounce", ".delay" }, { "bounce", ".delay.new" }, { "defer", "" }, { "hold", "" }, { "bounce", "" } } ;
  recheck again = { .stamp = m->stamp, .damaged = 0 } ;
  int notices = m->bounce ;
  unsigned int i, n = 0 ;
  if (qwalk_id(split, m->id, &still_damaged, &again) < 0) strerr_diefu1sys(111, "read the queue") ;
  if (!again.damaged) { say("msg ", m->name, ": no longer damaged in the queue: nothing removed (run ferry-qctl again)") ; return ; }
  for (i = 0 ; i < sizeof(marks) / sizeof(marks[0]) ; i++) n += drop(marks[i][0], m->id, strcmp(marks[i][0], "defer") ? 0 : split, marks[i][1], m->name) ;
  n += drop("local", m->id, split, "", m->name) ;
  n += drop("remote", m->id, split, "", m->name) ;
  n += drop("intd", m->id, split, "", m->name) ;
  n += drop("delete", m->id, 0, "", m->name) ;
  n += drop("mess", m->id, split, "", m->name) ;
  {
    char f[UINT_FMT] ;
    stralloc line = STRALLOC_ZERO ;
    f[uint_fmt(f, n)] = 0 ;
    if (!stralloc_cats(&line, " (") || !stralloc_cats(&line, m->damage) || !stralloc_cats(&line, "): its ")
     || !stralloc_cats(&line, f) || !stralloc_cats(&line, " queue files removed, without notice")
     || (notices && !stralloc_cats(&line, "; the notices it had pending were dropped too")) || !stralloc_0(&line)) nomem() ;
    say("deleted damaged msg ", m->name, line.s) ;
    stralloc_free(&line) ;
  }
}

 /* After a mark is made: is the message still the one named? Its id is its message file's inode,
    which a new message may have taken since it was listed; then the mark goes, and nothing is
    done. (The queue manager checks the name again when it takes the command.) */
static int still (qmsg const *m, char const *dir)
{
  uint64_t stamp ;
  if (ferry_msgname_read(m->id, split, &stamp) < 0) strerr_diefu2sys(111, "stat the message file of ", m->name) ;
  if (stamp == m->stamp) return 1 ;
  marker(dir, m->id, "", 1) ;
  strerr_warnw(m->name, ": no such message in the queue") ;
  bad++ ;
  return 0 ;
}

static void act (qmsg const *m)
{
  char const *f = m->name ;
  int heard ;
  if (!strcmp(cmd, "hold"))
  {
    if (m->held) { say("msg ", f, ": already held") ; done++ ; return ; }
    marker("hold", m->id, "", 0) ;
    if (!still(m, "hold")) return ;
    heard = steer("hold", f) ;
    say("held msg ", f, heard ? "" : " (the set is not running: it takes effect when it starts)") ;
  }
  else if (!strcmp(cmd, "release"))
  {
    if (!m->held) { say("msg ", f, ": not held") ; done++ ; return ; }
    marker("hold", m->id, "", 1) ;
    heard = steer("release", f) ;
    say("released msg ", f, heard ? ": its recipients are tried now" : " (the set is not running: it takes effect when it starts)") ;
  }
  else if ((!strcmp(cmd, "delete") || !strcmp(cmd, "bounce")) && m->unloadable && m->prepared)
  {
    if (cmd[0] == 'b')
    {
      strerr_warnw("msg ", f, " is damaged (", m->damage, "): its recipients cannot be read, so no notice can be built; ferry-qctl delete removes it without one") ;
      bad++ ;
      return ;
    }
    damaged_delete(m) ;
  }
  else if (!strcmp(cmd, "delete") || !strcmp(cmd, "bounce"))
  {
    marker("delete", m->id, cmd[0] == 'b' ? "b" : "", 0) ;
    if (!still(m, "delete")) return ;
    heard = steer("delete", f) ;
    say(cmd[0] == 'b' ? "deleting msg " : "deleting msg ", f,
        heard ? (cmd[0] == 'b' ? ": its waiting recipients fail, and the sender gets a notice" : ": its waiting recipients are dropped, without notice")
              : " (the set is not running: it is deleted when it starts)") ;
  }
  else if (!strcmp(cmd, "requeue"))
  {
    if (!steer("requeue", f)) strerr_dief1x(111, "the set is not running: nothing to requeue now (its deferred recipients keep their times)") ;
    say("requeued msg ", f, m->held ? ": it is held, release it first" : "") ;
  }
  done++ ;
}

 /* A question for ferry-spawn-remote, which owns the dead hosts: on its FIFO remote/ask; the
    answer comes back on a FIFO of our own in remote/, opened before the question so that no
    answer can be missed. */
static int ask_remote (char const *verb, char const *arg)
{
  char name[64], fn[80] ;
  size_t k = 0 ;
  int fd, askfd, got = 0 ;
  stralloc line = STRALLOC_ZERO ;
  memcpy(name, "qctl.", 5) ; k = 5 ;
  k += uint_fmt(name + k, (unsigned int)getpid()) ;
  name[k] = 0 ;
  memcpy(fn, "remote/", 7) ;
  memcpy(fn + 7, name, k + 1) ;
  {
    /* remote/ must be ours (root's in a root install, its group ferryr): the channel's user can
       then make, rename or remove no name in it, and what we make there stays what we made */
    struct stat st ;
    if (lstat("remote", &st) < 0) strerr_diefu1sys(111, "stat remote/ (ferry-setup makes it)") ;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
      strerr_dief1x(111, "remote/ must be a directory of ferry-qctl's user that no one else can write (root's, group ferryr, 0750 in a root install): ferry-setup -c says what is wrong") ;
  }
  unlink(fn) ;
  if (mkfifo(fn, 0600) < 0) strerr_diefu2sys(111, "make the answer FIFO ", fn) ;
  fd = open(fn, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC) ;
  if (fd < 0) { unlink(fn) ; strerr_diefu2sys(111, "open ", fn) ; }
  /* the channel's user writes the answer: 0622 on what was opened, not on a name */
  if (fchmod(fd, 0622) < 0) { unlink(fn) ; strerr_diefu2sys(111, "set the mode of ", fn) ; }
  if (!stralloc_cats(&line, verb) || !stralloc_catb(&line, " ", 1) || (arg && (!stralloc_cats(&line, arg) || !stralloc_catb(&line, " ", 1)))
   || !stralloc_cats(&line, name) || !stralloc_catb(&line, "\n", 1)) nomem() ;
  askfd = open("remote/ask", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC) ;
  if (askfd < 0)
  {
    int e = errno ;
    unlink(fn) ;
    if (e == ENOENT) strerr_dief1x(111, "remote/ask is missing: run ferry-setup on the home") ;
    errno = e ;
    if (e != ENXIO) strerr_diefu1sys(111, "open remote/ask") ;
    strerr_dief1x(111, "the set is not running: no remote channel to ask") ;
  }
  {
    struct stat st ;
    if (fstat(askfd, &st) < 0 || !S_ISFIFO(st.st_mode)) { unlink(fn) ; strerr_dief1x(111, "remote/ask is not a FIFO: run ferry-setup -c on the home") ; }
  }
  if (ndelay_off(askfd) < 0) { unlink(fn) ; strerr_diefu1sys(111, "set remote/ask blocking") ; }
  if (allwrite(askfd, line.s, line.len) < line.len) { unlink(fn) ; strerr_diefu1sys(111, "write to remote/ask") ; }
  fd_close(askfd) ;
  stralloc_free(&line) ;
  for (;;)
  {
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 } ;
    char buf[4096] ;
    ssize_t r ;
    int e = poll(&p, 1, ANSWER_WAIT) ;
    if (e < 0) { if (errno == EINTR) continue ; unlink(fn) ; strerr_diefu1sys(111, "wait for the answer") ; }
    if (!e) { unlink(fn) ; strerr_dief1x(111, "no answer from the set within 10 seconds") ; }
    r = read(fd, buf, sizeof(buf)) ;
    if (r < 0) { if (errno == EAGAIN || errno == EINTR) continue ; unlink(fn) ; strerr_diefu2sys(111, "read ", fn) ; }
    if (!r) break ;   /* poll says nothing before a writer came: this is its close */
    got = 1 ;
    if (buffer_put(buffer_1, buf, r) < 0) strerr_diefu1sys(111, "write to stdout") ;
  }
  unlink(fn) ;
  if (!got && !strcmp(verb, "deadhosts") && buffer_puts(buffer_1, "no dead hosts: every host is tried\n") < 0) strerr_diefu1sys(111, "write to stdout") ;
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(111, "write to stdout") ;
  return 0 ;
}

/* ---------- suspend, resume, suspended ---------- */

static void suspend_mark (char const *name, int on)
{
  char fn[16 + FERRY_SUSPEND_NAME_MAX] ;
  memcpy(fn, "queue/suspend/", 14) ;
  memcpy(fn + 14, name, strlen(name) + 1) ;
  if (on)
  {
    if (!openwritenclose_suffix(fn, "", 0, ".tmp")) strerr_diefu2sys(111, "write ", fn) ;
  }
  else if (unlink(fn) < 0)
  {
    if (errno != ENOENT) strerr_diefu2sys(111, "remove ", fn) ;
    return ;
  }
  if (ferry_dir_sync("queue/suspend") < 0) strerr_diefu1sys(111, "sync queue/suspend") ;
}

 /* The mark first (the queue manager finds it at its next start), then the command. */
static void suspend_one (char const *verb, char const *arg)
{
  char name[FERRY_SUSPEND_NAME_MAX] ;
  int on = verb[0] == 's', heard ;
  if (!ferry_suspend_name(name, arg))
  {
    strerr_warnw("not @domain, site:NAME or route:HOST: ", arg) ;
    bad++ ;
    return ;
  }
  suspend_mark(name, on) ;
  heard = steer(verb, name) ;
  say(on ? "suspended " : "resumed ", name,
      !heard ? " (the set is not running: it takes effect when it starts)" : on ? ": nothing starts there until it is resumed" : ": its recipients are tried now") ;
}

static int bynamecmp (void const *a, void const *b) { return strcmp(*(char *const *)a, *(char *const *)b) ; }

 /* The marks, with the recipients each holds back from the queue manager's snapshot. */
static int suspended_list (void)
{
  DIR *dh = opendir("queue/suspend") ;
  struct dirent *de ;
  genalloc names = GENALLOC_ZERO ;   /* char *, sorted */
  shapekey *keys = 0 ;
  unsigned int nkeys = 0, i, j ;
  uint64_t age = 0 ;
  int have, why = 0 ;
  if (!dh) strerr_diefu1sys(111, "open queue/suspend") ;
  while (errno = 0, (de = readdir(dh)))
  {
    char name[FERRY_SUSPEND_NAME_MAX], *p ;
    size_t n = strlen(de->d_name) ;
    if (de->d_name[0] == '.' || (n > 4 && !strcmp(de->d_name + n - 4, ".tmp")) || !ferry_suspend_name(name, de->d_name)) continue ;
    p = strdup(name) ;
    if (!p || !genalloc_append(char *, &names, &p)) nomem() ;
  }
  if (errno) strerr_diefu1sys(111, "read queue/suspend") ;
  closedir(dh) ;
  if (!genalloc_len(char *, &names)) { say("nothing is suspended", "", "") ; return 0 ; }
  qsort(genalloc_s(char *, &names), genalloc_len(char *, &names), sizeof(char *), &bynamecmp) ;
  have = shaping_read(&keys, &nkeys, &age) ;
  if (!have) why = errno ;
  if (have && age >= METRICS_UP_SECONDS) { shaping_free(keys, nkeys) ; keys = 0 ; nkeys = 0 ; have = 0 ; why = ENOENT ; }
  for (i = 0 ; i < genalloc_len(char *, &names) ; i++)
  {
    char const *name = genalloc_s(char *, &names)[i] ;
    char const *label = name[0] == '@' ? name + 1 : name ;
    if (!have)
    {
      say(name, ": suspended", why == ENOENT ? " (the queue manager is not running)" : " (no count: metrics/schedule/metrics.prom cannot be read)") ;
      continue ;
    }
    for (j = 0 ; j < nkeys && strcmp(keys[j].key, label) ; j++) ;
    if (j == nkeys) { say(name, ": suspended", "") ; continue ; }
    {
      char f[UINT64_FMT + 32] ;
      size_t k = uint64_fmt(f + 2, keys[j].waiting) + 2 ;
      f[0] = ',' ; f[1] = ' ' ;
      memcpy(f + k, keys[j].waiting == 1 ? " recipient waiting" : " recipients waiting", keys[j].waiting == 1 ? 19 : 20) ;
      say(name, ": suspended", f) ;
    }
  }
  for (i = 0 ; i < genalloc_len(char *, &names) ; i++) free(genalloc_s(char *, &names)[i]) ;
  genalloc_free(char *, &names) ;
  if (keys) shaping_free(keys, nkeys) ;
  return 0 ;
}

typedef struct target_s target ;
struct target_s
{
  int all ;
  char const *domain ;
  uint64_t id, stamp ;   /* a message's name */
  int found ;
  int other ;            /* a message of another name has the id now */
} ;

static int match (qmsg const *m, void *data)
{
  target *t = data ;
  unsigned int i ;
  if (!t->all && !t->domain && m->id == t->id && m->stamp != t->stamp) { t->other = 1 ; return 1 ; }
  if (t->all || (!t->domain && m->id == t->id)) { t->found++ ; act(m) ; return !t->all ; }
  if (!t->domain) return 0 ;
  for (i = 0 ; i < m->n ; i++)
  {
    if (m->r[i].status == 'T' && !strcasecmp(ferry_addr_domain(m->r[i].addr), t->domain)) { t->found++ ; act(m) ; break ; }
  }
  return 0 ;
}

int main (int argc, char const *const *argv)
{
  char const *home = 0 ;
  PROG = "ferry-qctl" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "h:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'h' : home = l.arg ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc == 1 && !strcmp(argv[0], "deadhosts"))
  {
    if (chdir(ferry_home(home)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
    return ask_remote("deadhosts", 0) ;
  }
  if (argc == 2 && !strcmp(argv[0], "undead"))
  {
    if (chdir(ferry_home(home)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
    if (strchr(argv[1], ' ') || strchr(argv[1], '/') || !argv[1][0]) strerr_dieusage(100, USAGE) ;
    return ask_remote("undead", argv[1]) ;
  }
  if (argc == 1 && !strcmp(argv[0], "suspended"))
  {
    queue_enter(home) ;
    return suspended_list() ;
  }
  if (argc >= 2 && (!strcmp(argv[0], "suspend") || !strcmp(argv[0], "resume")))
  {
    char const *verb = argv[0] ;
    queue_enter(home) ;
    for (argv++ ; *argv ; argv++) suspend_one(verb, *argv) ;
    return bad ? 100 : 0 ;
  }
  if (argc < 2) strerr_dieusage(100, USAGE) ;
  cmd = argv[0] ;
  if (strcmp(cmd, "hold") && strcmp(cmd, "release") && strcmp(cmd, "delete") && strcmp(cmd, "bounce") && strcmp(cmd, "requeue"))
    strerr_dieusage(100, USAGE) ;
  split = queue_enter(home) ;
  for (argv++ ; *argv ; argv++)
  {
    target t = { .all = 0, .domain = 0, .id = 0, .stamp = 0, .found = 0, .other = 0 } ;
    if (!strcmp(*argv, "all")) t.all = 1 ;
    else if ((*argv)[0] == '@' && (*argv)[1]) t.domain = *argv + 1 ;
    else if (!ferry_msgname_scan(*argv, &t.id, &t.stamp))
    {
      uint64_t u ;
      /* a bare inode number may be another message's by now: only a name says which one */
      if (uint640_scan(*argv, &u)) strerr_dief(100, "a bare number is not a message name (ferry-qread lists the names): ", *argv) ;
      strerr_dief(100, "not a message name, @domain or all: ", *argv) ;
    }
    if (t.domain && !strcmp(cmd, "requeue"))
    {
      /* the queue manager finds them itself, and forgets the domain's failures */
      if (!steer("requeue", *argv)) strerr_dief1x(111, "the set is not running: nothing to requeue now (its deferred recipients keep their times)") ;
      if (buffer_puts(buffer_1, "requeued the deferred recipients at ") < 0 || buffer_puts(buffer_1, *argv + 1) < 0 || buffer_putflush(buffer_1, "\n", 1) < 0)
        strerr_diefu1sys(111, "write to stdout") ;
      done++ ;
      continue ;
    }
    /* an id is looked up directly; a domain or all needs the whole queue */
    if ((t.all || t.domain ? qwalk(split, &match, &t) : qwalk_id(split, t.id, &match, &t)) < 0) strerr_diefu1sys(111, "read the queue") ;
    if (!t.found && !t.all)
    {
      strerr_warnw(*argv, t.domain ? ": no queued message has a recipient waiting there" : t.other ? ": no such message in the queue (its inode is another message's now)" : ": no such message in the queue") ;
      bad++ ;
    }
  }
  return bad ? 100 : 0 ;
}
