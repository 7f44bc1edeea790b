/* Finding the ferry home a program works on. */
#ifndef FERRY_HOME_H
#define FERRY_HOME_H

 /* The home: arg if given, else $FERRY_HOME, else conf-home. A setuid or
    setgid process ignores both and always uses conf-home. */
extern char const *ferry_home (char const *arg) ;

 /* In the home (the current directory): 1 if this is root in a home made with ferry-setup -u
    (its queue owned by ferryq), where each program runs as its own user; else 0. */
extern int ferry_dedicated (void) ;

 /* Becomes user (its uid, gid and groups), or dies with 111. */
extern void ferry_become (char const *user) ;

#endif
