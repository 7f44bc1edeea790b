/* ferry-spawn-remote's settings: control/ files read at the start and again on request, all or
   none of them taken. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/select.h>
#include <ares.h>

#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/dns_servers.h>
#include <ferry/queue.h>
#include <ferry/route.h>

#include <ferry/smtp_auth.h>
#include "spawn_remote.h"

 /* Reads every setting. 1: all good, and in use from now on; 0: why says what is wrong (terminated),
    and the settings in use stay as they were. */
int settings_load (int initial, stralloc *why)
{
  /* concurrencyremote and concurrencydestination are the queue manager's: it sends no more */
  static char const *const names[] = { "connectioncache", "deadhosttime",
    "smtpport", "timeoutconnect", "timeoutgreeting", "timeoutcommand", "timeoutdata", "tlsbrokentime", "timeoutmtasts" } ;
  uint64_t v[9] ;
  stralloc newroutes = STRALLOC_ZERO, newhelo = STRALLOC_ZERO, csv = STRALLOC_ZERO ;
  stralloc newpolicy = STRALLOC_ZERO, newauth = STRALLOC_ZERO, cafile = STRALLOC_ZERO ;
  void *newctx = 0 ;
  ares_channel newchan ;
  int havechan = 0 ;
  unsigned int line, i ;
  int ok = 0, dnssec = 0 ;
  for (i = 0 ; i < 9 ; i++)
  {
    int r = ferry_control_u64_why(names[i], v + i, why) ;
    if (r < 0) nomem() ;
    if (!r) goto end ;
  }
  why->len = 0 ;
  if (ferry_control_readline(&newhelo, "helohost") < 0)
  {
    if (!stralloc_cats(why, "unable to read control/helohost: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  if (!newhelo.len)
  {
    if (!stralloc_cats(why, "control/helohost (or control/me) is empty") || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  if (ferry_control_readfile(&newroutes, "smtproutes") < 0)
  {
    if (!stralloc_cats(why, "unable to read control/smtproutes: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  line = ferry_route_check(newroutes.s, newroutes.len) ;
  if (line)
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, line)] = 0 ;
    if (!stralloc_cats(why, "control/smtproutes:") || !stralloc_cats(why, fmt)
     || !stralloc_cats(why, ": bad route: write domain:host[:port], .domain:host, :host or domain:") || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  if (ferry_control_readfile(&newpolicy, "tlspolicy") < 0)
  {
    if (!stralloc_cats(why, "unable to read control/tlspolicy: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  {
    int r = tls_policy_check(newpolicy.s, newpolicy.len, why) ;
    if (r < 0) nomem() ;
    if (!r) goto end ;
  }
  {
    /* credentials: readable by this program's user, never by others */
    struct stat st ;
    if (stat("control/smtpauth", &st) < 0)
    {
      if (errno != ENOENT)
      {
        if (!stralloc_cats(why, "unable to stat control/smtpauth: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
        goto end ;
      }
    }
    else
    {
      int r ;
      if (!smtp_auth_mode_ok(st.st_mode))
      {
        if (!stralloc_cats(why, "control/smtpauth is readable by others: chmod 640 (owner root, group of the remote channel) or 600") || !stralloc_0(why)) nomem() ;
        goto end ;
      }
      if (ferry_control_readfile(&newauth, "smtpauth") < 0)
      {
        if (!stralloc_cats(why, "unable to read control/smtpauth: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
        goto end ;
      }
      r = smtp_auth_check(newauth.s, newauth.len, why) ;
      if (r < 0) nomem() ;
      if (!r) goto end ;
    }
  }
  if (ferry_control_readline(&cafile, "tlscafile") < 0 || !stralloc_0(&cafile))
  {
    if (!stralloc_cats(why, "unable to read control/tlscafile: ") || !stralloc_cats(why, strerror(errno)) || !stralloc_0(why)) nomem() ;
    goto end ;
  }
  why->len = 0 ;
  newctx = tls_prepare(cafile.s, why) ;
  if (!newctx) goto end ;
  {
    int r = ferry_dns_servers(&csv, &dnssec, why) ;
    if (r < 0) nomem() ;
    if (!r) goto end ;
  }
  why->len = 0 ;
  if (!shaping_prepare(why)) goto end ;
  /* other servers: a new c-ares channel, as c-ares 1.18 changes no servers while a query is
     pending; taken below if everything else is good */
  if (initial || dnssec != rem.dnssec || csv.len != rem.servers.len || memcmp(csv.s, rem.servers.s, csv.len))
  {
    if (!dns_channel_new(&newchan, csv.len > 1 ? csv.s : 0, dnssec))
    {
      why->len = 0 ;
      if (!stralloc_cats(why, dnssec ? "bad value in control/dnssecservers" : "bad value in control/dnsservers")
       || !stralloc_cats(why, ": write one ip, ip:port or [ip6]:port per line") || !stralloc_0(why)) nomem() ;
      goto end ;
    }
    havechan = 1 ;
  }
  /* all good: in use from now on; routes may have changed: every destination is resolved again
     when it is next used */
  tls_commit(newctx) ;
  newctx = 0 ;
  shaping_commit() ;
  if (havechan)
  {
    dns_channel_replace(newchan, dnssec) ;
    havechan = 0 ;
    if (!stralloc_copyb(&rem.servers, csv.s, csv.len)) nomem() ;
  }
  /* under ferry-start this user cannot enter the queue: every message comes open, no split needed */
  if (initial) rem.split = access("queue/split", F_OK) < 0 && errno == EACCES ? 0 : ferry_queue_split_or_die(111) ;
  rem.cachetime = v[0] ; rem.deadtime = v[1] ; rem.smtpport = v[2] ;
  rem.t_connect = v[3] ; rem.t_greeting = v[4] ; rem.t_command = v[5] ; rem.t_data = v[6] ;
  rem.brokentime = v[7] ;
  rem.mtaststime = v[8] ;
  if (!stralloc_copyb(&rem.helohost, newhelo.s, newhelo.len) || !stralloc_copyb(&rem.routes, newroutes.s, newroutes.len)
   || !stralloc_copyb(&rem.tlspolicy, newpolicy.s, newpolicy.len)) nomem() ;
  /* the old credentials are wiped, not left in memory the copy may free */
  if (rem.smtpauth.s) memset(rem.smtpauth.s, 0, rem.smtpauth.a) ;
  stralloc_free(&rem.smtpauth) ;
  if (!stralloc_copyb(&rem.smtpauth, newauth.s, newauth.len)) nomem() ;
  dests_expire_all() ;
  ok = 1 ;
 end:
  stralloc_free(&newroutes) ;
  stralloc_free(&newhelo) ;
  stralloc_free(&csv) ;
  stralloc_free(&newpolicy) ;
  /* the credentials' copy is wiped before its memory goes */
  if (newauth.s) memset(newauth.s, 0, newauth.a) ;
  stralloc_free(&newauth) ;
  stralloc_free(&cafile) ;
  if (newctx) tls_discard(newctx) ;
  if (havechan) ares_destroy(newchan) ;
  shaping_discard() ;
  return ok ;
}

 /* SIGHUP, or the queue manager's "!reread" frame: the settings read again, or the old ones kept.
    The log says which; so does what is returned (for the frame's answer). */
char const *settings_reread (stralloc *why)
{
  if (settings_load(0, why))
  {
    strerr_warni("settings read again") ;
    return "settings read again" ;
  }
  strerr_warnw("keeping the old settings: ", why->s) ;
  return 0 ;
}
