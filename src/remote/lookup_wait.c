/* lookup_wait_run: a TXT lookup and an address lookup through c-ares, in a small iopause loop of
   their own, until both are answered or the deadline comes. */

#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/nameser.h>
#include <sys/select.h>
#include <ares.h>

#include <skalibs/genalloc.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "mtasts_fetch.h"

static void txt_cb (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  lookup_wait *w = arg ;
  (void)timeouts ;
  w->pending-- ;
  if (status == ARES_SUCCESS)
  {
    struct ares_txt_ext *txt = 0, *t ;
    status = ares_parse_txt_reply_ext(abuf, alen, &txt) ;
    if (status == ARES_SUCCESS)
    {
      /* a record's strings follow one another; the first of each has record_start */
      size_t start = w->txt.len ;
      int any = 0 ;
      for (t = txt ; t ; t = t->next)
      {
        if (t->record_start && any)
        {
          size_t len = w->txt.len - start ;
          if (!genalloc_append(size_t, &w->txtlen, &len)) w->nomem = 1 ;
          start = w->txt.len ;
        }
        any = 1 ;
        if (!stralloc_catb(&w->txt, (char const *)t->txt, t->length)) w->nomem = 1 ;
      }
      if (any)
      {
        size_t len = w->txt.len - start ;
        if (!genalloc_append(size_t, &w->txtlen, &len)) w->nomem = 1 ;
      }
      ares_free_data(txt) ;
    }
  }
  w->txtstatus = status ;
}

static void addr_cb (void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
  lookup_wait *w = arg ;
  (void)timeouts ;
  w->pending-- ;
  if (status == ARES_SUCCESS && res)
  {
    struct ares_addrinfo_node *n ;
    for (n = res->nodes ; n ; n = n->ai_next)
    {
      ip46 ip ;
      if (n->ai_family == AF_INET) ip46_from_ip4(&ip, (char const *)&((struct sockaddr_in *)n->ai_addr)->sin_addr) ;
      else if (n->ai_family == AF_INET6) ip46_from_ip6(&ip, (char const *)&((struct sockaddr_in6 *)n->ai_addr)->sin6_addr) ;
      else continue ;
      if (!genalloc_append(ip46, &w->addrs, &ip)) w->nomem = 1 ;
    }
    if (!genalloc_len(ip46, &w->addrs)) status = ARES_ENODATA ;
  }
  w->addrstatus = status ;
  if (res) ares_freeaddrinfo(res) ;
}

static int why_set (stralloc *why, char const *a, char const *b)
{
  why->len = 0 ;
  return stralloc_cats(why, a) && stralloc_cats(why, b) && stralloc_0(why) ? 0 : -1 ;
}

int lookup_wait_run (char const *servers, char const *txtname, char const *addrname, tain const *deadline, lookup_wait *w, stralloc *why)
{
  ares_channel chan ;
  struct ares_options o ;
  struct ares_addrinfo_hints hints ;
  int r ;
  if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) return why_set(why, "unable to initialize c-ares", "") ;
  memset(&o, 0, sizeof(o)) ;
  o.timeout = 2000 ;
  o.tries = 3 ;
  r = ares_init_options(&chan, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) ;
  if (r != ARES_SUCCESS) return why_set(why, "unable to initialize c-ares: ", ares_strerror(r)) ;
  if (servers && servers[0] && ares_set_servers_ports_csv(chan, servers) != ARES_SUCCESS)
  {
    ares_destroy(chan) ;
    return why_set(why, "bad DNS servers: write one ip, ip:port or [ip6]:port per line", "") ;
  }
  w->pending = 2 ;
  ares_query(chan, txtname, ns_c_in, ns_t_txt, &txt_cb, w) ;
  memset(&hints, 0, sizeof(hints)) ;
  hints.ai_family = AF_UNSPEC ;
  hints.ai_socktype = SOCK_STREAM ;
  ares_getaddrinfo(chan, addrname, 0, &hints, &addr_cb, w) ;
  while (w->pending)
  {
    iopause_fd x[ARES_GETSOCK_MAXNUM] ;
    ares_socket_t socks[ARES_GETSOCK_MAXNUM] ;
    unsigned int n = 0, i ;
    int bits = ares_getsock(chan, socks, ARES_GETSOCK_MAXNUM) ;
    tain dl = *deadline ;
    struct timeval tv, *tvp ;
    if (!tain_future(deadline)) break ;
    for (i = 0 ; i < ARES_GETSOCK_MAXNUM ; i++)
    {
      short ev = 0 ;
      /* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign bit: unsigned here */
      if ((unsigned int)bits & (1u << i)) ev |= IOPAUSE_READ ;
      if ((unsigned int)bits & (1u << (i + ARES_GETSOCK_MAXNUM))) ev |= IOPAUSE_WRITE ;
      if (!ev) continue ;
      x[n].fd = socks[i] ; x[n].events = ev ; x[n].revents = 0 ; n++ ;
    }
    tvp = ares_timeout(chan, 0, &tv) ;
    if (tvp)
    {
      tain a ;
      tain_from_millisecs(&a, tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1) ;
      tain_add_g(&a, &a) ;
      if (tain_less(&a, &dl)) dl = a ;
    }
    if (iopause_g(x, n, &dl) < 0) break ;
    for (i = 0 ; i < n ; i++)
      if (x[i].revents)
        ares_process_fd(chan, x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT) ? (ares_socket_t)x[i].fd : ARES_SOCKET_BAD,
                              x[i].revents & IOPAUSE_WRITE ? (ares_socket_t)x[i].fd : ARES_SOCKET_BAD) ;
    ares_process_fd(chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD) ;
  }
  /* what is still asked is cancelled: its callback says so, and it is a timeout */
  if (w->pending) ares_cancel(chan) ;
  ares_destroy(chan) ;
  ares_library_cleanup() ;
  if (w->txtstatus == ARES_ECANCELLED || w->txtstatus == ARES_EDESTRUCTION || w->txtstatus < 0) w->txtstatus = ARES_ETIMEOUT ;
  if (w->addrstatus == ARES_ECANCELLED || w->addrstatus == ARES_EDESTRUCTION || w->addrstatus < 0) w->addrstatus = ARES_ETIMEOUT ;
  return w->nomem ? -1 : 1 ;
}

void lookup_wait_free (lookup_wait *w)
{
  stralloc_free(&w->txt) ;
  genalloc_free(size_t, &w->txtlen) ;
  genalloc_free(ip46, &w->addrs) ;
}
