/* ferry-sendmail: the sendmail command. It hands its arguments and its descriptors 0, 1 and 2
   to ferry-sendmaild on the home's sendmail/socket, whose worker, become the caller, does the
   whole job (sendmail_run.c) while this process waits for its exit code; without a server, or
   whenever the call is not taken before the worker may read the message, it runs
   ferry-sendmail-run in its place (doc/ferry-sendmaild.html, Protocol).
   Plain C on purpose, without skalibs and without ferry's library: it is built static with musl
   when musl-gcc is there, because it starts once per message, and what starts it pays for the
   C library's start (doc/ferry-sendmail.html). */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <ferry/config.h>

#define REQUEST_MAX (1 << 20)   /* the arguments, in all: more, and it runs alone */
#define EX_OSERR 71
#define HANDSHAKE_SECONDS 10   /* for the server to take the call, before anything is read */

static void say (char const *s)
{
  size_t n = strlen(s) ;
  while (n)
  {
    ssize_t w = write(2, s, n) ;
    if (w < 0) { if (errno == EINTR) continue ; return ; }
    s += w ; n -= w ;
  }
}

 /* the home: FERRY_HOME, else the home whose bin/ holds this program, else conf-home's (as
    ferry_home_bare in src/libferry/ferry_home.c; that one needs skalibs) */
static char const *home_find (char *buf, size_t n)
{
  char const *e = getenv("FERRY_HOME") ;
  ssize_t r ;
  char *slash ;
  if (getuid() && (getuid() != geteuid() || getgid() != getegid())) return FERRY_CONF_HOME ;
  if (e && *e) return e ;
  r = readlink("/proc/self/exe", buf, n - 9) ;
  if (r <= 0 || (size_t)r >= n - 9) return FERRY_CONF_HOME ;
  buf[r] = 0 ;
  slash = strrchr(buf, '/') ;
  if (!slash || slash - buf < 4 || memcmp(slash - 4, "/bin", 4)) return FERRY_CONF_HOME ;
  memcpy(slash - 4, "/control", 9) ;
  if (access(buf, X_OK) < 0) return FERRY_CONF_HOME ;
  slash[-4] = 0 ;
  if (!buf[0]) { buf[0] = '/' ; buf[1] = 0 ; }
  return buf ;
}

 /* nothing of the message was read: the job is done here, by ferry-sendmail-run */
static void alone (char const *home, char *const *argv)
{
  size_t n = strlen(home) ;
  char path[n + 24] ;
  memcpy(path, home, n) ;
  memcpy(path + n, "/bin/ferry-sendmail-run", 24) ;
  execv(path, argv) ;
  say("ferry-sendmail: fatal: unable to run ") ; say(path) ; say(": ") ; say(strerror(errno)) ; say(" (nothing was queued)\n") ;
  _exit(EX_OSERR) ;
}

 /* The request: "LEN:" and the arguments, each ended by a null byte, then ",", a netstring;
    descriptors 0, 1 and 2 ride with its first byte. 1, or 0 when the server did not take it
    whole (then it cannot have read the message). */
static int request_send (int fd, char *const *argv)
{
  size_t len = 0, i, k ;
  char head[24] ;
  char *req ;
  for (i = 0 ; argv[i] ; i++)
  {
    len += strlen(argv[i]) + 1 ;
    if (len > REQUEST_MAX) return 0 ;
  }
  {
    size_t v = len, m = 0 ;
    char t[24] ;
    do { t[m++] = '0' + v % 10 ; v /= 10 ; } while (v) ;
    for (k = 0 ; k < m ; k++) head[k] = t[m - 1 - k] ;
    head[m++] = ':' ;
    head[m] = 0 ;
  }
  req = malloc(strlen(head) + len + 1) ;
  if (!req) return 0 ;
  k = strlen(head) ;
  memcpy(req, head, k) ;
  for (i = 0 ; argv[i] ; i++) { size_t l = strlen(argv[i]) + 1 ; memcpy(req + k, argv[i], l) ; k += l ; }
  req[k++] = ',' ;
  {
    union { struct cmsghdr h ; char buf[CMSG_SPACE(3 * sizeof(int))] ; } c ;
    int fds[3] = { 0, 1, 2 } ;
    struct iovec v = { .iov_base = req, .iov_len = k } ;
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) } ;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m) ;
    size_t done ;
    ssize_t w ;
    memset(c.buf, 0, sizeof(c.buf)) ;
    h->cmsg_level = SOL_SOCKET ;
    h->cmsg_type = SCM_RIGHTS ;
    h->cmsg_len = CMSG_LEN(3 * sizeof(int)) ;
    memcpy(CMSG_DATA(h), fds, sizeof(fds)) ;
    do w = sendmsg(fd, &m, MSG_NOSIGNAL) ;
    while (w < 0 && errno == EINTR) ;
    if (w <= 0) { free(req) ; return 0 ; }
    for (done = w ; done < k ; done += w)
    {
      w = send(fd, req + done, k - done, MSG_NOSIGNAL) ;
      if (w < 0 && errno == EINTR) { w = 0 ; continue ; }
      if (w <= 0) { free(req) ; return 0 ; }
    }
  }
  free(req) ;
  return 1 ;
}

/* one line of at most n - 1 bytes into buf, terminated: its length with the newline, 0 at end of
   file or on an error (a timeout included) */
static size_t line_read (int fd, char *buf, size_t n)
{
  size_t got = 0 ;
  while (got < n - 1)
  {
    ssize_t r = read(fd, buf + got, 1) ;
    if (r < 0 && errno == EINTR) continue ;
    if (r <= 0) return 0 ;
    if (buf[got++] == '\n') break ;
  }
  buf[got] = 0 ;
  return got && buf[got - 1] == '\n' ? got : 0 ;
}

int main (int argc, char *const *argv)
{
  char buf[PATH_MAX] ;
  char const *home = home_find(buf, sizeof(buf)) ;
  struct sockaddr_un sa ;
  size_t n = strlen(home) ;
  char reply[256] ;
  int fd, i ;
  (void)argc ;
  if (!argv[0]) alone(home, argv) ;
  /* the job runs alone, in this process as it was started: for a set-id caller (served, it would
     become the effective ids wholly), a caller with 0, 1 or 2 closed (the connection would take
     that number), and at a terminal (job control: a worker outside the terminal's session would
     go on reading it when this process is stopped) */
  if (getuid() != geteuid() || getgid() != getegid()) alone(home, argv) ;
  for (i = 0 ; i < 3 ; i++) if (fcntl(i, F_GETFD) < 0) alone(home, argv) ;
  if (isatty(0)) alone(home, argv) ;
  if (n + sizeof("/sendmail/socket") > sizeof(sa.sun_path)) alone(home, argv) ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sun_family = AF_UNIX ;
  memcpy(sa.sun_path, home, n) ;
  memcpy(sa.sun_path + n, "/sendmail/socket", sizeof("/sendmail/socket")) ;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
  if (fd < 0) alone(home, argv) ;
  /* until the worker is told to go, it reads nothing of the message: whatever happens before
     (turned away, a server too slow or stopped with its backlog full, gone, reset), the job
     runs alone; the send timeout also bounds the connect */
  {
    struct timeval tv = { .tv_sec = HANDSHAKE_SECONDS, .tv_usec = 0 } ;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0
     || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) { close(fd) ; alone(home, argv) ; }
  }
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { close(fd) ; alone(home, argv) ; }
  if (!request_send(fd, argv)) { close(fd) ; alone(home, argv) ; }
  if (line_read(fd, reply, sizeof(reply)) != 2 || reply[0] != 'S') { close(fd) ; alone(home, argv) ; }
  if (send(fd, "G", 1, MSG_NOSIGNAL) != 1) { close(fd) ; alone(home, argv) ; }
  {
    /* from here, the job is the worker's: it takes as long as the caller's input does */
    struct timeval tv = { .tv_sec = 0, .tv_usec = 0 } ;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ;
  }
  /* the job's exit code, "75\n", or with the reason when the worker could not say it itself */
  if (line_read(fd, reply, sizeof(reply)))
  {
    unsigned int code = 0 ;
    size_t k = 0 ;
    while (reply[k] >= '0' && reply[k] <= '9' && k < 3) code = code * 10 + (reply[k++] - '0') ;
    if (k && code < 256 && (reply[k] == '\n' || reply[k] == ' '))
    {
      if (reply[k] == ' ')
      {
        reply[strlen(reply) - 1] = 0 ;
        say("ferry-sendmail: fatal: ") ; say(reply + k + 1) ; say("\n") ;
      }
      return code ;
    }
  }
  say("ferry-sendmail: fatal: ferry-sendmaild's worker went away without an answer: the message may or may not be queued\n") ;
  return EX_OSERR ;
}
