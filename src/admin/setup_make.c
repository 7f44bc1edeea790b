/* setup_make: ferry-setup makes a path as its line of package/modes says, or checks it. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/modes.h>

#include "setup.h"

setup_item const setup_items[] = { FERRY_MODES_TABLE } ;

void setup_say (char const *what, char const *path, char const *more)
{
  if (buffer_puts(buffer_1, what) < 0
   || buffer_puts(buffer_1, path) < 0
   || buffer_puts(buffer_1, more) < 0
   || buffer_put(buffer_1, "\n", 1) < 0
   || !buffer_flush(buffer_1))
    strerr_diefu1sys(111, "write to stdout") ;
}

setup_item const *setup_item_of (char const *path)
{
  setup_item const *it ;
  for (it = setup_items ; it->kind ; it++) if (!strcmp(it->path, path)) return it ;
  strerr_dief(111, "package/modes has no line for ", path) ;
}

void setup_owner (setup const *s, setup_item const *it, uid_t *uid, gid_t *gid)
{
  struct passwd *pw ;
  struct group *gr ;
  if (!s->dedicated) { *uid = s->homeuid ; *gid = s->homegid ; return ; }
  pw = getpwnam(it->owner) ;
  if (!pw) strerr_dief(111, "no user ", it->owner, ": run ferry-setup -u as root to create it") ;
  gr = getgrnam(it->group) ;
  if (!gr) strerr_dief(111, "no group ", it->group, ": run ferry-setup -u as root to create it") ;
  *uid = pw->pw_uid ;
  *gid = gr->gr_gid ;
}

void setup_check (setup *s, char const *path, setup_item const *it, char kind)
{
  struct stat st ;
  uid_t uid ;
  gid_t gid ;
  if (lstat(path, &st) < 0)
  {
    if (errno != ENOENT) strerr_diefu2sys(111, "stat ", path) ;
    setup_say("missing: ", path, "") ;
    s->problems++ ;
    return ;
  }
  setup_owner(s, it, &uid, &gid) ;
  if (kind == 'f' ? !S_ISFIFO(st.st_mode) : kind == 'b' || kind == 'r' ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))
  {
    setup_say("wrong type: ", path, kind == 'f' ? " (want a FIFO)" : kind == 'b' ? " (want a program)" : kind == 'r' ? " (want a file)" : " (want a directory)") ;
    s->problems++ ;
  }
  if ((st.st_mode & 07777) != it->mode)
  {
    char want[16] = " (want 0" ;
    size_t n = 8 + uint_ofmt(want + 8, it->mode) ;
    want[n++] = ')' ; want[n] = 0 ;
    setup_say("wrong mode: ", path, want) ;
    s->problems++ ;
  }
  if (st.st_uid != uid || st.st_gid != gid)
  {
    setup_say("wrong owner: ", path, s->dedicated ? "" : " (want the owner of the home)") ;
    s->problems++ ;
  }
}

int setup_make (setup *s, char const *path, setup_item const *it, int fifo, int quiet)
{
  uid_t uid ;
  gid_t gid ;
  if (s->checkonly) { setup_check(s, path, it, fifo ? 'f' : 'd') ; return 0 ; }
  if ((fifo ? mkfifo(path, it->mode) : mkdir(path, it->mode)) < 0)
  {
    if (errno != EEXIST) strerr_diefu2sys(111, "create ", path) ;
    setup_check(s, path, it, fifo ? 'f' : 'd') ;  /* left as it is: only reported */
    return 0 ;
  }
  setup_owner(s, it, &uid, &gid) ;
  if (chown(path, uid, gid) < 0) strerr_diefu2sys(111, "chown ", path) ;
  if (chmod(path, it->mode) < 0) strerr_diefu2sys(111, "chmod ", path) ;
  if (!quiet) setup_say("created ", path, fifo ? " (FIFO)" : "") ;
  s->created++ ;
  return 1 ;
}

void setup_file (setup *s, char const *fn, char const *data, size_t len, mode_t mode)
{
  char tmp[strlen(fn) + 5] ;
  int fd ;
  if (access(fn, F_OK) == 0) return ;
  if (errno != ENOENT) strerr_diefu2sys(111, "access ", fn) ;
  if (s->checkonly) { setup_say("missing: ", fn, "") ; s->problems++ ; return ; }
  memcpy(tmp, fn, strlen(fn)) ;
  memcpy(tmp + strlen(fn), ".tmp", 5) ;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) ;
  if (fd < 0) strerr_diefu2sys(111, "create ", tmp) ;
  if (allwrite(fd, data, len) < len || fchmod(fd, mode) < 0 || fsync(fd) < 0)
    strerr_diefu2sys(111, "write ", tmp) ;
  fd_close(fd) ;
  if (rename(tmp, fn) < 0) strerr_diefu4sys(111, "rename ", tmp, " to ", fn) ;
  setup_say("created ", fn, "") ;
  s->created++ ;
}
