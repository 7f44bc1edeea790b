/* The servers' sockets (ferry-injectd, ferry-sendmaild). */
#ifndef FERRY_LISTEN_H
#define FERRY_LISTEN_H

 /* A non-blocking Unix stream socket of mode 0666, bound to tmp, listening, then renamed to
    path: a client finds either the old socket or one that takes connections, never one that
    refuses them. Dies (111) on any failure. */
extern int ferry_socket_listen (char const *tmp, char const *path) ;

#endif
