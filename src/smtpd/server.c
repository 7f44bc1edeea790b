/* ferry-smtpd's server mode: one listening socket, a pool of preforked workers, each looping
   accept, one session, everything of it freed, the next; a worker exits after maxuse
   connections and the master forks another, as it does for a worker that crashed. */

#define _GNU_SOURCE   /* accept4 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <skalibs/alloc.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/home.h>

#include "rules.h"
#include "server.h"

 /* "IP:PORT", "[IP6]:PORT", "IP6:PORT" (the port after the last colon) into ss: 1, or 0. */
static int address_scan (char const *s, struct sockaddr_storage *ss, socklen_t *len)
{
  char host[INET6_ADDRSTRLEN + 2] ;
  char const *colon = strrchr(s, ':') ;
  size_t n ;
  uint16_t port ;
  if (!colon || !uint160_scan(colon + 1, &port) || !port) return 0 ;
  n = colon - s ;
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') { s++ ; n -= 2 ; }
  if (!n || n >= sizeof(host)) return 0 ;
  memcpy(host, s, n) ; host[n] = 0 ;
  memset(ss, 0, sizeof(*ss)) ;
  {
    struct sockaddr_in *a = (struct sockaddr_in *)ss ;
    if (inet_pton(AF_INET, host, &a->sin_addr) == 1)
    {
      a->sin_family = AF_INET ; a->sin_port = htons(port) ; *len = sizeof(*a) ;
      return 1 ;
    }
  }
  {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss ;
    if (inet_pton(AF_INET6, host, &a->sin6_addr) == 1)
    {
      a->sin6_family = AF_INET6 ; a->sin6_port = htons(port) ; *len = sizeof(*a) ;
      return 1 ;
    }
  }
  return 0 ;
}

 /* An address as tcpserver writes it: dotted IPv4 (an IPv4-mapped IPv6 address too), else
    IPv6 text; and its port. */
static void address_fmt (struct sockaddr_storage const *ss, char *ip, size_t iplen, char *port)
{
  uint16_t p = 0 ;
  ip[0] = 0 ;
  if (ss->ss_family == AF_INET)
  {
    struct sockaddr_in const *a = (struct sockaddr_in const *)ss ;
    inet_ntop(AF_INET, &a->sin_addr, ip, iplen) ;
    p = ntohs(a->sin_port) ;
  }
  else if (ss->ss_family == AF_INET6)
  {
    struct sockaddr_in6 const *a = (struct sockaddr_in6 const *)ss ;
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) inet_ntop(AF_INET, a->sin6_addr.s6_addr + 12, ip, iplen) ;
    else inet_ntop(AF_INET6, &a->sin6_addr, ip, iplen) ;
    p = ntohs(a->sin6_port) ;
  }
  port[uint16_fmt(port, p)] = 0 ;
}

static int listen_on (char const *where)
{
  struct sockaddr_storage ss ;
  socklen_t len ;
  int one = 1 ;
  int fd ;
  if (!address_scan(where, &ss, &len)) strerr_dief3x(100, "-l ", where, ": wants IP:PORT (an IPv4 or IPv6 literal, [IPv6]:PORT too)") ;
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
  if (fd < 0) strerr_diefu1sys(111, "create a socket") ;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) strerr_diefu1sys(111, "set SO_REUSEADDR") ;
  if (bind(fd, (struct sockaddr *)&ss, len) < 0) strerr_diefu2sys(111, "bind to ", where) ;
  if (listen(fd, 1024) < 0) strerr_diefu2sys(111, "listen on ", where) ;
  return fd ;
}

 /* the worker's SIGTERM: no new connection (the listening socket closed: when every worker has
    closed it, the kernel takes no more); the session under way ends as it would */
static volatile sig_atomic_t stopping = 0 ;
static volatile sig_atomic_t listenfd = -1 ;
static void on_term (int sig)
{
  (void)sig ;
  if (!stopping && listenfd >= 0) close(listenfd) ;
  stopping = 1 ;
}

 /* a log line on fd 2 */
static void say (char const *a, char const *b, char const *c)
{
  buffer_puts(buffer_2, "ferry-smtpd: info: ") ;
  buffer_puts(buffer_2, a) ;
  buffer_puts(buffer_2, b) ;
  buffer_puts(buffer_2, c) ;
  buffer_putflush(buffer_2, "\n", 1) ;
}

#define ENV_MAX 64

 /* One connection: its facts, the rules' decision, the session. env gets what tcpserver would
    have put in the environment, for the checkpassword program only (never setenv: nothing of a
    connection reaches the next). */
static void connection (int fd, smtpd_server const *sv, smtpd_opts const *o, smtpd_session *s, smtpd_secure *x, stralloc *env)
{
  struct sockaddr_storage remote, local ;
  socklen_t rlen = sizeof(remote), llen = sizeof(local) ;
  char rip[INET6_ADDRSTRLEN], lip[INET6_ADDRSTRLEN], rport[UINT16_FMT], lport[UINT16_FMT] ;
  char const *envp[ENV_MAX + 1] ;
  size_t fixed, i, n = 0 ;
  smtpd_conn c = { .fdin = fd, .fdout = fd, .remoteip = 0, .remotehost = 0, .relayclient = 0, .env = envp } ;
  if (getpeername(fd, (struct sockaddr *)&remote, &rlen) < 0 || getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
  {
    strerr_warnwu1sys("read the addresses of a connection") ;
    return ;
  }
  address_fmt(&remote, rip, sizeof(rip), rport) ;
  address_fmt(&local, lip, sizeof(lip), lport) ;
  env->len = 0 ;
  if (!stralloc_cats(env, "PROTO=TCP") || !stralloc_0(env)
   || !stralloc_cats(env, "TCPREMOTEIP=") || !stralloc_cats(env, rip) || !stralloc_0(env)
   || !stralloc_cats(env, "TCPREMOTEPORT=") || !stralloc_cats(env, rport) || !stralloc_0(env)
   || !stralloc_cats(env, "TCPLOCALIP=") || !stralloc_cats(env, lip) || !stralloc_0(env)
   || !stralloc_cats(env, "TCPLOCALPORT=") || !stralloc_cats(env, lport) || !stralloc_0(env))
  {
    strerr_warnwu1sys("allocate") ;
    return ;
  }
  fixed = env->len ;
  if (sv->rules)
  {
    stralloc vars = STRALLOC_ZERO ;
    int r = smtpd_rules_find(sv->rules, rip, &vars) ;
    if (r < 0)
    {
      static char const reply[] = "421 4.3.0 service not available: try again later\r\n" ;
      strerr_warnwu5sys("read the rules ", sv->rules, " for client ", rip, ": connection closed") ;
      (void)fd_write(fd, reply, sizeof(reply) - 1) ;
      stralloc_free(&vars) ;
      return ;
    }
    if (!r)
    {
      /* as tcpserver does: dropped without a word */
      say("deny client ", rip, ": a rule of the rules file") ;
      stralloc_free(&vars) ;
      return ;
    }
    if (!stralloc_catb(env, vars.s, vars.len)) { strerr_warnwu1sys("allocate") ; stralloc_free(&vars) ; return ; }
    stralloc_free(&vars) ;
  }
  for (i = 0 ; i < env->len && n < ENV_MAX ; i += strlen(env->s + i) + 1) envp[n++] = env->s + i ;
  envp[n] = 0 ;
  c.remoteip = rip ;
  if (sv->rules)
  {
    /* the rule's variables, as tcpserver's rules set them over its own */
    stralloc vars = { .s = env->s + fixed, .len = env->len - fixed, .a = 0 } ;
    c.remotehost = smtpd_rules_var(&vars, "TCPREMOTEHOST") ;
    c.relayclient = smtpd_rules_var(&vars, "RELAYCLIENT") ;
  }
  /* else the server's own environment, the same for every connection (as under tcpserver) */
  if (!c.relayclient) c.relayclient = getenv("RELAYCLIENT") ;
  smtpd_serve(s, x, 1, o, &c) ;
}

static void worker (int lfd, smtpd_server const *sv, smtpd_opts const *o) __attribute__((noreturn)) ;
static void worker (int lfd, smtpd_server const *sv, smtpd_opts const *o)
{
  static smtpd_session s ;
  static smtpd_secure x = SMTPD_SECURE_ZERO ;
  stralloc env = STRALLOC_ZERO ;
  unsigned int used = 0 ;
  char fmt[PID_FMT] ;
  struct sigaction sa ;
  selfpipe_finish() ;
  listenfd = lfd ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sa_handler = &on_term ;
  sigemptyset(&sa.sa_mask) ;
  sa.sa_flags = 0 ;   /* no SA_RESTART: a blocked accept() returns EINTR */
  if (sigaction(SIGTERM, &sa, 0) < 0) strerr_diefu1sys(111, "catch SIGTERM") ;
  fmt[pid_fmt(fmt, getpid())] = 0 ;
  say("worker ", fmt, " started") ;
  while (!stopping && used < sv->maxuse)
  {
    /* a blocking accept: the kernel wakes one worker per connection */
    int fd = accept4(lfd, 0, 0, SOCK_CLOEXEC) ;
    if (fd < 0)
    {
      if (stopping) break ;
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == EPERM) continue ;
      strerr_diefu1sys(111, "accept") ;
    }
    used++ ;
    connection(fd, sv, o, &s, &x, &env) ;
    fd_close(fd) ;
  }
  smtpd_secure_end(&x, 0) ;
  stralloc_free(&env) ;
  _exit(0) ;
}

 /* The master's table of workers: pid, or 0 for a free slot. */
static pid_t spawn (int lfd, smtpd_server const *sv, smtpd_opts const *o)
{
  pid_t pid = fork() ;
  if (pid < 0) { strerr_warnwu1sys("fork a worker") ; return 0 ; }
  if (!pid) worker(lfd, sv, o) ;
  return pid ;
}

static void kill_all (pid_t const *pids, unsigned int n, int sig)
{
  unsigned int i = 0 ;
  for (; i < n ; i++) if (pids[i] > 0) kill(pids[i], sig) ;
}

 /* The workers that ended: their slots freed, the log told of those that did not end well.
    1 if one of them could not work (exit 111): the next are forked a second later. */
static int reap (pid_t *pids, unsigned int n, unsigned int *alive)
{
  int wstat, failed = 0 ;
  pid_t pid ;
  while ((pid = wait_nohang(&wstat)) > 0)
  {
    unsigned int i = 0 ;
    char fmt[PID_FMT] ;
    for (; i < n ; i++) if (pids[i] == pid) break ;
    if (i == n) continue ;
    pids[i] = 0 ;
    (*alive)-- ;
    fmt[pid_fmt(fmt, pid)] = 0 ;
    if (WIFSIGNALED(wstat))
    {
      char sig[INT_FMT] ;
      sig[int_fmt(sig, WTERMSIG(wstat))] = 0 ;
      strerr_warnw("worker ", fmt, " killed by signal ", sig) ;
    }
    else if (WEXITSTATUS(wstat))
    {
      char code[INT_FMT] ;
      code[int_fmt(code, WEXITSTATUS(wstat))] = 0 ;
      strerr_warnw("worker ", fmt, " exited with code ", code) ;
      if (WEXITSTATUS(wstat) == 111) failed = 1 ;
    }
  }
  return failed ;
}

void smtpd_server_run (smtpd_server const *sv, smtpd_opts const *o)
{
  pid_t *pids ;
  unsigned int alive = 0, i ;
  int lfd, spfd, stopping_now = 0 ;
  tain respawn = TAIN_ZERO, stopdeadline = TAIN_ZERO ;
  iopause_fd x ;
  char fmt[UINT_FMT], fmt2[UINT_FMT] ;
  lfd = listen_on(sv->listen) ;
  /* bound: a root install with its dedicated users serves as ferryd, as under tcpserver -U */
  if (ferry_dedicated()) ferry_become("ferryd") ;
  pids = alloc(sv->workers * sizeof(pid_t)) ;
  if (!pids) strerr_diefu1sys(111, "allocate") ;
  memset(pids, 0, sv->workers * sizeof(pid_t)) ;
  spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefu1sys(111, "selfpipe_init") ;
  if (!selfpipe_trap(SIGCHLD) || !selfpipe_trap(SIGTERM) || !selfpipe_trap(SIGINT)) strerr_diefu1sys(111, "trap signals") ;
  fmt[uint_fmt(fmt, sv->workers)] = 0 ;
  fmt2[uint_fmt(fmt2, sv->maxuse)] = 0 ;
  {
    stralloc sa = STRALLOC_ZERO ;
    if (stralloc_cats(&sa, sv->listen) && stralloc_cats(&sa, ", ") && stralloc_cats(&sa, fmt) && stralloc_cats(&sa, " workers of ")
     && stralloc_cats(&sa, fmt2) && stralloc_cats(&sa, " connections each") && stralloc_0(&sa))
      say("listening on ", sa.s, "") ;
    stralloc_free(&sa) ;
  }
  tain_now_set_stopwatch_g() ;
  x.fd = spfd ;
  x.events = IOPAUSE_READ ;
  for (;;)
  {
    tain d ;
    int r ;
    if (!stopping_now && !tain_less(&STAMP, &respawn))
      for (i = 0 ; i < sv->workers ; i++) if (!pids[i]) { pids[i] = spawn(lfd, sv, o) ; if (pids[i]) alive++ ; }
    if (stopping_now && !alive) break ;
    if (stopping_now) d = stopdeadline ;
    else if (alive < sv->workers)
    {
      /* a slot left free: forked again at the latest a second from now */
      if (tain_less(&STAMP, &respawn)) d = respawn ;
      else tain_addsec_g(&d, 1) ;
    }
    else tain_add_g(&d, &tain_infinite_relative) ;
    r = iopause_g(&x, 1, &d) ;
    if (r < 0) { if (errno == EINTR) continue ; strerr_diefu1sys(111, "iopause") ; }
    if (!r)
    {
      if (stopping_now)
      {
        strerr_warnw("workers still busy after the grace period: killed") ;
        kill_all(pids, sv->workers, SIGKILL) ;
        tain_addsec_g(&stopdeadline, SMTPD_SERVER_GRACE) ;
      }
      continue ;
    }
    for (;;)
    {
      int sig = selfpipe_read() ;
      if (sig < 0) strerr_diefu1sys(111, "selfpipe_read") ;
      if (!sig) break ;
      if (sig == SIGCHLD)
      {
        if (reap(pids, sv->workers, &alive)) tain_addsec_g(&respawn, 1) ;
      }
      else if (!stopping_now)
      {
        /* no new connection; the sessions under way end, up to the grace period */
        stopping_now = 1 ;
        fd_close(lfd) ;
        say("stopping: ", "the workers end their sessions", "") ;
        kill_all(pids, sv->workers, SIGTERM) ;
        tain_addsec_g(&stopdeadline, SMTPD_SERVER_GRACE) ;
      }
    }
  }
  say("stopped", "", "") ;
  _exit(0) ;
}
