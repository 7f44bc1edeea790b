/* ferry-clean's removers: forks of ferry-clean that do the removals that free data blocks,
   several at once (doc/ferry-clean.html, "Removals at once"). On a file system that discards
   freed blocks as they are freed (ext4 without a journal, mounted with discard), each such
   removal waits for the disk; done one after another they were what limited a drain. */
#ifndef FERRY_REMOVERS_H
#define FERRY_REMOVERS_H

#include <stdint.h>
#include <skalibs/iopause.h>

 /* A remover's work: the removals of one request, from its step (the giver did those before);
    0, or the reason it stopped (errno set). A reason is a string of the program's own text, the
    same in the fork as in its parent. It sets *durable when something it removed must stay
    removed across a crash before the request is acknowledged (the giver syncs). */
typedef char const *removers_work_func (char kind, uint64_t id, unsigned int step, int *durable) ;
 /* What a job (numbered by its giver) ended with. */
typedef void removers_done_func (uint32_t job, char const *why, int err, int durable) ;

 /* Forks n removers; dies (111) if it cannot. Fds 0 and 1 are /dev/null in them; they ignore
    SIGTERM, SIGHUP and SIGINT and exit when the parent is gone. */
extern void removers_start (unsigned int n, removers_work_func *work) ;
 /* Gives a job, from its step on (0 to 255), to whichever remover is free first. It blocks if
    the job pipe is full (4,096 jobs waiting): the caller keeps far fewer unfinished. */
extern void removers_give (uint32_t job, char kind, uint64_t id, unsigned int step) ;
 /* Puts the removers' answer descriptors into x; returns how many. */
extern unsigned int removers_pollset (iopause_fd *x) ;
 /* Reads the answers of those of x (as filled by removers_pollset) that are ready, calling done
    for each. A remover that died makes the program die (111): its job's answer is lost. */
extern void removers_collect (iopause_fd const *x, removers_done_func *done) ;

#endif
