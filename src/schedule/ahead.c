/* ferry-schedule, loading: the files of the next messages asked of the disk before the load reads
   them, when the queue is not in memory (after a reboot, or once the kernel has paged out a queue
   filled long before). The load reads a message's files one after the other, each read waiting
   for the disk; asked for together, a round's files are read by the disk at once, while the
   previous round's messages are delivered. */

#include "schedule.h"

 /* the recipient files and the envelope, which the load reads whole, and the head of the message
    file, which a channel reads soon after */
static void ask_message (uint64_t id)
{
  char fn[FERRY_QUEUE_PATH_MAX] ;
  ferry_queue_path(fn, "local", id, sched.split) ;
  ferry_queue_ask(fn, 0) ;
  ferry_queue_path(fn, "remote", id, sched.split) ;
  ferry_queue_ask(fn, 0) ;
  ferry_queue_path(fn, "intd", id, sched.split) ;
  ferry_queue_ask(fn, 0) ;
  ferry_queue_path(fn, "mess", id, sched.split) ;
  ferry_queue_ask(fn, FERRY_QUEUE_ASK_MESSAGE) ;
}

 /* Whether the ids below from are out of memory, by the envelopes of the first few of them that
    the load will read: an id whose todo entry is there is passed over (the load leaves it to
    ferry-preprocess-todo, which may have just written its files: in memory, whatever the rest of
    the queue). */
static int out_of_memory (uint64_t const *ids, size_t from, size_t low)
{
  unsigned int looked = 0 ;
  while (from > low && looked < FERRY_QUEUE_AHEAD_LOOKS)
  {
    char fn[FERRY_QUEUE_PATH_MAX] ;
    uint64_t id = ids[--from] ;
    ferry_queue_path(fn, "todo", id, sched.split) ;
    if (access(fn, F_OK) == 0) continue ;
    ferry_queue_path(fn, "intd", id, sched.split) ;
    if (!ferry_queue_in_memory(fn)) return 1 ;
    looked++ ;
  }
  return 0 ;
}

 /* The start-up lists are taken from their ends (load.c): the next max ids to load and the max
    after them (this round's and the next's) are asked for, unless the first of them not asked
    for yet are in memory. The look costs at most sixteen system calls a round; asking, four
    opens a message. */
void load_ahead (unsigned int max)
{
  genalloc *q[2] = { &sched.dueq, &sched.loadq } ;
  size_t *mark[2] = { &sched.dueahead, &sched.loadahead } ;
  size_t want = max == UINT_MAX ? SIZE_MAX : 2 * (size_t)max ;   /* UINT_MAX: the whole list (load_rest) */
  unsigned int i ;
  for (i = 0 ; i < 2 && want ; i++)
  {
    uint64_t const *ids = genalloc_s(uint64_t, q[i]) ;
    size_t len = genalloc_len(uint64_t, q[i]), low = len > want ? len - want : 0 ;
    /* the ids from the mark on were asked for; those taken since are gone from the list */
    if (*mark[i] > len) *mark[i] = len ;
    if (*mark[i] > low)
    {
      if (!out_of_memory(ids, *mark[i], low)) return ;
      sched.asked += *mark[i] - low ;
      while (*mark[i] > low) ask_message(ids[--*mark[i]]) ;
    }
    want -= len - low ;
  }
}
