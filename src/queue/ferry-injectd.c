/* ferry-injectd: ferry-inject as a server. Clients connect to public/inject and send a message
   and its envelope; the injections that are in flight together share their sync calls (group
   commit), and a client pays no fork and exec of ferry-inject. The commit itself is
   ferry-inject's: the same files, the same order, the same exit codes (doc/protocols.html). */

#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/body.h>
#include <ferry/control.h>
#include <ferry/envelope.h>
#include <ferry/home.h>
#include <ferry/inject.h>
#include <ferry/inject_run.h>
#include <ferry/msgname.h>
#include <ferry/pool.h>
#include <ferry/queue.h>

#include "injectd_metrics.h"

#define USAGE "ferry-injectd [ -c maxclients ] [ -u maxperuid ] [ -t timeout ] [ -T maxtime ] [ home ]"
#define SOCKET_PATH FERRY_INJECT_SOCKET
#define SOCKET_TMP FERRY_INJECT_SOCKET_NEW
#define ENVELOPE_MAX (64 << 20)
#define CHUNKLEN_DIGITS 10
#define STOP_GRACE 10
#define RESERVED 16       /* slots beyond maxclients for root and the queue's own users */
#define REPLY_GRACE 10    /* seconds a client has to take its answer */

 /* ST_READY: its files written, waiting for the sync that makes them durable; ST_LINKED: its
    todo link made, waiting for the sync that makes that durable (commit) */
typedef enum { ST_LEN, ST_DATA, ST_COMMA, ST_ENV, ST_READY, ST_LINKED, ST_REPLY } state ;

typedef struct client_s client ;
struct client_s
{
  int fd ;
  int mfd ;                 /* the message file while it is written */
  state st ;
  int last ;                /* the chunk being read is the empty one that ends the message */
  unsigned int digits ;
  uint64_t left ;           /* ST_LEN: the length being read; ST_DATA: bytes left in the chunk */
  uint64_t total ;          /* message bytes so far */
  uint64_t id ;
  uint64_t limit ;          /* control/databytes when it connected; 0: none */
  uid_t uid ;
  pid_t pid ;
  time_t birth ;
  int mademess, madeintd ;
  uint64_t messlen ;        /* the bytes written into the message file */
  uint64_t messold ;        /* its length before, when it came from the pool */
  stralloc env ;            /* u, p, t, then w and b (the body facts), then the client's envelope */
  size_t envbase ;
  ferry_body_scan body ;    /* every byte written to the message file */
  ferry_envelope_scanner sc ;
  tain deadline ;           /* the nearer of the idle timeout and the end */
  tain end ;                /* the whole submission's deadline (-T) */
  char reply[160] ;
  size_t rlen, rpos ;
} ;

static unsigned int split ;
static unsigned int timeout = 300, maxtime = 600 ;
static client *clients ;
static unsigned int nclients = 0, maxclients = 64, maxperuid = 16 ;
static int qfd ;
static pid_t mypid ;         /* names this server's files in queue/pid */
static ferry_pool pool = FERRY_POOL_ZERO ;   /* queue/free.inject: message files and envelopes to reuse */
static uint64_t committed = 0, batches = 0, refused = 0, turnedaway = 0 ;
static unsigned int pending = 0 ;   /* clients linked into todo/, waiting for the next sync */
static uid_t own[3] ;       /* root, the server's own user, the queue manager's: never turned away */
static unsigned int nown = 0 ;

static void files_remove (client *c)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  if (c->madeintd) { ferry_queue_path(fn, "intd", c->id, split) ; unlink(fn) ; c->madeintd = 0 ; }
  if (c->mademess) { ferry_queue_path(fn, "mess", c->id, split) ; unlink(fn) ; c->mademess = 0 ; }
}

 /* Ends the injection with an answer: the code (ferry-inject's exit code) and a few words. */
static void answer (client *c, int code, char const *what)
{
  size_t n = uint_fmt(c->reply, code) ;
  size_t k = strlen(what) ;
  if (k > sizeof(c->reply) - n - 3) k = sizeof(c->reply) - n - 3 ;
  c->reply[n++] = ' ' ;
  memcpy(c->reply + n, what, k) ; n += k ;
  c->reply[n++] = '\n' ;
  c->rlen = n ; c->rpos = 0 ;
  if (c->mfd >= 0) { fd_close(c->mfd) ; c->mfd = -1 ; }
  if (code) { files_remove(c) ; refused++ ; injectd_metrics_refused() ; }
  c->st = ST_REPLY ;
}

static void answer_sys (client *c, int code, char const *what)
{
  char buf[120] ;
  char const *s = strerror(errno) ;
  size_t n = strlen(what), k = strlen(s) ;
  if (n > 60) n = 60 ;
  if (k > 50) k = 50 ;
  memcpy(buf, what, n) ; memcpy(buf + n, ": ", 2) ; memcpy(buf + n + 2, s, k) ; buf[n + 2 + k] = 0 ;
  answer(c, code, buf) ;
}

static void client_drop (unsigned int i)
{
  client *c = clients + i ;
  if (c->mfd >= 0) fd_close(c->mfd) ;
  /* once its todo link is made, its files are the queue's: it goes without an answer, which
     the protocol reads as an unknown outcome */
  if (c->st != ST_REPLY && c->st != ST_LINKED) files_remove(c) ;
  fd_close(c->fd) ;
  stralloc_free(&c->env) ;
  clients[i] = clients[--nclients] ;
}

static int record_cat (stralloc *sa, char type, uint64_t u)
{
  char fmt[UINT64_FMT] ;
  return stralloc_catb(sa, &type, 1) && stralloc_catb(sa, fmt, uint64_fmt(fmt, u)) && stralloc_0(sa) ;
}

 /* The client's next deadline: sent nothing for -t seconds, or the whole submission's end. */
static void deadline_set (client *c)
{
  tain_addsec_g(&c->deadline, timeout) ;
  if (tain_less(&c->end, &c->deadline)) c->deadline = c->end ;
}

static int uid_own (uid_t uid)
{
  unsigned int i = 0 ;
  for (; i < nown ; i++) if (own[i] == uid) return 1 ;
  return 0 ;
}

 /* Turns a client away before reading anything, when its uid already has -u connections or all
    -c slots are taken: the answer 71 (nothing was read, nothing committed) tells ferry-sendmail
    to run ferry-inject instead. The answer fits in an empty socket buffer: never a slot. */
static int door (int fd, uid_t uid, int full)
{
  char line[80] ;
  size_t n = 0 ;
  unsigned int i, k = 0 ;
  if (!uid_own(uid))
  {
    if (!full) for (i = 0 ; i < nclients ; i++) if (clients[i].uid == uid) k++ ;
    if (full || k >= maxperuid)
    {
      char fmt[UID_FMT] ;
      fmt[uid_fmt(fmt, uid)] = 0 ;
      memcpy(line, "71 busy: ", 9) ; n = 9 ;
      if (full) { memcpy(line + n, "all slots are taken", 19) ; n += 19 ; }
      else
      {
        memcpy(line + n, "too many connections from uid ", 30) ; n += 30 ;
        memcpy(line + n, fmt, strlen(fmt)) ; n += strlen(fmt) ;
      }
      memcpy(line + n, "; use ferry-inject\n", 19) ; n += 19 ;
      if (send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {}
      fd_close(fd) ;
      if (!turnedaway++ || !(turnedaway & 1023))
      {
        char cnt[UINT64_FMT] ;
        cnt[uint64_fmt(cnt, turnedaway)] = 0 ;
        strerr_warnw("client of uid ", fmt, full ? " turned away: all slots are taken" : " turned away: too many connections from its uid", " (", cnt, " turned away so far)") ;
      }
      return 0 ;
    }
  }
  return 1 ;
}

 /* A new client: its credentials from the kernel, its message file created and named by its inode. */
static void mess_name (char *fn, uint64_t ino, void *data)
{
  (void)data ;
  ferry_queue_path(fn, "mess", ino, split) ;
}

 /* an envelope from the pool is renamed over a stale one by that name, as
    ferry_inject_intd_create removes it */
static void intd_name (char *fn, uint64_t ino, void *data)
{
  (void)ino ;
  ferry_queue_path(fn, "intd", *(uint64_t const *)data, split) ;
}

static ferry_control_watch databytes = FERRY_CONTROL_WATCH_ZERO ;

static void client_new (int fd, struct ucred const *cred)
{
  char buf[FERRY_INJECT_RECEIVED_MAX] ;
  char pidfn[FERRY_INJECT_PIDFILE_MAX] ;
  char messfn[FERRY_QUEUE_PATH_MAX] ;
  struct stat st ;
  client *c = clients + nclients ;
  memset(c, 0, sizeof(*c)) ;
  c->fd = fd ; c->mfd = -1 ; c->st = ST_LEN ;
  c->env = stralloc_zero ;
  c->birth = time(0) ;
  tain_addsec_g(&c->end, maxtime) ;
  deadline_set(c) ;
  nclients++ ;
  c->uid = cred->uid ; c->pid = cred->pid ;
  /* control/databytes as it is now, as each ferry-inject reads it */
  if (ferry_control_watchu64(&databytes, "databytes", &c->limit) < 0)
  { answer(c, FERRY_INJECT_CONFIG, "unable to read control/databytes") ; return ; }
  c->mfd = ferry_pool_take(&pool, messfn, &mess_name, 0, &c->id, &c->messold) ;
  if (c->mfd < 0)
  {
    c->mfd = ferry_inject_pidfile(pidfn, mypid) ;
    if (c->mfd < 0) { answer_sys(c, FERRY_INJECT_PID, "create a file in queue/pid") ; return ; }
    if (fstat(c->mfd, &st) < 0) { unlink(pidfn) ; answer_sys(c, FERRY_INJECT_PID, "stat a file in queue/pid") ; return ; }
    c->id = st.st_ino ;
    ferry_queue_path(messfn, "mess", c->id, split) ;
    if (rename(pidfn, messfn) < 0) { unlink(pidfn) ; answer_sys(c, FERRY_INJECT_MESS, "rename into queue/mess") ; return ; }
  }
  c->mademess = 1 ;
  {
    size_t n = ferry_inject_received_fmt(buf, c->pid, c->uid, c->id, c->birth) ;
    ferry_body_scan_feed(&c->body, buf, n) ;
    if (allwrite(c->mfd, buf, n) < n) { answer_sys(c, FERRY_INJECT_WRITE, "write the message") ; return ; }
    c->messlen = n ;
  }
  if (!record_cat(&c->env, 'u', c->uid) || !record_cat(&c->env, 'p', c->pid) || !record_cat(&c->env, 't', c->birth))
  { answer(c, FERRY_INJECT_NOMEM, "out of memory") ; return ; }
  c->envbase = c->env.len ;
}

 /* The envelope is complete and checked: write it into intd/ (synced with its batch). */
static void envelope_store (client *c)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  int fd ;
  uint64_t ino, old = 0 ;
  fd = ferry_pool_take(&pool, fn, &intd_name, &c->id, &ino, &old) ;
  if (fd < 0)
  {
    ferry_queue_path(fn, "intd", c->id, split) ;
    fd = ferry_inject_intd_create(fn) ;
  }
  if (fd < 0) { answer_sys(c, FERRY_INJECT_INTD, "create the envelope in queue/intd") ; return ; }
  c->madeintd = 1 ;
  if (allwrite(fd, c->env.s, c->env.len) < c->env.len || ferry_pool_end(fd, old, c->env.len) < 0)
  { fd_close(fd) ; answer_sys(c, FERRY_INJECT_WRITE, "write the envelope") ; return ; }
  if (close(fd) < 0) { answer_sys(c, FERRY_INJECT_WRITE, "write the envelope") ; return ; }
  c->st = ST_READY ;
}

 /* Feeds n bytes from the client through its state machine. */
static void feed (client *c, char const *s, size_t n)
{
  while (n && c->st < ST_READY)
  {
    switch (c->st)
    {
      case ST_LEN :
        if (*s == ':')
        {
          if (!c->digits) { answer(c, FERRY_INJECT_READ, "protocol error: a chunk without a length") ; return ; }
          if (c->left) c->st = ST_DATA ; else { c->last = 1 ; c->st = ST_COMMA ; }
        }
        else if (*s >= '0' && *s <= '9' && c->digits < CHUNKLEN_DIGITS)
        {
          c->left = c->left * 10 + (*s - '0') ;
          c->digits++ ;
        }
        else { answer(c, FERRY_INJECT_READ, "protocol error: a bad chunk length") ; return ; }
        s++ ; n-- ;
        break ;
      case ST_DATA :
      {
        size_t k = n < c->left ? n : (size_t)c->left ;
        c->total += k ;
        if (c->limit && c->total > c->limit) { answer(c, FERRY_INJECT_TOOBIG, "message is larger than control/databytes") ; return ; }
        ferry_body_scan_feed(&c->body, s, k) ;
        if (allwrite(c->mfd, s, k) < k) { answer_sys(c, FERRY_INJECT_WRITE, "write the message") ; return ; }
        c->messlen += k ;
        c->left -= k ; s += k ; n -= k ;
        if (!c->left) c->st = ST_COMMA ;
        break ;
      }
      case ST_COMMA :
        if (*s != ',') { answer(c, FERRY_INJECT_READ, "protocol error: a chunk without its comma") ; return ; }
        s++ ; n-- ;
        c->digits = 0 ;
        if (!c->last) { c->st = ST_LEN ; break ; }
        if (ferry_pool_end(c->mfd, c->messold, c->messlen) < 0) { answer_sys(c, FERRY_INJECT_WRITE, "cut the message file to its length") ; return ; }
        if (ferry_msgname_stamp_set(c->mfd) < 0) { answer_sys(c, FERRY_INJECT_WRITE, "set the time of the message file (its name)") ; return ; }
        if (close(c->mfd) < 0) { c->mfd = -1 ; answer_sys(c, FERRY_INJECT_WRITE, "write the message") ; return ; }
        c->mfd = -1 ;
        {
          /* the body facts go after u, p and t, before the client's envelope */
          ferry_body b ;
          ferry_body_scan_end(&c->body, &b) ;
          if (!ferry_body_records_cat(&c->env, &b)) { answer(c, FERRY_INJECT_NOMEM, "out of memory") ; return ; }
          c->envbase = c->env.len ;
        }
        c->st = ST_ENV ;
        break ;
      case ST_ENV :
      {
        ferry_envelope_status es ;
        if (c->env.len - c->envbase + n > ENVELOPE_MAX) { answer(c, FERRY_INJECT_ENVELOPE, "the envelope is larger than 64 MiB") ; return ; }
        if (!stralloc_catb(&c->env, s, n)) { answer(c, FERRY_INJECT_NOMEM, "out of memory") ; return ; }
        n = 0 ;
        es = ferry_envelope_scan(&c->sc, c->env.s + c->envbase, c->env.len - c->envbase) ;
        if (es == FERRY_ENVELOPE_MORE) break ;
        if (es != FERRY_ENVELOPE_DONE) { answer(c, ferry_inject_envelope_code(es), ferry_envelope_strstatus(es)) ; return ; }
        if (c->envbase + c->sc.pos != c->env.len) { answer(c, FERRY_INJECT_READ, "protocol error: bytes after the envelope") ; return ; }
        envelope_store(c) ;
        break ;
      }
      default : break ;
    }
  }
  if (n && c->st == ST_READY) answer(c, FERRY_INJECT_READ, "protocol error: bytes after the envelope") ;
}

 /* The group commit, pipelined: one syncfs makes durable both the todo links made after the
    sync before it (those clients are then answered: committed) and the messages and envelopes
    written since (those are then linked into todo/, and answered after the next sync). So a
    batch costs one syncfs, and between two syncs the main loop reads the clients that came
    meanwhile. A failed sync refuses both: the links it should have made durable are removed. */
static void commit (void)
{
  unsigned int i, ready = 0, linked = 0, ok = 0 ;
  for (i = 0 ; i < nclients ; i++)
  {
    if (clients[i].st == ST_READY) ready++ ;
    else if (clients[i].st == ST_LINKED) linked++ ;
  }
  if (!ready && !linked) return ;
  if (syncfs(qfd) < 0)
  {
    /* nothing since the last sync is known to be durable: withdraw it, the clients retry */
    strerr_warnwu1sys("syncfs the queue: the batch is withdrawn, its clients may retry") ;
    for (i = 0 ; i < nclients ; i++)
    {
      client *c = clients + i ;
      if (c->st == ST_LINKED)
      {
        char todo[FERRY_QUEUE_PATH_MAX] ;
        ferry_queue_path(todo, "todo", c->id, split) ;
        unlink(todo) ;
        answer_sys(c, FERRY_INJECT_WRITE, "sync queue/todo") ;
      }
      else if (c->st == ST_READY) answer_sys(c, FERRY_INJECT_WRITE, "sync the queue") ;
    }
    return ;
  }
  for (i = 0 ; i < nclients ; i++)
  {
    client *c = clients + i ;
    char fmt[9 + UINT64_FMT] ;
    if (c->st != ST_LINKED) continue ;
    memcpy(fmt, "queued id ", 10) ;
    fmt[10 + uint64_fmt(fmt + 10, c->id)] = 0 ;
    c->mademess = c->madeintd = 0 ;   /* they belong to the queue now */
    answer(c, FERRY_INJECT_OK, fmt) ;
    injectd_metrics_message(c->total) ;
  }
  if (linked)
  {
    committed += linked ;
    batches++ ;
    injectd_metrics_commit() ;
    ferry_trigger_pull("queue/lock/trigger") ;
  }
  for (i = 0 ; i < nclients ; i++)
  {
    client *c = clients + i ;
    char intd[FERRY_QUEUE_PATH_MAX], todo[FERRY_QUEUE_PATH_MAX] ;
    if (c->st != ST_READY) continue ;
    ferry_queue_path(intd, "intd", c->id, split) ;
    ferry_queue_path(todo, "todo", c->id, split) ;
    if (link(intd, todo) < 0) { answer_sys(c, FERRY_INJECT_TODO, "link the envelope into queue/todo") ; continue ; }
    c->st = ST_LINKED ;
    ok++ ;
  }
  pending = ok ;
}

/* the socket is made under a temporary name and renamed into place once it listens: a client
   finds either the old socket or one that takes connections, never one that refuses them */
static int listen_make (void)
{
  struct sockaddr_un sa ;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) ;
  if (fd < 0) strerr_diefu1sys(111, "create a socket") ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sun_family = AF_UNIX ;
  memcpy(sa.sun_path, SOCKET_TMP, sizeof(SOCKET_TMP)) ;
  if (unlink(SOCKET_TMP) < 0 && errno != ENOENT) strerr_diefu2sys(111, "remove the old ", SOCKET_TMP) ;
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) strerr_diefu2sys(111, "bind to ", SOCKET_TMP) ;
  /* anyone may inject, as anyone may run ferry-inject: the kernel tells who they are */
  if (chmod(SOCKET_TMP, 0666) < 0) strerr_diefu2sys(111, "chmod ", SOCKET_TMP) ;
  if (listen(fd, 128) < 0) strerr_diefu2sys(111, "listen on ", SOCKET_TMP) ;
  if (rename(SOCKET_TMP, SOCKET_PATH) < 0) strerr_diefu4sys(111, "rename ", SOCKET_TMP, " to ", SOCKET_PATH) ;
  return fd ;
}

int main (int argc, char const *const *argv)
{
  static char buf[65536] ;
  iopause_fd *x ;
  int spfd, lfd, stopping = 0 ;
  tain stopdeadline ;
  PROG = "ferry-injectd" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "c:u:t:T:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'c' : if (!uint0_scan(l.arg, &maxclients) || maxclients < 1 || maxclients > 1000) strerr_dief1x(100, "-c wants a number from 1 to 1000") ; break ;
        case 'u' : if (!uint0_scan(l.arg, &maxperuid) || maxperuid < 1) strerr_dief1x(100, "-u wants a number, at least 1") ; break ;
        case 't' : if (!uint0_scan(l.arg, &timeout) || timeout < 1) strerr_dief1x(100, "-t wants a number of seconds, at least 1") ; break ;
        case 'T' : if (!uint0_scan(l.arg, &maxtime) || maxtime < 1) strerr_dief1x(100, "-T wants a number of seconds, at least 1") ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc > 1) strerr_dieusage(100, USAGE) ;
  if (chdir(ferry_home(argc ? argv[0] : 0)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  /* as root in a home made with -u, it works as the queue's owner, as the setuid ferry-inject does */
  own[nown++] = 0 ;
  if (ferry_dedicated())
  {
    struct passwd *pw = getpwnam("ferrys") ;
    if (pw) own[nown++] = pw->pw_uid ;   /* its ferry-bounce-build */
    ferry_become("ferryq") ;
  }
  if (geteuid()) own[nown++] = geteuid() ;
  umask(022) ;
  sig_ignore(SIGPIPE) ;
  sig_ignore(SIGXFSZ) ;
  split = ferry_queue_split_or_die(111) ;
  ferry_control_u64_or_die("databytes", 111) ;   /* a bad value is said at once, not at the first client */
  clients = calloc(maxclients + RESERVED, sizeof(client)) ;
  x = calloc(maxclients + RESERVED + 2, sizeof(iopause_fd)) ;
  if (!clients || !x) strerr_diefu1sys(111, "allocate memory") ;
  qfd = open("queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  mypid = getpid() ;
  ferry_pool_init(&pool, FERRY_POOL_INJECT, 0644) ;
  if (qfd < 0) strerr_diefu1sys(111, "open queue") ;
  spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefu1sys(111, "selfpipe_init") ;
  if (!selfpipe_trap(SIGTERM)) strerr_diefu1sys(111, "trap signals") ;
  lfd = listen_make() ;
  tain_now_set_stopwatch_g() ;
  strerr_warni("listening on ", SOCKET_PATH) ;

  for (;;)
  {
    tain deadline = TAIN_INFINITE ;
    unsigned int n = 0, i ;
    int r ;
    /* (never with clients linked: the next sync answers them) */
    if (stopping && !pending && (!nclients || tain_less(&stopdeadline, &STAMP))) break ;
    x[n].fd = spfd ; x[n].events = IOPAUSE_READ ; n++ ;
    x[n].fd = lfd >= 0 && nclients < maxclients + RESERVED ? lfd : -1 ; x[n].events = IOPAUSE_READ ; n++ ;
    for (i = 0 ; i < nclients ; i++)
    {
      x[n].fd = clients[i].fd ;
      x[n].events = clients[i].st == ST_REPLY ? IOPAUSE_WRITE : clients[i].st >= ST_READY ? 0 : IOPAUSE_READ ;
      n++ ;
      if (tain_less(&clients[i].deadline, &deadline)) deadline = clients[i].deadline ;
    }
    if (stopping && tain_less(&stopdeadline, &deadline)) deadline = stopdeadline ;
    if (pending) deadline = STAMP ;   /* the clients linked wait for the next sync: no waiting */
    injectd_metrics_deadline(&deadline) ;
    r = iopause_g(x, n, &deadline) ;
    if (r < 0) strerr_diefu1sys(111, "iopause") ;
    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
      {
        if (sig == SIGTERM && !stopping)
        {
          /* no new client: ferry-sendmail falls back to ferry-inject; those here are finished */
          stopping = 1 ;
          unlink(SOCKET_PATH) ;
          if (lfd >= 0) { fd_close(lfd) ; lfd = -1 ; }
          tain_addsec_g(&stopdeadline, STOP_GRACE) ;
        }
      }
      if (sig < 0) strerr_diefu1sys(111, "selfpipe_read") ;
    }
    /* clients first, by their slot in x (client_drop moves the last client into a freed slot:
       walk backwards so every slot is visited once) */
    for (i = nclients ; i-- ;)
    {
      client *c = clients + i ;
      short ev = x[2 + i].revents ;
      if (x[2 + i].fd != c->fd) continue ;
      if (c->st == ST_REPLY && ev & (IOPAUSE_WRITE | IOPAUSE_EXCEPT))
      {
        ssize_t w = send(c->fd, c->reply + c->rpos, c->rlen - c->rpos, MSG_NOSIGNAL) ;
        if (w < 0 && errno != EAGAIN && errno != EINTR) { client_drop(i) ; continue ; }
        if (w > 0) c->rpos += w ;
        if (c->rpos == c->rlen) { client_drop(i) ; continue ; }
      }
      else if (c->st < ST_READY && ev & (IOPAUSE_READ | IOPAUSE_EXCEPT))
      {
        ssize_t k = read(c->fd, buf, sizeof(buf)) ;
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue ;
        if (k <= 0)
        {
          /* the client went away before its envelope was complete: nothing is committed */
          client_drop(i) ;
          continue ;
        }
        feed(c, buf, k) ;
        deadline_set(c) ;
      }
    }
    if (x[1].fd >= 0 && x[1].revents & IOPAUSE_READ)
    {
      while (nclients < maxclients + RESERVED)
      {
        struct ucred cred ;
        socklen_t credlen = sizeof(cred) ;
        int fd = accept4(lfd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC) ;
        if (fd < 0)
        {
          if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) strerr_warnwu1sys("accept a client") ;
          break ;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0)
        {
          strerr_warnwu1sys("read a client's credentials: it is dropped") ;
          fd_close(fd) ;
          continue ;
        }
        if (door(fd, cred.uid, nclients >= maxclients)) client_new(fd, &cred) ;
      }
    }
    commit() ;
    tain_now_g() ;
    injectd_metrics_run(0) ;
    for (i = nclients ; i-- ;)
      if (tain_less(&clients[i].deadline, &STAMP) && clients[i].st != ST_READY && clients[i].st != ST_LINKED)
      {
        client *c = clients + i ;
        if (c->st < ST_READY && !tain_less(&STAMP, &c->end))
        {
          /* the whole submission took too long, however busy: it is told, and has a few seconds to read it */
          char fmt[UINT_FMT] ;
          char what[60] ;
          fmt[uint_fmt(fmt, maxtime)] = 0 ;
          memcpy(what, "the submission took more than ", 30) ;
          memcpy(what + 30, fmt, strlen(fmt)) ;
          memcpy(what + 30 + strlen(fmt), " seconds", 9) ;
          {
            char ufmt[UID_FMT] ;
            ufmt[uid_fmt(ufmt, c->uid)] = 0 ;
            strerr_warnw("a client of uid ", ufmt, " took longer than -T allows: cut off, nothing committed") ;
          }
          answer(c, FERRY_INJECT_TIMEOUT, what) ;
          tain_addsec_g(&c->deadline, REPLY_GRACE) ;
          c->end = c->deadline ;
          continue ;
        }
        if (c->st != ST_REPLY) strerr_warnw("a client sent nothing for too long: dropped, nothing committed") ;
        client_drop(i) ;
      }
  }
  for (; nclients ; ) client_drop(nclients - 1) ;
  injectd_metrics_run(1) ;
  {
    char fmt[3][UINT64_FMT] ;
    fmt[0][uint64_fmt(fmt[0], committed)] = 0 ;
    fmt[1][uint64_fmt(fmt[1], batches)] = 0 ;
    fmt[2][uint64_fmt(fmt[2], refused)] = 0 ;
    strerr_warni("stopped: ", fmt[0], " messages committed in ", fmt[1], " batches, ", fmt[2], " refused") ;
  }
  free(clients) ;
  free(x) ;
  return 0 ;
}
