/* Finding the ferry home a program works on. */
#ifndef FERRY_HOME_H
#define FERRY_HOME_H

#include <stddef.h>

 /* The home: arg if given, else $FERRY_HOME, else conf-home. A setuid or setgid process
    run by anyone but root ignores both and always uses conf-home. */
extern char const *ferry_home (char const *arg) ;

 /* The home whose bin/ holds the running program (through /proc/self/exe, symlinks resolved),
    into buf of n bytes: 1 if there is one (a control/ beside that bin/), else 0. */
extern int ferry_home_of_program (char *buf, size_t n) ;

 /* For a program that callers run bare (sendmail from cron): $FERRY_HOME, else the home that
    holds the program, else conf-home; a set-id process always uses conf-home
    unless root runs it. */
extern char const *ferry_home_bare (char *buf, size_t n) ;

 /* In the home (the current directory): 1 if this is root in a home made with ferry-setup -u
    (its queue owned by ferryq), where each program runs as its own user; else 0. */
extern int ferry_dedicated (void) ;

 /* Becomes user (its uid, gid and groups), or dies with 111. */
extern void ferry_become (char const *user) ;

#endif
