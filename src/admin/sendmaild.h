/* ferry-sendmaild's two sides: the server (ferry-sendmaild.c) and the worker it forks
   (sendmaild_worker.c), which becomes one caller's identity and serves that identity's calls,
   one after another, until the server closes its control socket. */
#ifndef FERRY_ADMIN_SENDMAILD_H
#define FERRY_ADMIN_SENDMAILD_H

#include <sys/types.h>

 /* A worker's exit: nothing of its call was read, the caller runs the job alone ("R"). */
#define SENDMAILD_ALONE 200

 /* A worker's report on its control socket: its call has ended, answered; it waits for the next. */
#define SENDMAILD_DONE 'd'

 /* A call handed to a worker: the caller's connection rides on this byte (SCM_RIGHTS). */
#define SENDMAILD_CALL 'c'

 /* The worker, in the child, never returns: takes the identity (uid, gid, groups), serves the
    call on conn, then each call that comes on cfd, until cfd ends. home: the job's FERRY_HOME;
    timeout: seconds for each call's handshake. */
extern void sendmaild_worker (int cfd, int conn, uid_t uid, gid_t gid, gid_t const *groups, int ngroups, char const *home, unsigned int timeout) __attribute__((noreturn)) ;

 /* One line to a caller, at once (a few bytes into a socket whose other end only waits for
    them: never blocks; a caller gone is no error): s, or an exit code as "75\n". */
extern void sendmaild_answer (int fd, char const *s) ;
extern void sendmaild_answer_code (int fd, int code) ;

#endif
