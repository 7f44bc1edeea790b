/* ferry-showctl: the effective configuration of a home: every control setting, its value, and
   whether it is the default; a clear complaint about any file that does not parse (read by the
   parsers of the programs that use it), any pair of settings that contradict each other, and
   files in control/ that are no setting of ferry's (a typo is a setting silently ignored). */

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/dns_servers.h>
#include <ferry/smtp_auth.h>
#include <ferry/tls.h>
#include <ferry/tls_policy.h>
#include <ferry/home.h>
#include <ferry/mailboxes.h>
#include <ferry/shaping.h>
#include <ferry/route.h>

#include "admin.h"

#define USAGE "ferry-showctl [ -j ] [ home ]"

static stralloc out = STRALLOC_ZERO ;
static unsigned int problems = 0 ;
static void nomem (void) { strerr_diefu1sys(111, "allocate memory") ; }
static void cats (char const *s) { if (!stralloc_cats(&out, s)) nomem() ; }
static void catb (char const *s, size_t n) { if (!stralloc_catb(&out, s, n)) nomem() ; }
static void catb_to (stralloc *sa, char const *s, size_t n) { if (!stralloc_catb(sa, s, n)) nomem() ; }

 /* files that are ferry's but not settings: compiled tables and their sources */
static int known_extra (char const *name)
{
  return !strcmp(name, "mailboxes") || !strcmp(name, "mailboxes.cdb") || !strcmp(name, "shaping") || !strcmp(name, "shaping.cdb")
    || !strcmp(name, "smtpd.rules") || !strcmp(name, "smtpd.cdb") ;
}

static stralloc why = STRALLOC_ZERO ;

static char const *why_line (unsigned int line, char const *what)
{
  char f[UINT_FMT] ;
  f[uint_fmt(f, line)] = 0 ;
  why.len = 0 ;
  if (!stralloc_cats(&why, "line ") || !stralloc_cats(&why, f) || !stralloc_cats(&why, ": ") || !stralloc_cats(&why, what) || !stralloc_0(&why)) nomem() ;
  return why.s ;
}

 /* What the program that reads a text setting would refuse in it, checked with its own parser. */
static char const *text_problem (char const *name)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *p = 0 ;
  if (!strcmp(name, "smtproutes"))
  {
    unsigned int line ;
    if (ferry_control_readfile(&sa, name) < 0) p = "unreadable" ;
    else if ((line = ferry_route_check(sa.s, sa.len)))
      p = why_line(line, "bad route: write domain:host[:port], .domain:host, :host or domain: (ferry-spawn-remote would not start)") ;
  }
  else if (!strcmp(name, "tlspolicy") || !strcmp(name, "smtpauth"))
  {
    /* the parsers' own texts, "control/NAME:LINE: reason", kept for the program's life */
    static stralloc parsed = STRALLOC_ZERO ;
    struct stat st ;
    int r ;
    parsed.len = 0 ;
    if (ferry_control_readfile(&sa, name) < 0) p = "unreadable" ;
    else if (!strcmp(name, "smtpauth") && stat("control/smtpauth", &st) == 0 && !smtp_auth_mode_ok(st.st_mode))
      p = "readable by others: ferry-spawn-remote refuses it (chmod 640, owner root, group of the remote channel)" ;
    else
    {
      r = name[0] == 't' ? tls_policy_check(sa.s, sa.len, &parsed) : smtp_auth_check(sa.s, sa.len, &parsed) ;
      if (r < 0) nomem() ;
      if (!r) p = parsed.s ;
    }
  }
  else if (!strcmp(name, "smtpdcert") || !strcmp(name, "smtpdkey"))
  {
    /* read as ferry-smtpd reads them; both empty or missing is no TLS, no problem */
    static stralloc parsed = STRALLOC_ZERO ;
    struct stat a, b ;
    int none = (stat("control/smtpdcert", &a) < 0 || !a.st_size) && (stat("control/smtpdkey", &b) < 0 || !b.st_size) ;
    if (!none)
    {
      ferry_tls_cert cert = FERRY_TLS_CERT_ZERO ;
      SSL_CTX *ctx = ferry_tls_server_ctx("control/smtpdcert", "control/smtpdkey", &cert, &parsed) ;
      if (ctx) SSL_CTX_free(ctx) ;
      /* each file's own problem under its name */
      else if (!strncmp(parsed.s, "control/", 8) && !strncmp(parsed.s + 8, name, strlen(name)) && parsed.s[8 + strlen(name)] == ':')
        p = parsed.s + 10 + strlen(name) ;
      else if (strncmp(parsed.s, "control/", 8)) p = parsed.s ;
    }
  }
  else if (!strcmp(name, "helohost"))
  {
    if (ferry_control_readline(&sa, name) < 0) p = "unreadable" ;
    else if (!sa.len) p = "empty, and so is control/me: ferry-spawn-remote would not start" ;
  }
  stralloc_free(&sa) ;
  return p ;
}

 /* Pairs of settings that contradict each other: the second one's problem. */
static char const *pair_problem (char const *name)
{
  uint64_t a, b ;
  if (!strcmp(name, "maxbackoff"))
  {
    if (ferry_control_readu64("minbackoff", &a) < 0 || ferry_control_readu64("maxbackoff", &b) < 0) return 0 ;
    if (b < a) return "below control/minbackoff: ferry-schedule's wait between attempts must grow from minbackoff up to maxbackoff" ;
  }
  else if (!strcmp(name, "tlspolicy"))
  {
    /* dane-only needs validated TLSA records: without a trusted resolver nothing is delivered */
    stralloc sa = STRALLOC_ZERO, servers = STRALLOC_ZERO ;
    char const *p = 0 ;
    if (ferry_control_readfile(&sa, "tlspolicy") >= 0 && ferry_control_readfile(&servers, "dnssecservers") >= 0)
    {
      size_t i ;
      int hasservers = 0, daneonly = 0 ;
      for (i = 0 ; i < servers.len ; i++) if (servers.s[i] != ' ' && servers.s[i] != '\t' && servers.s[i] != '\n' && servers.s[i] != '#') { hasservers = 1 ; break ; }
      for (i = 0 ; i + 9 <= sa.len ; i++) if (!strncasecmp(sa.s + i, "dane-only", 9)) { daneonly = 1 ; break ; }
      if (daneonly && !hasservers)
        p = "names dane-only, but control/dnssecservers is empty: without a trusted validating resolver there are no TLSA records, and those destinations are never delivered" ;
    }
    stralloc_free(&sa) ;
    stralloc_free(&servers) ;
    return p ;
  }
  else if (!strcmp(name, "delaywarning"))
  {
    if (ferry_control_readu64("queuelifetime", &a) < 0 || ferry_control_readu64("delaywarning", &b) < 0) return 0 ;
    if (a && b && b >= a) return "not below control/queuelifetime: a message expires before its delay warning is due, so none is ever sent" ;
  }
  else if (!strcmp(name, "dnssecservers"))
  {
    /* the channel's own check: with validating resolvers, no other server */
    stralloc csv = STRALLOC_ZERO ;
    int dnssec, r = ferry_dns_servers(&csv, &dnssec, &why) ;
    stralloc_free(&csv) ;
    if (r < 0) nomem() ;
    if (!r) return why.s ;
  }
  return 0 ;
}

 /* What ferry-mailboxes refuses in a line of control/mailboxes, or 0: its owner must be a user too. */
static char const *mailboxes_why (char *line, size_t n)
{
  ferry_mailboxes_entry e ;
  char const *what = ferry_mailboxes_line(line, n, &e) ;
  if (!what && e.addr && e.owner)
  {
    char name[e.ownerlen + 1] ;
    memcpy(name, e.owner, e.ownerlen) ; name[e.ownerlen] = 0 ;
    if (!getpwnam(name)) what = "the owner is not a user of this system" ;
  }
  return what ;
}

 /* What ferry-shaping refuses in a line of control/shaping, or 0. */
static char const *shaping_why (char *line, size_t n)
{
  ferry_shaping_entry e ;
  return ferry_shaping_line(line, n, &e) ;
}

 /* control/NAME, line by line as its compiler PROG reads it (refused says what it refuses in a
    line): the number of bad lines. */
static unsigned int table_check (char const *name, char const *prog, char const *(*refused) (char *, size_t), int json)
{
  stralloc src = STRALLOC_ZERO ;
  size_t i = 0 ;
  unsigned int lineno = 0, nbad = 0 ;
  char fn[9 + strlen(name)] ;
  memcpy(fn, "control/", 8) ;
  memcpy(fn + 8, name, strlen(name) + 1) ;
  if (!openslurpclose(&src, fn))
  {
    if (errno == ENOENT) return 0 ;
    strerr_warnwu2sys("read ", fn) ;
    return 1 ;
  }
  while (i < src.len)
  {
    char *line = src.s + i ;
    size_t n = byte_chr(line, src.len - i, '\n') ;
    char const *what ;
    i += n + 1 ;
    lineno++ ;
    what = (*refused)(line, n) ;
    if (!what) continue ;
    nbad++ ;
    what = why_line(lineno, what) ;
    strerr_warnw("bad line in ", fn, ": ", what, " (", prog, " would refuse the file)") ;
    if (!json) { cats(fn) ; cats(": ") ; cats(what) ; cats("   <- BAD\n") ; }
  }
  stralloc_free(&src) ;
  return nbad ;
}

 /* control/smtpauth shown without its passwords: each line's host and user, then "(password hidden)". */
static void passwords_hidden (stralloc *val)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t i = 0 ;
  while (i < val->len)
  {
    char const *line = val->s + i ;
    size_t n = byte_chr(line, val->len - i, '\n'), j = 0, f ;
    i += n + 1 ;
    while (j < n && (line[j] == ' ' || line[j] == '\t')) j++ ;
    if (j == n || line[j] == '#') catb_to(&sa, line, n) ;
    else
    {
      for (f = 0 ; f < 2 ; f++)
      {
        while (j < n && (line[j] == ' ' || line[j] == '\t')) j++ ;
        while (j < n && line[j] != ' ' && line[j] != '\t') j++ ;
      }
      catb_to(&sa, line, j) ;
      while (j < n && (line[j] == ' ' || line[j] == '\t' || line[j] == '\r')) j++ ;
      if (j < n) catb_to(&sa, " (password hidden)", 18) ;
    }
    if (i <= val->len) catb_to(&sa, "\n", 1) ;
  }
  val->len = 0 ;
  catb_to(val, sa.s, sa.len) ;
  stralloc_free(&sa) ;
}

 /* control/smtpdcert shown as its certificate's subject, end of validity and chain; control/smtpdkey
    never shown. */
static void pem_shown (char const *name, stralloc *val)
{
  ferry_tls_cert cert = FERRY_TLS_CERT_ZERO ;
  stralloc why2 = STRALLOC_ZERO ;
  SSL_CTX *ctx ;
  char fmt[UINT_FMT] ;
  if (!val->len) return ;
  val->len = 0 ;
  if (!strcmp(name, "smtpdkey")) { catb_to(val, "(a private key, not shown)", 26) ; return ; }
  ctx = ferry_tls_server_ctx("control/smtpdcert", "control/smtpdkey", &cert, &why2) ;
  if (ctx) SSL_CTX_free(ctx) ;
  stralloc_free(&why2) ;
  if (!cert.chain) { catb_to(val, "(not a certificate)", 19) ; return ; }
  catb_to(val, cert.subject, strlen(cert.subject)) ;
  catb_to(val, ", valid until ", 14) ;
  catb_to(val, cert.notafter, strlen(cert.notafter)) ;
  if (cert.expired) catb_to(val, " (EXPIRED or not yet valid)", 27) ;
  catb_to(val, ", ", 2) ;
  catb_to(val, fmt, uint_fmt(fmt, cert.chain)) ;
  catb_to(val, cert.chain == 1 ? " certificate" : " certificates in the chain", cert.chain == 1 ? 12 : 26) ;
}

static void trim_lines (stralloc *sa)
{
  while (sa->len && (sa->s[sa->len-1] == '\n' || sa->s[sa->len-1] == ' ' || sa->s[sa->len-1] == '\t' || sa->s[sa->len-1] == '\r')) sa->len-- ;
}

int main (int argc, char const *const *argv)
{
  ferry_control const *c ;
  int json = 0, first = 1 ;
  PROG = "ferry-showctl" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "j", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'j' : json = 1 ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc > 1) strerr_dieusage(100, USAGE) ;
  {
    char const *home = ferry_home(argc ? argv[0] : 0) ;
    if (chdir(home) < 0) strerr_diefu2sys(111, "enter the ferry home ", home) ;
    if (!json) { cats("ferry home ") ; cats(home) ; cats("\n\n") ; }
  }
  if (json) cats("{") ;
  for (c = ferry_control_table ; c->name ; c++)
  {
    stralloc val = STRALLOC_ZERO, def = STRALLOC_ZERO ;
    char const *problem = 0 ;
    int number = c->min <= c->max, fromfile, isdefault ;
    fromfile = ferry_control_readfile(&val, c->name) ;
    if (fromfile < 0) problem = "unreadable" ;
    if (!ferry_control_default(&def, c)) nomem() ;
    if (!strcmp(c->name, "smtpauth")) passwords_hidden(&val) ;
    if (!strcmp(c->name, "smtpdcert") || !strcmp(c->name, "smtpdkey")) pem_shown(c->name, &val) ;
    trim_lines(&val) ;
    trim_lines(&def) ;
    {
      size_t i ;
      for (i = 0 ; i < val.len ; i++) if (!val.s[i] || (val.s[i] != '\n' && (unsigned char)val.s[i] < 32)) val.s[i] = '?' ;
    }
    isdefault = fromfile == 0 || (val.len == def.len && (!val.len || !memcmp(val.s, def.s, val.len))) ;
    if (number && !problem)
    {
      uint64_t u ;
      int r = ferry_control_readu64(c->name, &u) ;
      if (r == -2) problem = "not a number in its range" ;
      else if (r == -1) problem = "unreadable" ;
    }
    if (!number && !problem) problem = text_problem(c->name) ;
    if (!problem) problem = pair_problem(c->name) ;
    if (problem)
    {
      char lo[UINT64_FMT], hi[UINT64_FMT] ;
      lo[uint64_fmt(lo, c->min)] = 0 ;
      hi[uint64_fmt(hi, c->max)] = 0 ;
      problems++ ;
      if (number && !strcmp(problem, "not a number in its range")) strerr_warnw("bad value in control/", c->name, ": it must be one number from ", lo, " to ", hi) ;
      else if (!strcmp(problem, "unreadable")) strerr_warnw("control/", c->name, ": ", problem) ;
      else strerr_warnw("bad value in control/", c->name, ": ", problem) ;
    }
    if (json)
    {
      if (!first) cats(",") ;
      first = 0 ;
      if (!stralloc_0(&val)) nomem() ;
      val.len-- ;
      if (!json_cat(&out, c->name)) nomem() ;
      cats(":{\"value\":") ; if (!json_cat(&out, val.s)) nomem() ;
      cats(",\"default\":") ; cats(isdefault ? "true" : "false") ;
      cats(",\"file\":") ; cats(fromfile > 0 ? "true" : "false") ;
      if (problem) { cats(",\"problem\":") ; if (!json_cat(&out, problem)) nomem() ; }
      cats("}") ;
    }
    else
    {
      size_t i, start = 0 ;
      int lines = 0 ;
      cats(c->name) ; cats(":") ;
      for (i = strlen(c->name) ; i < 24 ; i++) cats(" ") ;
      if (!val.len) cats("(empty)") ;
      for (i = 0 ; i <= val.len ; i++) if (i == val.len || val.s[i] == '\n')
      {
        if (lines++) { size_t k ; cats("\n") ; for (k = 0 ; k < 25 ; k++) cats(" ") ; }
        catb(val.s + start, i - start) ;
        start = i + 1 ;
      }
      cats(problem ? "   <- BAD: " : isdefault ? (fromfile > 0 ? "   (the default)" : "   (the default; no file)") : "") ;
      if (problem) cats(problem) ;
      cats("\n") ;
    }
    stralloc_free(&val) ;
    stralloc_free(&def) ;
  }
  /* files in control/ that ferry does not read */
  {
    DIR *dh = opendir("control") ;
    struct dirent *de ;
    if (!dh) strerr_diefu1sys(111, "open control") ;
    while ((de = readdir(dh)))
    {
      if (de->d_name[0] == '.' || ferry_control_find(de->d_name) || known_extra(de->d_name)) continue ;
      {
        size_t k = strlen(de->d_name) ;
        if (k > 4 && !strcmp(de->d_name + k - 4, ".tmp")) continue ;
      }
      problems++ ;
      strerr_warnw("control/", de->d_name, ": not a ferry setting (a typo?): ignored by ferry") ;
      if (!json) { cats("control/") ; cats(de->d_name) ; cats(": not a ferry setting (a typo?)\n") ; }
    }
    closedir(dh) ;
  }
  problems += table_check("mailboxes", "ferry-mailboxes", &mailboxes_why, json) ;
  problems += table_check("shaping", "ferry-shaping", &shaping_why, json) ;
  {
    struct stat a, b ;
    if (stat("control/mailboxes", &a) == 0 && (stat("control/mailboxes.cdb", &b) < 0 || a.st_mtime > b.st_mtime))
    {
      problems++ ;
      strerr_warnw("control/mailboxes is newer than control/mailboxes.cdb: run ferry-mailboxes") ;
    }
    if (stat("control/shaping", &a) == 0 && (stat("control/shaping.cdb", &b) < 0 || a.st_mtime > b.st_mtime))
    {
      problems++ ;
      strerr_warnw("control/shaping is newer than control/shaping.cdb: run ferry-shaping") ;
    }
    if (stat("control/smtpd.rules", &a) == 0 && (stat("control/smtpd.cdb", &b) < 0 || a.st_mtime > b.st_mtime))
    {
      problems++ ;
      strerr_warnw("control/smtpd.rules is newer than control/smtpd.cdb: run tcprules control/smtpd.cdb control/smtpd.tmp < control/smtpd.rules") ;
    }
  }
  if (json) cats("}\n") ;
  if (buffer_putflush(buffer_1, out.s, out.len) < 0) strerr_diefu1sys(111, "write to stdout") ;
  return problems ? 100 : 0 ;
}
