/* ferry-schedule, dispatch: due recipients into deliveries, within the channels' and destinations' limits. */

#include "schedule.h"

/* ---------- destinations (dests.h) ---------- */

 /* A remote domain whose last delivery failed at the destination (an H result: no host took the
    connection, the greeting, EHLO/HELO or MAIL, or one said 421): it is backed off as a whole. A
    recipient's own temporary refusal (Z, a 4xx to RCPT) never does that. While a
    probe (one delivery) is out, its other recipients wait PROBE_WAIT seconds, or until the probe
    succeeds, when all its deferred mail is retried at once. Kept in memory only, as are the
    deliveries out to each domain and its recipients parked while it has no free slot. */
#define PROBE_WAIT 60

 /* Ends a destination's failure: its recipients are no longer held back as a whole. */
void dest_unfail (int d)
{
  if (d < 0) return ;
  sched.dests.a[d].failures = 0 ;
  sched.dests.a[d].until = 0 ;
  dest_idle(d) ;
}

/* ---------- dispatch ---------- */

static unsigned int flight_new (void)
{
  unsigned int i ;
  for (i = 0 ; i < sched.nflights ; i++) if (!sched.flights[i].used) break ;
  if (i == sched.nflights) sched.flights = ferry_array_grow(sched.flights, &sched.nflights, sizeof(flight)) ;
  sched.flights[i].used = 1 ;
  return i ;
}

 /* A request's message file, sent with it on the remote channel's socket (sched.msgfds). */

static void msgfd_push (size_t off, uint64_t id)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  int fd ;
  char const *what = 0 ;
  ferry_queue_path(fn, "mess", id, sched.split) ;
  fd = ferry_queue_open(fn, O_RDONLY, &what) ;
  if (fd == -2) { strerr_warnw("not sent to the remote channel: ", fn, " is ", what) ; fd = sched.nullfd ; }
  else if (fd < 0)
  {
    strerr_warnwu3sys("open ", fn, " for the remote channel") ;
    fd = sched.nullfd ;
  }
  {
    msgfd f = { .off = off, .fd = fd } ;
    push_or_die(&sched.msgfds, &f) ;
  }
}

static void request_send (unsigned int fi)
{
  flight *fl = sched.flights + fi ;
  msg *m = sched.msgs + fl->msg ;
  stralloc *o = &sched.peers[PEER_OF_CHANNEL(fl->ch)].out ;
  size_t mark, start = o->len ;
  unsigned int i ;
  ferry_body b = FERRY_BODY_ZERO ;
  b.wire = m->wire ; b.eightbit = m->eightbit ; b.longline = m->longline ;
  if (!ferry_frame_begin(o, &mark) || !ferry_field_catu64(o, fi) || !ferry_field_catu64(o, m->id)
   || !ferry_request_facts_cat(o, &b, m->requiretls) || !ferry_field_cats(o, m->sender))
    strerr_diefu1sys(111, "allocate memory") ;
  logs("starting delivery ") ; logu(fi) ; logs(": msg ") ; logname(m->id, m->stamp) ; logs(" to ") ; logs(chname[(int)fl->ch]) ;
  logs(" ") ; log_addrs(fl->r, fl->n) ; logend() ;
  for (i = 0 ; i < fl->n ; i++)
  {
    if (!ferry_field_cats(o, sched.rcpts[fl->r[i]].addr)) strerr_diefu1sys(111, "allocate memory") ;
    sched.rcpts[fl->r[i]].status = 'F' ;
  }
  m->flying[(int)fl->ch] += fl->n ;
  if (!ferry_frame_end(o, mark)) strerr_diefu1sys(111, "allocate memory") ;
  if (fl->ch == CH_REMOTE && sched.passfd) msgfd_push(start, m->id) ;
  sched.inflight[(int)fl->ch]++ ;
  sched.flyingr[(int)fl->ch] += fl->n ;
  sched.c.started[(int)fl->ch]++ ;
  if (fl->ch == CH_REMOTE)
  {
    sched.dests.a[fl->dest].inflight++ ;
    if (fl->key >= 0) shape_sent(fi) ;
  }
  sched.statuschanged = 1 ;
}

 /* Whether recipient o, whose ring entry has link (-2 the ready ring, -3 a parking: dests.h,
    keys.h), may join flight fl: due, of its message and of its domain. */
static int batch_joins (rcpt const *o, flight const *fl, char const *dom, int link)
{
  return o->link == link && o->msg == fl->msg && o->status == 'T' && o->ch == CH_REMOTE && !strcasecmp(ferry_addr_domain(o->addr), dom) ;
}

static void batch_take (flight *fl, unsigned int oi)
{
  fl->r[fl->n++] = oi ;
  sched.rcpts[oi].status = 'F' ;
  rcpt_unlink(oi) ;   /* its ring entry is stale now: skipped when it comes up */
}

static int parked_still (unsigned int ri, void const *ctx)
{
  (void)ctx ;
  return sched.rcpts[ri].link == -3 ;
}

 /* The due recipients of the flight's message and domain in a ring join the flight, up to the
    request's limit. A message of at most BATCH_OWN recipients is asked first which of its own
    would join: from the ready ring they are taken at once (their entries left stale), and a
    parking is looked along only while some of them are still to be found there, which is mostly
    not at all. A larger message has only the BATCH_LOOK entries nearest the ring's head looked
    at. Either way a batch costs about what it holds, whatever the size of its message or of the
    ring. Entries taken from a parking go at once, so that its length stays the count of what it
    holds. */
#define BATCH_OWN 64
#define BATCH_LOOK (4 * FERRY_REQUEST_RCPT_MAX)

static void batch_fill (flight *fl, idring *ring, char const *dom, int link)
{
  msg const *m = sched.msgs + fl->msg ;
  unsigned int k, taken = 0, want = FERRY_REQUEST_RCPT_MAX - fl->n, look = ring->n < BATCH_LOOK ? ring->n : BATCH_LOOK ;
  if (m->count <= BATCH_OWN)
  {
    unsigned int const *rs = MSG_R(m) ;
    unsigned int i, found = 0 ;
    for (i = 0 ; i < m->count && found < want ; i++)
    {
      if (!batch_joins(sched.rcpts + rs[i], fl, dom, link)) continue ;
      if (link == -2) batch_take(fl, rs[i]) ;
      found++ ;
    }
    if (link == -2 || !found) return ;
    want = found ;
  }
  for (k = 0 ; k < look && taken < want ; k++)
  {
    unsigned int oi = idring_at(ring, k) ;
    if (!batch_joins(sched.rcpts + oi, fl, dom, link)) continue ;
    batch_take(fl, oi) ;
    taken++ ;
  }
  if (taken && link == -3) idring_filter(ring, k, &parked_still, 0) ;
}

void dispatch (void)
{
  uint32_t now = time(0) ;
  int ch, d ;
  if (sched.stopping) return ;
  while (sched.due.n && sched.rcpts[sched.due.a[0]].next <= now)
  {
    unsigned int ri = dueheap_pop(&sched.due, sched.rcpts) ;
    if (sched.rcpts[ri].status == 'T') ready_push(ri) ;
  }
  /* destinations with a slot free again take back as many of their parked recipients; then
     the shaping keys whose time came or that have room again (shaping.c) */
  while ((d = dests_woken(&sched.dests)) >= 0)
  {
    unsigned int room = dest_room(d) ;
    while (room)
    {
      int ri = dests_unpark(&sched.dests, d) ;
      if (ri < 0) break ;
      if (sched.rcpts[ri].link != -3) continue ;   /* taken out another way meanwhile */
      ready_push(ri) ;
      room-- ;
    }
    dest_idle(d) ;
  }
  shape_wake() ;
  for (ch = 0 ; ch < 2 ; ch++)
  {
    /* each ready recipient is looked at once per round; one held back by its destination's
       limit is parked on the destination (dests.h) until a slot there is free */
    unsigned int rounds = sched.ready[ch].n ;
    /* with a shaping table, the remote deliveries wait at start for the channel's word */
    if (ch == CH_REMOTE && sched.shapinghold && !shape_remote_ready()) continue ;
    while (rounds-- && sched.ready[ch].n && sched.inflight[ch] < sched.conc[ch])
    {
      int got = ready_pop(ch) ;
      unsigned int ri, fi, rd = 0 ;
      rcpt *r ;
      msg *m ;
      char const *dom ;
      if (got < 0) continue ;
      ri = (unsigned int)got ;
      r = sched.rcpts + ri ;
      m = sched.msgs + r->msg ;
      if (r->status != 'T') continue ;
      if (m->held) continue ;   /* out of the heap and the ready lists until released */
      /* no expiry here: queuelifetime makes a temporary failure permanent (rcpt_defer), so a
         recipient past it is still tried once more, and one never tried (a notice injected a
         second before, a message released from hold, a queue after a long stop) is tried */
      dom = ferry_addr_domain(r->addr) ;
      if (ch == CH_REMOTE)
      {
        dest *e ;
        rd = dests_get(&sched.dests, dom) ;
        e = sched.dests.a + rd ;
        if (!e->attached) dest_attach(rd) ;
        if (e->failures && (e->until > now || e->inflight))
        {
          /* backed off as a whole, or being probed: wait */
          r->next = e->until > now ? e->until : now + PROBE_WAIT ;
          dueheap_push(&sched.due, sched.rcpts, ri) ;
          continue ;
        }
        /* no slot: parked on the domain, not looked at again until one is free; a domain with
           a shaping key, suspended, or whose key is not told yet: shaping.c decides */
        if (e->key < 0 && !e->suspended && (e->known || !sched.shaping))
        {
          if (e->inflight >= sched.perdest) { dest_park(rd, ri) ; continue ; }
        }
        else if (!shape_admit(rd, ri)) continue ;
      }
      fi = flight_new() ;
      sched.flights[fi].ch = ch ;
      sched.flights[fi].msg = r->msg ;
      sched.flights[fi].dest = rd ;
      sched.flights[fi].key = -1 ;
      sched.flights[fi].epoch = 0 ;
      sched.flights[fi].throttled = 0 ;
      sched.flights[fi].firstcontact = 0 ;
      sched.flights[fi].n = 0 ;
      if (!sched.flights[fi].r) sched.flights[fi].r = malloc(FERRY_REQUEST_RCPT_MAX * sizeof(unsigned int)) ;
      if (!sched.flights[fi].r) strerr_diefu1sys(111, "allocate memory") ;
      sched.flights[fi].r[sched.flights[fi].n++] = ri ;
      r->status = 'F' ;
      if (ch == CH_REMOTE)
      {
        /* the message's other due recipients in the same domain, those in the ready ring and
           those parked on the domain, go in the same transaction, up to the request's limit */
        dest *e = sched.dests.a + rd ;
        batch_fill(sched.flights + fi, &sched.ready[ch], dom, -2) ;
        batch_fill(sched.flights + fi, &e->parked, dom, -3) ;
        if (e->key >= 0)
        {
          sched.flights[fi].key = e->key ;
          sched.flights[fi].epoch = sched.keys.a[e->key].epoch ;
          batch_fill(sched.flights + fi, &sched.keys.a[e->key].parked, dom, -3) ;
        }
        sched.flights[fi].firstcontact = sched.shaping && !e->known ;
      }
      request_send(fi) ;
    }
  }
  finish_flush() ;
}
