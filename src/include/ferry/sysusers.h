/* Which accounts ferry delivers no mail as: its own users, and the system's accounts. */
#ifndef FERRY_SYSUSERS_H
#define FERRY_SYSUSERS_H

#include <sys/types.h>

 /* 1 if name is one of ferry's own users (ferryq, ferrys, ferryr, ferryl), else 0. */
extern int ferry_sysusers_ferry (char const *name) ;

 /* The first uid of ordinary users: UID_MIN in /etc/login.defs, else 1000. */
extern uid_t ferry_sysusers_uidmin (void) ;

 /* 1 if the account uid, name is a system account: a uid below uidmin, nobody (65534), or one of
    ferry's own users. */
extern int ferry_sysusers_system (uid_t uid, char const *name, uid_t uidmin) ;

#endif
