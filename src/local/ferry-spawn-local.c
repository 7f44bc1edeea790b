/* ferry-spawn-local: the local channel. Requests on fd 0, answers on fd 1, log on fd 2.
   Deliveries run in long-lived workers, one pool per mailbox owner, forked once and running as
   that owner; each does what ferry-local does, in-process. Only program lines fork again.
   The workers' syncs are shared: syncgroup.c. */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/ancil.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/array.h>
#include <ferry/control.h>
#include <ferry/frame.h>
#include <ferry/home.h>
#include <ferry/loop.h>
#include <ferry/queue.h>
#include <ferry/spawner.h>

#include "local.h"
#include "local_metrics.h"
#include "syncgroup.h"
#include "worker.h"

#define USAGE "ferry-spawn-local [ home ]"
#define IDLE_SECONDS 30     /* an idle worker lives this long */
#define IDLE_EXTRA 4        /* workers beyond the concurrency limit, kept idle for other owners */
#define WAITING_MAX 100000  /* stop reading requests while this many recipients wait */

typedef struct request_s request ;
struct request_s
{
  stralloc payload ;   /* delivery\0id\0sender\0rcpt\0... as received */
  size_t sender ;      /* offset of the sender */
  size_t *rcpt ;       /* offsets of the recipients */
  stralloc *result ;   /* per recipient: status byte and text */
  unsigned int nrcpt ;
  unsigned int pending ;
  uint64_t id ;
  int used ;
} ;

typedef struct task_s task ;
struct task_s
{
  unsigned int req ;
  unsigned int rcpt ;
  ferry_local_target t ;
  int next ;           /* the waiting list */
  int used ;
} ;

typedef struct worker_s worker ;
struct worker_s
{
  pid_t pid ;
  int fd ;
  uid_t uid ;
  gid_t gid ;
  int become ;
  unsigned int gen ;
  int task ;           /* -1: idle */
  tain idle ;          /* when it became idle */
  stralloc in ;
  int used ;
} ;

typedef struct state_s state ;
struct state_s
{
  ferry_local_ctx ctx ;               /* the settings and tables deliveries resolve with */
  unsigned int split ;
  unsigned int concurrency ;
  unsigned int gen ;            /* bumped when the settings are read: older workers retire */
  request *reqs ;
  unsigned int nreqs ;
  task *tasks ;
  unsigned int ntasks ;
  worker *workers ;
  unsigned int nworkers ;
  int waithead, waittail ;      /* the tasks waiting for a worker, in order */
  unsigned int waiting, running, live ;   /* tasks waiting, tasks in a worker, workers alive */
  ferry_spawner io ;            /* the queue manager's requests and our answers */
} ;
#define STATE_ZERO { .ctx = FERRY_LOCAL_CTX_ZERO, .split = 0, .concurrency = 0, .gen = 0, .reqs = 0, .nreqs = 0, .tasks = 0, .ntasks = 0, \
  .workers = 0, .nworkers = 0, .waithead = -1, .waittail = -1, .waiting = 0, .running = 0, .live = 0, .io = FERRY_SPAWNER_ZERO }

 /* The program's state, one instance: the spawner's and the sync group's callbacks take no
    argument of ours. */
static state st = STATE_ZERO ;

static unsigned int req_new (void)
{
  unsigned int i ;
  for (i = 0 ; i < st.nreqs ; i++) if (!st.reqs[i].used) break ;
  if (i == st.nreqs) st.reqs = ferry_array_grow(st.reqs, &st.nreqs, sizeof(request)) ;
  st.reqs[i].used = 1 ;
  st.reqs[i].payload.len = 0 ;
  return i ;
}

static unsigned int task_new (void)
{
  unsigned int i ;
  for (i = 0 ; i < st.ntasks ; i++) if (!st.tasks[i].used) break ;
  if (i == st.ntasks) st.tasks = ferry_array_grow(st.tasks, &st.ntasks, sizeof(task)) ;
  st.tasks[i].used = 1 ;
  st.tasks[i].next = -1 ;
  return i ;
}


static void task_done (unsigned int ti, char status, char const *text, size_t len)
{
  task *t = st.tasks + ti ;
  request *r = st.reqs + t->req ;
  stralloc *res = r->result + t->rcpt ;
  res->len = 0 ;
  local_metrics_result(status) ;
  if (!stralloc_catb(res, &status, 1) || !stralloc_catb(res, text, len)) strerr_diefu1sys(111, "allocate memory") ;
  t->used = 0 ;
  if (!--r->pending)
  {
    unsigned int k ;
    if (!ferry_answer_cat(&st.io.out, r->payload.s, r->result, r->nrcpt)) strerr_diefu1sys(111, "allocate memory") ;
    for (k = 0 ; k < r->nrcpt ; k++) stralloc_free(r->result + k) ;
    r->used = 0 ;
  }
}

static void task_wait (unsigned int ti)
{
  st.tasks[ti].next = -1 ;
  if (st.waittail >= 0) st.tasks[st.waittail].next = ti ; else st.waithead = ti ;
  st.waittail = ti ;
  st.waiting++ ;
}

static void control_take (char const *p, size_t n) ;

static void request_take (char const *p, size_t n)
{
  ferry_request q ;
  size_t i ;
  unsigned int ri, k ;
  request *r ;
  char numbuf[11] ;
  char const *why = ferry_request_check(p, n, &q, numbuf) ;
  if (n && p[0] == '!') { control_take(p, n) ; return ; }
  if (why) { ferry_spawner_refuse(&st.io, q.num, why) ; return ; }
  ri = req_new() ;
  r = st.reqs + ri ;
  r->id = q.id ;
  r->sender = q.sender - p ;
  if (!stralloc_copyb(&r->payload, p, n)) strerr_diefu1sys(111, "allocate memory") ;
  r->nrcpt = q.nrcpt ;
  r->rcpt = realloc(r->rcpt, r->nrcpt * sizeof(size_t)) ;
  r->result = realloc(r->result, r->nrcpt * sizeof(stralloc)) ;
  if (!r->rcpt || !r->result) strerr_diefu1sys(111, "allocate memory") ;
  for (k = 0, i = q.rcpt - p ; i < n ; i += strlen(p + i) + 1, k++)
  {
    r->rcpt[k] = i ;
    r->result[k] = stralloc_zero ;
  }
  r->pending = r->nrcpt ;
  if (!ferry_local_ctx_refresh(&st.ctx)) strerr_warnwu1sys("reopen control/mailboxes.cdb (the old table stays in use)") ;
  for (k = 0 ; k < r->nrcpt ; k++)
  {
    stralloc err = STRALLOC_ZERO ;
    unsigned int ti = task_new() ;
    char status ;
    st.tasks[ti].req = ri ;
    st.tasks[ti].rcpt = k ;
    status = ferry_local_resolve(&st.ctx, st.reqs[ri].payload.s + st.reqs[ri].rcpt[k], &st.tasks[ti].t, &err) ;
    if (status == 'K') task_wait(ti) ;
    else task_done(ti, status, err.s, err.len) ;
    stralloc_free(&err) ;
  }
}

static void worker_close (unsigned int wi)
{
  worker *w = st.workers + wi ;
  fd_close(w->fd) ;
  w->used = 0 ;
  st.live-- ;
  syncgroup_drop(wi) ;
  if (w->task >= 0)
  {
    static char const text[] = "the delivery process died before it answered" ;
    st.running-- ;
    task_done(w->task, 'Z', text, sizeof(text) - 1) ;
    strerr_warnw("a delivery worker died during a delivery: answered Z") ;
  }
}

static int worker_spawn (ferry_local_target const *t)
{
  int sv[2] ;
  unsigned int wi, i ;
  pid_t pid ;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) { strerr_warnwu1sys("make a socket for a worker") ; return -1 ; }
  pid = fork() ;
  if (pid < 0) { strerr_warnwu1sys("fork a worker") ; fd_close(sv[0]) ; fd_close(sv[1]) ; return -1 ; }
  if (!pid)
  {
    int null = open("/dev/null", O_RDWR) ;
    selfpipe_finish() ;
    sig_ignore(SIGPIPE) ;
    fd_close(sv[0]) ;
    for (i = 0 ; i < st.nworkers ; i++) if (st.workers[i].used) fd_close(st.workers[i].fd) ;
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0) _exit(111) ;
    if (null > 2) fd_close(null) ;
    local_worker_main(sv[1], t, &st.ctx) ;
  }
  fd_close(sv[1]) ;
  if (ndelay_on(sv[0]) < 0) strerr_diefu1sys(111, "set a worker socket non-blocking") ;
  for (wi = 0 ; wi < st.nworkers ; wi++) if (!st.workers[wi].used) break ;
  if (wi == st.nworkers) st.workers = ferry_array_grow(st.workers, &st.nworkers, sizeof(worker)) ;
  st.workers[wi].used = 1 ;
  st.workers[wi].pid = pid ;
  st.workers[wi].fd = sv[0] ;
  st.workers[wi].uid = t->uid ;
  st.workers[wi].gid = t->gid ;
  st.workers[wi].become = t->become ;
  st.workers[wi].gen = st.gen ;
  st.workers[wi].task = -1 ;
  st.workers[wi].in.len = 0 ;
  tain_copynow(&st.workers[wi].idle) ;
  st.live++ ;
  return wi ;
}

static int worker_find (ferry_local_target const *t)
{
  unsigned int i ;
  int oldest = -1 ;
  for (i = 0 ; i < st.nworkers ; i++)
  {
    worker *w = st.workers + i ;
    if (!w->used || w->task >= 0) continue ;
    if (w->gen == st.gen && w->uid == t->uid && w->gid == t->gid && w->become == t->become) return i ;
    if (oldest < 0 || tain_less(&w->idle, &st.workers[oldest].idle)) oldest = i ;
  }
  if (st.live >= st.concurrency + IDLE_EXTRA && oldest >= 0) worker_close(oldest) ;
  return worker_spawn(t) ;
}

static void dispatch (void)
{
  while (st.waithead >= 0 && st.running < st.concurrency)
  {
    unsigned int ti = st.waithead ;
    task *t = st.tasks + ti ;
    request *r = st.reqs + t->req ;
    char fn[FERRY_QUEUE_PATH_MAX] ;
    char const *what = 0 ;
    stralloc job = STRALLOC_ZERO ;
    size_t mark ;
    int wi, msgfd ;
    st.waithead = t->next ;
    if (st.waithead < 0) st.waittail = -1 ;
    st.waiting-- ;
    ferry_queue_path(fn, "mess", r->id, st.split) ;
    /* as root: never through a link planted in queue/mess, never a FIFO */
    msgfd = ferry_queue_open(fn, O_RDONLY, &what) ;
    /* blocking, as a program delivery's standard input is expected to be */
    if (msgfd >= 0 && ndelay_off(msgfd) < 0) { fd_close(msgfd) ; msgfd = -1 ; }
    if (msgfd < 0)
    {
      int e = errno ;
      stralloc text = STRALLOC_ZERO ;
      stralloc_cats(&text, "unable to open ") ; stralloc_cats(&text, fn) ;
      stralloc_cats(&text, ": ") ; stralloc_cats(&text, msgfd == -2 ? what : strerror(e)) ;
      task_done(ti, 'Z', text.s, text.len) ;
      stralloc_free(&text) ;
      continue ;
    }
    wi = worker_find(&t->t) ;
    if (wi < 0)
    {
      static char const text[] = "unable to start a delivery worker" ;
      fd_close(msgfd) ;
      task_done(ti, 'Z', text, sizeof(text) - 1) ;
      continue ;
    }
    if (!ferry_frame_begin(&job, &mark) || !ferry_field_catu64(&job, ti)
     || !ferry_field_cats(&job, r->payload.s + r->sender)
     || !ferry_field_cats(&job, r->payload.s + r->rcpt[t->rcpt])
     || !local_target_pack(&job, &t->t) || !ferry_frame_end(&job, mark))
      strerr_diefu1sys(111, "allocate memory") ;
    if (ancil_send_fd(st.workers[wi].fd, msgfd, 'j') < 0 || allwrite(st.workers[wi].fd, job.s, job.len) < job.len)
    {
      static char const text[] = "unable to hand the delivery to a worker" ;
      strerr_warnwu1sys("hand a delivery to a worker") ;
      fd_close(msgfd) ;
      worker_close(wi) ;
      task_done(ti, 'Z', text, sizeof(text) - 1) ;
      stralloc_free(&job) ;
      continue ;
    }
    fd_close(msgfd) ;
    stralloc_free(&job) ;
    st.workers[wi].task = ti ;
    st.running++ ;
  }
}

static void tell (unsigned int wi, char what, int err)
{
  stralloc const *sa = local_sync_frame(what, what == SYNCGROUP_FAIL, err) ;
  if (allwrite(st.workers[wi].fd, sa->s, sa->len) < sa->len)
  {
    /* it is waiting for this answer, so its socket has room: it is gone or broken; its end of
       the socket closes when it dies, and worker_read then retires it */
    strerr_warnwu1sys("answer a delivery worker's sync: killing it") ;
    kill(st.workers[wi].pid, SIGKILL) ;
  }
}

 /* A sync request ("s", device) or a leader's result ("r", errno) from a worker in a delivery. */
static int worker_sync_frame (unsigned int wi, char const *const *f)
{
  uint64_t u ;
  if (st.workers[wi].task < 0 || !uint640_scan(f[1], &u)) return 0 ;
  if (f[0][0] == 's')
  {
    if (syncgroup_busy(wi)) return 0 ;
    syncgroup_ask(wi, (dev_t)u) ;
  }
  else
  {
    if (!syncgroup_leads(wi) || u > 4095) return 0 ;
    syncgroup_done(wi, (int)u, &tell) ;
  }
  return 1 ;
}

static void worker_read (unsigned int wi)
{
  worker *w = st.workers + wi ;
  for (;;)
  {
    char buf[4096] ;
    ssize_t r = read(w->fd, buf, sizeof(buf)) ;
    if (r < 0) { if (errno == EAGAIN || errno == EINTR) break ; worker_close(wi) ; return ; }
    if (!r) { worker_close(wi) ; return ; }
    if (!stralloc_catb(&w->in, buf, r)) strerr_diefu1sys(111, "allocate memory") ;
  }
  for (;;)
  {
    size_t pos = 0, start, plen ;
    char const *f[2] ;
    uint64_t ti ;
    int good ;
    int r = ferry_frame_take(w->in.s, w->in.len, &pos, &start, &plen) ;
    if (!r) break ;
    good = r > 0 && ferry_fields_split(w->in.s + start, plen, f, 2) == 2 ;
    if (good && (f[0][0] == 's' || f[0][0] == 'r') && !f[0][1])
    {
      if (!worker_sync_frame(wi, f))
      {
        strerr_warnw("a delivery worker sent a malformed sync request: retiring it") ;
        worker_close(wi) ;
        return ;
      }
      memmove(w->in.s, w->in.s + pos, w->in.len - pos) ;
      w->in.len -= pos ;
      continue ;
    }
    if (!good || w->task < 0 || !uint640_scan(f[0], &ti) || ti != (uint64_t)w->task || syncgroup_busy(wi) || !f[1][0])
    {
      strerr_warnw("a delivery worker sent a malformed answer: retiring it") ;
      worker_close(wi) ;
      return ;
    }
    task_done(ti, f[1][0], f[1] + 1, strlen(f[1] + 1)) ;
    w->task = -1 ;
    st.running-- ;
    tain_copynow(&w->idle) ;
    memmove(w->in.s, w->in.s + pos, w->in.len - pos) ;
    w->in.len -= pos ;
  }
}

static void reap (void)
{
  int wstat ;
  pid_t pid ;
  while ((pid = wait_nohang(&wstat)) > 0)
  {
    if (WIFSIGNALED(wstat))
    {
      char fmt[UINT_FMT] ;
      fmt[uint_fmt(fmt, WTERMSIG(wstat))] = 0 ;
      strerr_warnw("a delivery worker was killed by signal ", fmt) ;
    }
  }
}

 /* Reads the settings: at start, or again (SIGHUP, the queue manager's "!reread" frame). 1: in use
    from now on; 0: the old ones kept, why says why (terminated). Either way the log says so. */
static int load (int initial, stralloc *why)
{
  uint64_t u = 0 ;
  int r = ferry_control_u64_why("concurrencylocal", &u, why) ;
  if (r < 0) strerr_diefu1sys(111, "allocate memory") ;
  if (r && !ferry_local_ctx_load(&st.ctx, why))
  {
    if (!stralloc_0(why)) strerr_diefu1sys(111, "allocate memory") ;
    r = 0 ;
  }
  if (!r)
  {
    if (initial) strerr_dief1x(111, why->s) ;
    strerr_warnw("keeping the old settings: ", why->s) ;
    return 0 ;
  }
  if (initial) st.split = ferry_queue_split_or_die(111) ;
  else strerr_warni("settings read again") ;
  st.concurrency = u ;
  st.gen++ ;
  return 1 ;
}

 /* A control frame (doc/protocols.html): "!reread" is answered "!reread" and what was done. */
static void control_take (char const *p, size_t n)
{
  char const *f[2] ;
  int nf = ferry_fields_split(p, n, f, 2) ;
  stralloc why = STRALLOC_ZERO ;
  size_t mark ;
  int ok = 1 ;
  if (!ferry_frame_begin(&st.io.out, &mark)) ok = 0 ;
  else if (nf == 1 && !strcmp(f[0], "!reread"))
  {
    if (load(0, &why)) ok = ferry_field_cats(&st.io.out, f[0]) && ferry_field_cats(&st.io.out, "settings read again") ;
    else ok = ferry_field_cats(&st.io.out, f[0]) && stralloc_insertb(&why, 0, "kept the old settings: ", 23) && ferry_field_cats(&st.io.out, why.s) ;
  }
  else ok = ferry_field_cats(&st.io.out, "!unknown") ;
  if (!ok || !ferry_frame_end(&st.io.out, mark)) strerr_diefu1sys(111, "allocate memory") ;
  stralloc_free(&why) ;
}

int main (int argc, char const *const *argv)
{
  iopause_fd *x = 0 ;
  unsigned int xn = 0 ;
  int eof = 0, spfd ;
  PROG = "ferry-spawn-local" ;
  ferry_member_enter(argc, argv, USAGE) ;
  {
    stralloc why = STRALLOC_ZERO ;
    load(1, &why) ;
    stralloc_free(&why) ;
  }
  {
    static int const sigs[] = { SIGCHLD, SIGHUP, SIGTERM, 0 } ;
    spfd = ferry_loop_setup(sigs) ;
  }

  for (;;)
  {
    unsigned int n = 0, i ;
    int idx0 = -1, idx1 = -1 ;
    tain deadline = TAIN_INFINITE ;
    if (eof && !st.waiting && !st.running && !st.io.out.len) break ;
    if (xn < st.nworkers + 3) { xn = st.nworkers + 3 ; x = realloc(x, xn * sizeof(iopause_fd)) ; if (!x) strerr_diefu1sys(111, "allocate memory") ; }
    x[n].fd = spfd ; x[n].events = IOPAUSE_READ ; n++ ;
    if (!eof && st.waiting < WAITING_MAX) { idx0 = n ; x[n].fd = 0 ; x[n].events = IOPAUSE_READ ; n++ ; }
    if (st.io.out.len) { idx1 = n ; x[n].fd = 1 ; x[n].events = IOPAUSE_WRITE ; n++ ; }
    for (i = 0 ; i < st.nworkers ; i++) if (st.workers[i].used)
    {
      tain expiry ;
      x[n].fd = st.workers[i].fd ; x[n].events = IOPAUSE_READ ; n++ ;
      if (st.workers[i].task < 0)
      {
        tain_addsec(&expiry, &st.workers[i].idle, IDLE_SECONDS) ;
        if (tain_less(&expiry, &deadline)) deadline = expiry ;
      }
    }
    local_metrics_deadline(&deadline) ;
    if (iopause_g(x, n, &deadline) < 0) strerr_diefu1sys(111, "iopause") ;

    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
      {
        if (sig == SIGCHLD) reap() ;
        else if (sig == SIGHUP) { stralloc why = STRALLOC_ZERO ; load(0, &why) ; stralloc_free(&why) ; }
        else if (sig == SIGTERM) eof = 1 ;
      }
    }
    if (idx1 >= 0 && x[idx1].revents & (IOPAUSE_WRITE | IOPAUSE_EXCEPT) && !ferry_spawner_write(&st.io))
      strerr_diefu1sys(111, "write answers") ;
    if (idx0 >= 0 && x[idx0].revents & IOPAUSE_READ)
    {
      int r = ferry_spawner_read(&st.io, &request_take) ;
      if (r < 0) strerr_diefu1sys(111, "read requests") ;
      if (!r) eof = 1 ;
    }
    /* workers' answers: match each polled fd to its worker */
    for (i = 0 ; i < n ; i++)
    {
      unsigned int wi ;
      if (x[i].fd == spfd || x[i].fd == 0 || x[i].fd == 1 || !x[i].revents) continue ;
      for (wi = 0 ; wi < st.nworkers ; wi++) if (st.workers[wi].used && st.workers[wi].fd == x[i].fd) { worker_read(wi) ; break ; }
    }
    dispatch() ;
    syncgroup_run(&tell) ;
    /* retire idle workers that are too old, or of an older generation */
    tain_now_g() ;
    for (i = 0 ; i < st.nworkers ; i++) if (st.workers[i].used && st.workers[i].task < 0)
    {
      tain expiry ;
      tain_addsec(&expiry, &st.workers[i].idle, IDLE_SECONDS) ;
      if (st.workers[i].gen != st.gen || !tain_future(&expiry)) worker_close(i) ;
    }
    local_metrics_run(0) ;
  }
  {
    unsigned int i ;
    for (i = 0 ; i < st.nworkers ; i++)
    {
      if (st.workers[i].used) worker_close(i) ;
      stralloc_free(&st.workers[i].in) ;
    }
    for (i = 0 ; i < st.ntasks ; i++) stralloc_free(&st.tasks[i].t.sa) ;
    for (i = 0 ; i < st.nreqs ; i++) { stralloc_free(&st.reqs[i].payload) ; free(st.reqs[i].rcpt) ; free(st.reqs[i].result) ; }
  }
  local_metrics_run(1) ;
  {
    unsigned long rounds, asks ;
    char fmt[2][ULONG_FMT] ;
    syncgroup_counts(&rounds, &asks) ;
    fmt[0][ulong_fmt(fmt[0], asks)] = 0 ;
    fmt[1][ulong_fmt(fmt[1], rounds)] = 0 ;
    strerr_warni("stopped: ", fmt[0], " syncs asked by delivery workers, made in ", fmt[1], " rounds") ;
  }
  syncgroup_free() ;
  free(st.workers) ; free(st.tasks) ; free(st.reqs) ; free(x) ;
  stralloc_free(&st.io.in) ; stralloc_free(&st.io.out) ;
  ferry_local_ctx_free(&st.ctx) ;
  for (;;) { int wstat ; if (wait(&wstat) < 0 && errno != EINTR) break ; }
  return 0 ;
}
