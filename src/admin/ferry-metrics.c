/* ferry-metrics: the metrics of a home's programs in the Prometheus text format: printed, or
   served over HTTP one exchange at a time under tcpserver (-H), which -L starts as the service's
   run. The programs write their snapshots (metrics/PROG/metrics.prom); this reads them. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/iopause.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/home.h>
#include <ferry/http.h>

#include "admin.h"

#define USAGE "ferry-metrics [ -H ] [ -L ] [ home ]"
#define HEAD_MAX 8192        /* the request line and header fields */
#define HEAD_SECONDS 10      /* to send them */
#define LINGER_SECONDS 2     /* reading what the client still sends, after the answer, before the close */
#define TCPSERVER "/usr/bin/tcpserver"

static void answer (unsigned int minor, char const *status, char const *ctype, char const *extra, char const *body, size_t len, int head)
{
  stralloc sa = STRALLOC_ZERO ;
  char fmt[SIZE_FMT] ;
  fmt[size_fmt(fmt, len)] = 0 ;
  if (!stralloc_cats(&sa, minor ? "HTTP/1.1 " : "HTTP/1.0 ") || !stralloc_cats(&sa, status)
   || !stralloc_cats(&sa, "\r\nContent-Type: ") || !stralloc_cats(&sa, ctype)
   || !stralloc_cats(&sa, "\r\nContent-Length: ") || !stralloc_cats(&sa, fmt)
   || !stralloc_cats(&sa, "\r\nConnection: close\r\n") || !stralloc_cats(&sa, extra)
   || !stralloc_cats(&sa, "\r\n") || (!head && !stralloc_catb(&sa, body, len)))
    strerr_diefu1sys(111, "allocate memory") ;
  if (allwrite(1, sa.s, sa.len) < sa.len) strerr_diefu1sys(111, "write the answer") ;
  stralloc_free(&sa) ;
}

static void answer_text (unsigned int minor, char const *status, char const *extra, char const *text, int head)
{
  answer(minor, status, "text/plain; charset=utf-8", extra, text, strlen(text), head) ;
}

 /* After the answer: no more is sent, and what the client still sends is read (for a while) so
    that the close does not reset the connection before the client has the answer. */
static void linger (void)
{
  char buf[4096] ;
  size_t total = 0 ;
  tain deadline ;
  if (shutdown(1, SHUT_WR) < 0) return ;
  tain_addsec_g(&deadline, LINGER_SECONDS) ;
  while (total < 65536)
  {
    iopause_fd x = { .fd = 0, .events = IOPAUSE_READ, .revents = 0 } ;
    ssize_t r ;
    if (iopause_g(&x, 1, &deadline) <= 0) return ;
    r = read(0, buf, sizeof(buf)) ;
    if (r <= 0) return ;
    total += r ;
  }
}

 /* One HTTP exchange on fds 0 and 1; homeok: the home was entered. A HEAD (one that reads)
    gets the header of the answer a GET would get, never a body (RFC 9110 9.3.2), whatever its
    status. */
static void http_exchange (int homeok)
{
  char buf[HEAD_MAX] ;
  size_t n = 0 ;
  tain deadline ;
  ferry_http_req req ;
  char const *why = 0 ;
  int r ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, HEAD_SECONDS) ;
  for (;;)
  {
    iopause_fd x = { .fd = 0, .events = IOPAUSE_READ, .revents = 0 } ;
    ssize_t k ;
    r = ferry_http_request(buf, n, &req, &why) ;
    if (r) break ;
    if (n == sizeof(buf)) { answer_text(1, "431 Request Header Fields Too Large", "", "the request's header is larger than 8 KiB\n", 0) ; linger() ; return ; }
    k = iopause_g(&x, 1, &deadline) ;
    if (k < 0) strerr_diefu1sys(111, "iopause") ;
    if (!k) { answer_text(1, "408 Request Timeout", "", "the request's header did not come within 10 seconds\n", 0) ; return ; }
    k = read(0, buf + n, sizeof(buf) - n) ;
    if (k < 0)
    {
      if (errno == EINTR || errno == EAGAIN) continue ;
      strerr_diefu1sys(111, "read the request") ;
    }
    if (!k)
    {
      if (n) answer_text(1, "400 Bad Request", "", "bad request: it ends before its header does\n", 0) ;
      return ;
    }
    n += k ;
  }
  if (r < 0)
  {
    stralloc t = STRALLOC_ZERO ;
    if (!stralloc_cats(&t, "bad request: ") || !stralloc_cats(&t, why) || !stralloc_cats(&t, "\n") || !stralloc_0(&t)) strerr_diefu1sys(111, "allocate memory") ;
    answer_text(1, "400 Bad Request", "", t.s, 0) ;
    stralloc_free(&t) ;
  }
  else if (req.method == FERRY_HTTP_OTHER)
    answer_text(req.minor, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "method not allowed: ferry-metrics answers GET and HEAD\n", 0) ;
  else if (strcmp(req.path, "/metrics") && strcmp(req.path, "/"))
    answer_text(req.minor, "404 Not Found", "", "not found: ferry-metrics serves /metrics\n", req.method == FERRY_HTTP_HEAD) ;
  else
  {
    stralloc page = STRALLOC_ZERO ;
    int c = homeok ? metrics_collect(&page) : 0 ;
    if (c < 0) strerr_diefu1sys(111, "allocate memory") ;
    if (!c)
    {
      strerr_warnwu1sys(homeok ? "read metrics/" : "enter the ferry home") ;
      answer_text(req.minor, "500 Internal Server Error", "", "the metrics cannot be read: see the service's log\n", req.method == FERRY_HTTP_HEAD) ;
    }
    else answer(req.minor, "200 OK", "text/plain; version=0.0.4; charset=utf-8", "", page.s, page.len, req.method == FERRY_HTTP_HEAD) ;
    stralloc_free(&page) ;
  }
  linger() ;
}

 /* control/metricslisten: HOST:PORT, or [IPV6]:PORT; host and port made strings in sa. */
static void listen_read (stralloc *sa, char const **host, char const **port)
{
  char *colon ;
  uint16_t p ;
  int r = ferry_control_readline(sa, "metricslisten") ;
  if (r < 0) strerr_diefu1sys(111, "read control/metricslisten") ;
  if (!stralloc_0(sa)) strerr_diefu1sys(111, "allocate memory") ;
  {
    char all[sa->len] ;   /* the line as it is, for the messages */
    memcpy(all, sa->s, sa->len) ;
    colon = strrchr(sa->s, ':') ;
    if (!colon || !uint160_scan(colon + 1, &p) || !p) strerr_dief(111, "control/metricslisten: ", all, ": not HOST:PORT (127.0.0.1:9425, [::1]:9425)") ;
    *colon = 0 ;
    *port = colon + 1 ;
    *host = sa->s ;
    if (sa->s[0] == '[')
    {
      if (colon[-1] != ']' || colon - sa->s < 3) strerr_dief(111, "control/metricslisten: ", all, ": an IPv6 address without its closing ]") ;
      colon[-1] = 0 ;
      (*host)++ ;
    }
    else if (strchr(sa->s, ':')) strerr_dief(111, "control/metricslisten: ", all, ": an IPv6 address goes in brackets, [::1]:9425") ;
    if (!**host || **host == '-' || strpbrk(*host, " \t")) strerr_dief(111, "control/metricslisten: ", all, ": a bad host") ;
  }
}

 /* The service's run: tcpserver on control/metricslisten, running ferry-metrics -H per connection. */
static void listen_exec (char const *home)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *host, *port ;
  char abs[PATH_MAX] ;
  if (!realpath(home, abs)) strerr_diefu2sys(111, "resolve ", home) ;
  if (chdir(abs) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  listen_read(&sa, &host, &port) ;
  {
    size_t n = strlen(abs) ;
    char prog[n + 20] ;
    char const *argv[] = { TCPSERVER, "-R", "-H", "-l", "0", host, port, prog, "-H", abs, 0 } ;
    memcpy(prog, abs, n) ;
    memcpy(prog + n, "/bin/ferry-metrics", 19) ;
    strerr_warni("listening on ", host, " port ", port) ;
    execv(argv[0], (char *const *)argv) ;
    strerr_diefu2sys(111, "exec ", TCPSERVER " (Debian's ucspi-tcp)") ;
  }
}

int main (int argc, char const *const *argv)
{
  int http = 0, serve = 0 ;
  char const *home ;
  PROG = "ferry-metrics" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "HL", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'H' : http = 1 ; break ;
        case 'L' : serve = 1 ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc > 1 || (http && serve)) strerr_dieusage(100, USAGE) ;
  home = ferry_home(argc ? argv[0] : 0) ;
  if (serve) listen_exec(home) ;
  if (http)
  {
    http_exchange(chdir(home) == 0) ;
    return 0 ;
  }
  if (chdir(home) < 0) strerr_diefu2sys(111, "enter the ferry home ", home) ;
  {
    stralloc page = STRALLOC_ZERO ;
    int r = metrics_collect(&page) ;
    if (r < 0) strerr_diefu1sys(111, "allocate memory") ;
    if (!r) strerr_diefu1sys(111, "read metrics/") ;
    if (allwrite(1, page.s, page.len) < page.len) strerr_diefu1sys(111, "write to stdout") ;
  }
  return 0 ;
}
