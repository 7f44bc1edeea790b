/* Finding the ferry home a program works on. */
#ifndef FERRY_HOME_H
#define FERRY_HOME_H

 /* The home: arg if given, else $FERRY_HOME, else conf-home. A setuid or
    setgid process ignores both and always uses conf-home. */
extern char const *ferry_home (char const *arg) ;

#endif
