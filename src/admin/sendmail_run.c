/* sendmail_run: the sendmail command line that cron, scripts and mail clients call; reads the
   message on fd 0, completes its header, and queues it with ferry-injectd or ferry-inject. Exit
   codes are the sysexits that callers of sendmail expect. Run by ferry-sendmail-run in the
   caller's own process, and by a worker of ferry-sendmaild that has become the caller. */

#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <s6/supervise.h>

#include <ferry/control.h>
#include <ferry/date822.h>
#include <ferry/envelope.h>
#include <ferry/home.h>
#include <ferry/inject.h>
#include <ferry/inject_run.h>

#include "admin.h"

#define USAGE "ferry-sendmail [ -t ] [ -i | -oi ] [ -f sender ] [ -F fullname ] [ -N dsn ] [ -R full|hdrs ] [ -V envid ] [ -bp | -bm ] [ recipient ... ] | -q"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOINPUT 66
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70
#define EX_OSERR 71
#define EX_CANTCREAT 73
#define EX_TEMPFAIL 75
#define EX_NOPERM 77

static stralloc me = STRALLOC_ZERO ;

static void nomem (void) { strerr_diefu1sys(EX_TEMPFAIL, "allocate memory") ; }

 /* An address as given: without @, it is at control/me. */
static void qualify (stralloc *sa, char const *a)
{
  if (!stralloc_cats(sa, a)) nomem() ;
  if (a[0] && !strchr(a, '@') && (!stralloc_catb(sa, "@", 1) || !stralloc_catb(sa, me.s, me.len))) nomem() ;
}

static int name_is (char const *line, size_t len, char const *name)
{
  size_t n = strlen(name) ;
  return len > n && !strncasecmp(line, name, n) && line[n] == ':' ;
}

 /* the fields whose addresses are qualified, as the envelope's are */
static int holds_addresses (char const *f, size_t n)
{
  static char const *const names[] = { "From", "Sender", "Reply-To", "To", "Cc", "Bcc", 0 } ;
  char const *const *p ;
  if (n > 7 && !strncasecmp(f, "Resent-", 7)) { f += 7 ; n -= 7 ; }
  for (p = names ; *p ; p++) if (name_is(f, n, *p)) return 1 ;
  return 0 ;
}

 /* Does s start with a header field ("Name:" with printable, non-space name characters)? */
static int looks_like_field (char const *s, size_t len)
{
  size_t i ;
  for (i = 0 ; i < len && s[i] != ':' ; i++)
    if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127) return 0 ;
  return i > 0 && i < len ;
}

 /* A display name, quoted when it has anything but atom characters and spaces. */
static void cat_name (stralloc *sa, char const *s)
{
  char const *p ;
  int plain = 1 ;
  for (p = s ; *p ; p++) if (strchr("()<>[]:;@\\,.\"", *p) || (unsigned char)*p < 32) plain = 0 ;
  if (plain) { if (!stralloc_cats(sa, s)) nomem() ; return ; }
  if (!stralloc_catb(sa, "\"", 1)) nomem() ;
  for (p = s ; *p ; p++)
  {
    if ((unsigned char)*p < 32) continue ;
    if ((*p == '"' || *p == '\\') && !stralloc_catb(sa, "\\", 1)) nomem() ;
    if (!stralloc_catb(sa, p, 1)) nomem() ;
  }
  if (!stralloc_catb(sa, "\"", 1)) nomem() ;
}

 /* -q: every deferred recipient is tried now. This is what s6-svc -a does: a SIGALRM to the
    set's queue manager, through its supervisor's control FIFO (service/ferry/supervise/control).
    Who may write there may flush the queue; stdin is not read. */
static int flush_queue (char const *home)
{
  size_t n = strlen(home) ;
  char dir[n + 15], fifo[n + 33] ;
  s6_svstatus_t st = S6_SVSTATUS_ZERO ;
  int r ;
  memcpy(dir, home, n) ;
  memcpy(dir + n, "/service/ferry", 15) ;
  memcpy(fifo, dir, n + 14) ;
  memcpy(fifo + n + 14, "/" S6_SUPERVISE_CTLDIR "/control", 19) ;
  if (!s6_svstatus_read(dir, &st))
  {
    if (errno == EACCES) strerr_dief(EX_NOPERM, "the queue was not flushed: permission denied to read ", dir, "/supervise/status (flushing the queue is for the set's supervisor's owner, root in a root install)") ;
    if (errno == ENOENT) strerr_dief(EX_UNAVAILABLE, "the queue was not flushed: the set is not running: ", dir, " is not supervised (s6-svscan ", home, "/service starts it)") ;
    strerr_diefu3sys(EX_OSERR, "read ", dir, "/supervise/status") ;
  }
  if (!st.pid || st.flagfinishing)
    strerr_dief(EX_UNAVAILABLE, "the queue was not flushed: the set is not running (s6-svc -u ", dir, " starts it)") ;
  r = s6_svc_write(fifo, "a", 1) ;
  if (r < 0)
  {
    if (errno == EACCES) strerr_dief(EX_NOPERM, "the queue was not flushed: permission denied to write ", fifo, " (flushing the queue is for the set's supervisor's owner, root in a root install)") ;
    strerr_diefu2sys(EX_OSERR, "write to ", fifo) ;
  }
  if (!r) strerr_dief(EX_UNAVAILABLE, "the queue was not flushed: the set is not running: nothing supervises ", dir) ;
  return EX_OK ;   /* silent, as cron wants it */
}

static int exit_of (int e)
{
  switch (e)
  {
    case FERRY_INJECT_OK : return EX_OK ;
    case FERRY_INJECT_ADDRTOOLONG : case FERRY_INJECT_ENVELOPE : return EX_DATAERR ;
    case FERRY_INJECT_REFUSED : case FERRY_INJECT_TOOBIG : return EX_UNAVAILABLE ;
    case FERRY_INJECT_BUG : return EX_SOFTWARE ;
    case FERRY_INJECT_RUN_EXEC : return EX_OSERR ;
    case FERRY_INJECT_WRITE : case FERRY_INJECT_PID : case FERRY_INJECT_MESS : case FERRY_INJECT_INTD : case FERRY_INJECT_TODO : return EX_CANTCREAT ;
  }
  return EX_TEMPFAIL ;
}

 /* Does s hold a line with a single dot (which ends a message read without -i)? */
static int dot_line (char const *s, size_t n)
{
  size_t i = 0 ;
  while (i < n)
  {
    char const *nl = memchr(s + i, '\n', n - i) ;
    size_t end = nl ? (size_t)(nl - s) : n ;
    if (!nl) return 0 ;
    if ((end - i == 1 && s[i] == '.') || (end - i == 2 && s[i] == '.' && s[i+1] == '\r')) return 1 ;
    i = end + 1 ;
  }
  return 0 ;
}

static void caller_gone (void)
{
  strerr_dief1x(EX_TEMPFAIL, "the caller went away before its message was whole: nothing was queued") ;
}

 /* watch: the connection of ferry-sendmail, whose end (it was killed) stops the job */
static ssize_t input_read (char *buf, size_t n, int watch)
{
  if (watch >= 0)
  {
    struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = watch, .events = POLLIN } } ;
    for (;;)
    {
      int r = poll(p, 2, -1) ;
      if (r < 0) { if (errno == EINTR) continue ; return -1 ; }
      if (p[1].revents) caller_gone() ;
      if (p[0].revents) break ;
    }
  }
  return read(0, buf, n) ;
}

int sendmail_run (int argc, char const *const *argv, int watch)
{
  char const *sender = 0, *fullname = 0, *notify = 0, *ret = 0, *envid = 0 ;
  int fromheader = 0, dotends = 1, list = 0, flush = 0 ;
  stralloc in = STRALLOC_ZERO, msg = STRALLOC_ZERO, env = STRALLOC_ZERO, rcpts = STRALLOC_ZERO, extra = STRALLOC_ZERO ;
  stralloc from = STRALLOC_ZERO ;   /* the sender when it is made here */
  char const *home ;
  char homebuf[PATH_MAX] ;
  unsigned int nrcpt = 0 ;
  size_t hlen = 0 ;
  int hasdate = 0, hasmid = 0, hasfrom = 0, e ;
  char const *base = argv[0] ? strrchr(argv[0], '/') : 0 ;
  (void)argc ;
  base = base ? base + 1 : argv[0] ? argv[0] : "" ;
  if (!strcmp(base, "mailq")) list = 1 ;
  if (!strcmp(base, "newaliases"))
  {
    if (buffer_putsflush(buffer_2, "newaliases: nothing to rebuild: ferry's aliases are control/mailboxes, compiled by ferry-mailboxes\n") < 0) _exit(EX_OSERR) ;
    return EX_OK ;
  }

  /* sendmail's options: letters with their value attached or in the next argument */
  for (argv++ ; *argv ; argv++)
  {
    char const *a = *argv ;
    if (a[0] != '-' || !a[1]) break ;
    if (!strcmp(a, "--")) { argv++ ; break ; }
    switch (a[1])
    {
      case 't' : fromheader = 1 ; break ;
      case 'i' : dotends = 0 ; break ;
      case 'o' :
        if (!strcmp(a, "-oi")) dotends = 0 ;
        else if (!strcmp(a, "-o") && argv[1]) argv++ ;   /* -o option value: ignored */
        break ;                                          /* -oem, -odb, -oQ...: ignored */
      case 'f' : case 'r' : case 'F' : case 'N' : case 'R' : case 'V' : case 'B' : case 'C' : case 'L' : case 'X' :
      {
        char const *v = a[2] ? a + 2 : argv[1] ;
        if (!v) strerr_dief(EX_USAGE, "option ", a, " needs a value: ", USAGE) ;
        if (!a[2]) argv++ ;
        if (a[1] == 'f' || a[1] == 'r') sender = v ;
        else if (a[1] == 'F') fullname = v ;
        else if (a[1] == 'N') notify = v ;
        else if (a[1] == 'R') ret = v ;
        else if (a[1] == 'V') envid = v ;
        break ;   /* -B, -C, -L, -X: accepted and ignored */
      }
      case 'b' :
        if (!strcmp(a, "-bp")) list = 1 ;
        else if (!strcmp(a, "-bi"))
        {
          if (buffer_putsflush(buffer_2, "ferry-sendmail: -bi: nothing to rebuild: ferry's aliases are control/mailboxes, compiled by ferry-mailboxes\n") < 0) _exit(EX_OSERR) ;
          return EX_OK ;
        }
        else if (strcmp(a, "-bm")) strerr_dief(EX_USAGE, "mode not supported: ", a, " (ferry-sendmail does -bm, -bp and -bi)") ;
        break ;
      case 'q' :
        /* -q, -qf, -q1h, -qRsite, -qSsender, -qIid...: each flushes the whole queue (a site, a
           sender or an id is not told apart: trying more than asked for is harmless) */
        flush = 1 ;
        if ((!strcmp(a, "-qR") || !strcmp(a, "-qS") || !strcmp(a, "-qI")) && argv[1]) argv++ ;
        break ;
      case 'v' : case 'm' : case 'n' : case 'U' : case 'G' : case 'e' : case 'h' : break ;
      default : strerr_dief(EX_USAGE, "unknown option ", a, ": ", USAGE) ;
    }
  }

  home = ferry_home_bare(homebuf, sizeof(homebuf)) ;
  if (flush && !list)
  {
    if (*argv) strerr_dief(EX_USAGE, "-q flushes the queue and takes no recipients: ", USAGE) ;
    return flush_queue(home) ;
  }
  if (list)
  {
    char path[strlen(home) + 20] ;
    char const *av[] = { "ferry-qread", home, 0 } ;
    memcpy(path, home, strlen(home)) ;
    memcpy(path + strlen(home), "/bin/ferry-qread", 17) ;
    execv(path, (char *const *)av) ;
    strerr_diefu2sys(EX_OSERR, "exec ", path) ;
  }
  if (chdir(home) < 0) strerr_diefu2sys(EX_TEMPFAIL, "enter the ferry home ", home) ;
  ferry_control_line_or_die(&me, "me", EX_TEMPFAIL) ;

  /* the sender: -f, else the caller's login name at me */
  if (!sender)
  {
    stralloc name = STRALLOC_ZERO ;
    int r = login_name(&name, getuid()) ;
    if (r < 0) strerr_diefu1sys(EX_TEMPFAIL, "find the caller's login name (use -f)") ;
    if (!r)
    {
      char f[UINT64_FMT] ;
      f[uint64_fmt(f, getuid())] = 0 ;
      strerr_dief(EX_TEMPFAIL, "unable to find the caller's login name: uid ", f, " is not in /etc/passwd and getent passwd does not know it (use -f)") ;
    }
    qualify(&from, name.s) ;
    if (!stralloc_0(&from)) nomem() ;
    stralloc_free(&name) ;
    sender = from.s ;
  }
  else if (!strcmp(sender, "<>")) sender = "" ;
  else
  {
    stralloc s = STRALLOC_ZERO ;
    size_t k = strlen(sender) ;
    if (k >= 2 && sender[0] == '<' && sender[k-1] == '>') { if (!stralloc_catb(&s, sender + 1, k - 2) || !stralloc_0(&s)) nomem() ; sender = s.s ; }
    qualify(&from, sender) ;
    if (!stralloc_0(&from)) nomem() ;
    stralloc_free(&s) ;
    sender = from.s ;
  }
  for (; *argv ; argv++)
  {
    qualify(&rcpts, *argv) ;
    if (!stralloc_0(&rcpts)) nomem() ;
    nrcpt++ ;
  }

  /* the message, at most control/databytes and 64 KiB (the Bcc: lines it may lose) in memory:
     more can never be queued */
  {
    char buf[65536] ;
    uint64_t most = ferry_control_u64_or_die("databytes", EX_TEMPFAIL) ;
    for (;;)
    {
      ssize_t r = input_read(buf, sizeof(buf), watch) ;
      if (r < 0) { if (errno == EINTR) continue ; strerr_diefu1sys(EX_NOINPUT, "read the message") ; }
      if (!r) break ;
      if (!stralloc_catb(&in, buf, r)) nomem() ;
      if (most && in.len > 65536 && in.len - 65536 > most)
      {
        /* without -i, what follows a line with a single dot is not read anyway */
        if (dotends && dot_line(in.s, in.len)) break ;
        strerr_dief1x(EX_UNAVAILABLE, "the message was not queued: it is larger than control/databytes") ;
      }
    }
  }
  if (dotends)
  {
    /* without -i, a line with a single dot ends the message */
    size_t i = 0 ;
    while (i < in.len)
    {
      char const *nl = memchr(in.s + i, '\n', in.len - i) ;
      size_t end = nl ? (size_t)(nl - in.s) : in.len ;
      size_t l = end - i ;
      if ((l == 1 && in.s[i] == '.') || (l == 2 && in.s[i] == '.' && in.s[i+1] == '\r')) { in.len = i ; break ; }
      i = end + 1 ;
    }
  }

  /* the header: up to the first empty line, when the input starts with a field at all */
  if (looks_like_field(in.s, in.len))
  {
    size_t i = 0 ;
    for (;;)
    {
      char const *nl = i < in.len ? memchr(in.s + i, '\n', in.len - i) : 0 ;
      size_t end = nl ? (size_t)(nl - in.s) : in.len ;
      if (end == i || (end == i + 1 && in.s[i] == '\r')) { hlen = i ; break ; }
      if (!nl) { hlen = in.len ; break ; }
      i = end + 1 ;
    }
  }

  /* fields one by one (a field with its continuation lines): Bcc goes, -t reads To, Cc, Bcc */
  {
    size_t i = 0 ;
    while (i < hlen)
    {
      size_t j = i, fieldend ;
      for (;;)
      {
        char const *nl = memchr(in.s + j, '\n', hlen - j) ;
        j = nl ? (size_t)(nl - in.s) + 1 : hlen ;
        if (j >= hlen || (in.s[j] != ' ' && in.s[j] != '\t')) break ;
      }
      fieldend = j ;
      {
        char const *f = in.s + i ;
        size_t n = fieldend - i ;
        int bcc = name_is(f, n, "Bcc") || name_is(f, n, "Resent-Bcc") ;
        if (name_is(f, n, "Date")) hasdate = 1 ;
        if (name_is(f, n, "Message-ID")) hasmid = 1 ;
        if (name_is(f, n, "From")) hasfrom = 1 ;
        if (fromheader && (bcc || name_is(f, n, "To") || name_is(f, n, "Cc")))
        {
          stralloc got = STRALLOC_ZERO ;
          char const *colon = memchr(f, ':', n) ;
          int k = addrlist_parse(&got, colon + 1, n - (colon + 1 - f)), m ;
          size_t p = 0 ;
          if (k == -1) nomem() ;
          if (k < 0)
            strerr_dief(EX_DATAERR, "an address in the ", bcc ? "Bcc" : "To or Cc", " field holds a null byte or a control character: nothing was sent") ;
          for (m = 0 ; m < k ; m++)
          {
            qualify(&rcpts, got.s + p) ;
            if (!stralloc_0(&rcpts)) nomem() ;
            nrcpt++ ;
            p += strlen(got.s + p) + 1 ;
          }
          stralloc_free(&got) ;
        }
        if (bcc) ;
        else if (holds_addresses(f, n))
        {
          /* From: root, To: alice: each bare local part at me, all else byte for byte */
          char const *colon = memchr(f, ':', n) ;
          size_t k = colon + 1 - f ;
          if (!stralloc_catb(&msg, f, k) || addrlist_qualify(&msg, f + k, n - k, me.s, me.len) < 0) nomem() ;
        }
        else if (!stralloc_catb(&msg, f, n)) nomem() ;
        if (!bcc && n && f[n-1] != '\n' && !stralloc_catb(&msg, "\n", 1)) nomem() ;
      }
      i = fieldend ;
    }
  }
  if (!nrcpt) strerr_dief1x(EX_DATAERR, "no recipients: give them as arguments, or use -t with To:, Cc: or Bcc: in the header") ;

  /* what a message must have and the caller left out */
  {
    char d[64] ;
    if (!hasfrom)
    {
      if (!stralloc_cats(&extra, "From: ")) nomem() ;
      if (fullname && fullname[0]) { cat_name(&extra, fullname) ; if (!stralloc_cats(&extra, " <")) nomem() ; }
      if (!stralloc_cats(&extra, sender[0] ? sender : "MAILER-DAEMON") || (fullname && fullname[0] && !stralloc_catb(&extra, ">", 1)) || !stralloc_catb(&extra, "\n", 1)) nomem() ;
    }
    if (!hasdate && (!stralloc_cats(&extra, "Date: ") || !stralloc_catb(&extra, d, ferry_date822_fmt(d, time(0))) || !stralloc_catb(&extra, "\n", 1))) nomem() ;
    if (!hasmid)
    {
      char f[UINT64_FMT] ;
      struct timespec ts ;
      clock_gettime(CLOCK_REALTIME, &ts) ;
      if (!stralloc_cats(&extra, "Message-ID: <") || !stralloc_catb(&extra, f, uint64_fmt(f, (uint64_t)ts.tv_sec)) || !stralloc_catb(&extra, ".", 1)
       || !stralloc_catb(&extra, f, uint64_fmt(f, (uint64_t)ts.tv_nsec)) || !stralloc_catb(&extra, ".", 1)
       || !stralloc_catb(&extra, f, uint64_fmt(f, (uint64_t)getpid())) || !stralloc_cats(&extra, ".ferry@")
       || !stralloc_catb(&extra, me.s, me.len) || !stralloc_cats(&extra, ">\n")) nomem() ;
    }
  }
  {
    stralloc full = STRALLOC_ZERO ;
    if (!stralloc_cat(&full, &extra) || !stralloc_cat(&full, &msg) || !stralloc_catb(&full, "\n", 1)) nomem() ;
    if (hlen < in.len)
    {
      /* the body, after the header's empty line (or all of it when there was no header) */
      size_t b = hlen ;
      if (hlen) { if (in.s[b] == '\r') b++ ; if (b < in.len && in.s[b] == '\n') b++ ; }
      if (!stralloc_catb(&full, in.s + b, in.len - b)) nomem() ;
    }
    stralloc_free(&msg) ;
    msg = full ;
  }

  /* the envelope, with the DSN parameters of -N, -R, -V */
  if (!stralloc_catb(&env, "F", 1) || !stralloc_cats(&env, sender) || !stralloc_0(&env)) nomem() ;
  if (envid)
  {
    /* as xtext (RFC 3461): printable ASCII but + and =, anything else +XX */
    char const *p ;
    if (!stralloc_cats(&env, "XENVID=")) nomem() ;
    for (p = envid ; *p ; p++)
    {
      unsigned char c = *p ;
      if (c > 32 && c < 127 && c != '+' && c != '=') { if (!stralloc_catb(&env, p, 1)) nomem() ; }
      else
      {
        char x[3] = { '+', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15] } ;
        if (!stralloc_catb(&env, x, 3)) nomem() ;
      }
    }
    if (!stralloc_0(&env)) nomem() ;
  }
  if (ret && (!stralloc_cats(&env, "XRET=") || !stralloc_cats(&env, ret) || !stralloc_0(&env))) nomem() ;
  {
    size_t p = 0 ;
    unsigned int k ;
    for (k = 0 ; k < nrcpt ; k++)
    {
      if (!stralloc_catb(&env, "T", 1) || !stralloc_cats(&env, rcpts.s + p) || !stralloc_0(&env)) nomem() ;
      if (notify && (!stralloc_cats(&env, "XNOTIFY=") || !stralloc_cats(&env, notify) || !stralloc_0(&env))) nomem() ;
      p += strlen(rcpts.s + p) + 1 ;
    }
  }
  if (!stralloc_0(&env)) nomem() ;
  if (watch >= 0)
  {
    /* the last moment to stop: the caller killed before this queues nothing */
    struct pollfd p = { .fd = watch, .events = POLLIN } ;
    if (poll(&p, 1, 0) > 0) caller_gone() ;
  }
  {
    char const *av[] = { "ferry-inject", ".", 0 } ;
    e = ferry_inject_submit("bin/ferry-inject", av, msg.s, msg.len, env.s, env.len) ;
  }
  if (e < 0) strerr_diefu1sys(EX_OSERR, "hand the message to ferry-injectd or bin/ferry-inject (it may or may not be queued)") ;
  if (e)
  {
    char f[UINT_FMT] ;
    f[uint_fmt(f, e)] = 0 ;
    strerr_dief(exit_of(e), "the message was not queued: the queue answered ", f, ": ", ferry_inject_strerror(e)) ;
  }
  /* what the job holds is freed: a worker of ferry-sendmaild serves the next call in this
     process */
  stralloc_free(&in) ;
  stralloc_free(&msg) ;
  stralloc_free(&env) ;
  stralloc_free(&rcpts) ;
  stralloc_free(&extra) ;
  stralloc_free(&from) ;
  return EX_OK ;
}
