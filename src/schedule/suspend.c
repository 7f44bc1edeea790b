/* ferry-schedule, suspension: ferry-qctl's suspend and resume of a domain (@domain) or a shaping
   key (site:NAME, route:HOST). The mark is queue/suspend/NAME, made by ferry-qctl before its
   command, and found again at start. A suspended domain's or key's recipients are parked, not
   deferred: nothing starts there until it is resumed. */

#include <ferry/suspend.h>

#include "schedule.h"

 /* The key of a domain, as a destination made now would have it. */
static int domain_key (char const *dom)
{
  int d = dests_find(&sched.dests, dom), i ;
  if (d >= 0) return sched.dests.a[d].key ;
  if (sched.shaping && (i = domains_find(&sched.domains, dom)) >= 0 && sched.domains.a[i].key >= 0) return sched.domains.a[i].key ;
  return keys_find(&sched.keys, dom) ;
}

 /* The recipients waiting (not in flight) in the domain, or under the key k. */
static unsigned int waiting_count (char const *name, int k)
{
  unsigned int i, n = 0 ;
  for (i = 0 ; i < sched.rcpttop ; i++)
  {
    rcpt const *r = sched.rcpts + i ;
    char const *dom ;
    if (!r->addr || r->status != 'T' || r->ch != CH_REMOTE) continue ;
    dom = ferry_addr_domain(r->addr) ;
    if (name[0] == '@' ? !strcasecmp(dom, name + 1) : domain_key(dom) == k) n++ ;
  }
  return n ;
}

static void suspend_on (char const *name, int atstart)
{
  char const *kn = name[0] == '@' ? name + 1 : name ;
  unsigned int k = keys_get(&sched.keys, kn) ;
  key *K = sched.keys.a + k ;
  if (!K->suspended)
  {
    K->suspended = 1 ;
    if (name[0] == '@')
    {
      int d = dests_find(&sched.dests, kn) ;
      sched.nsuspdom++ ;
      if (d >= 0) sched.dests.a[d].suspended = 1 ;
    }
  }
  logs("suspend ") ; logclean(name) ; logs(": nothing starts there until it is resumed (") ;
  if (atstart) { logs("queue/suspend/") ; logclean(name) ; }
  else { logu(waiting_count(name, k)) ; logs(" recipients waiting") ; }
  logs(")") ; logend() ;
  sched.snap.changed = 1 ;
}

static void suspend_off (char const *name)
{
  char const *kn = name[0] == '@' ? name + 1 : name ;
  int k = keys_find(&sched.keys, kn) ;
  unsigned int n = 0 ;
  if (k >= 0 && sched.keys.a[k].suspended)
  {
    key *K = sched.keys.a + k ;
    K->suspended = 0 ;
    if (name[0] == '@')
    {
      int d = dests_find(&sched.dests, kn) ;
      sched.nsuspdom-- ;
      if (d >= 0)
      {
        sched.dests.a[d].suspended = 0 ;
        n += sched.dests.a[d].parked.n ;
        dests_wake(&sched.dests, d) ;
      }
    }
    n += K->parked.n ;
    keys_wake(&sched.keys, k) ;
    key_check(k) ;
  }
  logs("resume ") ; logclean(name) ; logs(": ") ; logu(n) ; logs(" recipients to be tried now") ; logend() ;
  sched.snap.changed = 1 ;
}

void suspend_command (char const *verb, char const *arg)
{
  char name[FERRY_SUSPEND_NAME_MAX] ;
  if (!ferry_suspend_name(name, arg)) { strerr_warnw("a malformed name on queue/lock/steer: ", arg) ; return ; }
  if (verb[0] == 's') suspend_on(name, 0) ;
  else suspend_off(name) ;
}

 /* The marks left from before: in effect before anything is delivered. */
void suspend_load (void)
{
  DIR *dh = opendir("queue/suspend") ;
  struct dirent *de ;
  if (!dh)
  {
    if (errno != ENOENT) strerr_warnwu1sys("open queue/suspend (nothing is suspended)") ;
    return ;
  }
  while (errno = 0, (de = readdir(dh)))
  {
    char name[FERRY_SUSPEND_NAME_MAX] ;
    size_t n = strlen(de->d_name) ;
    if (de->d_name[0] == '.' || (n > 4 && !strcmp(de->d_name + n - 4, ".tmp"))) continue ;
    if (!ferry_suspend_name(name, de->d_name)) continue ;
    suspend_on(name, 1) ;
  }
  if (errno) strerr_diefu1sys(111, "read queue/suspend") ;
  closedir(dh) ;
}
