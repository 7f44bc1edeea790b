/* ferry-spawn-remote's TLS policy of each connection: what decides it (DANE where the host's
   TLSA records validated, then control/tlspolicy's verify and secure, then the destination's
   MTA-STS policy, else opportunistic TLS), the names and records its certificate is checked
   against, how texts name it, and the lines of the day's TLS report (tlsrpt/DAY, which
   ferry-tlsrpt sends). */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/djbunix.h>
#include <skalibs/ip46.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/dns_wire.h>

#include "spawn_remote.h"

static char const *const pol_names[] = { "none", "opportunistic", "sts-testing", "dane", "sts", "pkix", "dane" } ;

char const *policy_name (enum tls_pol p)
{
  return (unsigned int)p <= POL_DANE ? pol_names[p] : "unknown" ;
}

static void cat (stralloc *sa, char const *s)
{
  if (!stralloc_cats(sa, s)) nomem() ;
}

 /* The usable records of e (RFC 7672 3.1: DANE-TA and DANE-EE), in c->tlsa. */
static void usable_copy (stralloc *to, tlsa_entry const *e)
{
  size_t pos = 0 ;
  ferry_tlsa t ;
  to->len = 0 ;
  while (ferry_tlsa_next(e->recs.s, e->recs.len, &pos, &t) > 0)
  {
    char h[5] = { (char)t.usage, (char)t.selector, (char)t.mtype, (char)(t.len >> 8), (char)(t.len & 255) } ;
    if (!tlsa_usable(&t)) continue ;
    if (!stralloc_catb(to, h, 5) || !stralloc_catb(to, (char const *)t.data, t.len)) nomem() ;
  }
}

 /* Does DANE apply to the host at a (its TLSA records looked up, its address validated, a
    validating resolver trusted now)? */
static int dane_applies (raddr const *a)
{
  return rem.dnssec && a->tlsa >= 0 && a->secure ;
}

int policy_usable (deliv const *d, raddr const *a, stralloc *why)
{
  dest const *t = rem.dests + d->dest ;
  tlsa_entry const *e ;
  char fmt[ADDR_FMT] ;
  if (t->level == TLS_NONE) return 1 ;
  e = dane_applies(a) ? tlsa_entry_of(a) : 0 ;
  if (dane_applies(a) && (!e || e->state == TLSA_UNKNOWN || e->state == TLSA_FAILED))
  {
    /* RFC 7672 2.2: a host whose TLSA records cannot be known is not used */
    addr_fmt(fmt, a) ;
    why->len = 0 ;
    cat(why, "host ") ; cat(why, fmt) ; cat(why, ": not used: the TLSA lookup of ") ;
    cat(why, e ? e->name.s : "its records") ; cat(why, " failed (DANE)") ;
    if (e && e->state == TLSA_FAILED) { cat(why, ": ") ; cat(why, e->why.s) ; }
    return 0 ;
  }
  if (t->level == TLS_DANE_ONLY && !(e && e->state == TLSA_RECORDS && e->usable))
  {
    addr_fmt(fmt, a) ;
    why->len = 0 ;
    cat(why, "host ") ; cat(why, fmt) ; cat(why, ": not used: it has no usable validated TLSA records and control/tlspolicy says dane-only") ;
    return 0 ;
  }
  return 1 ;
}

void policy_decide (conn *c, deliv const *d, raddr const *a)
{
  dest const *t = rem.dests + d->dest ;
  tlsa_entry const *e = t->level != TLS_NONE && dane_applies(a) ? tlsa_entry_of(a) : 0 ;
  c->level = t->level ;
  c->match.len = c->tlsa.len = c->poldesc.len = c->domain.len = 0 ;
  c->stsid[0] = 0 ;
  c->fromroute = t->fromroute ;
  if (!stralloc_copyb(&c->domain, t->name.s, t->name.len)) nomem() ;
  if (t->level == TLS_NONE) c->pol = POL_NONE ;
  else if (e && e->state == TLSA_RECORDS && e->usable)
  {
    c->pol = POL_DANE ;
    usable_copy(&c->tlsa, e) ;
    /* DANE-TA's names (RFC 7672 3.2.2): the host, and the destination domain */
    cat(&c->match, a->host) ; cat(&c->match, ":") ; cat(&c->match, t->name.s) ;
  }
  else if (t->level >= TLS_VERIFY)
  {
    c->pol = POL_PKIX ;
    if (t->level == TLS_SECURE) { if (!stralloc_catb(&c->match, t->match.s, t->match.len)) nomem() ; }
    else cat(&c->match, a->host) ;
  }
  else if (t->sts == STS_MODE_ENFORCE) { c->pol = POL_STS ; cat(&c->match, a->host) ; }
  else if (e && e->state == TLSA_RECORDS) c->pol = POL_DANE_UNUSABLE ;   /* RFC 7672 2.2: TLS required, nothing to check against */
  else if (t->sts == STS_MODE_TESTING) { c->pol = POL_STS_TESTING ; cat(&c->match, a->host) ; }   /* checked, for the report alone */
  else c->pol = POL_OPPORTUNISTIC ;
  if (c->pol == POL_STS || c->pol == POL_STS_TESTING) memcpy(c->stsid, t->stsid, sizeof(c->stsid)) ;
  /* how the texts name it */
  switch (c->pol)
  {
    case POL_DANE : case POL_DANE_UNUSABLE :
      cat(&c->poldesc, "dane: TLSA records of ") ; cat(&c->poldesc, e->name.s) ;
      if (c->pol == POL_DANE_UNUSABLE) cat(&c->poldesc, ", none usable") ;
      break ;
    case POL_STS : case POL_STS_TESTING :
      cat(&c->poldesc, "sts: MTA-STS policy of ") ; cat(&c->poldesc, t->name.s) ;
      cat(&c->poldesc, c->pol == POL_STS ? ", enforce" : ", testing") ;
      break ;
    default :
      cat(&c->poldesc, "control/tlspolicy: ") ; cat(&c->poldesc, tls_level_name(t->level)) ;
      break ;
  }
  if (!stralloc_0(&c->match) || !stralloc_0(&c->poldesc)) nomem() ;
  c->match.len-- ;
  c->s.policy = c->poldesc.s ;
  /* what the session asks for; port 465 is TLS from the first byte (RFC 8314) whatever the policy */
  c->s.implicit = c->addr.port == 465 ;
  if (c->pol >= POL_DANE_UNUSABLE || t->level >= TLS_ENCRYPT) c->s.tlswant = SMTP_TLS_MUST ;
  else if (c->s.implicit) c->s.tlswant = SMTP_TLS_MAY ;
  else if ((t->level != TLS_NONE || t->hascreds) && !d->tlsretried && !tls_broken_is(&c->addr)) c->s.tlswant = SMTP_TLS_MAY ;   /* credentials go only inside TLS: try it */
  else c->s.tlswant = SMTP_TLS_NO ;
  c->reported = 0 ;
}

 /* Did c's certificate pass without any name checked, so that the names of another destination
    would have passed too? Under DANE, when a DANE-EE(3) record matched: RFC 7672 3.1.1, the
    records of the host alone (the same ones: policy_same compares them). The host must be the
    same name, as its TLSA records are its own. */
static int names_unchecked (conn const *c, raddr const *a)
{
  return c->pol == POL_DANE && c->daneusage == 3 && !strcasecmp(c->addr.host, a->host) ;
}

 /* May delivery d to address a go on the idle connection c? Only if it would have been made
    under the same policy, names, records and credentials. The decision for d and a is made
    once, when *decided is 0 (then set), and kept for the next idle connection asked about. */
int policy_same (conn const *c, deliv const *d, raddr const *a, int *decided)
{
  static conn x ;
  dest const *t = rem.dests + d->dest ;
  if (!*decided)
  {
    x.addr = *a ;
    policy_decide(&x, d, a) ;
    *decided = 1 ;
  }
  return x.pol == c->pol && x.level == c->level && x.fromroute == c->fromroute && c->s.hascreds == t->hascreds
    && (names_unchecked(c, a) || (x.match.len == c->match.len && !memcmp(x.match.s, c->match.s, c->match.len)))
    && x.tlsa.len == c->tlsa.len && (!c->tlsa.len || !memcmp(x.tlsa.s, c->tlsa.s, c->tlsa.len))
    && !strcmp(x.stsid, c->stsid)
    && c->s.authplain64.len == t->authplain64.len && (!c->s.authplain64.len || !memcmp(c->s.authplain64.s, t->authplain64.s, t->authplain64.len)) ;
}

 /* A field of the day file: no tab, no line end. */
static void field_cat (stralloc *sa, char const *s, size_t n)
{
  size_t i ;
  if (!stralloc_catb(sa, "\t", 1)) nomem() ;
  for (i = 0 ; i < n ; i++)
    if (!stralloc_catb(sa, s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ? " " : s + i, 1)) nomem() ;
}

 /* tlsrpt/DAY of today (UTC), open for appending; -1 if it cannot be (warned once a day). */
static int day_fd (time_t now)
{
  static int warned = 0 ;
  struct tm tm ;
  char day[11], fn[18] ;
  gmtime_r(&now, &tm) ;
  if (!strftime(day, sizeof(day), "%Y-%m-%d", &tm)) return -1 ;
  if (rem.rptfd >= 0 && !strcmp(day, rem.rptday)) return rem.rptfd ;
  if (rem.rptfd >= 0) fd_close(rem.rptfd) ;
  if (strcmp(day, rem.rptday)) warned = 0 ;
  memcpy(rem.rptday, day, sizeof(day)) ;
  memcpy(fn, "tlsrpt/", 7) ;
  memcpy(fn + 7, day, sizeof(day)) ;
  rem.rptfd = open(fn, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) ;
  if (rem.rptfd < 0 && !warned)
  {
    warned = 1 ;
    strerr_warnwu3sys("open ", fn, " (the TLS reports of today lose these results)") ;
  }
  return rem.rptfd ;
}

void policy_report (conn *c, char const *result, char const *detail)
{
  stralloc line = STRALLOC_ZERO ;
  char fmt[UINT64_FMT > IP46_FMT ? UINT64_FMT : IP46_FMT] ;
  char const *type = c->pol == POL_DANE || c->pol == POL_DANE_UNUSABLE ? "tlsa" : c->pol == POL_STS || c->pol == POL_STS_TESTING ? "sts" : "no-policy-found" ;
  time_t now = time(0) ;
  int fd ;
  /* a route's host is the administrator's (a smarthost): the recipient domain gets no report of it */
  if (c->reported || c->pol == POL_NONE || c->fromroute) return ;
  c->reported = 1 ;
  fd = day_fd(now) ;
  if (fd < 0) return ;
  if (!stralloc_catb(&line, fmt, uint64_fmt(fmt, (uint64_t)now))) nomem() ;
  field_cat(&line, c->domain.s, strlen(c->domain.s)) ;
  field_cat(&line, type, strlen(type)) ;
  if (c->pol == POL_STS || c->pol == POL_STS_TESTING) field_cat(&line, c->stsid, strlen(c->stsid)) ;
  else if (c->pol == POL_DANE || c->pol == POL_DANE_UNUSABLE)
  {
    size_t pos = 0 ;
    ferry_tlsa t ;
    stralloc recs = STRALLOC_ZERO ;
    tlsa_entry const *e = tlsa_entry_of(&c->addr) ;
    stralloc const *from = e ? &e->recs : &c->tlsa ;
    while (ferry_tlsa_next(from->s, from->len, &pos, &t) > 0)
    {
      size_t k = ferry_tlsa_fmt(0, &t) ;
      if ((recs.len && !stralloc_catb(&recs, ",", 1)) || !stralloc_readyplus(&recs, k + 1)) nomem() ;
      recs.len += ferry_tlsa_fmt(recs.s + recs.len, &t) ;
    }
    field_cat(&line, recs.s, recs.len) ;
    stralloc_free(&recs) ;
  }
  else field_cat(&line, "", 0) ;
  field_cat(&line, c->addr.host, strlen(c->addr.host)) ;
  field_cat(&line, fmt, ip46_fmt(fmt, &c->addr.ip)) ;
  {
    ip46 me ;
    uint16_t port ;
    if (socket_local46(c->fd, &me, &port) < 0) field_cat(&line, "", 0) ;
    else field_cat(&line, fmt, ip46_fmt(fmt, &me)) ;
  }
  field_cat(&line, result, strlen(result)) ;
  field_cat(&line, detail, strlen(detail)) ;
  if (!stralloc_catb(&line, "\n", 1)) nomem() ;
  /* one write: the lines of the day never mix */
  if (write(fd, line.s, line.len) < 0) strerr_warnwu2sys("write to tlsrpt/", rem.rptday) ;
  stralloc_free(&line) ;
}
