/* ferry-injectd's clients: a client's message in netstring chunks into its message file (taken
   from the pool or made in queue/pid and renamed), its envelope checked and written into
   queue/intd, and its answer (doc/protocols.html, "Injection through ferry-injectd"). */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/body.h>
#include <ferry/control.h>
#include <ferry/envelope.h>
#include <ferry/inject.h>
#include <ferry/inject_run.h>
#include <ferry/msgname.h>
#include <ferry/pool.h>
#include <ferry/queue.h>

#include "injectd.h"
#include "injectd_metrics.h"

#define ENVELOPE_MAX (64 << 20)
#define CHUNKLEN_DIGITS 10

void injectd_files_remove (client *c)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  if (c->madeintd) { ferry_queue_path(fn, "intd", c->id, injectd_split) ; unlink(fn) ; c->madeintd = 0 ; }
  if (c->mademess) { ferry_queue_path(fn, "mess", c->id, injectd_split) ; unlink(fn) ; c->mademess = 0 ; }
}

 /* Ends the injection with an answer: the code (ferry-inject's exit code) and a few words. */
void injectd_answer (client *c, int code, char const *what)
{
  size_t n = uint_fmt(c->reply, code) ;
  size_t k = strlen(what) ;
  if (k > sizeof(c->reply) - n - 3) k = sizeof(c->reply) - n - 3 ;
  c->reply[n++] = ' ' ;
  memcpy(c->reply + n, what, k) ; n += k ;
  c->reply[n++] = '\n' ;
  c->rlen = n ; c->rpos = 0 ;
  if (c->mfd >= 0) { fd_close(c->mfd) ; c->mfd = -1 ; }
  if (code) { injectd_files_remove(c) ; injectd_refused++ ; injectd_metrics_refused() ; }
  c->st = ST_REPLY ;
}

void injectd_answer_sys (client *c, int code, char const *what)
{
  char buf[120] ;
  char const *s = strerror(errno) ;
  size_t n = strlen(what), k = strlen(s) ;
  if (n > 60) n = 60 ;
  if (k > 50) k = 50 ;
  memcpy(buf, what, n) ; memcpy(buf + n, ": ", 2) ; memcpy(buf + n + 2, s, k) ; buf[n + 2 + k] = 0 ;
  injectd_answer(c, code, buf) ;
}

static int record_cat (stralloc *sa, char type, uint64_t u)
{
  char fmt[UINT64_FMT] ;
  return stralloc_catb(sa, &type, 1) && stralloc_catb(sa, fmt, uint64_fmt(fmt, u)) && stralloc_0(sa) ;
}

 /* The client's next deadline: sent nothing for -t seconds, or the whole submission's end. */
void injectd_deadline_set (client *c)
{
  tain_addsec_g(&c->deadline, injectd_timeout) ;
  if (tain_less(&c->end, &c->deadline)) c->deadline = c->end ;
}

 /* the names of a client's files: its message file's by its inode, its envelope's by the id */
static void mess_name (char *fn, uint64_t ino, void *data)
{
  (void)data ;
  ferry_queue_path(fn, "mess", ino, injectd_split) ;
}

 /* an envelope from the pool is renamed over a stale one by that name, as
    ferry_inject_intd_create removes it */
static void intd_name (char *fn, uint64_t ino, void *data)
{
  (void)ino ;
  ferry_queue_path(fn, "intd", *(uint64_t const *)data, injectd_split) ;
}

static ferry_control_watch databytes = FERRY_CONTROL_WATCH_ZERO ;

 /* A new client in slot c: its credentials from the kernel, its message file created and named
    by its inode. */
void injectd_client_new (client *c, int fd, struct ucred const *cred)
{
  char buf[FERRY_INJECT_RECEIVED_MAX] ;
  char pidfn[FERRY_INJECT_PIDFILE_MAX] ;
  char messfn[FERRY_QUEUE_PATH_MAX] ;
  struct stat st ;
  memset(c, 0, sizeof(*c)) ;
  c->fd = fd ; c->mfd = -1 ; c->st = ST_LEN ;
  c->env = stralloc_zero ;
  c->birth = time(0) ;
  tain_addsec_g(&c->end, injectd_maxtime) ;
  injectd_deadline_set(c) ;
  c->uid = cred->uid ; c->pid = cred->pid ;
  /* control/databytes as it is now, as each ferry-inject reads it */
  if (ferry_control_watchu64(&databytes, "databytes", &c->limit) < 0)
  { injectd_answer(c, FERRY_INJECT_CONFIG, "unable to read control/databytes") ; return ; }
  c->mfd = ferry_pool_take(&injectd_pool, FERRY_POOL_MESSAGE, messfn, &mess_name, 0, &c->id, &c->messold) ;
  if (c->mfd < 0)
  {
    c->mfd = ferry_inject_pidfile(pidfn, injectd_pid) ;
    if (c->mfd < 0) { injectd_answer_sys(c, FERRY_INJECT_PID, "create a file in queue/pid") ; return ; }
    if (fstat(c->mfd, &st) < 0) { unlink(pidfn) ; injectd_answer_sys(c, FERRY_INJECT_PID, "stat a file in queue/pid") ; return ; }
    c->id = st.st_ino ;
    ferry_queue_path(messfn, "mess", c->id, injectd_split) ;
    if (rename(pidfn, messfn) < 0) { unlink(pidfn) ; injectd_answer_sys(c, FERRY_INJECT_MESS, "rename into queue/mess") ; return ; }
  }
  c->mademess = 1 ;
  {
    size_t n = ferry_inject_received_fmt(buf, c->pid, c->uid, c->id, c->birth) ;
    ferry_body_scan_feed(&c->body, buf, n) ;
    if (allwrite(c->mfd, buf, n) < n) { injectd_answer_sys(c, FERRY_INJECT_WRITE, "write the message") ; return ; }
    c->messlen = n ;
  }
  if (!record_cat(&c->env, 'u', c->uid) || !record_cat(&c->env, 'p', c->pid) || !record_cat(&c->env, 't', c->birth))
  { injectd_answer(c, FERRY_INJECT_NOMEM, "out of memory") ; return ; }
  c->envbase = c->env.len ;
}

 /* The envelope is complete and checked: write it into intd/ (synced with its batch). */
static void envelope_store (client *c)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  int fd ;
  uint64_t ino, old = 0 ;
  fd = ferry_pool_take(&injectd_pool, FERRY_POOL_ENVELOPE, fn, &intd_name, &c->id, &ino, &old) ;
  if (fd < 0)
  {
    ferry_queue_path(fn, "intd", c->id, injectd_split) ;
    fd = ferry_inject_intd_create(fn) ;
  }
  if (fd < 0) { injectd_answer_sys(c, FERRY_INJECT_INTD, "create the envelope in queue/intd") ; return ; }
  c->madeintd = 1 ;
  if (allwrite(fd, c->env.s, c->env.len) < c->env.len || ferry_pool_end(fd, old, c->env.len) < 0)
  { fd_close(fd) ; injectd_answer_sys(c, FERRY_INJECT_WRITE, "write the envelope") ; return ; }
  if (close(fd) < 0) { injectd_answer_sys(c, FERRY_INJECT_WRITE, "write the envelope") ; return ; }
  c->st = ST_READY ;
}

 /* Feeds n bytes from the client through its state machine. */
void injectd_feed (client *c, char const *s, size_t n)
{
  while (n && c->st < ST_READY)
  {
    switch (c->st)
    {
      case ST_LEN :
        if (*s == ':')
        {
          if (!c->digits) { injectd_answer(c, FERRY_INJECT_READ, "protocol error: a chunk without a length") ; return ; }
          if (c->left) c->st = ST_DATA ; else { c->last = 1 ; c->st = ST_COMMA ; }
        }
        else if (*s >= '0' && *s <= '9' && c->digits < CHUNKLEN_DIGITS)
        {
          c->left = c->left * 10 + (*s - '0') ;
          c->digits++ ;
        }
        else { injectd_answer(c, FERRY_INJECT_READ, "protocol error: a bad chunk length") ; return ; }
        s++ ; n-- ;
        break ;
      case ST_DATA :
      {
        size_t k = n < c->left ? n : (size_t)c->left ;
        c->total += k ;
        if (c->limit && c->total > c->limit) { injectd_answer(c, FERRY_INJECT_TOOBIG, "message is larger than control/databytes") ; return ; }
        ferry_body_scan_feed(&c->body, s, k) ;
        if (allwrite(c->mfd, s, k) < k) { injectd_answer_sys(c, FERRY_INJECT_WRITE, "write the message") ; return ; }
        c->messlen += k ;
        c->left -= k ; s += k ; n -= k ;
        if (!c->left) c->st = ST_COMMA ;
        break ;
      }
      case ST_COMMA :
        if (*s != ',') { injectd_answer(c, FERRY_INJECT_READ, "protocol error: a chunk without its comma") ; return ; }
        s++ ; n-- ;
        c->digits = 0 ;
        if (!c->last) { c->st = ST_LEN ; break ; }
        if (ferry_pool_end(c->mfd, c->messold, c->messlen) < 0) { injectd_answer_sys(c, FERRY_INJECT_WRITE, "cut the message file to its length") ; return ; }
        if (ferry_msgname_stamp_set(c->mfd) < 0) { injectd_answer_sys(c, FERRY_INJECT_WRITE, "set the time of the message file (its name)") ; return ; }
        if (close(c->mfd) < 0) { c->mfd = -1 ; injectd_answer_sys(c, FERRY_INJECT_WRITE, "write the message") ; return ; }
        c->mfd = -1 ;
        {
          /* the body facts go after u, p and t, before the client's envelope */
          ferry_body b ;
          ferry_body_scan_end(&c->body, &b) ;
          if (!ferry_body_records_cat(&c->env, &b)) { injectd_answer(c, FERRY_INJECT_NOMEM, "out of memory") ; return ; }
          c->envbase = c->env.len ;
        }
        c->st = ST_ENV ;
        break ;
      case ST_ENV :
      {
        ferry_envelope_status es ;
        if (c->env.len - c->envbase + n > ENVELOPE_MAX) { injectd_answer(c, FERRY_INJECT_ENVELOPE, "the envelope is larger than 64 MiB") ; return ; }
        if (!stralloc_catb(&c->env, s, n)) { injectd_answer(c, FERRY_INJECT_NOMEM, "out of memory") ; return ; }
        n = 0 ;
        es = ferry_envelope_scan(&c->sc, c->env.s + c->envbase, c->env.len - c->envbase) ;
        if (es == FERRY_ENVELOPE_MORE) break ;
        if (es != FERRY_ENVELOPE_DONE) { injectd_answer(c, ferry_inject_envelope_code(es), ferry_envelope_strstatus(es)) ; return ; }
        if (c->envbase + c->sc.pos != c->env.len) { injectd_answer(c, FERRY_INJECT_READ, "protocol error: bytes after the envelope") ; return ; }
        envelope_store(c) ;
        break ;
      }
      default : break ;
    }
  }
  if (n && c->st == ST_READY) injectd_answer(c, FERRY_INJECT_READ, "protocol error: bytes after the envelope") ;
}

