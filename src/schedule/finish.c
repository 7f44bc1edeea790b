/* ferry-schedule, a message's end: its notifications, then its files removed in order. */

#include "schedule.h"

/* Asks the queue manager's ferry-clean for a finished message's files (s), the message file
   to follow (sclean_take). */
void removal_start (uint64_t id, uint64_t stamp)
{
  removal r = { .id = id, .stamp = stamp } ;
  push_or_die(&sched.removing, &r) ;
  clean_request_to(PEER_SCLEAN, 's', id) ;
}

int removing_has (uint64_t id)
{
  removal const *r = GENQDYN_PEEK(removal const, &sched.removing) ;
  size_t i, n = genqdyn_n(&sched.removing) ;
  for (i = 0 ; i < n ; i++) if (r[i].id == id) return 1 ;
  return 0 ;
}

 /* Every recipient done. With a bounce record, ferry-bounce-build sends the notifications first
    (it reads intd/ and mess/); while it runs for a delay warning, the message waits for it.
    Then the scheduler's own files go first, and ferry-clean removes the message file: the
    message file holds the id (its inode) until the very end, so no new message can take the same
    id while anything of this one is still being removed. A crash in between leaves a message file
    that nothing refers to, which ferry-clean's sweep removes after 36 hours. */
void msg_finish (unsigned int mi)
{
  msg *m = sched.msgs + mi ;
  unsigned int c ;
  for (c = 0 ; c < 2 ; c++) if (m->fd[c] >= 0) { fd_close(m->fd[c]) ; m->fd[c] = -1 ; }
  if (m->job) return ;          /* bounce_reap comes back here */
  if (m->bounced)
  {
    if (!m->waiting)
    {
      logs("bounce msg ") ; logname(m->id, m->stamp) ; logs(": notifications to send (ferry-bounce-build)") ; logend() ;
      bounce_want(mi) ;
    }
    return ;
  }
  msg_forget(mi) ;
}

void msg_forget (unsigned int mi)
{
  msg *m = sched.msgs + mi ;
  unsigned int i ;
  /* its files go in ferry-clean (removals cost a disk's discard each: not in this loop), in the
     order doc/ferry-clean.html gives; the message file, once they are gone (sclean_take) */
  removal_start(m->id, m->stamp) ;
  for (i = 0 ; i < m->count ; i++)
  {
    unsigned int ri = MSG_R(m)[i] ;
    /* a recipient still in the heap (a deleted message's) leaves it; a ready-ring entry goes
       stale by itself once the link changes */
    if (sched.rcpts[ri].link >= 0) dueheap_remove(&sched.due, sched.rcpts, sched.rcpts[ri].link) ;
    else rcpt_unlink(ri) ;
    sched.rcpts[ri].addr = 0 ;
    sched.rcpts[ri].link = sched.freercpt ;
    sched.freercpt = ri ;
  }
  if (m->count > 1) free(m->rs.many) ;
  m->rs.many = 0 ;
  free(m->sender) ;
  free(m->lasterr) ;
  m->lasterr = 0 ;
  idindex_del(&sched.ids, m->id) ;
  m->used = 0 ;
  m->finishing = 0 ;
  msg_free(mi) ;
  sched.livemsgs-- ;
  sched.statuschanged = 1 ;
}

/* ---------- results ---------- */

 /* Messages whose last recipient is done: finished (their files removed, their notifications
    started) only once every mark of their round is durable. The round's marks go to the syncer
    (syncer.c) at its end when no sync is under way; otherwise they wait for the next one, and so
    do the messages the round finished. */

void finish_later (unsigned int mi)
{
  finisher f = { .mi = mi, .id = sched.msgs[mi].id } ;
  if (sched.msgs[mi].finishing) return ;
  append_or_die(&sched.finishlist, &f, sizeof f) ;
  sched.msgs[mi].finishing = 1 ;
}

static void finish_now (genalloc *list)
{
  size_t i ;
  for (i = 0 ; i < genalloc_len(finisher, list) ; i++)
  {
    finisher const *f = genalloc_s(finisher, list) + i ;
    msg *m = sched.msgs + f->mi ;
    /* finished another way meanwhile (a deletion), and perhaps its slot taken by another */
    if (!m->used || !m->finishing || m->id != f->id) continue ;
    m->finishing = 0 ;
    if (!m->open) msg_finish(f->mi) ;
  }
  genalloc_setlen(finisher, list, 0) ;
}

 /* The end of a round: its marks to the syncer, unless a sync is under way. With no mark to sync,
    the messages finished are finished now: every mark they had is durable already. */
void finish_flush (void)
{
  if (sched.syncing) return ;
  if (sync_dirty_start())
  {
    genalloc t = sched.syncwait ;
    sched.syncwait = sched.finishlist ;
    sched.finishlist = t ;
  }
  else finish_now(&sched.finishlist) ;
}

 /* The syncer's sync is done: the messages it covered are finished. */
void finish_synced (void)
{
  finish_now(&sched.syncwait) ;
}

 /* Is id a message of the queue (committed, whether prepared or not, and not being removed)?
    When it cannot be told (a stat failed), it is. */
int msg_exists (uint64_t id)
{
  return !removing_has(id) && ferry_queue_has_message(id, sched.split) ;
}
