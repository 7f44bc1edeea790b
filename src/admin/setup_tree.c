/* setup_tree: ferry-setup's directories and fifos, as package/modes lists them: the queue (its
   split directories, queue/split), metrics/, service/, log/ and the rest. */

#include <string.h>
#include <unistd.h>

#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include "setup.h"

 /* queue/split: the split the queue is made with, written before any numbered subdirectory, so
    that the queue always says what it was made with (doc/queue.html). One already there is only
    checked (its value by ferry-setup's queue_split). */
static void split_record (setup *s, setup_item const *it, unsigned int split)
{
  char fmt[UINT_FMT + 1] ;
  size_t n = uint_fmt(fmt, split) ;
  unsigned int before = s->created ;
  uid_t uid ;
  gid_t gid ;
  fmt[n++] = '\n' ;
  if (access(it->path, F_OK) == 0) { setup_check(s, it->path, it, 'r') ; return ; }
  setup_file(s, it->path, fmt, n, it->mode) ;
  if (s->created == before) return ;   /* -c: reported missing */
  setup_owner(s, it, &uid, &gid) ;
  if (chown(it->path, uid, gid) < 0) strerr_diefu2sys(111, "chown ", it->path) ;
}

 /* The numbered subdirectories 0 to split-1 of a split directory, one line for those made. */
static void split_make (setup *s, setup_item const *it, unsigned int split)
{
  unsigned int i = 0, made = 0 ;
  for (; i < split ; i++)
  {
    char sub[strlen(it->path) + UINT_FMT + 2] ;
    size_t n = strlen(it->path) ;
    memcpy(sub, it->path, n) ;
    sub[n++] = '/' ;
    sub[n + uint_fmt(sub + n, i)] = 0 ;
    made += setup_make(s, sub, it, 0, 1) ;
  }
  if (made)
  {
    char fmt[UINT_FMT + 24] ;
    size_t k = uint_fmt(fmt, made) ;
    memcpy(fmt + k, " subdirectories in ", 20) ;
    setup_say("created ", fmt, it->path) ;
  }
}

void setup_tree (setup *s, unsigned int split)
{
  setup_item const *it ;
  for (it = setup_items ; it->kind ; it++)
  {
    if (it->kind == 'b' || it->kind == 'r' || !strcmp(it->path, "control")) continue ;
    setup_make(s, it->path, it, it->kind == 'f', 0) ;
    if (!strcmp(it->path, "queue"))
    {
      setup_item const *r ;
      for (r = setup_items ; r->kind ; r++) if (r->kind == 'r') split_record(s, r, split) ;
    }
    if (it->kind == 's') split_make(s, it, split) ;
  }
}
