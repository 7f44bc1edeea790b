/* ferry-schedule, the channels' answers: recipients done, deferred, or backed off with their destination. */

#include "schedule.h"

void bounce_record_cat (stralloc *sa, unsigned int ri, char kind, char const *text, uint32_t when)
{
  rcpt *r = sched.rcpts + ri ;
  ferry_bounce_record b = { .kind = kind, .channel = r->ch == CH_LOCAL ? 'L' : 'R', .index = r->eidx, .when = when, .rcpt = r->addr, .text = text } ;
  if (!ferry_bounce_record_cat(sa, &b)) strerr_diefu1sys(111, "allocate memory") ;
}

 /* Records of permanent failures (D) or successes that asked for a notice (S), appended to
    queue/bounce/ID and synced, in one write, before the recipients' statuses change on disk. */
static void bounce_write (unsigned int mi, stralloc const *recs)
{
  msg *m = sched.msgs + mi ;
  char fn[FERRY_QUEUE_PATH_MAX] ;
  int fd ;
  ferry_queue_path(fn, "bounce", m->id, 0) ;
  fd = open(fn, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600) ;
  if (fd < 0 || allwrite(fd, recs->s, recs->len) < recs->len || fsync(fd) < 0)
  {
    strerr_warnwu2sys("append to ", fn) ;
    _exit(111) ;
  }
  fd_close(fd) ;
  if (!m->bounced)
  {
    m->bounced = 1 ;
    if (ferry_dir_sync("queue/bounce") < 0) { strerr_warnwu1sys("sync queue/bounce") ; _exit(111) ; }
  }
}

 /* The recipients r[0..n) of one message are done (K or D) with the same text: their notices
    first, all in one synced write, then their statuses. */
void batch_done (unsigned int const *r, unsigned int n, char status, char const *text)
{
  unsigned int mi = sched.rcpts[r[0]].msg, k, nnever = 0, *never = 0 ;
  msg *m = sched.msgs + mi ;
  stralloc recs = STRALLOC_ZERO ;
  uint32_t now = time(0) ;
  for (k = 0 ; k < n ; k++)
  {
    rcpt *o = sched.rcpts + r[k] ;
    if (status == 'D' && m->deleting == 1) ;
    else if (status == 'D' && ferry_dsn_wants(o->notify, 'D')) bounce_record_cat(&recs, r[k], 'D', text, now) ;
    else if (status == 'D')
    {
      if (!never && !(never = malloc(n * sizeof(unsigned int)))) strerr_diefu1sys(111, "allocate memory") ;
      never[nnever++] = r[k] ;
    }
    else if (status == 'K' && m->sender[0] && o->notify & FERRY_NOTIFY_SUCCESS) bounce_record_cat(&recs, r[k], 'S', text, now) ;
  }
  if (recs.len) bounce_write(mi, &recs) ;
  stralloc_free(&recs) ;
  if (nnever)
  {
    logs("bounce msg ") ; logname(m->id, m->stamp) ; logs(": no notice for ") ; log_addrs(never, nnever) ;
    logs(nnever == 1 ? ": it asked for NOTIFY=NEVER" : ": they asked for NOTIFY=NEVER") ; logend() ;
  }
  free(never) ;
  for (k = 0 ; k < n ; k++)
  {
    rcpt *o = sched.rcpts + r[k] ;
    o->status = status ;
    m->open-- ;
    sched.openrcpts-- ;
    sched.opench[(int)o->ch]-- ;
  }
  records_mark(r, n, status) ;
  mark_dirty(mi) ;
  sched.statuschanged = 1 ;
}

 /* The last error of deferred recipients, for ferry-qread and the delay warning: one record
    per batch that shared its fate, naming the recipients' envelope indexes (ferry/defer.h),
    appended to queue/defer/N/ID, not synced: they inform, they decide nothing. */
static void defer_log (unsigned int mi, char ch, uint32_t *idx, unsigned int n, char const *text, uint32_t now)
{
  msg *m = sched.msgs + mi ;
  char fn[FERRY_QUEUE_PATH_MAX] ;
  stralloc rec = STRALLOC_ZERO ;
  int fd ;
  ferry_queue_path(fn, "defer", m->id, sched.split) ;
  if (!ferry_defer_record_cat(&rec, ch == CH_LOCAL ? 'L' : 'R', now, idx, n, text)) strerr_diefu1sys(111, "allocate memory") ;
  /* the first deferral of a message this process saw arrive starts the file afresh: one left by
     a crash under the same id (an inode, reused) must not lend it its errors */
  fd = open(fn, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (m->deferlog ? 0 : O_TRUNC), 0640) ;
  if (fd < 0 || allwrite(fd, rec.s, rec.len) < rec.len)
  {
    if (!sched.deferwarned++) strerr_warnwu2sys("append to ", fn) ;
  }
  else m->deferlog = 1 ;
  if (fd >= 0) fd_close(fd) ;
  stralloc_free(&rec) ;
}

 /* A recipient's temporary failure: waits for its next attempt, not before next. */
void rcpt_defer (unsigned int ri, uint32_t next)
{
  rcpt *r = sched.rcpts + ri ;
  msg *m = sched.msgs + r->msg ;
  char h[16] ;
  r->status = 'T' ;
  r->next = next ;
  if (r->ch == CH_REMOTE)
  {
    int d = dests_find(&sched.dests, ferry_addr_domain(r->addr)) ;
    if (d >= 0 && sched.dests.a[d].failures && sched.dests.a[d].until > r->next) r->next = sched.dests.a[d].until ;
  }
  ferry_hex_fmt(h, r->next, 16) ;
  record_put(ri, 1, h, 16) ;
  mark_dirty(r->msg) ;
  if (!m->hintlo[(int)r->ch] || r->next < m->hintlo[(int)r->ch]) m->hintlo[(int)r->ch] = r->next ;
  dueheap_push(&sched.due, sched.rcpts, ri) ;
}

 /* The recipients r[0..n) of one message failed temporarily, with the same text: deferred, or,
    past control/queuelifetime, failed (then 1). One log line and one defer record for the batch,
    and one next attempt: a batch that shared its fate stays together (the spread of backoff,
    which keeps deferred mail from coming back in waves, is drawn per batch). */
static int defer_batch (unsigned int const *r, unsigned int n, char const *text, uint32_t now)
{
  unsigned int mi = sched.rcpts[r[0]].msg, k ;
  msg *m = sched.msgs + mi ;
  uint32_t lo = UINT32_MAX, hi = 0, next, *idx ;
  m->lasttime = now ;
  free(m->lasterr) ;
  m->lasterr = xstrdup(text, strlen(text)) ;
  if (sched.lifetime && now >= m->birth + sched.lifetime)
  {
    stralloc t = STRALLOC_ZERO ;
    if (!stralloc_cats(&t, "4.4.7 message expired: queued longer than control/queuelifetime; last error: ") || !stralloc_cats(&t, text) || !stralloc_0(&t))
      strerr_diefu1sys(111, "allocate memory") ;
    logs("expired msg ") ; logname(m->id, m->stamp) ; logs(" to ") ; log_addrs(r, n) ; logend() ;
    batch_done(r, n, 'D', t.s) ;
    stralloc_free(&t) ;
    return 1 ;
  }
  idx = malloc(n * sizeof(uint32_t)) ;
  if (!idx) strerr_diefu1sys(111, "allocate memory") ;
  next = backoff_next(&sched.curve, m->birth, now) ;
  for (k = 0 ; k < n ; k++)
  {
    rcpt_defer(r[k], next) ;
    idx[k] = sched.rcpts[r[k]].eidx ;
    if (sched.rcpts[r[k]].next < lo) lo = sched.rcpts[r[k]].next ;
    if (sched.rcpts[r[k]].next > hi) hi = sched.rcpts[r[k]].next ;
  }
  defer_log(mi, sched.rcpts[r[0]].ch, idx, n, text, now) ;
  free(idx) ;
  logs("deferral msg ") ; logname(m->id, m->stamp) ; logs(" to ") ; log_addrs(r, n) ; logs(": next attempt in ") ;
  logu(lo - now) ; if (hi > lo) { logs(" to ") ; logu(hi - now) ; } logs(" seconds") ; logend() ;
  return 0 ;
}

 /* After a remote answer: a result H (the destination failed, doc/protocols.html) makes the
    domain a failing one (again); anything else (a host took MAIL) ends its failure, and its
    deferred mail is retried now. */
static void dest_result (unsigned int d, char const *p, size_t n, size_t pos, uint32_t now)
{
  dest *e = sched.dests.a + d ;
  int failed = 0 ;
  for (; pos < n ; pos += strlen(p + pos) + 1) if (p[pos] == 'H') failed = 1 ;
  if (failed)
  {
    uint64_t t ;
    if (e->failures && e->until > now) return ;   /* deliveries that were out at the same time: one failure */
    e->failures++ ;
    t = backoff_dest(&sched.curve, e->failures) ;
    e->until = now + t ;
    logs("destination ") ; logclean(e->name) ; logs(": ") ; logu(e->failures) ;
    logs(" failed deliveries in a row: backed off for ") ; logu(t) ; logs(" seconds") ; logend() ;
  }
  else if (e->failures)
  {
    unsigned int i, pulled = 0 ;
    e->failures = 0 ;
    e->until = 0 ;
    for (i = 0 ; i < sched.due.n ; i++)
    {
      rcpt *r = sched.rcpts + sched.due.a[i] ;
      if (r->status == 'T' && r->ch == CH_REMOTE && !strcasecmp(ferry_addr_domain(r->addr), e->name)) { r->next = now ; pulled++ ; }
    }
    if (pulled) dueheap_reorder(&sched.due, sched.rcpts) ;
    logs("destination ") ; logclean(e->name) ; logs(": accepts mail again: ") ; logu(pulled) ;
    logs(" deferred recipients retried now") ; logend() ;
  }
}
 /* An answer from a channel: delivery\0result\0... */
#define ANSWER_STATUS(c) ((c) == 'H' ? 'Z' : (c))
void answer_take (int ch, char const *p, size_t n)
{
  uint64_t num ;
  flight *fl ;
  unsigned int i, j ;
  size_t first ;
  uint32_t now = time(0) ;
  char const **res ;
  int success = 0 ;
  if (n && p[0] == '!')
  {
    /* the remote channel's shaping frames (shaping.c); the answers to control frames, logged */
    if (ch != CH_REMOTE || !shape_frame(p, n)) control_log(ch, p, n) ;
    return ;
  }
  if (!ferry_answer_head(p, n, &num, &first) || num >= sched.nflights || !sched.flights[num].used || sched.flights[num].ch != ch)
  {
    strerr_warnw("a malformed or unexpected answer from the ", chname[ch], " channel: ignored") ;
    return ;
  }
  fl = sched.flights + num ;
  res = malloc(fl->n * sizeof(char const *)) ;
  if (!res) strerr_diefu1sys(111, "allocate memory") ;
  ferry_answer_results(p, n, first, res, fl->n) ;
  sched.msgs[fl->msg].flying[(int)fl->ch] -= fl->n ;
  /* a run of recipients with the same result and text is one batch: one log line, one record */
  for (i = 0 ; i < fl->n ; i = j)
  {
    char st = ANSWER_STATUS(res[i][0]) ;   /* H, the destination's failure: dest_result below */
    for (j = i + 1 ; j < fl->n && ANSWER_STATUS(res[j][0]) == st && !strcmp(res[j] + 1, res[i] + 1) ; j++) ;
    logs("delivery ") ; logu(num) ; logs(": msg ") ; logname(sched.msgs[fl->msg].id, sched.msgs[fl->msg].stamp) ; logs(" to ") ; log_addrs(fl->r + i, j - i) ;
    logs(st == 'K' ? ": success: " : st == 'D' ? ": failure: " : ": deferral: ") ; logclean(res[i] + 1) ; logend() ;
    {
      int result = st == 'K' ? RESULT_SUCCESS : st == 'D' ? RESULT_FAILURE : RESULT_DEFERRAL ;
      if (st == 'Z' && !sched.msgs[fl->msg].deleting) { if (defer_batch(fl->r + i, j - i, res[i] + 1, now)) result = RESULT_FAILURE ; }
      else batch_done(fl->r + i, j - i, st == 'Z' ? 'D' : st, st == 'Z' ? DELETED_TEXT : res[i] + 1) ;
      metrics_result(ch, fl->msg, result, j - i, now) ;
      if (fl->key >= 0) sched.keys.a[fl->key].results[result] += j - i ;
      if (st == 'K') success = 1 ;
    }
  }
  free(res) ;
  if (success) sched.c.bytes[ch] += sched.msgs[fl->msg].wire ;
  sched.inflight[ch]-- ;
  sched.flyingr[ch] -= fl->n ;
  if (ch == CH_REMOTE)
  {
    /* a slot of its destination is free: a recipient parked there can take it. An H that came
       with a throttling reply (!throttle) lowered the key instead of backing the domain off. */
    if (!fl->throttled) dest_result(fl->dest, p, n, first, now) ;
    sched.dests.a[fl->dest].inflight-- ;
    shape_answer(num) ;
    dests_wake(&sched.dests, fl->dest) ;
    dest_idle(fl->dest) ;
  }
  fl->used = 0 ;
  sched.statuschanged = 1 ;
  /* the marks are synced with the round's others; only then is the message finished */
  if (!sched.msgs[fl->msg].open) finish_later(fl->msg) ;
}
