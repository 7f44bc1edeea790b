/* Local delivery: who gets a local recipient's mail, and delivering it. One code path for
   ferry-local (by hand) and the workers of ferry-spawn-local. */
#ifndef FERRY_LOCAL_LOCAL_H
#define FERRY_LOCAL_LOCAL_H

#include <sys/types.h>

#include <skalibs/stralloc.h>

#include <ferry/local_resolve.h>

 /* A target as one frame payload and back (ferry-spawn-local hands it to a worker). */
extern int local_target_pack (stralloc *sa, ferry_local_target const *t) ;
extern int local_target_unpack (ferry_local_target *t, char const *const *fields, unsigned int n) ;
#define LOCAL_TARGET_FIELDS 10

 /* Switches to the target's uid and gid (and the user's groups) when it says so. 1 or 0 (errno). */
extern int local_become (ferry_local_target const *t) ;

 /* The next delivery line of s[*pos..len) (a dot file, or a mailboxes entry's lines): blank and
    # lines skipped, spaces and tabs trimmed (and a CR before the newline), the line terminated in
    place, so s must have a byte of room after len. 1 with *line and *n (n > 0); 0 at the end. */
extern int local_line_next (char *s, size_t len, size_t *pos, char **line, size_t *n) ;

 /* What a delivering process keeps from one delivery to the next, one per process (ferry-local's,
    each worker of ferry-spawn-local): how it makes files durable, and its count of Maildir names. */
typedef struct local_state_s local_state ;
struct local_state_s
{
  int (*sync) (int fd, void *data) ;   /* 0, or -1 (errno); none: each sync alone, fsync */
  void *syncdata ;                     /* sync's second argument */
  unsigned int seq ;                   /* Maildir names made by this process */
  int noproc ;                         /* -1: not known yet; 1: no /proc/self/fd (no O_TMPFILE) */
} ;
#define LOCAL_STATE_ZERO { .sync = 0, .syncdata = 0, .seq = 0, .noproc = -1 }

 /* Delivers the message (msgfd, read with pread from offset 0) to the target: every line of its
    instructions. Returns 'K', 'Z' or 'D', with the one-line report in report. */
extern char local_deliver (ferry_local_ctx const *ctx, local_state *st, ferry_local_target const *t, int msgfd, char const *sender, char const *recipient, stralloc *report) ;

 /* The kinds of instruction, one file each, called by local_deliver alone (a path line ending in
    / a Maildir, another path an mbox, |command, &address); each appends its part of the report.
    They use the helpers below and never local_deliver. */
typedef struct local_msg_s local_msg ;
struct local_msg_s
{
  int fd ;
  char const *sender ;
  char const *recipient ;
  local_state *state ;
  stralloc prefix ;          /* "Return-Path: <sender>\nDelivered-To: recipient\n" */
} ;
extern char local_maildir (local_msg const *m, char const *dir, stralloc *report) ;
extern char local_mbox (local_msg const *m, char const *file, stralloc *report) ;
extern char local_program (ferry_local_ctx const *ctx, ferry_local_target const *t, local_msg const *m, char const *command, stralloc *report) ;
extern char local_forward (ferry_local_ctx const *ctx, local_msg const *m, stralloc const *addresses, stralloc *report) ;

 /* The helpers of the kinds, which call none of them. */

 /* Copies prefix then the message from fd (offset 0) to out; with mboxrd, quotes ^>*From lines.
    Returns 1, or 0 with errno (a read error is reported as EIO). */
extern int local_copy (int out, local_msg const *m, int mboxrd) ;

 /* Makes what was written through fd (a file, or a directory's entries) durable: 0, or -1 (errno).
    fsync unless st names another way (ferry-spawn-local's shared syncs); every sync of a Maildir
    or mbox delivery goes through it. */
extern int local_sync (local_state *st, int fd) ;
 /* local_sync on the directory dir: 0, or -1 with errno. */
extern int local_dir_sync (local_state *st, char const *dir) ;

 /* Makes directory dir and its missing parents with mode (as the current user: a delivery's
    owner), the entry of each one made synced (local_sync). 0 if they exist now, or -1 with
    errno, and in what "create the directory PATH" or "sync the directory above PATH". */
extern int local_dirs_make (local_state *st, char const *dir, mode_t mode, stralloc *what) ;

#endif
