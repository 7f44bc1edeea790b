/* ferry-smtpd's server mode (server.c): the listening socket, a pool of preforked workers that
   each take connections one after the other, and the master that replaces them. */
#ifndef FERRY_SMTPD_SERVER_H
#define FERRY_SMTPD_SERVER_H

#include "serve.h"

 /* seconds the workers have to end their sessions after SIGTERM, then they are killed */
#define SMTPD_SERVER_GRACE 30

typedef struct smtpd_server_s smtpd_server ;
struct smtpd_server_s
{
  char const *listen ;      /* "IP:PORT", "[IPv6]:PORT" or "IPv6:PORT" (-l) */
  unsigned int workers ;    /* the pool: how many sessions at once (-P) */
  unsigned int maxuse ;     /* connections a worker takes before it exits and is replaced (-u) */
  char const *rules ;       /* tcprules' cdb (-x), or 0: every client allowed, no variables */
} ;
#define SMTPD_SERVER_ZERO { .listen = 0, .workers = 20, .maxuse = 100, .rules = 0 }

 /* Binds the socket (the current directory is the home), becomes ferryd in a root install with
    the dedicated users, forks the workers and supervises them until SIGTERM. Exits 0 after a
    clean stop, 111 when it cannot listen, 100 for a bad address. */
extern void smtpd_server_run (smtpd_server const *sv, smtpd_opts const *o) __attribute__((noreturn)) ;

#endif
