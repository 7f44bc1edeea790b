/* Running ferry-inject from another program: a whole message and envelope from memory. */
#ifndef FERRY_INJECT_RUN_H
#define FERRY_INJECT_RUN_H

#include <stddef.h>

#include <skalibs/stralloc.h>

 /* the exit code of the child when ferry-inject could not be executed (not one of its own) */
#define FERRY_INJECT_RUN_EXEC 127

 /* Runs prog (a ferry-inject) with argv, the message on its fd 0 and the envelope on its fd 1.
    Its exit code; 128 + the signal when killed; -1 on a system error (errno set). */
extern int ferry_inject_run (char const *prog, char const *const *argv, char const *msg, size_t msglen, char const *env, size_t envlen) ;

 /* ferry-injectd's socket, relative to the home (doc/protocols.html). */
#define FERRY_INJECT_SOCKET "public/inject"
#define FERRY_INJECT_SOCKET_NEW "public/inject.new"   /* ferry-injectd makes it, renamed once it listens */

 /* The same, through ferry-injectd when it listens on FERRY_INJECT_SOCKET (the current directory
    must be the home), else through ferry_inject_run. ferry-injectd answers with ferry-inject's
    exit codes. -1 with errno set when the server could not be talked to: the message may or may
    not be queued (as when a ferry-inject is killed), and it is not tried again. */
extern int ferry_inject_submit (char const *prog, char const *const *argv, char const *msg, size_t msglen, char const *env, size_t envlen) ;

 /* The same, with each send to and read from the server bounded by timeout seconds (0: no bound;
    -1 with ETIMEDOUT past it: the server may or may not commit the message, as when it dies),
    and the server's answer text ("queued id 10978932") in answer, terminated (its len does not
    count the null byte), empty when ferry-inject ran instead. */
extern int ferry_inject_submit_answer (char const *prog, char const *const *argv, char const *msg, size_t msglen, char const *env, size_t envlen, unsigned int timeout, stralloc *answer) ;

 /* What a ferry-inject exit code means, in a few words. */
extern char const *ferry_inject_strerror (int e) ;

#endif
