/* ferry-spawn-remote's dead hosts: a host that timed out is skipped for control/deadhosttime
   seconds. ferry-qctl asks about them on the FIFO remote/ask (deadhosts, undead), straight to
   this program, which owns them; the queue manager's "!undead" frame forgets them all. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/frame.h>
#include <ferry/loop.h>

#include "spawn_remote.h"

#define ASK_FIFO "remote/ask"

int hostlist_has (dead const *v, unsigned int n, raddr const *a)
{
  unsigned int i ;
  for (i = 0 ; i < n ; i++)
    if (v[i].port == a->port && same_ip(&v[i].ip, &a->ip))
      return tain_future(&v[i].until) ;
  return 0 ;
}

void hostlist_add (dead *v, unsigned int *n, raddr const *a, unsigned int secs, char const *what)
{
  char fmt[ADDR_FMT] ;
  char t[UINT_FMT] ;
  unsigned int i, oldest = 0 ;
  for (i = 0 ; i < *n ; i++)
  {
    if (v[i].port == a->port && same_ip(&v[i].ip, &a->ip)) break ;
    if (tain_less(&v[i].until, &v[oldest].until)) oldest = i ;
  }
  if (i == *n) { if (*n < DEAD_MAX) (*n)++ ; else i = oldest ; }
  v[i].ip = a->ip ;
  v[i].port = a->port ;
  tain_addsec_g(&v[i].until, secs) ;
  addr_fmt(fmt, a) ;
  t[uint_fmt(t, secs)] = 0 ;
  strerr_warnw(fmt, what, t, " seconds") ;
}

int dead_is (raddr const *a)
{
  return hostlist_has(rem.deadhosts, rem.ndead, a) ;
}

void dead_mark (raddr const *a)
{
  if (rem.deadtime) hostlist_add(rem.deadhosts, &rem.ndead, a, rem.deadtime, " timed out: skipped for ") ;
}

static void dead_list (stralloc *out)
{
  unsigned int i ;
  for (i = 0 ; i < rem.ndead ; i++)
  {
    char line[IP46_FMT + UINT64_FMT * 2 + 64] ;
    size_t k = 0 ;
    tain left ;
    if (!tain_future(&rem.deadhosts[i].until)) continue ;
    tain_sub(&left, &rem.deadhosts[i].until, &STAMP) ;
    k += ip46_fmt(line + k, &rem.deadhosts[i].ip) ;
    line[k++] = ':' ;
    k += uint16_fmt(line + k, rem.deadhosts[i].port) ;
    memcpy(line + k, " skipped for ", 13) ; k += 13 ;
    k += uint64_fmt(line + k, tai_sec(tain_secp(&left)) + 1) ;
    memcpy(line + k, " more seconds", 13) ; k += 13 ;
    if (!ferry_field_cat(out, line, k)) nomem() ;
  }
}

static void dead_forget (char const *target, stralloc *out)
{
  unsigned int i, removed = 0 ;
  int all = !strcmp(target, "all") ;
  ip46 ip ;
  uint16_t port = 0 ;
  size_t k = all ? 0 : ip46_scan(target, &ip) ;
  if (!all && (!k || (target[k] && (target[k] != ':' || !uint160_scan(target + k + 1, &port)))))
  {
    if (!ferry_field_cats(out, "not an address: give ip, ip:port or all")) nomem() ;
    return ;
  }
  for (i = 0 ; i < rem.ndead ; )
  {
    if (all || (same_ip(&rem.deadhosts[i].ip, &ip) && (!port || rem.deadhosts[i].port == port)))
    {
      rem.deadhosts[i] = rem.deadhosts[--rem.ndead] ;
      removed++ ;
    }
    else i++ ;
  }
  {
    char num[UINT_FMT + 40] ;
    size_t m = uint_fmt(num, removed) ;
    memcpy(num + m, removed == 1 ? " host forgotten" : " hosts forgotten", removed == 1 ? 15 : 16) ;
    m += removed == 1 ? 15 : 16 ;
    if (!ferry_field_cat(out, num, m)) nomem() ;
    strerr_warni(target, ": forgotten as a dead host, on request") ;
  }
}

 /* "!deadhosts" lists the hosts being skipped, "!undead\0TARGET" forgets one (ip or ip:port) or
    all: the answer's fields (the first repeats the question's) into out. 0: not a question of ours. */
int dead_control (char const *const *f, int nf, stralloc *out)
{
  if (nf >= 1 && !strcmp(f[0], "!deadhosts"))
  {
    if (!ferry_field_cats(out, f[0])) nomem() ;
    dead_list(out) ;
    return 1 ;
  }
  if (nf == 2 && !strcmp(f[0], "!undead"))
  {
    if (!ferry_field_cats(out, f[0])) nomem() ;
    dead_forget(f[1], out) ;
    return 1 ;
  }
  return 0 ;
}

void dead_ask_open (void)
{
  struct stat st ;
  rem.askfd = open(ASK_FIFO, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC) ;
  if (rem.askfd < 0)
  {
    strerr_warnwu1sys("open " ASK_FIFO " (run ferry-setup to complete the home): ferry-qctl deadhosts and undead get no answer") ;
    return ;
  }
  if (fstat(rem.askfd, &st) < 0 || !S_ISFIFO(st.st_mode))
  {
    strerr_warnw1x(ASK_FIFO " is not a FIFO (ferry-setup -c says what is wrong): ferry-qctl deadhosts and undead get no answer") ;
    fd_close(rem.askfd) ;
    rem.askfd = -1 ;
    return ;
  }
  /* a writer of our own: the FIFO never reads as closed between two ferry-qctl */
  if (open(ASK_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC) < 0) strerr_diefu1sys(111, "open " ASK_FIFO " for writing") ;
}

 /* The answer, a line per field after the first, to the asker's FIFO remote/NAME. */
static void ask_answer (char const *name, char const *p, size_t n)
{
  char fn[sizeof(ASK_FIFO) + 200] ;
  size_t pos, nl = strlen(name) ;
  struct stat st ;
  int fd ;
  memcpy(fn, "remote/", 7) ;
  memcpy(fn + 7, name, nl + 1) ;
  fd = open(fn, O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (fd < 0) { strerr_warnwu2sys("open ", fn) ; return ; }
  if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) { fd_close(fd) ; strerr_warnw(fn, " is not a FIFO: no answer") ; return ; }
  for (pos = strlen(p) + 1 ; pos < n ; pos += strlen(p + pos) + 1)
  {
    size_t k = strlen(p + pos) ;
    if (write(fd, p + pos, k) < 0 || write(fd, "\n", 1) < 0) break ;
  }
  fd_close(fd) ;
}

 /* One line of ferry-qctl: "deadhosts NAME" or "undead TARGET NAME", NAME its answer FIFO. */
static void ask_line (char *line)
{
  char *a = strchr(line, ' '), *b ;
  char const *f[2] ;
  char const *name ;
  stralloc out = STRALLOC_ZERO ;
  char q[12] ;
  int nf ;
  if (a) { *a++ = 0 ; b = strchr(a, ' ') ; if (b) *b++ = 0 ; } else b = 0 ;
  name = b ? b : a ;
  if (!a || !name || strchr(name, '/') || strncmp(name, "qctl.", 5) || strlen(name) >= 200
   || ((strcmp(line, "deadhosts") || b) && (strcmp(line, "undead") || !b)))
  {
    strerr_warnw("a malformed command on " ASK_FIFO ": ", line) ;
    return ;
  }
  q[0] = '!' ; memcpy(q + 1, line, strlen(line) + 1) ;
  f[0] = q ; f[1] = a ;
  nf = b ? 2 : 1 ;
  strerr_warni("ferry-qctl: ", line, b ? " " : "", b ? a : "", ": answered") ;
  dead_control(f, nf, &out) ;
  ask_answer(name, out.s, out.len) ;
  stralloc_free(&out) ;
}

void dead_ask_read (void)
{
  if (!ferry_fifo_lines(rem.askfd, &rem.askbuf, &ask_line)) nomem() ;
}
