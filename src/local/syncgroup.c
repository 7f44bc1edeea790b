/* The shared syncs of ferry-spawn-local's workers: one round at a time per filesystem.
   A round covers exactly the workers that were waiting when it started: their writes were done
   before they asked, so before the leader's syncfs began. */

#include <stdlib.h>

#include <skalibs/strerr.h>

#include "syncgroup.h"

#define IDLE 0
#define WAITING 'w'   /* asked, not in a round yet */
#define COVERED 'c'   /* in the round under way on its device */
#define LEADING 'l'   /* syncing for its round */

typedef struct member_s member ;
struct member_s
{
  dev_t dev ;
  char state ;
} ;

static member *members = 0 ;
static unsigned int nmembers = 0 ;
static unsigned long rounds = 0, asks = 0 ;

static void ensure (unsigned int w)
{
  if (w < nmembers) return ;
  {
    unsigned int n = w + 16, i ;
    member *m = realloc(members, n * sizeof(member)) ;
    if (!m) strerr_diefu1sys(111, "allocate memory") ;
    for (i = nmembers ; i < n ; i++) m[i].state = IDLE ;
    members = m ;
    nmembers = n ;
  }
}

static int leading (dev_t dev)
{
  unsigned int i ;
  for (i = 0 ; i < nmembers ; i++) if (members[i].state == LEADING && members[i].dev == dev) return 1 ;
  return 0 ;
}

void syncgroup_ask (unsigned int w, dev_t dev)
{
  ensure(w) ;
  members[w].dev = dev ;
  members[w].state = WAITING ;
  asks++ ;
}

static void start (dev_t dev, syncgroup_tell_func *tell)
{
  unsigned int i, n = 0 ;
  int leader = -1 ;
  for (i = 0 ; i < nmembers ; i++) if (members[i].state == WAITING && members[i].dev == dev)
  {
    members[i].state = COVERED ;
    if (leader < 0) leader = i ;
    n++ ;
  }
  if (leader < 0) return ;
  members[leader].state = LEADING ;
  rounds++ ;
  (*tell)(leader, n == 1 ? SYNCGROUP_ALONE : SYNCGROUP_LEAD, 0) ;
}

void syncgroup_run (syncgroup_tell_func *tell)
{
  unsigned int i ;
  for (i = 0 ; i < nmembers ; i++)
    if (members[i].state == WAITING && !leading(members[i].dev)) start(members[i].dev, tell) ;
}

void syncgroup_done (unsigned int w, int err, syncgroup_tell_func *tell)
{
  unsigned int i ;
  dev_t dev ;
  if (w >= nmembers || members[w].state != LEADING) return ;
  dev = members[w].dev ;
  members[w].state = IDLE ;
  for (i = 0 ; i < nmembers ; i++) if (members[i].state == COVERED && members[i].dev == dev)
  {
    members[i].state = IDLE ;
    (*tell)(i, err ? SYNCGROUP_FAIL : SYNCGROUP_OK, err) ;
  }
}

void syncgroup_drop (unsigned int w)
{
  unsigned int i ;
  if (w >= nmembers) return ;
  if (members[w].state == LEADING)
    for (i = 0 ; i < nmembers ; i++)
      if (members[i].state == COVERED && members[i].dev == members[w].dev) members[i].state = WAITING ;
  members[w].state = IDLE ;
}

int syncgroup_busy (unsigned int w)
{
  return w < nmembers && members[w].state != IDLE ;
}

int syncgroup_leads (unsigned int w)
{
  return w < nmembers && members[w].state == LEADING ;
}

void syncgroup_counts (unsigned long *r, unsigned long *a)
{
  *r = rounds ;
  *a = asks ;
}

void syncgroup_free (void)
{
  free(members) ;
  members = 0 ;
  nmembers = 0 ;
}
