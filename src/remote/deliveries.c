/* ferry-spawn-remote's deliveries: a request becomes a delivery, waits for its destination's
   addresses, goes to a connection (a cached one when it can), and is answered. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/gensetdyn.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>

#include <ferry/addr.h>
#include <ferry/frame.h>
#include <ferry/queue.h>
#include <ferry/spawner.h>

#include "spawn_remote.h"

void deliv_txn (deliv *d, smtp_txn *t)
{
  t->sender = d->sender ;
  t->rcpt = d->rcpt ;
  t->nrcpt = d->nrcpt ;
  t->st = d->st ;
  t->text = d->text ;
  t->lasterr = &d->lasterr ;
  t->size = d->body.wire ;
  t->eightbit = d->body.eightbit ;
  t->utf8 = d->utf8 ;
  t->requiretls = d->requiretls ;
}

void deliv_finish (unsigned int di)
{
  deliv *d = DELIV(di) ;
  smtp_txn t ;
  unsigned int i ;
  deliv_txn(d, &t) ;
  if (d->lasterr.len) smtp_txn_all(&t, 'Z', d->lasterr.s, d->lasterr.len) ;
  else smtp_txn_all(&t, 'Z', "no result (internal error)", 25) ;
  throttle_send(d) ;
  if (!ferry_answer_cat(&rem.io.out, d->payload.s, d->text, d->nrcpt)) nomem() ;
  if (d->msgfd >= 0) fd_close(d->msgfd) ;
  if (d->givenfd >= 0) fd_close(d->givenfd) ;
  if (d->conn >= 0) rem.conns[d->conn].deliv = -1 ;
  if (rem.dests[d->dest].active) rem.dests[d->dest].active-- ;
  rem.active-- ;
  for (i = 0 ; i < d->nrcpt ; i++) stralloc_free(&d->text[i]) ;
  free(d->text) ;
  free(d->st) ;
  free(d->rcpt) ;
  stralloc_free(&d->payload) ;
  stralloc_free(&d->lasterr) ;
  stralloc_free(&d->throttle) ;
  stralloc_free(&d->look.regions) ;
  gensetdyn_delete(&rem.delivs, di) ;
}

static int needs_utf8 (char const *s)
{
  for (; *s ; s++) if ((unsigned char)*s >= 128) return 1 ;
  return 0 ;
}

static void deliv_wait (unsigned int di)
{
  deliv *d = DELIV(di) ;
  dest *t = rem.dests + d->dest ;
  d->next = -1 ;
  if (t->wtail >= 0) DELIV(t->wtail)->next = di ; else t->whead = di ;
  t->wtail = di ;
  t->nwaiting++ ;
  rem.waiting++ ;
}

 /* A delivery request. The queue manager made it for one domain, that of its recipients (it
    groups them so): the first recipient's domain is the request's. */
void request_take (char const *p, size_t n)
{
  ferry_request q ;
  char numbuf[11] ;
  char const *why ;
  char dom[FERRY_DOMAIN_MAX + 1] ;
  size_t i, dl ;
  uint32_t di ;
  unsigned int k ;
  deliv *d ;
  int mfd ;
  if (n && p[0] == '!') { control_take(p, n) ; return ; }
  why = ferry_request_check(p, n, &q, numbuf) ;
  /* every delivery request from ferry-start's socket carries its message's descriptor */
  mfd = rem.io.passfd ? ferry_spawner_fd(&rem.io) : -1 ;
  if (why) { if (mfd >= 0) fd_close(mfd) ; ferry_spawner_refuse(&rem.io, q.num, why) ; return ; }
  if (q.nrcpt > FERRY_REQUEST_RCPT_MAX) { if (mfd >= 0) fd_close(mfd) ; ferry_spawner_refuse(&rem.io, q.num, "more recipients in one request than the protocol allows (doc/protocols.html)") ; return ; }
  /* the request's domain: its first recipient's (the queue manager makes each request of one
     domain's recipients, doc/design.html) */
  dl = ferry_addr_domain_lower(dom, q.rcpt) ;
  if (!dl) { if (mfd >= 0) fd_close(mfd) ; ferry_spawner_refuse(&rem.io, q.num, "the first recipient has no domain") ; return ; }

  if (!gensetdyn_new(&rem.delivs, &di)) nomem() ;
  d = DELIV(di) ;
  memset(d, 0, sizeof(deliv)) ;   /* gensetdyn's slots are not zeroed */
  d->id = q.id ;
  d->body.wire = q.wire ;
  d->body.eightbit = !!q.eightbit ;
  d->body.longline = !!q.longline ;
  d->requiretls = !!q.requiretls ;
  d->msgfd = -1 ;
  d->givenfd = mfd ;
  d->conn = -1 ;
  if (!stralloc_catb(&d->payload, p, n)) nomem() ;
  d->nrcpt = q.nrcpt ;
  d->rcpt = malloc(q.nrcpt * sizeof(char const *)) ;
  d->st = calloc(q.nrcpt, 1) ;
  d->text = calloc(q.nrcpt, sizeof(stralloc)) ;
  if (!d->rcpt || !d->st || !d->text) nomem() ;
  d->sender = d->payload.s + (q.sender - p) ;
  d->utf8 = needs_utf8(q.sender) ;
  d->dest = dest_get(dom, dl) ;
  for (k = 0, i = q.rcpt - p ; i < n ; i += strlen(p + i) + 1, k++)
  {
    d->rcpt[k] = d->payload.s + i ;
    if (needs_utf8(d->rcpt[k])) d->utf8 = 1 ;
  }
  deliv_wait(di) ;
}

 /* The message, open: as ferry-schedule passed it, or from the queue when run by hand. */
static int deliv_open (deliv *d)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  if (rem.io.passfd)
  {
    /* the queue manager opened it: this user cannot read the queue (doc/security.html) */
    struct stat st ;
    d->msgfd = d->givenfd ;
    d->givenfd = -1 ;
    if (d->msgfd < 0 || fstat(d->msgfd, &st) < 0 || !S_ISREG(st.st_mode))
    {
      if (d->msgfd >= 0) fd_close(d->msgfd) ;
      d->msgfd = -1 ;
      d->lasterr.len = 0 ;
      if (!stralloc_cats(&d->lasterr, "the queue manager could not open the message (its log says why)")) nomem() ;
      return 0 ;
    }
    /* the id is the message file's inode: a descriptor of another message is never sent */
    if ((uint64_t)st.st_ino != d->id)
      strerr_dief1x(111, "a request came with the descriptor of another message: the requests and their descriptors are out of step") ;
  }
  else
  {
    ferry_queue_path(fn, "mess", d->id, rem.split) ;
    d->msgfd = open(fn, O_RDONLY | O_CLOEXEC) ;
  }
  if (d->msgfd < 0)
  {
    d->lasterr.len = 0 ;
    if (!stralloc_cats(&d->lasterr, "unable to open ") || !stralloc_cats(&d->lasterr, fn) || !stralloc_cats(&d->lasterr, ": ")
     || !stralloc_cats(&d->lasterr, strerror(errno))) nomem() ;
    return 0 ;
  }
  d->looked = 0 ;
  return 1 ;
}

void deliv_attach (unsigned int di)
{
  deliv *d = DELIV(di) ;
  dest *t = rem.dests + d->dest ;
  unsigned int naddrs = genalloc_len(raddr, &t->addrs) ;
  if (d->msgfd < 0 && !deliv_open(d)) { deliv_finish(di) ; return ; }
  for (; d->tried < naddrs ; d->tried++)
  {
    raddr const *a = genalloc_s(raddr, &t->addrs) + d->tried ;
    if (dead_is(a))
    {
      char fmt[ADDR_FMT] ;
      addr_fmt(fmt, a) ;
      if (!d->lasterr.len && (!stralloc_cats(&d->lasterr, "host ") || !stralloc_cats(&d->lasterr, fmt)
       || !stralloc_cats(&d->lasterr, ": skipped: it timed out within control/deadhosttime seconds"))) nomem() ;
      d->otherfail = 1 ;
      continue ;
    }
    if (!policy_usable(d, a, &d->lasterr)) { d->otherfail = 1 ; continue ; }
    /* a stale cached connection already failed this delivery: a fresh one from now on */
    if (!d->retried && conn_cached_take(di, a)) return ;
    /* a new connection: it may have to wait for one on its shaping key (shaping.c) */
    if (!shaping_connect(di)) return ;
    if (conn_start(di, a) < 0)
    {
      /* this machine's failure (no socket: EMFILE...), not the destination's: Z, no backoff */
      stralloc why = STRALLOC_ZERO ;
      smtp_txn tx ;
      d = DELIV(di) ;
      deliv_txn(d, &tx) ;
      if (!stralloc_cats(&why, "unable to create a socket: ") || !stralloc_cats(&why, strerror(errno))) nomem() ;
      smtp_txn_all(&tx, 'Z', why.s, why.len) ;
      stralloc_free(&why) ;
      deliv_finish(di) ;
    }
    return ;
  }
  {
    stralloc t2 = STRALLOC_ZERO ;
    smtp_txn tx ;
    if (!stralloc_cats(&t2, "no host of ") || !stralloc_cats(&t2, t->name.s) || !stralloc_cats(&t2, " took the message; last: ")
     || !stralloc_catb(&t2, d->lasterr.s, d->lasterr.len)) nomem() ;
    if (!stralloc_copyb(&d->lasterr, t2.s, t2.len)) nomem() ;
    stralloc_free(&t2) ;
    /* every host refused, failed or was skipped before MAIL was taken: the destination's failure;
       when each one that answered refused it for REQUIRETLS alone, the message goes back (RFC 8689) */
    deliv_txn(d, &tx) ;
    if (d->rtlsfail && !d->otherfail)
    {
      if (!stralloc_insertb(&d->lasterr, 0, "5.7.30 ", 7)) nomem() ;
      smtp_txn_all(&tx, 'D', d->lasterr.s, d->lasterr.len) ;
    }
    else smtp_txn_all(&tx, 'H', d->lasterr.s, d->lasterr.len) ;
  }
  deliv_finish(di) ;
}

 /* Every delivery given is started as soon as its destination's addresses are known: how many
    go at once, in all and to one domain, is the queue manager's (concurrencyremote,
    concurrencydestination): it sends no more. */
void deliveries_pump (void)
{
  unsigned int i ;
  shaping_pump() ;
  for (i = 0 ; i < rem.ndests ; i++)
  {
    dest *t = rem.dests + i ;
    if (!t->used || !t->nwaiting) continue ;
    if (t->state == DS_RESOLVING) continue ;
    if (t->state == DS_NEW || (t->state == DS_READY && !tain_future(&t->expires) && !t->active)
     || (t->state == DS_FAILED && t->failstatus == 'D' && !tain_future(&t->expires)))
    {
      shaping_check() ;
      dest_resolve(i) ;
      t = rem.dests + i ;
      if (t->state == DS_RESOLVING) continue ;
    }
    /* the queue manager learns its key before any answer of the deliveries that waited */
    if (!t->shaped) { shaping_dest(i) ; t = rem.dests + i ; }
    if (t->state == DS_FAILED)
    {
      /* the deliveries that waited for this answer get it; a temporary failure is not kept */
      if (t->failstatus != 'D') t->state = DS_NEW ;
      while (t->whead >= 0)
      {
        int di = t->whead ;
        deliv *d = DELIV(di) ;
        smtp_txn tx ;
        t->whead = d->next ;
        t->nwaiting-- ; rem.waiting-- ;
        deliv_txn(d, &tx) ;
        smtp_txn_all(&tx, t->failstatus, t->failtext.s, t->failtext.len) ;
        rem.active++ ; t->active++ ;
        deliv_finish(di) ;
      }
      t->wtail = -1 ;
      continue ;
    }
    while (t->whead >= 0)
    {
      int di = t->whead ;
      t->whead = DELIV(di)->next ;
      if (t->whead < 0) t->wtail = -1 ;
      t->nwaiting-- ; rem.waiting-- ;
      rem.active++ ; t->active++ ;
      deliv_attach(di) ;
      t = rem.dests + i ;
    }
  }
  dests_forget_idle() ;
}
