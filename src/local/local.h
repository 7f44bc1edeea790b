/* Local delivery: who gets a local recipient's mail, and delivering it. One code path for
   ferry-local (by hand) and the workers of ferry-spawn-local. */
#ifndef FERRY_LOCAL_LOCAL_H
#define FERRY_LOCAL_LOCAL_H

#include <sys/types.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

 /* What a local delivery needs from the home, read once (and again on SIGHUP). */
typedef struct local_ctx_s local_ctx ;
struct local_ctx_s
{
  stralloc home ;            /* absolute path of the ferry home */
  stralloc me ;
  stralloc locals ;          /* control/locals, lower-cased, one per line */
  stralloc virtualdomains ;  /* control/virtualdomains, likewise */
  stralloc defaultdelivery ; /* control/defaultdelivery: the lines for users without a .ferry */
  stralloc mailboxowner ;    /* control/mailboxowner: owner of table entries that name none */
  char separator ;           /* control/extseparator */
  unsigned int timeoutprogram ;
  int root ;                 /* running as root: deliveries switch to the owner */
  uid_t uidmin ;             /* the first uid of ordinary users (ferry_sysusers_uidmin) */
  cdb mailboxes ;            /* control/mailboxes.cdb, or none */
  int havecdb ;
  dev_t cdbdev ;             /* which file is open, to notice a new one */
  ino_t cdbino ;
} ;
#define LOCAL_CTX_ZERO { .home = STRALLOC_ZERO, .me = STRALLOC_ZERO, .locals = STRALLOC_ZERO, \
  .virtualdomains = STRALLOC_ZERO, .defaultdelivery = STRALLOC_ZERO, .mailboxowner = STRALLOC_ZERO, \
  .separator = '-', .timeoutprogram = 3600, .root = 0, .uidmin = 1000, .mailboxes = CDB_ZERO, .havecdb = 0, .cdbdev = 0, .cdbino = 0 }

 /* Reads the settings (the current directory is the home). 1: ok; 0: error, text in err. */
extern int local_ctx_load (local_ctx *ctx, stralloc *err) ;
extern void local_ctx_free (local_ctx *ctx) ;

 /* Reopens control/mailboxes.cdb if ferry-mailboxes has replaced it. 1: ok, 0: error (errno). */
extern int local_ctx_refresh (local_ctx *ctx) ;

 /* The resolved recipient. Strings are fields of sa, at these offsets. */
typedef struct local_target_s local_target ;
struct local_target_s
{
  char kind ;      /* 'u': a system user and their dot files; 'v': lines from the mailboxes table */
  int become ;     /* switch to uid/gid before delivering */
  uid_t uid ;
  gid_t gid ;
  stralloc sa ;
  size_t user, home, local, host, ext, lines ;
} ;
#define LOCAL_TARGET_ZERO { .kind = 0, .become = 0, .uid = 0, .gid = 0, .sa = STRALLOC_ZERO, \
  .user = 0, .home = 0, .local = 0, .host = 0, .ext = 0, .lines = 0 }
#define local_target_str(t, field) ((t)->sa.s + (t)->field)

 /* Who gets recipient's mail. Returns 'K' (t filled), 'D' (no such address: text in err) or 'Z'. */
extern char local_resolve (local_ctx *ctx, char const *recipient, local_target *t, stralloc *err) ;

 /* A target as one frame payload and back (ferry-spawn-local hands it to a worker). */
extern int local_target_pack (stralloc *sa, local_target const *t) ;
extern int local_target_unpack (local_target *t, char const *const *fields, unsigned int n) ;
#define LOCAL_TARGET_FIELDS 10

 /* Switches to the target's uid and gid (and the user's groups) when it says so. 1 or 0 (errno). */
extern int local_become (local_target const *t) ;

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
extern char local_deliver (local_ctx const *ctx, local_state *st, local_target const *t, int msgfd, char const *sender, char const *recipient, stralloc *report) ;

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
extern char local_program (local_ctx const *ctx, local_target const *t, local_msg const *m, char const *command, stralloc *report) ;
extern char local_forward (local_ctx const *ctx, local_msg const *m, stralloc const *addresses, stralloc *report) ;

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
