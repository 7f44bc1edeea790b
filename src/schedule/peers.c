/* ferry-schedule, the frames to and from the other members of the set. */

#include <sys/socket.h>

#include "schedule.h"

 /* A request to a ferry-clean: to PEER_CLEAN, the queue owner's, or PEER_SCLEAN, the queue manager's own. */
void clean_request_to (unsigned int to, char kind, uint64_t id)
{
  char f[1 + UINT64_FMT] ;
  size_t mark ;
  f[0] = kind ;
  if (!ferry_frame_begin(&sched.peers[to].out, &mark) || !ferry_field_cat(&sched.peers[to].out, f, 1 + uint64_fmt(f + 1, id)) || !ferry_frame_end(&sched.peers[to].out, mark))
    strerr_diefu1sys(111, "allocate memory") ;
}

static void clean_request (char kind, uint64_t id) { clean_request_to(PEER_CLEAN, kind, id) ; }

 /* The answer to a control frame the queue manager sent for itself: logged. */
void control_log (int ch, char const *p, size_t n)
{
  size_t pos ;
  logs("ferry-schedule: ferry-spawn-") ; logs(chname[ch]) ; logs(": ") ; logclean(p + 1) ;
  for (pos = strlen(p) + 1 ; pos < n ; pos += strlen(p + pos) + 1) { logs(": ") ; logclean(p + pos) ; }
  logend() ;
}

void control_send (char const *a, char const *b)
{
  size_t mark ;
  if (!ferry_frame_begin(&sched.peers[PEER_REMOTE].out, &mark) || !ferry_field_cats(&sched.peers[PEER_REMOTE].out, a) || (b && !ferry_field_cats(&sched.peers[PEER_REMOTE].out, b)) || !ferry_frame_end(&sched.peers[PEER_REMOTE].out, mark))
    strerr_diefu1sys(111, "allocate memory") ;
}

 /* "!reread" to the local channel: answered on its own pipe, logged. */
void control_send_local (char const *a)
{
  size_t mark ;
  if (!ferry_frame_begin(&sched.peers[PEER_LOCAL].out, &mark) || !ferry_field_cats(&sched.peers[PEER_LOCAL].out, a) || !ferry_frame_end(&sched.peers[PEER_LOCAL].out, mark))
    strerr_diefu1sys(111, "allocate memory") ;
}

/* ---------- messages from the other members ---------- */

void preprocess_take (char const *p, size_t n)
{
  uint64_t id ;
  if (n < 3 || p[n-1] || (p[0] != 'R' && p[0] != 'C') || uint640_scan(p + 1, &id) != n - 2)
  {
    strerr_warnw("a malformed message from ferry-preprocess-todo: ignored") ;
    return ;
  }
  if (p[0] == 'C') { logs("corrupt msg ") ; lognameof(id) ; logs(": taken out of the queue (see queue/corrupt)") ; logend() ; }
  clean_request(p[0] == 'R' ? 't' : 'c', id) ;
}

void clean_take (char const *p, size_t n)
{
  char const *f[2] ;
  uint64_t id ;
  int nf = ferry_fields_split(p, n, f, 2) ;
  if (nf < 1 || !f[0][0] || uint640_scan(f[0] + 1, &id) != strlen(f[0]) - 1)
  {
    strerr_warnw("a malformed acknowledgement from ferry-clean: ignored") ;
    return ;
  }
  if (nf == 2)
  {
    char name[FERRY_MSGNAME_MAX] ;
    ferry_msgname_of(name, id, sched.split) ;
    strerr_warnw("ferry-clean could not clean message ", name, ": ", f[1]) ;
    return ;
  }
  if (f[0][0] == 'm') return ;
  if (f[0][0] == 't' || f[0][0] == 'c')
  {
    size_t mark ;
    /* the todo entry is gone, durably: the message may be delivered now */
    if (!ferry_frame_begin(&sched.peers[PEER_PREPROCESS].out, &mark) || !ferry_field_cats(&sched.peers[PEER_PREPROCESS].out, f[0] + 1) || !ferry_frame_end(&sched.peers[PEER_PREPROCESS].out, mark))
      strerr_diefu1sys(111, "allocate memory") ;
    if (f[0][0] == 't') msg_load(id, 1) ;
  }
}

 /* The queue manager's ferry-clean removed a finished message's files (s<id>): the message
    file may go now (with its envelope). When it could not, the message file stays, and so does
    whatever is left: with a recipient file left, the next start loads the message again, finds
    it done, and ends it; with none, the envelope and message file are ferry-clean's sweep's. */
void sclean_take (char const *p, size_t n)
{
  char const *f[2] ;
  uint64_t id, stamp ;
  int nf = ferry_fields_split(p, n, f, 2) ;
  if (nf < 1 || f[0][0] != 's' || uint640_scan(f[0] + 1, &id) != strlen(f[0]) - 1)
  {
    strerr_warnw("a malformed acknowledgement from the queue manager's ferry-clean: ignored") ;
    return ;
  }
  /* ferry-clean answers in the order it was asked */
  if (!genqdyn_n(&sched.removing) || GENQDYN_PEEK(removal, &sched.removing)->id != id)
  {
    strerr_warnw("an acknowledgement out of order, from the queue manager's ferry-clean: ignored") ;
    return ;
  }
  stamp = GENQDYN_PEEK(removal, &sched.removing)->stamp ;
  genqdyn_pop(&sched.removing) ;
  if (nf == 2)
  {
    char name[FERRY_MSGNAME_MAX] ;
    ferry_msgname_fmt(name, id, stamp) ;
    strerr_warnw("message ", name, ": its files could not all be removed (", f[1], "): what is left is finished again at the next start") ;
    return ;
  }
  clean_request('m', id) ;
  logs("end msg ") ; logname(id, stamp) ; logend() ;
  sched.c.finished++ ;
  sched.snap.changed = 1 ;
}

 /* What a member wrote: its whole frames, each to its handler (take). */
void peer_read (unsigned int i)
{
  peer *p = sched.peers + i ;
  stralloc *sa = &p->in ;
  char const *who = p->name ;
  char buf[65536] ;
  size_t pos = 0 ;
  ssize_t r = read(p->infd, buf, sizeof(buf)) ;
  if (r < 0) { if (errno == EAGAIN || errno == EINTR) return ; strerr_diefu2sys(111, "read from ", who) ; }
  if (!r) strerr_dief(111, who, " has gone: the set stops, and s6 starts it again") ;
  if (!stralloc_catb(sa, buf, r)) strerr_diefu1sys(111, "allocate memory") ;
  for (;;)
  {
    size_t start, plen ;
    int f = ferry_frame_take(sa->s, sa->len, &pos, &start, &plen) ;
    if (!f) break ;
    if (f == 1) (*p->take)(sa->s + start, plen) ;
    else { strerr_warnw("a broken frame from ", who, ": skipped") ; if (f == -2) { pos = sa->len ; break ; } }
  }
  memmove(sa->s, sa->s + pos, sa->len - pos) ;
  sa->len -= pos ;
}

void local_take (char const *p, size_t n) { answer_take(CH_LOCAL, p, n) ; }
void remote_take (char const *p, size_t n) { answer_take(CH_REMOTE, p, n) ; }

 /* Signals go only to ferry-preprocess-todo, which runs as the queue
    manager's user: SIGHUP (its lists again) and SIGALRM (a rescan). The channels may run as other
    users (ferryr, root), which no signal of ours reaches: they get control frames on their request
    pipes instead ("!reread", "!undead", doc/protocols.html); ferry-clean has no settings. */
void preprocess_signal (int sig)
{
  if (sched.nmembers && kill(sched.peers[PEER_PREPROCESS].pid, sig) < 0)
    strerr_warnwu2sys("signal ferry-preprocess-todo", sig == SIGHUP ? " (it keeps its lists)" : " (it rescans at its next trigger)") ;
}

 /* w bytes of the remote channel's out are gone: the offsets of the descriptors still to send move back. */
static void msgfds_shift (size_t w)
{
  msgfd *f = GENQDYN_PEEK(msgfd, &sched.msgfds) ;
  size_t k, n = genqdyn_n(&sched.msgfds) ;
  for (k = 0 ; k < n ; k++) f[k].off -= w ;
}

 /* the bytes of out up to the next frame with a descriptor, or all of it */
static size_t msgfds_upto (size_t skip)
{
  return genqdyn_n(&sched.msgfds) > skip ? GENQDYN_PEEK(msgfd, &sched.msgfds)[skip].off : sched.peers[PEER_REMOTE].out.len ;
}

 /* The remote channel's out was written up to w bytes: then the frames that carry a descriptor, each sent with it
    (the bytes up to the next such frame), until the socket is full */
static void msgfds_write (size_t w)
{
  msgfds_shift(w) ;
  while (genqdyn_n(&sched.msgfds) && !GENQDYN_PEEK(msgfd, &sched.msgfds)->off)
  {
    union { struct cmsghdr h ; char b[CMSG_SPACE(sizeof(int))] ; } ctl ;
    struct iovec v = { .iov_base = sched.peers[PEER_REMOTE].out.s, .iov_len = msgfds_upto(1) } ;
    struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) } ;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh) ;
    int fd = GENQDYN_PEEK(msgfd, &sched.msgfds)->fd ;
    ssize_t r ;
    c->cmsg_level = SOL_SOCKET ;
    c->cmsg_type = SCM_RIGHTS ;
    c->cmsg_len = CMSG_LEN(sizeof(int)) ;
    memcpy(CMSG_DATA(c), &fd, sizeof(int)) ;
    r = sendmsg(sched.peers[PEER_REMOTE].outfd, &mh, MSG_NOSIGNAL) ;
    if (r < 0)
    {
      if (errno != EAGAIN && errno != EINTR) strerr_diefu1sys(111, "write to ferry-spawn-remote") ;
      return ;
    }
    if (fd != sched.nullfd) fd_close(fd) ;
    genqdyn_pop(&sched.msgfds) ;
    memmove(sched.peers[PEER_REMOTE].out.s, sched.peers[PEER_REMOTE].out.s + r, sched.peers[PEER_REMOTE].out.len - r) ;
    sched.peers[PEER_REMOTE].out.len -= r ;
    msgfds_shift(r) ;
    /* the rest of this frame, without a descriptor */
    if (msgfds_upto(0))
    {
      r = write(sched.peers[PEER_REMOTE].outfd, sched.peers[PEER_REMOTE].out.s, msgfds_upto(0)) ;
      if (r < 0 && errno != EAGAIN && errno != EINTR) strerr_diefu1sys(111, "write to ferry-spawn-remote") ;
      if (r <= 0) return ;
      memmove(sched.peers[PEER_REMOTE].out.s, sched.peers[PEER_REMOTE].out.s + r, sched.peers[PEER_REMOTE].out.len - r) ;
      sched.peers[PEER_REMOTE].out.len -= r ;
      msgfds_shift(r) ;
    }
  }
}

 /* A member's input: its out written to its outfd as far as it goes without blocking. */
void peer_write (unsigned int i)
{
  stralloc *o = &sched.peers[i].out ;
  ssize_t w = write(sched.peers[i].outfd, o->s, i == PEER_REMOTE ? msgfds_upto(0) : o->len) ;
  if (w < 0 && errno != EAGAIN && errno != EINTR) strerr_diefu1sys(111, "write to a member of the set") ;
  if (w > 0) { memmove(o->s, o->s + w, o->len - w) ; o->len -= w ; }
  if (i == PEER_REMOTE) msgfds_write(w > 0 ? w : 0) ;
}
