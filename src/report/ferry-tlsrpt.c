/* ferry-tlsrpt: the daily SMTP TLS reports of RFC 8460. From the day files the remote channel
   appends to (tlsrpt/DAY), one report per policy domain and day, gzipped JSON in a
   multipart/report message to each mailto: address of the domain's TLSRPT record, queued through
   the home's injection; each day done moves to tlsrpt/sent/. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/direntry.h>
#include <skalibs/djbunix.h>
#include <skalibs/fmtscan.h>
#include <skalibs/genalloc.h>
#include <skalibs/random.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/home.h>
#include <ferry/inject_run.h>
#include <ferry/mta_sts.h>
#include <ferry/queue.h>

#include "report.h"

#define RUA_MAX 10   /* mailto: addresses a report goes to */

#define USAGE "ferry-tlsrpt [ -n ] [ -d YYYY-MM-DD ] [ home ]"
#define dieusage() strerr_dieusage(100, USAGE)

#define DNS_SECONDS 30         /* one TLSRPT lookup, at most */
#define KEEP_DAYS 30           /* sent days are kept this long */
#define GIVEUP_DAYS 3          /* a lookup failing for a day that ended longer ago is given up */

static int dryrun = 0 ;
static int stop = 0 ;          /* an injection failed: nothing more is tried */
static stralloc me = STRALLOC_ZERO, org = STRALLOC_ZERO, from = STRALLOC_ZERO ;
static char const *submitter ;
static void *chan = 0 ;

static void nomem (void)
{
  strerr_diefu1sys(111, "allocate memory") ;
}

static void settings_read (void)
{
  size_t i ;
  ferry_control_line_or_die(&me, "me", 111) ;
  if (!me.len) strerr_dief1x(111, "control/me is empty") ;
  ferry_control_line_or_die(&org, "tlsrptorg", 111) ;
  if (!org.len && !stralloc_copy(&org, &me)) nomem() ;
  ferry_control_line_or_die(&from, "tlsrptfrom", 111) ;
  if (!from.len && (!stralloc_cats(&from, "tls-reports@") || !stralloc_cat(&from, &me))) nomem() ;
  if (!stralloc_0(&me) || !stralloc_0(&org) || !stralloc_0(&from)) nomem() ;
  for (i = 0 ; i + 1 < from.len ; i++)
    if ((unsigned char)from.s[i] <= 32 || from.s[i] == 127 || from.s[i] == '<' || from.s[i] == '>') break ;
  if (i + 1 < from.len || !strchr(from.s, '@') || from.s[from.len - 2] == '@')
    strerr_dief1x(111, "bad value in control/tlsrptfrom: write one address, local@domain") ;
  submitter = strrchr(from.s, '@') + 1 ;
}

static void put (char const *s, size_t n)
{
  if (buffer_put(buffer_1, s, n) < 0) strerr_diefu1sys(111, "write to stdout") ;
}

/* ---------- the day's progress: the domains whose report is queued ---------- */

static void queued_name (char *fn, char const *day)
{
  memcpy(fn, "tlsrpt/", 7) ;
  memcpy(fn + 7, day, REPORT_DAY_LEN) ;
  memcpy(fn + 7 + REPORT_DAY_LEN, ".queued", 8) ;
}

 /* one line per domain: appended and synced as soon as its report is queued, so that a run
    after a failure does not send it again */
static int queued_add (char const *day, char const *domain)
{
  char fn[7 + REPORT_DAY_LEN + 8] ;
  size_t n = strlen(domain) ;
  int fd, created ;
  queued_name(fn, day) ;
  created = access(fn, F_OK) < 0 ;
  fd = open(fn, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) ;
  if (fd < 0) return 0 ;
  if (allwrite(fd, domain, n) < n || allwrite(fd, "\n", 1) < 1 || fsync(fd) < 0) { fd_close(fd) ; return 0 ; }
  fd_close(fd) ;
  return !created || ferry_dir_sync("tlsrpt") >= 0 ;
}

static int queued_has (stralloc const *list, char const *domain)
{
  size_t n = strlen(domain), pos = 0 ;
  while (pos < list->len)
  {
    char const *nl = memchr(list->s + pos, '\n', list->len - pos) ;
    size_t end = nl ? (size_t)(nl - list->s) : list->len ;
    if (end - pos == n && !memcmp(list->s + pos, domain, n)) return 1 ;
    pos = end + 1 ;
  }
  return 0 ;
}

/* ---------- one domain's report ---------- */

 /* mtasts/DOMAIN, for the text and the mx patterns of sts lines whose id is the cached one's */
static void sts_read (char const *domain, stralloc *cache, ferry_sts_policy *pol, report_meta *m, char *id)
{
  char fn[8 + strlen(domain)] ;
  stralloc why = STRALLOC_ZERO ;
  uint64_t fetched ;
  int r ;
  memcpy(fn, "mtasts/", 7) ;
  memcpy(fn + 7, domain, strlen(domain) + 1) ;
  cache->len = 0 ;
  m->stsid = 0 ;
  if (!openreadfileclose(fn, cache, 1 << 20))
  {
    if (errno != ENOENT) strerr_warnwu2sys("read ", fn) ;
    return ;
  }
  r = ferry_sts_cache_parse(cache->s, cache->len, id, &fetched, &m->stsbody, &m->stsbodylen, pol, &why) ;
  if (r < 0) nomem() ;
  if (r)
  {
    m->stsid = id ;
    m->stsmx = pol->mx.s ;
    m->stsnmx = pol->nmx ;
  }
  else strerr_warnw(fn, ": ", why.len ? why.s : "not a policy cache file", ": the policy text is left out of the report") ;
  stralloc_free(&why) ;
}

 /* report-id DAY.UNIQUE.DOMAIN@SUBMITTER; unique: 16 random hex digits */
static void report_id (stralloc *id, char *unique, char const *day, char const *domain)
{
  char r[8] ;
  random_buf(r, 8) ;
  unique[ucharn_fmt(unique, r, 8)] = 0 ;
  id->len = 0 ;
  if (!stralloc_catb(id, day, REPORT_DAY_LEN) || !stralloc_catb(id, ".", 1) || !stralloc_cats(id, unique)
   || !stralloc_catb(id, ".", 1) || !stralloc_cats(id, domain) || !stralloc_catb(id, "@", 1)
   || !stralloc_cats(id, submitter) || !stralloc_0(id)) nomem() ;
}

static void build (stralloc *json, report_line const *v, size_t n, char const *day, stralloc *id, char *unique, report_totals *t)
{
  stralloc cache = STRALLOC_ZERO ;
  ferry_sts_policy pol = FERRY_STS_POLICY_ZERO ;
  char stsid[FERRY_STS_ID_MAX + 1] ;
  report_meta m = { .org = org.s, .contact = from.s, .day = day, .stsid = 0, .stsbody = 0, .stsbodylen = 0, .stsmx = 0, .stsnmx = 0 } ;
  report_id(id, unique, day, v[0].f[RF_DOMAIN]) ;
  m.id = id->s ;
  sts_read(v[0].f[RF_DOMAIN], &cache, &pol, &m, stsid) ;
  json->len = 0 ;
  if (!report_json(json, &m, v, n, t)) nomem() ;
  ferry_sts_policy_free(&pol) ;
  stralloc_free(&cache) ;
}

 /* The rua of the domain as recipients: the addresses of its mailto: URIs, each NUL-terminated;
    1 some, 0 none (the domain gets no report), -1 a temporary failure. */
static int recipients (char const *day, char const *domain, int giveup, stralloc *rcpts)
{
  stralloc rua = STRALLOC_ZERO, why = STRALLOC_ZERO ;
  unsigned int nrcpts = 0 ;
  size_t pos ;
  int r ;
  if (!chan && !report_dns_open(&chan, &why)) strerr_dief1x(111, why.len ? why.s : "unable to set up DNS") ;
  r = report_rua_lookup(chan, domain, DNS_SECONDS, &rua, &why) ;
  if (r < 0)
  {
    if (giveup)
    {
      strerr_warnw(day, " ", domain, ": no report: ", why.len ? why.s : "out of memory", " (given up: the day ended more than 3 days ago)") ;
      r = 0 ;
    }
    else strerr_warnw(day, " ", domain, ": report deferred, the day stays: ", why.len ? why.s : "out of memory") ;
    goto end ;
  }
  if (!r)
  {
    strerr_warni(day, " ", domain, ": no report: ", why.s) ;
    goto end ;
  }
  rcpts->len = 0 ;
  for (pos = 0 ; pos < rua.len ; pos += strlen(rua.s + pos) + 1)
  {
    char const *uri = rua.s + pos ;
    int k ;
    if (nrcpts >= RUA_MAX)
    {
      /* a record is somebody else's: it does not get to make ferry send a report to the world */
      strerr_warnw(day, " ", domain, ": rua ", uri, " skipped: a report goes to at most 10 addresses") ;
      continue ;
    }
    k = report_mailto(uri, rcpts) ;
    if (k < 0) nomem() ;
    if (k) { nrcpts++ ; continue ; }
    if (!strncasecmp(uri, "https:", 6)) strerr_warni(day, " ", domain, ": rua ", uri, " skipped: reports go by mail only") ;
    else if (!strncasecmp(uri, "mailto:", 7)) strerr_warnw(day, " ", domain, ": rua ", uri, " skipped: no usable address in it") ;
    else strerr_warni(day, " ", domain, ": rua ", uri, " skipped: neither mailto: nor https:") ;
  }
  r = rcpts->len > 0 ;
  if (!r) strerr_warni(day, " ", domain, ": no report: no mailto: address in the TLSRPT record") ;
 end:
  stralloc_free(&rua) ;
  stralloc_free(&why) ;
  return r ;
}

 /* 1 done (sent, or nothing to send), 0 left for a later run */
static int domain_send (report_line const *v, size_t n, char const *day, uint64_t start, int giveup)
{
  stralloc rcpts = STRALLOC_ZERO, json = STRALLOC_ZERO, gz = STRALLOC_ZERO, msg = STRALLOC_ZERO, env = STRALLOC_ZERO, id = STRALLOC_ZERO ;
  char const *domain = v[0].f[RF_DOMAIN] ;
  char const **to = 0 ;
  char unique[17] ;
  report_totals t ;
  unsigned int nto = 0 ;
  size_t pos ;
  int r = recipients(day, domain, giveup, &rcpts), e ;
  if (r <= 0) { r = !r ; goto end ; }
  build(&json, v, n, day, &id, unique, &t) ;
  if (!report_gzip(&gz, json.s, json.len)) nomem() ;
  for (pos = 0 ; pos < rcpts.len ; pos += strlen(rcpts.s + pos) + 1) nto++ ;
  to = malloc(nto * sizeof(char const *)) ;
  if (!to) nomem() ;
  nto = 0 ;
  if (!stralloc_catb(&env, "F", 1) || !stralloc_catb(&env, from.s, from.len)) nomem() ;
  for (pos = 0 ; pos < rcpts.len ; pos += strlen(rcpts.s + pos) + 1)
  {
    to[nto++] = rcpts.s + pos ;
    if (!stralloc_catb(&env, "T", 1) || !stralloc_cats(&env, rcpts.s + pos) || !stralloc_0(&env)) nomem() ;
  }
  if (!stralloc_0(&env)) nomem() ;
  {
    report_mail m = { .from = from.s, .to = to, .nto = nto, .domain = domain, .submitter = submitter, .id = id.s,
      .unique = unique, .day = day, .start = start, .now = (uint64_t)time(0), .totals = &t } ;
    if (!report_mail_compose(&msg, &m, gz.s, gz.len)) nomem() ;
  }
  {
    char const *argv[] = { "ferry-inject", ".", 0 } ;
    e = ferry_inject_submit("bin/ferry-inject", argv, msg.s, msg.len, env.s, env.len) ;
  }
  if (e)
  {
    char efmt[UINT_FMT] ;
    efmt[uint_fmt(efmt, e < 0 ? 0 : (unsigned int)e)] = 0 ;
    if (e < 0) strerr_warnwu5sys("queue the report of ", day, " for ", domain, ": the day stays") ;
    else strerr_warnw(day, " ", domain, ": unable to queue the report: the queue answered ", efmt, " (", ferry_inject_strerror(e), "): the day stays") ;
    stop = 1 ;
    r = 0 ;
    goto end ;
  }
  if (!queued_add(day, domain))
  {
    strerr_warnwu5sys("record in tlsrpt/", day, ".queued that the report for ", domain, " is queued: the day stays") ;
    stop = 1 ;
    r = 0 ;
    goto end ;
  }
  {
    char ok[UINT64_FMT], failed[UINT64_FMT] ;
    stralloc list = STRALLOC_ZERO ;
    ok[uint64_fmt(ok, t.ok)] = 0 ;
    failed[uint64_fmt(failed, t.failed)] = 0 ;
    for (pos = 0 ; pos < nto ; pos++)
      if ((pos && !stralloc_cats(&list, ", ")) || !stralloc_cats(&list, "<") || !stralloc_cats(&list, to[pos]) || !stralloc_cats(&list, ">")) nomem() ;
    if (!stralloc_0(&list)) nomem() ;
    strerr_warni(day, " ", domain, ": report ", id.s, " queued for ", list.s, " (", ok, " successful, ", failed, " failed sessions)") ;
    stralloc_free(&list) ;
  }
  r = 1 ;
 end:
  free(to) ;
  stralloc_free(&rcpts) ; stralloc_free(&json) ; stralloc_free(&gz) ;
  stralloc_free(&msg) ; stralloc_free(&env) ; stralloc_free(&id) ;
  return r ;
}

/* ---------- one day ---------- */

 /* The lines of fn that parse, sorted; those that do not are skipped with a warning. */
static void day_lines (char const *fn, stralloc *file, genalloc *lines)
{
  size_t pos = 0, end ;
  unsigned int lineno = 0 ;
  /* a byte more, for the NUL that ends a last line without its LF */
  if (!stralloc_0(file)) nomem() ;
  file->len-- ;
  for (; pos < file->len ; pos = end + 1)
  {
    char const *nl = memchr(file->s + pos, '\n', file->len - pos) ;
    char const *why ;
    report_line l ;
    end = nl ? (size_t)(nl - file->s) : file->len ;
    lineno++ ;
    l.lineno = lineno ;
    if (report_line_parse(file->s + pos, end - pos, &l, &why))
    {
      if (!genalloc_append(report_line, lines, &l)) nomem() ;
    }
    else
    {
      char fmt[UINT_FMT] ;
      fmt[uint_fmt(fmt, lineno)] = 0 ;
      strerr_warnw(fn, ":", fmt, ": line skipped: ", why) ;
    }
  }
  if (genalloc_len(report_line, lines))
    qsort(genalloc_s(report_line, lines), genalloc_len(report_line, lines), sizeof(report_line), &report_line_cmp) ;
}

 /* 1: every report of the day is done; 0: some are left for a later run */
static int day_do (char const *fn, char const *day, uint64_t start, uint64_t today)
{
  stralloc file = STRALLOC_ZERO, done = STRALLOC_ZERO ;
  genalloc lines = GENALLOC_ZERO ;
  report_line const *v ;
  size_t n, i, j ;
  int all = 1 ;
  if (!openreadfileclose(fn, &file, 0)) strerr_diefu2sys(111, "read ", fn) ;
  day_lines(fn, &file, &lines) ;
  v = genalloc_s(report_line, &lines) ;
  n = genalloc_len(report_line, &lines) ;
  if (!dryrun)
  {
    char qfn[7 + REPORT_DAY_LEN + 8] ;
    queued_name(qfn, day) ;
    if (!openreadfileclose(qfn, &done, 0) && errno != ENOENT) strerr_diefu2sys(111, "read ", qfn) ;
  }
  for (i = 0 ; i < n && !stop ; i = j)
  {
    for (j = i + 1 ; j < n && !strcmp(v[i].f[RF_DOMAIN], v[j].f[RF_DOMAIN]) ; j++) ;
    if (dryrun)
    {
      stralloc json = STRALLOC_ZERO, id = STRALLOC_ZERO ;
      char unique[17] ;
      report_totals t ;
      build(&json, v + i, j - i, day, &id, unique, &t) ;
      put(json.s, json.len) ;
      put("\n", 1) ;
      stralloc_free(&json) ;
      stralloc_free(&id) ;
    }
    else if (!queued_has(&done, v[i].f[RF_DOMAIN])
          && !domain_send(v + i, j - i, day, start, start + (GIVEUP_DAYS + 1) * 86400 <= today)) all = 0 ;
  }
  if (stop) all = 0 ;
  if (!n) strerr_warni(fn, ": no line to report") ;
  genalloc_free(report_line, &lines) ;
  stralloc_free(&file) ;
  stralloc_free(&done) ;
  return all ;
}

 /* tlsrpt/DAY to tlsrpt/sent/DAY, and its progress file removed */
static void day_move (char const *day)
{
  char src[7 + REPORT_DAY_LEN + 1], dst[12 + REPORT_DAY_LEN + 1], qfn[7 + REPORT_DAY_LEN + 8] ;
  memcpy(src, "tlsrpt/", 7) ; memcpy(src + 7, day, REPORT_DAY_LEN) ; src[7 + REPORT_DAY_LEN] = 0 ;
  memcpy(dst, "tlsrpt/sent/", 12) ; memcpy(dst + 12, day, REPORT_DAY_LEN) ; dst[12 + REPORT_DAY_LEN] = 0 ;
  if (mkdir("tlsrpt/sent", 0700) < 0 && errno != EEXIST) strerr_diefu1sys(111, "make tlsrpt/sent") ;
  if (rename(src, dst) < 0) strerr_diefu4sys(111, "move ", src, " to ", dst) ;
  if (ferry_dir_sync("tlsrpt/sent") < 0) strerr_diefu1sys(111, "sync tlsrpt/sent") ;
  queued_name(qfn, day) ;
  if (unlink(qfn) < 0 && errno != ENOENT) strerr_warnwu2sys("remove ", qfn) ;
  if (ferry_dir_sync("tlsrpt") < 0) strerr_diefu1sys(111, "sync tlsrpt") ;
}

static int day_sent (char const *day)
{
  char fn[12 + REPORT_DAY_LEN + 1] ;
  memcpy(fn, "tlsrpt/sent/", 12) ; memcpy(fn + 12, day, REPORT_DAY_LEN) ; fn[12 + REPORT_DAY_LEN] = 0 ;
  return access(fn, F_OK) == 0 ;
}

static int daycmp (void const *a, void const *b)
{
  return memcmp(a, b, REPORT_DAY_LEN) ;
}

 /* The days of tlsrpt/ before today, not yet sent, in order, each REPORT_DAY_LEN bytes; a
    progress file of a day that is no longer there is removed. */
static void days_list (stralloc *days, uint64_t today)
{
  DIR *dir = opendir("tlsrpt") ;
  direntry *d ;
  if (!dir)
  {
    if (errno == ENOENT) return ;
    strerr_diefu1sys(111, "open tlsrpt") ;
  }
  for (;;)
  {
    size_t n ;
    uint64_t start ;
    errno = 0 ;
    d = readdir(dir) ;
    if (!d) break ;
    n = strlen(d->d_name) ;
    if (n == REPORT_DAY_LEN + 7 && !memcmp(d->d_name + REPORT_DAY_LEN, ".queued", 7) && report_day_scan(d->d_name, REPORT_DAY_LEN, &start) && !dryrun)
    {
      char fn[7 + REPORT_DAY_LEN + 1] ;
      memcpy(fn, "tlsrpt/", 7) ; memcpy(fn + 7, d->d_name, REPORT_DAY_LEN) ; fn[7 + REPORT_DAY_LEN] = 0 ;
      if (access(fn, F_OK) < 0 && errno == ENOENT)
      {
        char qfn[7 + REPORT_DAY_LEN + 8] ;
        queued_name(qfn, d->d_name) ;
        unlink(qfn) ;
      }
      continue ;
    }
    if (!report_day_scan(d->d_name, n, &start) || start >= today) continue ;
    if (day_sent(d->d_name))
    {
      strerr_warnw("tlsrpt/", d->d_name, " is also in tlsrpt/sent/: left as it is, not reported again") ;
      continue ;
    }
    if (!stralloc_catb(days, d->d_name, REPORT_DAY_LEN)) nomem() ;
  }
  if (errno) strerr_diefu1sys(111, "read tlsrpt") ;
  dir_close(dir) ;
  if (days->len) qsort(days->s, days->len / REPORT_DAY_LEN, REPORT_DAY_LEN, &daycmp) ;
}

 /* sent days older than KEEP_DAYS are removed */
static void sent_expire (uint64_t today)
{
  DIR *dir = opendir("tlsrpt/sent") ;
  direntry *d ;
  int gone = 0 ;
  if (!dir)
  {
    if (errno != ENOENT) strerr_warnwu1sys("open tlsrpt/sent") ;
    return ;
  }
  while ((d = readdir(dir)))
  {
    uint64_t start ;
    char fn[12 + REPORT_DAY_LEN + 1] ;
    if (!report_day_scan(d->d_name, strlen(d->d_name), &start) || start + KEEP_DAYS * 86400 > today) continue ;
    memcpy(fn, "tlsrpt/sent/", 12) ; memcpy(fn + 12, d->d_name, REPORT_DAY_LEN) ; fn[12 + REPORT_DAY_LEN] = 0 ;
    if (unlink(fn) < 0) strerr_warnwu2sys("remove ", fn) ;
    else gone = 1 ;
  }
  dir_close(dir) ;
  if (gone && ferry_dir_sync("tlsrpt/sent") < 0) strerr_warnwu1sys("sync tlsrpt/sent") ;
}

int main (int argc, char const *const *argv)
{
  char const *oneday = 0 ;
  stralloc days = STRALLOC_ZERO ;
  uint64_t today, start ;
  size_t k ;
  int pending = 0 ;
  PROG = "ferry-tlsrpt" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "nd:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'n' : dryrun = 1 ; break ;
        case 'd' : oneday = l.arg ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc > 1) dieusage() ;
  if (oneday && !report_day_scan(oneday, strlen(oneday), &start)) strerr_dief2x(100, "not a day (YYYY-MM-DD): ", oneday) ;
  if (chdir(ferry_home(argc ? argv[0] : 0)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  /* as root in a home made with -u: the remote channel's user, who owns tlsrpt/ */
  if (ferry_dedicated()) ferry_become("ferryr") ;
  umask(077) ;
  sig_ignore(SIGPIPE) ;
  settings_read() ;
  today = (uint64_t)time(0) ;
  today -= today % 86400 ;
  if (!dryrun)
  {
    int fd = open("tlsrpt/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600) ;
    if (fd < 0)
    {
      if (errno == ENOENT) { strerr_warni("no tlsrpt/ in the home: nothing to report") ; return 0 ; }
      strerr_diefu1sys(111, "open tlsrpt/lock") ;
    }
    /* one run at a time: a second waits, then finds what the first left */
    if (fd_lock(fd, 1, 0) < 1) strerr_diefu1sys(111, "lock tlsrpt/lock") ;
  }
  if (oneday)
  {
    char fn[12 + REPORT_DAY_LEN + 1] ;
    memcpy(fn, "tlsrpt/", 7) ; memcpy(fn + 7, oneday, REPORT_DAY_LEN + 1) ;
    if (access(fn, F_OK) < 0)
    {
      if (errno != ENOENT) strerr_diefu2sys(111, "access ", fn) ;
      if (!day_sent(oneday)) { strerr_warni("no day file for ", oneday, ": nothing to report") ; return 0 ; }
      if (!dryrun) { strerr_warni(oneday, " is already reported (tlsrpt/sent/", oneday, ")") ; return 0 ; }
      memcpy(fn, "tlsrpt/sent/", 12) ; memcpy(fn + 12, oneday, REPORT_DAY_LEN + 1) ;
    }
    else if (!dryrun && start >= today) strerr_dief3x(100, "the day ", oneday, " is not over yet (UTC): it is reported once it is") ;
    pending = !day_do(fn, oneday, start, today) ;
    if (!dryrun && !pending) day_move(oneday) ;
  }
  else
  {
    days_list(&days, today) ;
    for (k = 0 ; k < days.len && !stop ; k += REPORT_DAY_LEN)
    {
      char day[REPORT_DAY_LEN + 1], fn[7 + REPORT_DAY_LEN + 1] ;
      memcpy(day, days.s + k, REPORT_DAY_LEN) ; day[REPORT_DAY_LEN] = 0 ;
      memcpy(fn, "tlsrpt/", 7) ; memcpy(fn + 7, day, REPORT_DAY_LEN + 1) ;
      report_day_scan(day, REPORT_DAY_LEN, &start) ;
      if (day_do(fn, day, start, today)) { if (!dryrun) day_move(day) ; }
      else pending = 1 ;
    }
  }
  if (dryrun && !buffer_flush(buffer_1)) strerr_diefu1sys(111, "write to stdout") ;
  if (!dryrun && !stop) sent_expire(today) ;
  if (chan) report_dns_close(chan) ;
  stralloc_free(&days) ;
  return pending ? 111 : 0 ;
}
