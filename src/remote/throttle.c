/* ferry-spawn-remote's throttling replies: a host that says it takes no more for now (a 421, or
   a 4xx about too many connections or a rate) is told to the queue manager, which lowers the
   key's concurrency and rate for a while (doc/protocols.html, "!throttle"). Told whether
   shaping is on or off, at most once per delivery, before its answer. */

#include <skalibs/stralloc.h>

#include <ferry/frame.h>

#include "spawn_remote.h"

void throttle_note (unsigned int ci)
{
  conn const *c = rem.conns + ci ;
  deliv *d ;
  if (c->deliv < 0 || !smtp_reply_throttling(&c->reply)) return ;
  d = DELIV(c->deliv) ;
  if (d->throttle.len) return ;
  /* the reply as the answer texts show it */
  if (!stralloc_cats(&d->throttle, "host ") || !stralloc_cats(&d->throttle, c->s.host) || !stralloc_cats(&d->throttle, c->s.tlsdesc)
   || !stralloc_cats(&d->throttle, " said: ") || !smtp_reply_oneline(&c->reply, &d->throttle, 600)) nomem() ;
}

void throttle_send (deliv const *d)
{
  size_t mark ;
  if (!d->throttle.len) return ;
  if (!ferry_frame_begin(&rem.io.out, &mark) || !ferry_field_cats(&rem.io.out, "!throttle")
   || !ferry_field_cats(&rem.io.out, d->payload.s) || !ferry_field_cats(&rem.io.out, rem.dests[d->dest].name.s)
   || !ferry_field_cat(&rem.io.out, d->throttle.s, d->throttle.len) || !ferry_frame_end(&rem.io.out, mark)) nomem() ;
}
