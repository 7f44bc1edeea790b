/* ferry-bounce-build: the delivery status notifications of one message, from its bounce records
   (queue/bounce/ID, or queue/bounce/ID.delay with -d), injected with the null sender. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/dsn.h>
#include <ferry/envelope.h>
#include <ferry/home.h>
#include <ferry/inject_run.h>
#include <ferry/msgname.h>
#include <ferry/queue.h>

#include "bounce.h"

#define USAGE "ferry-bounce-build [ -d ] [ -n ] id [ home ]"
#define dieusage() strerr_dieusage(100, USAGE)
#define DOUBLE_BOUNCE_ENVID "ferry-double-bounce"

extern char **environ ;

static int dryrun = 0 ;
static uint64_t id ;
static char idfmt[FERRY_MSGNAME_MAX] ;   /* its name, once the home is known */
static char const *what = "bounce msg " ;

static void nomem (void) { strerr_diefu1sys(111, "allocate memory") ; }

static void logline (char const *a, char const *b, char const *c, char const *d)
{
  if (buffer_puts(buffer_2, what) < 0 || buffer_puts(buffer_2, idfmt) < 0 || buffer_puts(buffer_2, ": ") < 0
   || buffer_puts(buffer_2, a) < 0 || buffer_puts(buffer_2, b ? b : "") < 0 || buffer_puts(buffer_2, c ? c : "") < 0
   || buffer_puts(buffer_2, d ? d : "") < 0 || buffer_putsflush(buffer_2, "\n") < 0) _exit(111) ;
}

/* ---------- the message's envelope (queue/intd) ---------- */

typedef struct envelope_s envelope ;
struct envelope_s
{
  uint64_t birth ;
  char const *sender ;
  stralloc envid ;              /* decoded ENVID, or empty */
  int rethdrs ;
  int utf8 ;
  char const **orcpt ;          /* per envelope index: the raw ORCPT value, or 0 */
  size_t nrcpt ;
} ;

static void envelope_read (envelope *e, stralloc *info, unsigned int split)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  size_t pos, n = 0 ;
  int inrcpt = 0 ;
  if (!ferry_queue_envelope_read(info, id, split, fn)) strerr_diefu2sys(errno == ENOENT ? 100 : 111, "read ", fn) ;
  {
    char const *bad = ferry_envelope_head(info->s, info->len, &e->birth, &e->sender) ;
    if (bad) strerr_dief(100, bad, ": ", fn, ": see queue/corrupt and the queue manager's log") ;
  }
  n = ferry_envelope_rcpts(info->s, info->len) ;
  e->orcpt = calloc(n + 1, sizeof(char const *)) ;
  if (!e->orcpt) nomem() ;
  e->nrcpt = 0 ;
  pos = 0 ;
  for (;;)
  {
    char const *rec ;
    size_t k ;
    if (ferry_envelope_next(info->s, info->len, &pos, &rec, &k) < 1) break ;
    switch (rec[0])
    {
      case 'T' : if (inrcpt) e->nrcpt++ ; inrcpt = 1 ; break ;
      case 'X' :
        if (inrcpt)
        {
          if (!strncasecmp(rec + 1, "ORCPT=", 6) && e->nrcpt < n) e->orcpt[e->nrcpt] = rec + 7 ;
        }
        else if (!strncasecmp(rec + 1, "ENVID=", 6)) { if (!ferry_xtext_decode(&e->envid, rec + 7, k - 7) || !stralloc_0(&e->envid)) e->envid.len = 0 ; }
        else if (!strcasecmp(rec + 1, "RET=HDRS")) e->rethdrs = 1 ;
        else if (!strcasecmp(rec + 1, "SMTPUTF8")) e->utf8 = 1 ;
        break ;
    }
  }
  if (inrcpt) e->nrcpt++ ;
}

 /* ORCPT is addr-type;xtext: decoded into "addr-type;address", appended to store. Its offset
    plus one (store may move while it grows), or 0 when there is none or it is not valid. */
static size_t orcpt_decode (char const *raw, stralloc *store)
{
  char const *semi = raw ? strchr(raw, ';') : 0 ;
  size_t start = store->len ;
  if (!semi) return 0 ;
  if (!stralloc_catb(store, raw, semi - raw + 1) || !ferry_xtext_decode(store, semi + 1, strlen(semi + 1)) || !stralloc_0(store))
  {
    store->len = start ;
    return 0 ;
  }
  return start + 1 ;
}

/* ---------- one notification ---------- */

typedef struct settings_s settings ;
struct settings_s
{
  stralloc me, from, doublebounceto ;
  uint64_t maxbytes, lifetime ;
} ;

static void send_report (bounce_report *b, char const *kindname)
{
  stralloc msg = STRALLOC_ZERO, env = STRALLOC_ZERO ;
  int eightbit, e ;
  char nfmt[UINT_FMT] ;
  b->now = time(0) ;
  if (!bounce_report_compose(&msg, b, &eightbit)) nomem() ;
  if (!stralloc_catb(&env, "F", 2)
   || (b->doublebounce && !stralloc_catb(&env, "XENVID=" DOUBLE_BOUNCE_ENVID, sizeof("XENVID=" DOUBLE_BOUNCE_ENVID)))
   || ((eightbit || b->utf8) && !stralloc_catb(&env, "XBODY=8BITMIME", 15))
   || (b->utf8 && !stralloc_catb(&env, "XSMTPUTF8", 10))
   || !stralloc_catb(&env, "T", 1) || !stralloc_cats(&env, b->to) || !stralloc_0(&env) || !stralloc_0(&env)) nomem() ;
  nfmt[uint_fmt(nfmt, b->n)] = 0 ;
  if (dryrun)
  {
    if (buffer_puts(buffer_1, "ferry-bounce-build: -n: this notification would be injected, from <> to <") < 0
     || buffer_puts(buffer_1, b->to) < 0 || buffer_puts(buffer_1, ">:\n") < 0
     || buffer_put(buffer_1, msg.s, msg.len) < 0 || buffer_flush(buffer_1) < 0) strerr_diefu1sys(111, "write to stdout") ;
  }
  else
  {
    char const *argv[] = { "ferry-inject", ".", 0 } ;
    e = ferry_inject_submit("bin/ferry-inject", argv, msg.s, msg.len, env.s, env.len) ;
    if (e < 0) strerr_diefu1sys(111, "hand the notification to ferry-injectd or bin/ferry-inject") ;
    if (e)
    {
      char efmt[UINT_FMT] ;
      efmt[uint_fmt(efmt, e)] = 0 ;
      strerr_dief(111, "msg ", idfmt, ": unable to queue the ", kindname, ": the queue answered ", efmt, " (", ferry_inject_strerror(e), "): the records are kept; the queue manager tries again later") ;
    }
  }
  {
    char const *about = b->n == 1 ? " recipient" : " recipients" ;
    stralloc line = STRALLOC_ZERO ;
    if (!stralloc_cats(&line, kindname) || !stralloc_cats(&line, " about ") || !stralloc_cats(&line, nfmt)
     || !stralloc_cats(&line, about) || !stralloc_cats(&line, dryrun ? " shown (-n), not queued" : " queued") || !stralloc_0(&line)) nomem() ;
    logline(line.s, ", to <", b->to, ">") ;
    stralloc_free(&line) ;
  }
  stralloc_free(&msg) ;
  stralloc_free(&env) ;
}

static void settings_read (settings *s)
{
  stralloc host = STRALLOC_ZERO ;
  ferry_control_line_or_die(&s->me, "me", 111) ;
  ferry_control_line_or_die(&s->from, "bouncefrom", 111) ;
  ferry_control_line_or_die(&host, "bouncehost", 111) ;
  ferry_control_line_or_die(&s->doublebounceto, "doublebounceto", 111) ;
  s->maxbytes = ferry_control_u64_or_die("bouncemaxbytes", 111) ;
  s->lifetime = ferry_control_u64_or_die("queuelifetime", 111) ;
  if (!stralloc_catb(&s->from, "@", 1) || !stralloc_cat(&s->from, &host) || !stralloc_0(&s->from) || !stralloc_0(&s->me)) nomem() ;
  if (s->doublebounceto.len && !memchr(s->doublebounceto.s, '@', s->doublebounceto.len))
  {
    if (!stralloc_catb(&s->doublebounceto, "@", 1) || !stralloc_catb(&s->doublebounceto, s->me.s, s->me.len - 1)) nomem() ;
  }
  if (!stralloc_0(&s->doublebounceto)) nomem() ;
  stralloc_free(&host) ;
}

 /* The failure notice is queued, the success notice not yet: the records are rewritten without
    the failures, so that a failure of the second does not send the first again. */
static void keep_only (bounce_rcpt const *r, unsigned int nr, uint32_t const *index, char kind)
{
  stralloc sa = STRALLOC_ZERO ;
  char fn[FERRY_QUEUE_PATH_MAX] ;
  unsigned int k, n = 0 ;
  for (k = 0 ; k < nr ; k++) if (r[k].kind == kind)
  {
    ferry_bounce_record br = { .kind = r[k].kind, .channel = r[k].channel, .index = index[k], .when = r[k].when, .rcpt = r[k].addr, .text = r[k].text } ;
    if (!ferry_bounce_record_cat(&sa, &br)) nomem() ;
    n++ ;
  }
  if (!n) { stralloc_free(&sa) ; return ; }
  ferry_queue_path(fn, "bounce", id, 0) ;
  if (!openwritenclose_suffix(fn, sa.s, sa.len, ".new") || ferry_dir_sync("queue/bounce") < 0)
    strerr_diefu2sys(111, "rewrite ", fn) ;
  stralloc_free(&sa) ;
}

int main (int argc, char const *const *argv)
{
  int delay = 0 ;
  unsigned int split ;
  char fn[FERRY_QUEUE_PATH_MAX + 16] ;
  stralloc info = STRALLOC_ZERO, recs = STRALLOC_ZERO, mess = STRALLOC_ZERO, store = STRALLOC_ZERO ;
  envelope e = { .birth = 0, .sender = 0, .envid = STRALLOC_ZERO, .rethdrs = 0, .utf8 = 0, .orcpt = 0, .nrcpt = 0 } ;
  settings set = { .me = STRALLOC_ZERO, .from = STRALLOC_ZERO, .doublebounceto = STRALLOC_ZERO, .maxbytes = 0, .lifetime = 0 } ;
  bounce_rcpt *r = 0 ;
  size_t *orcptoff = 0 ;
  uint32_t *orcptidx = 0 ;
  unsigned int nr = 0, k ;
  int messok, rgot ;
  char const *notfile ;
  PROG = "ferry-bounce-build" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "dn", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'd' : delay = 1 ; break ;
        case 'n' : dryrun = 1 ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc < 1 || argc > 2 || !uint640_scan(argv[0], &id) || !id) dieusage() ;
  idfmt[uint64_fmt(idfmt, id)] = 0 ;
  if (delay) what = "delay msg " ;
  if (chdir(ferry_home(argc > 1 ? argv[1] : 0)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  sig_ignore(SIGPIPE) ;
  split = ferry_queue_split_or_die(111) ;
  ferry_msgname_of(idfmt, id, split) ;
  settings_read(&set) ;

  /* the records */
  ferry_queue_path(fn, "bounce", id, 0) ;
  if (delay) memcpy(fn + strlen(fn), ".delay", 7) ;
  rgot = ferry_queue_slurp(&recs, fn, &notfile) ;
  if (rgot < 0) strerr_dief4x(111, fn, " is ", notfile, ", not a bounce record file: never read through") ;
  if (!rgot)
  {
    if (errno != ENOENT) strerr_diefu2sys(111, "read ", fn) ;
    logline("nothing to send: no ", fn, 0, 0) ;
    return 0 ;
  }
  if (!recs.len)
  {
    logline("nothing to send: ", fn, " is empty (the delay warning was sent)", 0) ;
    return 0 ;
  }
  envelope_read(&e, &info, split) ;
  {
    size_t pos = 0 ;
    ferry_bounce_record br ;
    int got ;
    while ((got = ferry_bounce_record_take(recs.s, recs.len, &pos, &br)) == 1)
    {
      if (delay != (br.kind == 'Z')) continue ;
      r = realloc(r, (nr + 1) * sizeof(bounce_rcpt)) ;
      orcptoff = realloc(orcptoff, (nr + 1) * sizeof(size_t)) ;
      orcptidx = realloc(orcptidx, (nr + 1) * sizeof(uint32_t)) ;
      if (!r || !orcptoff || !orcptidx) nomem() ;
      orcptidx[nr] = br.index ;
      r[nr].kind = br.kind ;
      r[nr].channel = br.channel ;
      r[nr].when = br.when ;
      r[nr].addr = br.rcpt ;
      r[nr].text = br.text ;
      r[nr].orcpt = 0 ;
      orcptoff[nr] = br.index < e.nrcpt ? orcpt_decode(e.orcpt[br.index], &store) : 0 ;
      nr++ ;
    }
    if (got < 0) strerr_warnw(fn, ": a malformed record at the end (a crash while it was written?): the records before it are sent") ;
  }
  for (k = 0 ; k < nr ; k++) if (orcptoff[k]) r[k].orcpt = store.s + orcptoff[k] - 1 ;

  /* the message */
  ferry_queue_path(fn, "mess", id, split) ;
  messok = ferry_queue_slurp(&mess, fn, &notfile) ;
  if (messok < 0) strerr_dief4x(111, fn, " is ", notfile, ", not a message file: never read through") ;
  if (!messok && errno != ENOENT) strerr_diefu2sys(111, "read ", fn) ;

  {
    static char const kinds[3] = { 'D', 'S', 'Z' } ;
    static char const *const names[3] = { "failure notice", "success notice", "delay warning" } ;
    unsigned int j ;
    for (j = 0 ; j < 3 ; j++)
    {
      bounce_report b ;
      bounce_rcpt *sel = malloc((nr + 1) * sizeof(bounce_rcpt)) ;
      unsigned int n = 0 ;
      if (!sel) nomem() ;
      for (k = 0 ; k < nr ; k++) if (r[k].kind == kinds[j]) sel[n++] = r[k] ;
      if (!n) { free(sel) ; continue ; }
      memset(&b, 0, sizeof(b)) ;
      b.kind = kinds[j] ;
      b.id = id ;
      b.name = idfmt ;
      b.birth = e.birth ;
      b.retryuntil = set.lifetime && e.birth ? e.birth + set.lifetime : 0 ;
      b.me = set.me.s ;
      b.from = set.from.s ;
      b.sender = e.sender ;
      b.envid = e.envid.len ? e.envid.s : 0 ;
      b.utf8 = e.utf8 ;
      b.rcpts = sel ;
      b.n = n ;
      b.to = e.sender ;
      if (messok)
      {
        b.mess = mess.s ;
        b.messlen = mess.len ;
        if (kinds[j] != 'D') { b.headersonly = 1 ; b.why = 0 ; }
        else if (e.rethdrs) { b.headersonly = 1 ; b.why = "as the sender asked, with RET=HDRS" ; }
        else if (set.maxbytes && mess.len > set.maxbytes) { b.headersonly = 1 ; b.why = "the message is larger than control/bouncemaxbytes" ; }
      }
      if (!e.sender[0])
      {
        /* a notification about a notification: to the postmaster, once */
        if (kinds[j] != 'D') { free(sel) ; continue ; }
        if (e.envid.len && !strcmp(e.envid.s, DOUBLE_BOUNCE_ENVID))
        {
          logline("a failure of a double bounce (to the postmaster): dropped, as a loop would follow", 0, 0, 0) ;
          free(sel) ;
          continue ;
        }
        if (set.doublebounceto.len <= 1)
        {
          logline("a failure of a notification: dropped, as control/doublebounceto is empty", 0, 0, 0) ;
          free(sel) ;
          continue ;
        }
        b.doublebounce = 1 ;
        b.to = set.doublebounceto.s ;
        b.envid = 0 ;
        send_report(&b, "double bounce") ;
      }
      else send_report(&b, names[j]) ;
      free(sel) ;
      if (!delay && !dryrun && j == 0) keep_only(r, nr, orcptidx, 'S') ;
    }
  }
  if (dryrun) return 0 ;

  /* every notification is queued: the records can go */
  ferry_queue_path(fn, "bounce", id, 0) ;
  if (delay)
  {
    int fd ;
    memcpy(fn + strlen(fn), ".delay", 7) ;
    fd = open(fn, O_WRONLY | O_TRUNC | O_CLOEXEC) ;
    if (fd < 0 || fsync(fd) < 0) strerr_diefu2sys(111, "empty ", fn) ;
    close(fd) ;
  }
  else
  {
    if (unlink(fn) < 0 && errno != ENOENT) strerr_diefu2sys(111, "remove ", fn) ;
    if (ferry_dir_sync("queue/bounce") < 0) strerr_diefu1sys(111, "sync queue/bounce") ;
  }
  return 0 ;
}
