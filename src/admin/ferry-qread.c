/* ferry-qread: list the queued messages, their recipients and why they wait; text like mailq's,
   or JSON lines for scripts. Read-only. */

#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/addr.h>
#include <ferry/date822.h>

#include "admin.h"

#define USAGE "ferry-qread [ -j ] [ -a ] [ -s sender ] [ -r recipient ] [ -d domain ] [ -o seconds ] [ -y seconds ] [ -S state ] [ home ]"

typedef struct filter_s filter ;
struct filter_s
{
  int json, all ;
  char const *sender, *rcpt, *domain, *state ;
  uint64_t older, younger ;
  int hasolder, hasyounger ;
  uint64_t now ;
  uint64_t msgs, bytes, rcpts, damaged ;
} ;

static stralloc out = STRALLOC_ZERO ;

static void nomem (void) { strerr_diefu1sys(111, "allocate memory") ; }
static void cats (char const *s) { if (!stralloc_cats(&out, s)) nomem() ; }
static void catu (uint64_t u) { char f[UINT64_FMT] ; if (!stralloc_catb(&out, f, uint64_fmt(f, u))) nomem() ; }
static void catjson (char const *s) { if (!json_cat(&out, s)) nomem() ; }
static void catclean (char const *s)
{
  for (; *s ; s++) { char c = (unsigned char)*s < 32 || *s == 127 ? '?' : *s ; if (!stralloc_catb(&out, &c, 1)) nomem() ; }
}
static void catdur (uint64_t t) { char d[DURATION_FMT] ; if (!stralloc_catb(&out, d, duration_fmt(d, t))) nomem() ; }
static void flush (void)
{
  if (buffer_put(buffer_1, out.s, out.len) < 0) strerr_diefu1sys(111, "write to stdout") ;
  out.len = 0 ;
}

 /* pending (due), deferred (waiting for its time), held, new (not prepared yet), delivered, failed */
static char const *rcpt_state (qmsg const *m, qrcpt const *r, uint64_t now)
{
  if (r->status == 'K') return "delivered" ;
  if (r->status == 'D') return "failed" ;
  if (m->deleting) return "deleting" ;
  if (m->held) return "held" ;
  if (!m->prepared) return "new" ;
  return r->next > now ? "deferred" : "pending" ;
}

static int wanted (qmsg const *m, filter const *fl)
{
  unsigned int i ;
  uint64_t age = fl->now > m->birth ? fl->now - m->birth : 0 ;
  if (fl->sender && strcasecmp(fl->sender, m->sender)) return 0 ;
  if (fl->hasolder && age < fl->older) return 0 ;
  if (fl->hasyounger && age > fl->younger) return 0 ;
  if (!fl->rcpt && !fl->domain && !fl->state) return 1 ;
  for (i = 0 ; i < m->n ; i++)
  {
    qrcpt const *r = m->r + i ;
    if (fl->rcpt && strcasecmp(fl->rcpt, r->addr)) continue ;
    if (fl->domain && strcasecmp(fl->domain, ferry_addr_domain(r->addr))) continue ;
    if (fl->state && strcmp(fl->state, rcpt_state(m, r, fl->now))) continue ;
    return 1 ;
  }
  return 0 ;
}

static void json_msg (qmsg const *m, filter const *fl)
{
  unsigned int i ;
  cats("{\"id\":\"") ; cats(m->name) ; cats("\",\"inode\":") ; catu(m->id) ;
  cats(",\"stage\":") ; cats(!m->prepared ? "\"new\"" : m->held ? "\"held\"" : "\"queued\"") ;
  cats(",\"arrival\":") ; catu(m->birth) ;
  cats(",\"age\":") ; catu(fl->now > m->birth ? fl->now - m->birth : 0) ;
  cats(",\"size\":") ; catu(m->size) ;
  cats(",\"sender\":") ; catjson(m->sender) ;
  cats(",\"held\":") ; cats(m->held ? "true" : "false") ;
  cats(",\"notifications_pending\":") ; cats(m->bounce ? "true" : "false") ;
  cats(",\"deleting\":") ; cats(m->deleting ? "true" : "false") ;
  if (m->damage) { cats(",\"damage\":") ; catjson(m->damage) ; }
  cats(",\"recipients\":[") ;
  for (i = 0 ; i < m->n ; i++)
  {
    qrcpt const *r = m->r + i ;
    if (i) cats(",") ;
    cats("{\"address\":") ; catjson(r->addr) ;
    cats(",\"channel\":") ; cats(r->channel == 'L' ? "\"local\"" : r->channel == 'R' ? "\"remote\"" : "null") ;
    cats(",\"state\":\"") ; cats(rcpt_state(m, r, fl->now)) ; cats("\"") ;
    cats(",\"next_attempt\":") ; if (r->status == 'T' && r->next) catu(r->next) ; else cats("null") ;
    cats(",\"last_error\":") ; if (r->lasterr && r->status == 'T') catjson(r->lasterr) ; else cats("null") ;
    cats(",\"last_attempt\":") ; if (r->lasttime && r->status == 'T') catu(r->lasttime) ; else cats("null") ;
    cats(",\"attempts\":") ; if (r->status == 'T') catu(r->attempts) ; else cats("null") ;
    cats("}") ;
  }
  cats("]}\n") ;
}

static void text_msg (qmsg const *m, filter const *fl)
{
  unsigned int i ;
  char d[64] ;
  uint64_t age = fl->now > m->birth ? fl->now - m->birth : 0 ;
  cats(m->name) ; cats("  ") ; catu(m->size) ; cats(" bytes  ") ;
  if (!stralloc_catb(&out, d, ferry_date822_fmt(d, (time_t)m->birth))) nomem() ;
  cats(" (") ; catdur(age) ; cats(" ago)  <") ; catclean(m->sender) ; cats(">") ;
  if (!m->prepared) cats("  [new: not prepared yet]") ;
  if (m->held) cats("  [held]") ;
  if (m->deleting) cats("  [being deleted]") ;
  if (m->bounce) cats("  [notifications pending]") ;
  cats("\n") ;
  if (m->damage) { cats("    DAMAGED: ") ; cats(m->damage) ; cats(" (see the queue files of this id)\n") ; }
  for (i = 0 ; i < m->n ; i++)
  {
    qrcpt const *r = m->r + i ;
    char const *st = rcpt_state(m, r, fl->now) ;
    if (r->status != 'T' && !fl->all) continue ;
    cats("    ") ; cats(r->channel == 'L' ? "local   " : r->channel == 'R' ? "remote  " : "-       ") ;
    cats(st) ;
    if (!strcmp(st, "deferred")) { cats(" (next attempt in ") ; catdur(r->next - fl->now) ; cats(")") ; }
    if (r->status == 'T' && r->attempts) { cats(" [") ; catu(r->attempts) ; cats(r->attempts == 1 ? " attempt]" : " attempts]") ; }
    cats("  ") ; catclean(r->addr) ; cats("\n") ;
    if (r->lasterr && r->status == 'T') { cats("        last error: ") ; catclean(r->lasterr) ; cats("\n") ; }
  }
}

static int show (qmsg const *m, void *data)
{
  filter *fl = data ;
  unsigned int i ;
  if (!wanted(m, fl)) return 0 ;
  if (m->damage)
  {
    strerr_warnw("msg ", m->name, ": ", m->damage) ;
    fl->damaged++ ;
  }
  if (fl->json) json_msg(m, fl) ; else text_msg(m, fl) ;
  fl->msgs++ ;
  fl->bytes += m->size ;
  for (i = 0 ; i < m->n ; i++) if (m->r[i].status == 'T') fl->rcpts++ ;
  if (out.len > 65536) flush() ;
  return 0 ;
}

static uint64_t secs_or_die (char const *s, char const *opt)
{
  uint64_t u ;
  if (!uint640_scan(s, &u)) strerr_dief(100, opt, " wants a number of seconds") ;
  return u ;
}

int main (int argc, char const *const *argv)
{
  filter fl ;
  unsigned int split ;
  memset(&fl, 0, sizeof(fl)) ;
  PROG = "ferry-qread" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "jas:r:d:o:y:S:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'j' : fl.json = 1 ; break ;
        case 'a' : fl.all = 1 ; break ;
        case 's' : fl.sender = l.arg ; break ;
        case 'r' : fl.rcpt = l.arg ; break ;
        case 'd' : fl.domain = l.arg[0] == '@' ? l.arg + 1 : l.arg ; break ;
        case 'o' : fl.older = secs_or_die(l.arg, "-o") ; fl.hasolder = 1 ; break ;
        case 'y' : fl.younger = secs_or_die(l.arg, "-y") ; fl.hasyounger = 1 ; break ;
        case 'S' :
          if (strcmp(l.arg, "pending") && strcmp(l.arg, "deferred") && strcmp(l.arg, "held") && strcmp(l.arg, "new") && strcmp(l.arg, "deleting"))
            strerr_dief1x(100, "-S wants pending, deferred, held, new or deleting") ;
          fl.state = l.arg ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc > 1) strerr_dieusage(100, USAGE) ;
  split = queue_enter(argc ? argv[0] : 0) ;
  fl.now = time(0) ;
  if (qwalk(split, &show, &fl) < 0) strerr_diefu1sys(111, "read the queue") ;
  if (!fl.json)
  {
    cats("-- ") ; catu(fl.msgs) ; cats(fl.msgs == 1 ? " message, " : " messages, ") ; catu(fl.bytes) ; cats(" bytes, ") ;
    catu(fl.rcpts) ; cats(fl.rcpts == 1 ? " recipient to deliver" : " recipients to deliver") ;
    if (fl.damaged) { cats(", ") ; catu(fl.damaged) ; cats(" damaged") ; }
    cats("\n") ;
  }
  flush() ;
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(111, "write to stdout") ;
  return 0 ;
}
