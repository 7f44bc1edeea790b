/* ferry-schedule, ferry-qctl's commands on queue/lock/steer: hold, release, delete, requeue
   (suspend and resume: suspend.c). */

#include "schedule.h"

/* ---------- steering: ferry-qctl's commands on queue/lock/steer ---------- */

 /* hold and delete are also files (queue/hold/ID, queue/delete/ID) written durably by ferry-qctl
    before it writes the command: the command only makes them take effect at once, and a restart
    finds them. requeue is only a command. */

void steer_log (char const *what, uint64_t id, char const *rest)
{
  logs(what) ; logs(" msg ") ; lognameof(id) ; logs(": ") ; logs(rest) ; logend() ;
}

 /* Is the message of this id (mi: loaded, or -1) the one ferry-qctl named? A name is unique, an
    id is not: the message may have ended since, and a new one taken its inode. When it cannot be
    told (a stat failed), it is. */
static int steer_named (uint64_t id, uint64_t stamp, int mi)
{
  uint64_t now ;
  if (mi >= 0) return sched.msgs[mi].stamp == stamp ;
  return ferry_msgname_read(id, sched.split, &now) < 0 || now == stamp ;
}

void msg_delete (unsigned int mi)
{
  msg *m = sched.msgs + mi ;
  char fn[FERRY_QUEUE_PATH_MAX] ;
  char c = 0 ;
  unsigned int i, n = 0, *r ;
  int fd ;
  char const *what = 0 ;
  ferry_queue_path(fn, "delete", m->id, 0) ;
  fd = ferry_queue_open(fn, O_RDONLY, &what) ;
  if (fd == -2) { strerr_warnw("ignored: ", fn, " is ", what) ; return ; }
  if (fd < 0) { if (errno != ENOENT) strerr_warnwu2sys("open ", fn) ; return ; }
  if (read(fd, &c, 1) < 0) c = 0 ;
  fd_close(fd) ;
  m->deleting = c == 'b' ? 2 : 1 ;
  r = malloc(m->count * sizeof(unsigned int)) ;
  if (!r) strerr_diefu1sys(111, "allocate memory") ;
  for (i = 0 ; i < m->count ; i++)
  {
    unsigned int ri = MSG_R(m)[i] ;
    if (sched.rcpts[ri].status != 'T') continue ;   /* done, or in flight: its answer comes back here */
    r[n++] = ri ;
  }
  if (n) batch_done(r, n, 'D', DELETED_TEXT) ;
  free(r) ;
  sync_dirty() ;
  if (unlink(fn) < 0 && errno != ENOENT) strerr_warnwu2sys("remove ", fn) ;
  logs("delete msg ") ; logname(m->id, m->stamp) ; logs(": ") ; logu(n) ; logs(m->deleting == 2 ? " recipients failed, with a notice" : " recipients dropped, without notice") ;
  if (n < m->open) { logs("; ") ; logu(m->open) ; logs(" in flight finish first") ; }
  logend() ;
  if (!m->open) msg_finish(mi) ;
}

void delete_pending_check (unsigned int mi)
{
  uint64_t *d = genalloc_s(uint64_t, &sched.delpending) ;
  size_t i, n = genalloc_len(uint64_t, &sched.delpending) ;
  for (i = 0 ; i < n ; i++) if (d[i] == sched.msgs[mi].id)
  {
    d[i] = d[n - 1] ;
    genalloc_setlen(uint64_t, &sched.delpending, n - 1) ;
    msg_delete(mi) ;
    return ;
  }
}

static void msg_release (unsigned int mi, uint32_t now)
{
  msg *m = sched.msgs + mi ;
  unsigned int i, n = 0 ;
  m->held = 0 ;
  for (i = 0 ; i < m->count ; i++)
  {
    rcpt *r = sched.rcpts + MSG_R(m)[i] ;
    if (r->status != 'T') continue ;
    r->next = now ;
    if (r->link >= 0) dueheap_up(&sched.due, sched.rcpts, r->link) ;
    else if (r->link == -1) dueheap_push(&sched.due, sched.rcpts, MSG_R(m)[i]) ;
    n++ ;
  }
  logs("release msg ") ; logname(m->id, m->stamp) ; logs(": ") ; logu(n) ; logs(" recipients to be tried now") ; logend() ;
}

static unsigned int msg_requeue (unsigned int mi, char const *dom, uint32_t now)
{
  msg *m = sched.msgs + mi ;
  unsigned int i, n = 0 ;
  if (m->held) return 0 ;
  for (i = 0 ; i < m->count ; i++)
  {
    rcpt *r = sched.rcpts + MSG_R(m)[i] ;
    if (r->status != 'T' || r->link < 0 || r->next <= now) continue ;
    if (dom && (r->ch != CH_REMOTE || strcasecmp(ferry_addr_domain(r->addr), dom))) continue ;
    r->next = now ;
    dueheap_up(&sched.due, sched.rcpts, r->link) ;
    if (r->ch == CH_REMOTE)
    {
      /* tried now means now: not held back by its destination's backoff */
      dest_unfail(dests_find(&sched.dests, ferry_addr_domain(r->addr))) ;
    }
    n++ ;
  }
  return n ;
}

static void steer_command (char *line)
{
  load_rest() ;
  char *arg = strchr(line, ' ') ;
  uint32_t now = time(0) ;
  uint64_t id = 0, stamp = 0 ;
  int mi = -1 ;
  if (!arg) { strerr_warnw("an unknown command on queue/lock/steer: ", line) ; return ; }
  *arg++ = 0 ;
  if (!strcmp(line, "suspend") || !strcmp(line, "resume")) { suspend_command(line, arg) ; return ; }
  if (arg[0] != '@')
  {
    if (!ferry_msgname_scan(arg, &id, &stamp)) { strerr_warnw("a malformed message name on queue/lock/steer: ", arg) ; return ; }
    mi = msg_find(id) ;
    if (!steer_named(id, stamp, mi))
    {
      /* the named message ended after ferry-qctl looked, and its id is another's now: the mark
         ferry-qctl made for it goes (unless the other one is held itself), and nothing else */
      char fn[FERRY_QUEUE_PATH_MAX] ;
      int removed = 0 ;
      if ((!strcmp(line, "hold") && !(mi >= 0 && sched.msgs[mi].held)) || !strcmp(line, "delete"))
      {
        ferry_queue_path(fn, line[0] == 'h' ? "hold" : "delete", id, 0) ;
        removed = unlink(fn) == 0 ;
      }
      logs(line) ; logs(" msg ") ; logs(arg) ; logs(removed ? ": no such message any more: its mark removed" : ": no such message any more") ; logend() ;
      return ;
    }
  }
  if (mi < 0 && (!strcmp(line, "hold") || !strcmp(line, "delete")))
  {
    /* not loaded yet (msg_load sees the mark), or gone before the mark was made (finished, its
       files maybe still being removed): then the mark must go, or a later message with the same
       id (an inode, reused) would inherit it */
    char fn[FERRY_QUEUE_PATH_MAX] ;
    if (!msg_exists(id))
    {
      ferry_queue_path(fn, line[0] == 'h' ? "hold" : "delete", id, 0) ;
      if (unlink(fn) == 0) { logs(line) ; logs(" msg ") ; logs(arg) ; logs(": no such message any more: its mark removed") ; logend() ; }
      return ;
    }
  }
  if (!strcmp(line, "hold"))
  {
    if (mi < 0) return ;   /* not loaded yet: msg_load sees the file */
    sched.msgs[mi].held = 1 ;
    logs("hold msg ") ; logname(id, stamp) ; logs(": held: no delivery is started until it is released") ; logend() ;
  }
  else if (!strcmp(line, "release"))
  {
    if (mi >= 0 && sched.msgs[mi].held) msg_release(mi, now) ;
  }
  else if (!strcmp(line, "delete"))
  {
    if (mi >= 0) msg_delete(mi) ;
    else append_or_die(&sched.delpending, &id, sizeof id) ;
  }
  else if (!strcmp(line, "requeue"))
  {
    unsigned int n = 0, k ;
    if (arg[0] == '@')
    {
      dest_unfail(dests_find(&sched.dests, arg + 1)) ;
      for (k = 0 ; k < sched.msgtop ; k++) if (sched.msgs[k].used) n += msg_requeue(k, arg + 1, now) ;
      logs("requeue ") ; logclean(arg) ; logs(": ") ; logu(n) ; logs(" deferred recipients to be tried now") ; logend() ;
    }
    else if (mi >= 0)
    {
      n = msg_requeue(mi, 0, now) ;
      logs("requeue msg ") ; logname(id, stamp) ; logs(": ") ; logu(n) ; logs(" deferred recipients to be tried now") ; logend() ;
    }
  }
  else strerr_warnw("an unknown command on queue/lock/steer: ", line) ;
}

void steer_read (int fd, stralloc *sa)
{
  if (!ferry_fifo_lines(fd, sa, &steer_command)) strerr_diefu1sys(111, "allocate memory") ;
}
