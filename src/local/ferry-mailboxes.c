/* ferry-mailboxes: compile control/mailboxes into control/mailboxes.cdb, atomically. */

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/cdbmake.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/home.h>
#include <ferry/queue.h>

#define USAGE "ferry-mailboxes [ home ]"
#define TMP "control/mailboxes.cdb.tmp"

static unsigned int lineno = 0 ;

static void bad (char const *what)
{
  char fmt[UINT_FMT] ;
  unlink(TMP) ;
  fmt[uint_fmt(fmt, lineno)] = 0 ;
  strerr_dief(100, "control/mailboxes:", fmt, ": ", what, ": nothing changed") ;
}

static void trim (char **s, size_t *n)
{
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r')) (*n)-- ;
  while (*n && (**s == ' ' || **s == '\t')) { (*s)++ ; (*n)-- ; }
}

static int address_ok (char *s, size_t n)
{
  size_t at = byte_chr(s, n, '@'), i ;
  if (at == n || at + 1 == n || byte_chr(s + at + 1, n - at - 1, '@') < n - at - 1) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    unsigned char c = s[i] ;
    if (c <= 32 || c == 127) return 0 ;
    if (c >= 'A' && c <= 'Z') s[i] = c + 32 ;
  }
  return 1 ;
}

static int is_instruction (char c)
{
  return c == '/' || c == '|' || c == '&' ;
}

int main (int argc, char const *const *argv)
{
  stralloc src = STRALLOC_ZERO, data = STRALLOC_ZERO ;
  cdbmaker cm = CDBMAKER_ZERO ;
  size_t i = 0 ;
  unsigned int entries = 0 ;
  char fmt[UINT_FMT] ;
  int fd ;
  PROG = "ferry-mailboxes" ;
  if (argc > 2) strerr_dieusage(100, USAGE) ;
  if (chdir(ferry_home(argc > 1 ? argv[1] : 0)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  if (!openslurpclose(&src, "control/mailboxes")) strerr_diefu1sys(111, "read control/mailboxes") ;
  fd = open(TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) ;
  if (fd < 0) strerr_diefu2sys(111, "create ", TMP) ;
  if (!cdbmake_start(&cm, fd)) strerr_diefu2sys(111, "write ", TMP) ;
  while (i < src.len)
  {
    size_t k = byte_chr(src.s + i, src.len - i, '\n') ;
    char *line = src.s + i ;
    size_t n = k ;
    char *addr, *owner = 0, *instr ;
    size_t an, on = 0, in, c ;
    i += k + 1 ;
    lineno++ ;
    trim(&line, &n) ;
    if (!n || *line == '#') continue ;
    c = byte_chr(line, n, ':') ;
    if (c == n) bad("no colon: a line is address:instruction or address:owner:instruction") ;
    addr = line ; an = c ;
    trim(&addr, &an) ;
    if (!address_ok(addr, an)) bad("bad address: write user@domain, user-ext@domain or @domain") ;
    instr = line + c + 1 ; in = n - c - 1 ;
    trim(&instr, &in) ;
    if (in && !is_instruction(*instr))
    {
      c = byte_chr(instr, in, ':') ;
      if (c == in) bad("the instruction must start with / (Maildir/ or mbox), | (program) or & (forward)") ;
      owner = instr ; on = c ;
      trim(&owner, &on) ;
      instr += c + 1 ; in -= c + 1 ;
      trim(&instr, &in) ;
      {
        char name[on + 1] ;
        memcpy(name, owner, on) ; name[on] = 0 ;
        if (!on || !getpwnam(name)) bad("the owner is not a user of this system") ;
      }
    }
    if (!in || !is_instruction(*instr)) bad("the instruction must start with / (Maildir/ or mbox), | (program) or & (forward)") ;
    if (in == 1) bad("empty instruction") ;
    data.len = 0 ;
    if (!stralloc_catb(&data, owner ? owner : "", on) || !stralloc_0(&data) || !stralloc_catb(&data, instr, in))
      strerr_diefu1sys(111, "allocate") ;
    if (!cdbmake_add(&cm, addr, an, data.s, data.len)) strerr_diefu2sys(111, "write ", TMP) ;
    entries++ ;
  }
  if (!cdbmake_finish(&cm) || fsync(fd) < 0) strerr_diefu2sys(111, "write ", TMP) ;
  fd_close(fd) ;
  if (rename(TMP, "control/mailboxes.cdb") < 0) strerr_diefu2sys(111, "rename ", TMP) ;
  if (ferry_dir_sync("control") < 0) strerr_diefu1sys(111, "sync control/") ;
  fmt[uint_fmt(fmt, entries)] = 0 ;
  if (buffer_puts(buffer_1, "ferry-mailboxes: ") < 0 || buffer_puts(buffer_1, fmt) < 0
   || buffer_puts(buffer_1, " lines compiled into control/mailboxes.cdb\n") < 0 || !buffer_flush(buffer_1))
    strerr_diefu1sys(111, "write to stdout") ;
  return 0 ;
}
