/* ferry-injectd: ferry-inject as a server. Clients connect to public/inject and send a message
   and its envelope; the injections that are in flight together share their sync calls (group
   commit), and a client pays no fork and exec of ferry-inject. The commit itself is
   ferry-inject's: the same files, the same order, the same exit codes (doc/protocols.html). This
   file is the server: its socket, the door, the loop and the group commit; each client's protocol
   is injectd_client.c's. */

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
#include <ferry/listen.h>
#include <ferry/inject.h>
#include <ferry/inject_run.h>
#include <ferry/msgname.h>
#include <ferry/pool.h>
#include <ferry/queue.h>

#include "injectd.h"
#include "injectd_metrics.h"

#define USAGE "ferry-injectd [ -c maxclients ] [ -u maxperuid ] [ -t timeout ] [ -T maxtime ] [ home ]"
#define SOCKET_PATH FERRY_INJECT_SOCKET
#define SOCKET_TMP FERRY_INJECT_SOCKET_NEW
#define STOP_GRACE 10
#define RESERVED 16       /* slots beyond maxclients for root and the queue's own users */
#define REPLY_GRACE 10    /* seconds a client has to take its answer */

unsigned int injectd_split ;
unsigned int injectd_timeout = 300, injectd_maxtime = 600 ;
static client *clients ;
static unsigned int nclients = 0, maxclients = 64, maxperuid = 16 ;
static int qfd ;
pid_t injectd_pid ;
ferry_pool injectd_pool = FERRY_POOL_ZERO ;
uint64_t injectd_refused = 0 ;
static uint64_t committed = 0, batches = 0, turnedaway = 0 ;
static unsigned int pending = 0 ;   /* clients linked into todo/, waiting for the next sync */
static uid_t own[3] ;       /* root, the server's own user, the queue manager's: never turned away */
static unsigned int nown = 0 ;

static void client_drop (unsigned int i)
{
  client *c = clients + i ;
  if (c->mfd >= 0) fd_close(c->mfd) ;
  /* once its todo link is made, its files are the queue's: it goes without an answer, which
     the protocol reads as an unknown outcome */
  if (c->st != ST_REPLY && c->st != ST_LINKED) injectd_files_remove(c) ;
  fd_close(c->fd) ;
  stralloc_free(&c->env) ;
  clients[i] = clients[--nclients] ;
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
  pending = 0 ;
  if (syncfs(qfd) < 0)
  {
    /* nothing since the last sync is known to be durable: withdraw it, the clients retry. A
       todo link is removed, but its message's files stay: ferry-preprocess-todo, woken by the
       batch before, may have taken the message already. If it did not, they are leftovers that
       ferry-clean sweep removes. */
    int e = errno ;
    strerr_warnwu1sys("syncfs the queue: the batch is withdrawn, its clients may retry") ;
    for (i = 0 ; i < nclients ; i++)
    {
      client *c = clients + i ;
      errno = e ;
      if (c->st == ST_LINKED)
      {
        char todo[FERRY_QUEUE_PATH_MAX] ;
        ferry_queue_path(todo, "todo", c->id, injectd_split) ;
        unlink(todo) ;
        c->mademess = c->madeintd = 0 ;
        errno = e ;
        injectd_answer_sys(c, FERRY_INJECT_WRITE, "sync queue/todo") ;
      }
      else if (c->st == ST_READY) injectd_answer_sys(c, FERRY_INJECT_WRITE, "sync the queue") ;
    }
    return ;
  }
  uint64_t ids[linked ? linked : 1] ;
  unsigned int nids = 0 ;
  for (i = 0 ; i < nclients ; i++)
  {
    client *c = clients + i ;
    char fmt[9 + UINT64_FMT] ;
    if (c->st != ST_LINKED) continue ;
    ids[nids++] = c->id ;
    memcpy(fmt, "queued id ", 10) ;
    fmt[10 + uint64_fmt(fmt + 10, c->id)] = 0 ;
    c->mademess = c->madeintd = 0 ;   /* they belong to the queue now */
    injectd_answer(c, FERRY_INJECT_OK, fmt) ;
    injectd_metrics_message(c->total) ;
  }
  if (linked)
  {
    committed += linked ;
    batches++ ;
    injectd_metrics_commit() ;
    ferry_trigger_pull("queue/lock/trigger", ids, nids) ;
  }
  for (i = 0 ; i < nclients ; i++)
  {
    client *c = clients + i ;
    char intd[FERRY_QUEUE_PATH_MAX], todo[FERRY_QUEUE_PATH_MAX] ;
    if (c->st != ST_READY) continue ;
    ferry_queue_path(intd, "intd", c->id, injectd_split) ;
    ferry_queue_path(todo, "todo", c->id, injectd_split) ;
    if (link(intd, todo) < 0) { injectd_answer_sys(c, FERRY_INJECT_TODO, "link the envelope into queue/todo") ; continue ; }
    c->st = ST_LINKED ;
    ok++ ;
  }
  pending = ok ;
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
        case 't' : if (!uint0_scan(l.arg, &injectd_timeout) || injectd_timeout < 1) strerr_dief1x(100, "-t wants a number of seconds, at least 1") ; break ;
        case 'T' : if (!uint0_scan(l.arg, &injectd_maxtime) || injectd_maxtime < 1) strerr_dief1x(100, "-T wants a number of seconds, at least 1") ; break ;
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
  injectd_split = ferry_queue_split_or_die(111) ;
  ferry_control_u64_or_die("databytes", 111) ;   /* a bad value is said at once, not at the first client */
  clients = calloc(maxclients + RESERVED, sizeof(client)) ;
  x = calloc(maxclients + RESERVED + 2, sizeof(iopause_fd)) ;
  if (!clients || !x) strerr_diefu1sys(111, "allocate memory") ;
  qfd = open("queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  injectd_pid = getpid() ;
  ferry_pool_init(&injectd_pool, FERRY_POOL_INJECT, 0644) ;
  if (qfd < 0) strerr_diefu1sys(111, "open queue") ;
  spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefu1sys(111, "selfpipe_init") ;
  if (!selfpipe_trap(SIGTERM)) strerr_diefu1sys(111, "trap signals") ;
  lfd = ferry_socket_listen(SOCKET_TMP, SOCKET_PATH) ;
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
        injectd_feed(c, buf, k) ;
        injectd_deadline_set(c) ;
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
        if (door(fd, cred.uid, nclients >= maxclients)) injectd_client_new(clients + nclients++, fd, &cred) ;
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
          fmt[uint_fmt(fmt, injectd_maxtime)] = 0 ;
          memcpy(what, "the submission took more than ", 30) ;
          memcpy(what + 30, fmt, strlen(fmt)) ;
          memcpy(what + 30 + strlen(fmt), " seconds", 9) ;
          {
            char ufmt[UID_FMT] ;
            ufmt[uid_fmt(ufmt, c->uid)] = 0 ;
            strerr_warnw("a client of uid ", ufmt, " took longer than -T allows: cut off, nothing committed") ;
          }
          injectd_answer(c, FERRY_INJECT_TIMEOUT, what) ;
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
    fmt[2][uint64_fmt(fmt[2], injectd_refused)] = 0 ;
    strerr_warni("stopped: ", fmt[0], " messages committed in ", fmt[1], " batches, ", fmt[2], " refused") ;
  }
  free(clients) ;
  free(x) ;
  return 0 ;
}
