/* The names ferry-qctl suspend takes: @domain, site:NAME or route:HOST (doc/ferry-qctl.html),
   also the names of their marks in queue/suspend/. */
#ifndef FERRY_SUSPEND_H
#define FERRY_SUSPEND_H

#include <stddef.h>

#define FERRY_SUSPEND_NAME_MAX 262

 /* s checked and lower-cased into out (FERRY_SUSPEND_NAME_MAX bytes, null-terminated): its
    length, or 0 when it is not such a name. */
extern size_t ferry_suspend_name (char *out, char const *s) ;

#endif
