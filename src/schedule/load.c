/* ferry-schedule, loading: the queue at start, a chunk a round, and each new message as it is prepared. */

#include "schedule.h"

 /* Loads a prepared message from local/ and remote/ and its envelope (intd/), after its todo
    entry is gone. Without a recipient file it is no message (a finished one's last files, or an
    injection that never committed): those are ferry-clean's sweep's. */
void msg_load (uint64_t id, int announce)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  stralloc info = STRALLOC_ZERO, recs[2] = { STRALLOC_ZERO, STRALLOC_ZERO } ;
  unsigned int mi, c, nfiles = 0, nopen = 0, nrecs = 0 ;
  msg *m ;
  size_t ntos = 0 ;
  uint64_t birth = 0, stamp ;
  struct stat messst ;
  char const *sender = 0, *what ;
  unsigned char *notify ;
  uint32_t now = time(0) ;
  if (msg_find(id) >= 0) return ;   /* told twice */
  /* its name: its message file's time (a missing file, the time 0) */
  ferry_queue_path(fn, "mess", id, sched.split) ;
  if (stat(fn, &messst) < 0) memset(&messst, 0, sizeof(messst)) ;
  stamp = ferry_msgname_stamp(&messst) ;
  /* both recipient files, checked whole before anything is loaded: a damaged one (torn, garbled)
     leaves the message alone, for ferry-qread to show and a person to decide */
  for (c = 0 ; c < 2 ; c++)
  {
    int fd ;
    size_t pos = 0 ;
    ferry_rcpt_record rec ;
    int got ;
    ferry_queue_path(fn, chdir_[c], id, sched.split) ;
    fd = ferry_queue_open(fn, O_RDONLY, &what) ;
    if (fd == -2)
    {
      strerr_warnw(fn, " is ", what, ", not a recipient file: the message is left alone, the name is never followed") ;
      goto alone ;
    }
    if (fd < 0)
    {
      if (errno == ENOENT) continue ;
      strerr_warnwu2sys("open (the message is left alone until the next start) ", fn) ;
      goto alone ;
    }
    if (!ferry_queue_read(fd, &recs[c], (size_t)-1))
    {
      strerr_warnwu2sys("read (the message is left alone until the next start) ", fn) ;
      fd_close(fd) ;
      goto alone ;
    }
    fd_close(fd) ;
    nfiles++ ;
    while ((got = ferry_rcpt_record_take(recs[c].s, recs[c].len, &pos, &rec)) == 1) { nrecs++ ; if (rec.status == 'T') nopen++ ; }
    if (got < 0)
    {
      strerr_warnw(got == -1 ? "a truncated" : "a garbled", " recipient record in ", fn, ": the message is left alone (ferry-qread shows it)") ;
      goto alone ;
    }
  }
  if (!nfiles)
  {
    char f[FERRY_MSGNAME_MAX] ;
    ferry_msgname_fmt(f, id, stamp) ;
    if (announce) strerr_warnw("message ", f, ": prepared, but it has no recipient file (local/ or remote/): not loaded") ;
    goto alone ;
  }
  /* then its envelope: a recipient file without one is a message that cannot be delivered */
  if (!ferry_queue_envelope_read(&info, id, sched.split, fn))
  {
    if (errno == ENOENT && !nopen)
    {
      /* every recipient done, the envelope gone: a finished message whose removals a crash
         kept only in part (the envelope's and maybe the message file's made it to the disk,
         the recipient files' did not): what is left goes now */
      removal_start(id, stamp) ;
      logs("ferry-schedule: message ") ; logname(id, stamp) ; logs(": every recipient done and no envelope: what a crash left of its removal goes now") ; logend() ;
      goto alone ;
    }
    strerr_warnwu4sys("read the envelope ", fn, errno == EACCES ? " (ferry-setup -c: queue/intd must be readable by group ferry, mode 0750)" : "",
      ", so the message is left alone (ferry-qread shows it)") ;
    goto alone ;
  }
  {
    char const *bad = ferry_envelope_head(info.s, info.len, &birth, &sender) ;
    if (bad) { strerr_warnw("a damaged envelope, ", bad, ": ", fn, ": the message is left alone (ferry-qread shows it)") ; goto alone ; }
  }
  ntos = ferry_envelope_rcpts(info.s, info.len) ;
  notify = calloc(ntos + 1, 1) ;
  if (!notify) strerr_diefu1sys(111, "allocate memory") ;
  ferry_dsn_notify_scan(info.s, info.len, notify, ntos) ;
  mi = msg_alloc() ;
  m = sched.msgs + mi ;
  memset(m, 0, sizeof(msg)) ;
  m->used = 1 ;
  m->id = id ;
  m->stamp = stamp ;
  idindex_put(&sched.ids, id, mi) ;
  m->birth = birth ;
  {
    /* no w and b records (an envelope not written by ferry-inject or ferry-injectd): the file's
       size, and 8-bit with long lines, so that the remote channel looks at the message itself */
    ferry_body b = FERRY_BODY_ZERO ;
    if (!ferry_envelope_body(info.s, info.len, &b)) { b.wire = messst.st_size ; b.eightbit = b.longline = 1 ; }
    m->wire = b.wire ;
    m->eightbit = b.eightbit ;
    m->longline = b.longline ;
  }
  m->requiretls = ferry_envelope_requiretls(info.s, info.len) ;
  m->fd[0] = m->fd[1] = -1 ;
  ferry_queue_path(fn, "bounce", id, 0) ;
  m->bounced = access(fn, F_OK) == 0 ;
  {
    struct stat st ;
    size_t k = strlen(fn) ;
    memcpy(fn + k, ".delay", 7) ;
    m->warned = stat(fn, &st) == 0 ;
    m->delaypending = m->warned && st.st_size > 0 ;
  }
  ferry_queue_path(fn, "hold", id, 0) ;
  m->held = access(fn, F_OK) == 0 ;
  m->deferlog = !announce ;
  sched.livemsgs++ ;
  if (announce)
  {
    logs("new msg ") ; logname(id, stamp) ; logend() ;
    {
      logs("info msg ") ; logname(id, stamp) ; logs(": bytes ") ; logu(messst.st_size) ;
      logs(" from <") ; logclean(sender) ; logs(">") ; logend() ;
    }
  }
  /* the sender and every address go in one block */
  {
    size_t need = strlen(sender) + 1, pos, at ;
    ferry_rcpt_record rec ;
    for (c = 0 ; c < 2 ; c++)
      for (at = 0 ; ferry_rcpt_record_take(recs[c].s, recs[c].len, &at, &rec) == 1 ; ) need += strlen(rec.addr) + 1 ;
    m->sender = malloc(need) ;
    if (!m->sender) strerr_diefu1sys(111, "allocate memory") ;
    pos = strlen(sender) + 1 ;
    memcpy(m->sender, sender, pos) ;
    if (nrecs > 1)
    {
      /* the list made once, its size known: not grown a recipient at a time */
      m->rs.many = malloc(nrecs * sizeof(unsigned int)) ;
      if (!m->rs.many) strerr_diefu1sys(111, "allocate memory") ;
    }
    for (c = 0 ; c < 2 ; c++)
    {
      size_t off = 0 ;
      for (at = 0 ; ferry_rcpt_record_take(recs[c].s, recs[c].len, &at, &rec) == 1 ; off = at)
      {
        size_t k = strlen(rec.addr) ;
        unsigned int ri = rcpt_alloc() ;
        rcpt *r ;
        m = sched.msgs + mi ;
        if (nrecs > 1) m->rs.many[m->count] = ri ; else m->rs.one = ri ;
        m->count++ ;
        r = sched.rcpts + ri ;
        r->msg = mi ;
        r->off = off ;
        r->next = rec.next ;
        r->ch = c ;
        r->status = rec.status ;
        memcpy(m->sender + pos, rec.addr, k + 1) ;
        r->addr = m->sender + pos ;
        pos += k + 1 ;
        r->link = -1 ;
        r->eidx = rec.index ;
        r->notify = rec.index < ntos ? notify[rec.index] : 0 ;
        if (r->status == 'T')
        {
          m->open++ ;
          sched.openrcpts++ ;
          sched.opench[c]++ ;
          /* due now (a new message's are): straight to the ready list, in slot order, without
             a way through the deferred heap (a million recipients are a million heap pops) */
          if (r->next <= now) ready_push(ri) ;
          else dueheap_push(&sched.due, sched.rcpts, ri) ;
        }
      }
    }
  }
  stralloc_free(&info) ;
  stralloc_free(&recs[0]) ;
  stralloc_free(&recs[1]) ;
  free(notify) ;
  sched.statuschanged = 1 ;
  sched.c.loaded++ ;
  if (!sched.msgs[mi].open) msg_finish(mi) ;
  else
  {
    if (sched.msgs[mi].delaypending) bounce_want(mi) ;
    delete_pending_check(mi) ;
  }
  return ;
 alone:
  stralloc_free(&info) ;
  stralloc_free(&recs[0]) ;
  stralloc_free(&recs[1]) ;
}

 /* Hold marks of messages that are gone (a crash between the message's end and the mark's
    removal, or a hold that raced with the end): removed, so that no later message with the same
    id inherits them. */
static void hold_sweep (void)
{
  DIR *dh = opendir("queue/hold") ;
  struct dirent *de ;
  if (!dh) { if (errno != ENOENT) strerr_warnwu1sys("open queue/hold") ; return ; }
  while ((de = readdir(dh)))
  {
    uint64_t id ;
    char fn[FERRY_QUEUE_PATH_MAX] ;
    if (de->d_name[0] == '.' || uint640_scan(de->d_name, &id) != strlen(de->d_name) || msg_find(id) >= 0) continue ;
    if (msg_exists(id)) continue ;
    ferry_queue_path(fn, "hold", id, 0) ;
    if (unlink(fn) == 0) steer_log("hold", id, "no such message any more: its mark removed") ;
  }
  closedir(dh) ;
}

 /* Marks left from before a restart: run before the queue is loaded, so that a delete mark is
    waiting (delpending) when its message loads; marks of messages that are gone are removed. */
void steer_load (void)
{
  DIR *dh ;
  hold_sweep() ;
  dh = opendir("queue/delete") ;
  struct dirent *de ;
  if (!dh) { if (errno != ENOENT) strerr_warnwu1sys("open queue/delete") ; return ; }
  while ((de = readdir(dh)))
  {
    uint64_t id ;
    int mi ;
    if (de->d_name[0] == '.' || uint640_scan(de->d_name, &id) != strlen(de->d_name)) continue ;
    mi = msg_find(id) ;
    if (mi >= 0) msg_delete(mi) ;
    else
    {
      char fn[FERRY_QUEUE_PATH_MAX] ;
      if (!msg_exists(id))
      {
        /* gone: a later message with the same id must not be deleted */
        ferry_queue_path(fn, "delete", id, 0) ;
        if (unlink(fn) == 0) steer_log("delete", id, "no such message any more: its mark removed") ;
        continue ;
      }
      append_or_die(&sched.delpending, &id, sizeof id) ;
    }
  }
  closedir(dh) ;
}

 /* Every prepared message whose todo entry is gone (those with one are ferry-preprocess-todo's):
    the ids of the recipient files, those whose time hint says due first, each message once. An
    earlier ferry's queue has the same recipient files, so it loads the same way. */
void queue_load (void)
{
  time_t now = time(0) ;
  unsigned int c, d ;
  for (c = 0 ; c < 2 ; c++) for (d = 0 ; d < sched.split ; d++)
  {
    char dn[FERRY_QUEUE_PATH_MAX] ;
    DIR *dh ;
    struct dirent *de ;
    ferry_queue_subdir(dn, chdir_[c], d, sched.split) ;   /* subdirectory d: the one of id d */
    dh = opendir(dn) ;
    if (!dh) strerr_diefu2sys(111, "open ", dn) ;
    while ((de = readdir(dh)))
    {
      uint64_t id ;
      struct stat st ;
      if (de->d_name[0] == '.' || uint640_scan(de->d_name, &id) != strlen(de->d_name)) continue ;
      append_or_die(fstatat(dirfd(dh), de->d_name, &st, 0) == 0 && st.st_mtime <= now ? &sched.dueq : &sched.loadq, &id, sizeof id) ;
    }
    closedir(dh) ;
  }
  {
    /* one entry per message: a message listed twice could be loaded again from its second
       entry after it finished, its id maybe taken by a new message by then */
    uint64_t *dueq = genalloc_s(uint64_t, &sched.dueq), *loadq = genalloc_s(uint64_t, &sched.loadq) ;
    size_t ndueq = genalloc_len(uint64_t, &sched.dueq), nloadq = genalloc_len(uint64_t, &sched.loadq) ;
    size_t nfiles = nloadq + ndueq, i, j, k ;
    if (ndueq) qsort(dueq, ndueq, sizeof(uint64_t), &ferry_id_cmp) ;
    if (nloadq) qsort(loadq, nloadq, sizeof(uint64_t), &ferry_id_cmp) ;
    for (i = j = 0 ; i < ndueq ; i++) if (!j || dueq[j - 1] != dueq[i]) dueq[j++] = dueq[i] ;
    ndueq = j ;
    for (i = j = k = 0 ; i < nloadq ; i++)
    {
      if (j && loadq[j - 1] == loadq[i]) continue ;
      while (k < ndueq && dueq[k] < loadq[i]) k++ ;
      if (k < ndueq && dueq[k] == loadq[i]) continue ;
      loadq[j++] = loadq[i] ;
    }
    nloadq = j ;
    genalloc_setlen(uint64_t, &sched.dueq, ndueq) ;
    genalloc_setlen(uint64_t, &sched.loadq, nloadq) ;
    sched.dueahead = ndueq ;
    sched.loadahead = nloadq ;
    logs("ferry-schedule: loading the queue: ") ; logu(nloadq + ndueq) ; logs(" messages (") ; logu(nfiles) ; logs(" recipient files), ") ;
    logu(ndueq) ; logs(" of them due now first") ; logend() ;
  }
  sched.loadstart = time(0) ;
  sched.loading = 1 ;
}

int load_pending (void)
{
  return sched.dueq.len || sched.loadq.len ;
}

 /* Loads up to max messages of the start-up list; at its end, says what the queue holds. */
void load_some (unsigned int max)
{
  if (load_pending()) load_ahead(max) ;
  for (; max && load_pending() ; max--)
  {
    genalloc *q = sched.dueq.len ? &sched.dueq : &sched.loadq ;
    uint64_t id ;
    char fn[FERRY_QUEUE_PATH_MAX] ;
    genalloc_setlen(uint64_t, q, genalloc_len(uint64_t, q) - 1) ;
    id = genalloc_s(uint64_t, q)[genalloc_len(uint64_t, q)] ;
    /* loaded already (listed twice, or ferry-preprocess-todo told it), or finished since */
    if (msg_find(id) >= 0 || removing_has(id)) continue ;
    ferry_queue_path(fn, "todo", id, sched.split) ;
    if (access(fn, F_OK) == 0) continue ;   /* not prepared yet: ferry-preprocess-todo will tell it */
    msg_load(id, 0) ;
  }
  if (sched.loading && !load_pending())
  {
    sched.loading = 0 ;
    genalloc_free(uint64_t, &sched.loadq) ;
    genalloc_free(uint64_t, &sched.dueq) ;
    logs("ferry-schedule: ") ; logu(sched.livemsgs) ; logs(" messages, ") ; logu(sched.openrcpts) ; logs(" recipients to deliver") ;
    logs(" (queue loaded in ") ; logu(time(0) - sched.loadstart) ; logs(" s") ;
    /* not in memory: how much of it was asked of the disk ahead (ahead.c) */
    if (sched.asked) { logs("; the files of ") ; logu(sched.asked) ; logs(" messages read ahead from the disk") ; }
    logs(")") ; logend() ;
  }
}

 /* The whole queue, now: for what must see every message (a command by domain, SIGALRM). */
void load_rest (void)
{
  if (load_pending()) load_some(UINT_MAX) ;
}
