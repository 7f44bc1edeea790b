/* local_deliver: the loop check, the delivery lines of a target, each line delivered. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "local.h"

#define HEADER_MAX (1 << 20)

 /* Is line s[0..n) (no newline) "Delivered-To:" followed by recipient? */
static int is_dt (char const *s, size_t n, char const *rcpt)
{
  size_t r = strlen(rcpt) ;
  if (n < 13 || strncasecmp(s, "Delivered-To:", 13)) return 0 ;
  s += 13 ; n -= 13 ;
  while (n && (*s == ' ' || *s == '\t')) { s++ ; n-- ; }
  while (n && (s[n-1] == ' ' || s[n-1] == '\t' || s[n-1] == '\r')) n-- ;
  return n == r && !strncasecmp(s, rcpt, r) ;
}

 /* Does the message header hold "Delivered-To: recipient"? 1 yes, 0 no, -1 read error. */
static int seen (int fd, char const *rcpt)
{
  char buf[8192] ;
  stralloc line = STRALLOC_ZERO ;
  off_t off = 0 ;
  int r = 0 ;
  while (off < HEADER_MAX)
  {
    ssize_t got = pread(fd, buf, sizeof(buf), off) ;
    size_t i = 0 ;
    if (got < 0) { r = -1 ; goto end ; }
    if (!got) break ;
    off += got ;
    while (i < (size_t)got)
    {
      size_t k = byte_chr(buf + i, got - i, '\n') ;
      if (!stralloc_catb(&line, buf + i, k)) { r = -1 ; goto end ; }
      if (k == (size_t)got - i) break ;   /* the line goes on in the next block */
      i += k + 1 ;
      if (!line.len || (line.len == 1 && line.s[0] == '\r')) goto end ;   /* end of the header */
      if (is_dt(line.s, line.len, rcpt)) { r = 1 ; goto end ; }
      line.len = 0 ;
    }
  }
 end:
  stralloc_free(&line) ;
  return r ;
}

static char status_merge (char a, char b)
{
  if (a == 'Z' || b == 'Z') return 'Z' ;
  if (a == 'D' || b == 'D') return 'D' ;
  return 'K' ;
}

static int report_add (stralloc *report, char const *s)
{
  if (report->len && !stralloc_cats(report, "; ")) return 0 ;
  return stralloc_cats(report, s) ;
}

 /* The delivery lines of a system user: .ferry-EXT, else .ferry, else control/defaultdelivery.
    Refuses a dot file that another user could have written. */
static char dotfile_read (ferry_local_ctx const *ctx, ferry_local_target const *t, stralloc *lines, stralloc *report)
{
  char const *ext = ferry_local_target_str(t, ext) ;
  struct stat st ;
  int fd = -1 ;
  char name[16 + strlen(ext)] ;
  if (stat(".", &st) < 0) { report_add(report, "unable to stat the home directory") ; return 'Z' ; }
  if (st.st_mode & 002) { report_add(report, "refusing to deliver: the home directory is writable by others") ; return 'Z' ; }
  if (*ext)
  {
    memcpy(name, ".ferry-", 7) ;
    memcpy(name + 7, ext, strlen(ext) + 1) ;
    fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) ;
    if (fd < 0 && errno != ENOENT) goto err ;
  }
  if (fd < 0)
  {
    memcpy(name, ".ferry", 7) ;
    fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) ;
    if (fd < 0 && errno != ENOENT) goto err ;
  }
  if (fd < 0)
  {
    lines->len = 0 ;
    return stralloc_catb(lines, ctx->defaultdelivery.s, ctx->defaultdelivery.len) ? 'K' : 'Z' ;
  }
  if (fstat(fd, &st) < 0) goto err ;
  if ((st.st_mode & 022) || (t->become && st.st_uid != t->uid && st.st_uid != 0))
  {
    fd_close(fd) ;
    report_add(report, "refusing to deliver: ") ;
    stralloc_cats(report, name) ;
    stralloc_cats(report, " is writable by others (or not owned by its user): chmod go-w") ;
    return 'Z' ;
  }
  lines->len = 0 ;
  if (!slurp(lines, fd)) goto err ;
  fd_close(fd) ;
  return 'K' ;
 err:
  {
    int e = errno ;
    if (fd >= 0) fd_close(fd) ;
    report_add(report, "unable to read ") ;
    stralloc_cats(report, name) ;
    stralloc_cats(report, ": ") ;
    stralloc_cats(report, strerror(e)) ;
  }
  return 'Z' ;
}

 /* A path line as the absolute path it names: a relative one (./Maildir/) is under the home, the
    current directory; so reports and log lines name the very file. n > 0. */
static int path_absolute (stralloc *sa, char const *home, char const *line, size_t n)
{
  size_t h = strlen(home) ;
  sa->len = 0 ;
  if (*line == '/' || *home != '/') return stralloc_catb(sa, line, n) && stralloc_0(sa) ;
  while (h && home[h-1] == '/') h-- ;
  if (n >= 2 && line[0] == '.' && line[1] == '/') { line += 2 ; n -= 2 ; }
  return stralloc_catb(sa, home, h) && stralloc_catb(sa, "/", 1) && stralloc_catb(sa, line, n) && stralloc_0(sa) ;
}

static int prefix_make (stralloc *sa, char const *sender, char const *rcpt)
{
  return stralloc_cats(sa, "Return-Path: <")
      && stralloc_cats(sa, sender)
      && stralloc_cats(sa, ">\nDelivered-To: ")
      && stralloc_cats(sa, rcpt)
      && stralloc_cats(sa, "\n") ;
}

char local_deliver (ferry_local_ctx const *ctx, local_state *st, ferry_local_target const *t, int msgfd, char const *sender, char const *rcpt, stralloc *report)
{
  local_msg m = { .fd = msgfd, .sender = sender, .recipient = rcpt, .state = st, .prefix = STRALLOC_ZERO } ;
  stralloc lines = STRALLOC_ZERO, forwards = STRALLOC_ZERO, part = STRALLOC_ZERO, path = STRALLOC_ZERO ;
  char status = 'K' ;
  size_t i = 0, n ;
  char *line ;
  report->len = 0 ;
  switch (seen(msgfd, rcpt))
  {
    case 1 :
      report_add(report, "5.4.6 mail loop: the message was already delivered to ") ;
      stralloc_cats(report, rcpt) ;
      return 'D' ;
    case -1 :
      report_add(report, "unable to read the message") ;
      return 'Z' ;
  }
  if (!prefix_make(&m.prefix, sender, rcpt)) { report_add(report, "out of memory") ; return 'Z' ; }
  if (chdir(t->kind == 'u' ? ferry_local_target_str(t, home) : "/") < 0)
  {
    report_add(report, "unable to enter the home directory ") ;
    stralloc_cats(report, ferry_local_target_str(t, home)) ;
    status = 'Z' ;
    goto end ;
  }
  if (t->kind == 'u')
  {
    status = dotfile_read(ctx, t, &lines, report) ;
    if (status != 'K') goto end ;
  }
  else if (!stralloc_cats(&lines, ferry_local_target_str(t, lines))) { status = 'Z' ; goto end ; }

  /* a byte of room after the last line, which is terminated in place */
  if (!stralloc_0(&lines)) { status = 'Z' ; goto end ; }
  lines.len-- ;
  while (status == 'K' && local_line_next(lines.s, lines.len, &i, &line, &n))
  {
    char r = 'K' ;
    part.len = 0 ;
    switch (*line)
    {
      case '|' :
        r = local_program(ctx, t, &m, line + 1, &part) ;
        if (r == 'S') { r = 'K' ; i = lines.len ; }   /* exit 99: delivered, and no further line */
        break ;
      case '&' :
        if (!line[1]) { r = 'Z' ; stralloc_cats(&part, "an empty forward line") ; break ; }
        if (!stralloc_catb(&forwards, line + 1, n)) r = 'Z' ;
        continue ;
      case '/' :
      case '.' :
        if (!path_absolute(&path, t->kind == 'u' ? ferry_local_target_str(t, home) : "/", line, n))
        {
          r = 'Z' ;
          stralloc_cats(&part, "out of memory") ;
          break ;
        }
        r = line[n-1] == '/' ? local_maildir(&m, path.s, &part) : local_mbox(&m, path.s, &part) ;
        break ;
      default :
        r = 'Z' ;
        if (!stralloc_cats(&part, "bad delivery line: ") || !stralloc_catb(&part, line, n > 60 ? 60 : n)
         || !stralloc_cats(&part, " (a line starts with /, ./, |, & or #)")) break ;
        break ;
    }
    status = status_merge(status, r) ;
    if (part.len && (!stralloc_0(&part) || !report_add(report, part.s))) status = 'Z' ;
  }
  if (status == 'K' && forwards.len)
  {
    part.len = 0 ;
    status = local_forward(ctx, &m, &forwards, &part) ;
    if (!stralloc_0(&part) || !report_add(report, part.s)) status = 'Z' ;
  }
  if (status == 'K' && !report->len)
  {
    /* never drop mail silently: a file of comments only is a mistake to fix */
    status = 'Z' ;
    report_add(report, "no delivery line for ") ;
    stralloc_cats(report, rcpt) ;
  }
  if (status == 'K' && !stralloc_insertb(report, 0, "delivered: ", 11)) status = 'Z' ;
 end:
  stralloc_free(&lines) ;
  stralloc_free(&forwards) ;
  stralloc_free(&part) ;
  stralloc_free(&path) ;
  stralloc_free(&m.prefix) ;
  if (report->len > 1000) report->len = 1000 ;
  return status ;
}
