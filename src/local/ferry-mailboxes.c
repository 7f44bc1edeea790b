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
#include <ferry/mailboxes.h>
#include <ferry/queue.h>
#include <ferry/sysusers.h>


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
    ferry_mailboxes_entry e ;
    char const *why ;
    i += k + 1 ;
    lineno++ ;
    why = ferry_mailboxes_line(line, n, &e) ;
    if (why) bad(why) ;
    if (!e.addr) continue ;
    if (e.owner)
    {
      char name[e.ownerlen + 1] ;
      memcpy(name, e.owner, e.ownerlen) ; name[e.ownerlen] = 0 ;
      struct passwd *pw = getpwnam(name) ;
      if (!pw) bad("the owner is not a user of this system") ;
      if (!pw->pw_uid) bad("the owner is root: ferry never delivers as root, name another owner") ;
      if (ferry_sysusers_ferry(pw->pw_name)) bad("the owner is one of ferry's own users (ferryq, ferrys, ferryr, ferryl): name another owner") ;
    }
    data.len = 0 ;
    if (!stralloc_catb(&data, e.owner ? e.owner : "", e.ownerlen) || !stralloc_0(&data) || !stralloc_catb(&data, e.instr, e.instrlen))
      strerr_diefu1sys(111, "allocate") ;
    if (!cdbmake_add(&cm, e.addr, e.addrlen, data.s, data.len)) strerr_diefu2sys(111, "write ", TMP) ;
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
