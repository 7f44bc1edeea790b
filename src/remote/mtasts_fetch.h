/* ferry-mtasts-fetch's pieces: its two DNS lookups run to their end under a deadline
   (lookup_wait.c) and one HTTPS GET under the same deadline (https_get.c). Neither uses
   ferry-spawn-remote's state: each takes what it needs and says what failed. */
#ifndef FERRY_REMOTE_MTASTS_FETCH_H
#define FERRY_REMOTE_MTASTS_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <skalibs/genalloc.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

 /* What the lookups gave. A status is c-ares's (ARES_SUCCESS, ARES_ENOTFOUND, ARES_ENODATA,
    ARES_ETIMEOUT when the deadline came first, ...). */
typedef struct lookup_wait_s lookup_wait ;
struct lookup_wait_s
{
  int txtstatus ;
  stralloc txt ;          /* the TXT records, each one's strings joined, one after the other */
  genalloc txtlen ;       /* size_t: the length of each */
  int addrstatus ;
  genalloc addrs ;        /* ip46: the addresses, in the order c-ares gave them */
  int nomem ;
  unsigned int pending ;
} ;
#define LOOKUP_WAIT_ZERO { .txtstatus = -1, .txt = STRALLOC_ZERO, .txtlen = GENALLOC_ZERO, .addrstatus = -1, .addrs = GENALLOC_ZERO, .nomem = 0, .pending = 0 }

 /* The TXT records of txtname and the A and AAAA records of addrname, asked at once of servers
    (c-ares's comma-separated list; empty: /etc/resolv.conf's) and waited for until deadline
    (the stopwatch clock, STAMP). 1 done (each status set); 0 c-ares could not start or took no
    server: why (terminated); -1 out of memory. */
extern int lookup_wait_run (char const *servers, char const *txtname, char const *addrname, tain const *deadline, lookup_wait *w, stralloc *why) ;
extern void lookup_wait_free (lookup_wait *w) ;

 /* A TLS client context for HTTPS: TLS 1.2 and up, the peer's certificate verified against the
    CAs of cafile (control/tlscafile) or the system's store. 0: why says why not. */
extern SSL_CTX *https_ctx (char const *cafile, stralloc *why) ;

 /* GET path from host (its name in SNI and checked against the certificate, no partial
    wildcards) at port, trying the addresses in turn, all under deadline (STAMP's clock); the
    response as it came, until the server closed, into out, at most max bytes (*more = 1 if
    the server had more to send; *cut = 1 if it closed without TLS's close_notify). 1 done; 0 failed: why (terminated) says where (connection,
    TLS, certificate, time); -1 out of memory. */
extern int https_get (SSL_CTX *ctx, ip46 const *addrs, unsigned int naddrs, uint16_t port, char const *host,
                      char const *path, tain const *deadline, size_t max, stralloc *out, int *more, int *cut, stralloc *why) ;

#endif
