/* Shared syncs for ferry-spawn-local's workers (doc/ferry-spawn-local.html, "Shared syncs").
   A worker that needs a file or directory durable asks the channel; the channel lets one worker
   per filesystem sync at a time, and every worker that asked before that sync began is covered
   by it. Workers are named by their slot number in the channel's table. */
#ifndef FERRY_SYNCGROUP_H
#define FERRY_SYNCGROUP_H

#include <sys/types.h>

 /* What the channel tells a worker: */
#define SYNCGROUP_ALONE 'a'   /* sync your file yourself (fsync): nobody else is waiting */
#define SYNCGROUP_LEAD 'l'    /* sync the whole filesystem (syncfs) for everyone, then report */
#define SYNCGROUP_OK 'o'      /* another worker's sync covered yours, and it succeeded */
#define SYNCGROUP_FAIL 'f'    /* it failed, with this errno */

 /* The channel's way of telling worker w; called from syncgroup_run and syncgroup_done. */
typedef void syncgroup_tell_func (unsigned int w, char what, int err) ;

 /* Worker w asks for a sync of something on device dev. */
extern void syncgroup_ask (unsigned int w, dev_t dev) ;
 /* Worker w, the leader of its round, synced with this result (0 or an errno): its round is told. */
extern void syncgroup_done (unsigned int w, int err, syncgroup_tell_func *tell) ;
 /* Worker w is gone. If it led a round, its covered workers wait for the next. */
extern void syncgroup_drop (unsigned int w) ;
 /* Starts a round on every device that has waiting workers and no round under way. */
extern void syncgroup_run (syncgroup_tell_func *tell) ;
 /* Worker w is leading a round, or waiting for one or its end. */
extern int syncgroup_busy (unsigned int w) ;
 /* Worker w is leading a round. */
extern int syncgroup_leads (unsigned int w) ;
 /* The number of rounds started and of syncs asked, since the start. */
extern void syncgroup_counts (unsigned long *rounds, unsigned long *asks) ;
extern void syncgroup_free (void) ;

#endif
