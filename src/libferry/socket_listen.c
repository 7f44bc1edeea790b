/* ferry_socket_listen: a Unix socket anyone may connect to, put in place once it listens. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <skalibs/strerr.h>

#include <ferry/listen.h>

int ferry_socket_listen (char const *tmp, char const *path)
{
  struct sockaddr_un sa ;
  size_t n = strlen(tmp) ;
  int fd ;
  if (n >= sizeof(sa.sun_path)) strerr_dief2x(111, "socket name too long: ", tmp) ;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) ;
  if (fd < 0) strerr_diefu1sys(111, "create a socket") ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sun_family = AF_UNIX ;
  memcpy(sa.sun_path, tmp, n + 1) ;
  if (unlink(tmp) < 0 && errno != ENOENT) strerr_diefu2sys(111, "remove the old ", tmp) ;
  {
    /* anyone may connect: the kernel tells who they are. The mode comes with the bind, so
       nothing is done to the file by name after it */
    mode_t old = umask(0111) ;
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ;
    umask(old) ;
    if (r < 0) strerr_diefu2sys(111, "bind to ", tmp) ;
  }
  if (listen(fd, 128) < 0) strerr_diefu2sys(111, "listen on ", tmp) ;
  if (rename(tmp, path) < 0) strerr_diefu4sys(111, "rename ", tmp, " to ", path) ;
  return fd ;
}
