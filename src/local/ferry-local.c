/* ferry-local: deliver one message (fd 0) to one local recipient, by hand or from a script. */

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include <ferry/home.h>

#include "local.h"

#define USAGE "ferry-local [ -d home ] sender recipient < message"

 /* Program and mbox deliveries read the message at offsets: a pipe is copied to memory first. */
static int seekable_input (void)
{
  char buf[65536] ;
  int fd ;
  if (lseek(0, 0, SEEK_SET) == 0) return 0 ;
  fd = memfd_create("ferry-local", MFD_CLOEXEC) ;
  if (fd < 0) strerr_diefu1sys(111, "make a memory file for the message") ;
  for (;;)
  {
    ssize_t r = fd_read(0, buf, sizeof(buf)) ;
    if (r < 0) strerr_diefu1sys(111, "read the message") ;
    if (!r) break ;
    if (allwrite(fd, buf, r) < (size_t)r) strerr_diefu1sys(111, "copy the message") ;
  }
  return fd ;
}

static int report (char status, stralloc const *text)
{
  char s[2] = { status, ' ' } ;
  if (buffer_put(buffer_1, s, 2) < 0
   || buffer_put(buffer_1, text->s, text->len) < 0
   || buffer_put(buffer_1, "\n", 1) < 0
   || !buffer_flush(buffer_1))
    strerr_diefu1sys(111, "write to stdout") ;
  return status == 'K' ? 0 : status == 'D' ? 100 : 111 ;
}

int main (int argc, char const *const *argv)
{
  ferry_local_ctx ctx = FERRY_LOCAL_CTX_ZERO ;
  ferry_local_target t = FERRY_LOCAL_TARGET_ZERO ;
  local_state st = LOCAL_STATE_ZERO ;
  stralloc text = STRALLOC_ZERO ;
  char const *home = 0 ;
  char status ;
  int fd ;
  PROG = "ferry-local" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "d:", &l) ;
      if (opt == -1) break ;
      if (opt == 'd') home = l.arg ;
      else strerr_dieusage(100, USAGE) ;
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc != 2 || !argv[1][0]) strerr_dieusage(100, USAGE) ;
  sig_ignore(SIGPIPE) ;
  if (chdir(ferry_home(home)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  if (!ferry_local_ctx_load(&ctx, &text)) { if (!stralloc_0(&text)) strerr_diefu1sys(111, "allocate") ; strerr_dief1x(111, text.s) ; }
  fd = seekable_input() ;
  status = ferry_local_resolve(&ctx, argv[1], &t, &text) ;
  if (status != 'K') return report(status, &text) ;
  if (!local_become(&t)) strerr_diefu1sys(111, "switch to the mailbox owner") ;
  status = local_deliver(&ctx, &st, &t, fd, argv[0], argv[1], &text) ;
  return report(status, &text) ;
}
