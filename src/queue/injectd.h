/* ferry-injectd's clients: each one's state, and the protocol that takes its message and
   envelope into queue files (injectd_client.c); the server loop and the group commit are
   ferry-injectd.c's. */
#ifndef FERRY_INJECTD_H
#define FERRY_INJECTD_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <ferry/body.h>
#include <ferry/envelope.h>
#include <ferry/pool.h>

 /* ST_READY: its files written, waiting for the sync that makes them durable; ST_LINKED: its
    todo link made, waiting for the sync that makes that durable (commit) */
typedef enum { ST_LEN, ST_DATA, ST_COMMA, ST_ENV, ST_READY, ST_LINKED, ST_REPLY } state ;

typedef struct client_s client ;
struct client_s
{
  int fd ;
  int mfd ;                 /* the message file while it is written */
  state st ;
  int last ;                /* the chunk being read is the empty one that ends the message */
  unsigned int digits ;
  uint64_t left ;           /* ST_LEN: the length being read; ST_DATA: bytes left in the chunk */
  uint64_t total ;          /* message bytes so far */
  uint64_t id ;
  uint64_t limit ;          /* control/databytes when it connected; 0: none */
  uid_t uid ;
  pid_t pid ;
  time_t birth ;
  int mademess, madeintd ;
  uint64_t messlen ;        /* the bytes written into the message file */
  uint64_t messold ;        /* its length before, when it came from the pool */
  stralloc env ;            /* u, p, t, then w and b (the body facts), then the client's envelope */
  size_t envbase ;
  ferry_body_scan body ;    /* every byte written to the message file */
  ferry_envelope_scanner sc ;
  tain deadline ;           /* the nearer of the idle timeout and the end */
  tain end ;                /* the whole submission's deadline (-T) */
  char reply[160] ;
  size_t rlen, rpos ;
} ;

extern unsigned int injectd_split ;            /* control/queuesplit */
extern unsigned int injectd_timeout, injectd_maxtime ;   /* -t, -T */
extern pid_t injectd_pid ;                     /* names this server's files in queue/pid */
extern ferry_pool injectd_pool ;               /* queue/free.inject: message files and envelopes to reuse */
extern uint64_t injectd_refused ;              /* injections answered with an error */

 /* A new client in slot c, its socket fd: its message file made, its Received: line written. */
extern void injectd_client_new (client *c, int fd, struct ucred const *cred) ;

 /* n bytes from the client through its state machine: ST_READY once its envelope is stored. */
extern void injectd_feed (client *c, char const *s, size_t n) ;

 /* Ends the injection with an answer, ferry-inject's exit code and a few words (with the
    errno's text for answer_sys); on an error its files are removed. */
extern void injectd_answer (client *c, int code, char const *what) ;
extern void injectd_answer_sys (client *c, int code, char const *what) ;

 /* Removes the files it made that are not the queue's yet. */
extern void injectd_files_remove (client *c) ;

 /* Its next deadline: sent nothing for -t seconds, or the whole submission's end. */
extern void injectd_deadline_set (client *c) ;

#endif
