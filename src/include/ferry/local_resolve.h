/* Who gets a local recipient's mail: the mailboxes table (control/mailboxes.cdb, virtual
   domains and aliases, user-ext and @domain catch-alls) or a system user. One lookup for the
   local channel (which delivers) and ferry-smtpd (which refuses an unknown recipient at RCPT), so
   the two cannot disagree. */
#ifndef FERRY_LOCAL_RESOLVE_H
#define FERRY_LOCAL_RESOLVE_H

#include <sys/types.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

 /* What a local delivery needs from the home, read once (and again on SIGHUP). */
typedef struct ferry_local_ctx_s ferry_local_ctx ;
struct ferry_local_ctx_s
{
  stralloc home ;            /* absolute path of the ferry home */
  stralloc me ;
  stralloc locals ;          /* control/locals, lower-cased, one per line */
  stralloc virtualdomains ;  /* control/virtualdomains, likewise */
  stralloc defaultdelivery ; /* control/defaultdelivery: the lines for users without a .ferry */
  stralloc mailboxowner ;    /* control/mailboxowner: owner of table entries that name none */
  char separator ;           /* control/extseparator */
  unsigned int timeoutprogram ;
  int root ;                 /* deliveries run as root and switch to the owner: the effective
                                uid at load; ferry-smtpd sets it to what the local channel does */
  uid_t uidmin ;             /* the first uid of ordinary users (ferry_sysusers_uidmin) */
  cdb mailboxes ;            /* control/mailboxes.cdb, or none */
  int havecdb ;
  dev_t cdbdev ;             /* which file is open, to notice a new one */
  ino_t cdbino ;
} ;
#define FERRY_LOCAL_CTX_ZERO { .home = STRALLOC_ZERO, .me = STRALLOC_ZERO, .locals = STRALLOC_ZERO, \
  .virtualdomains = STRALLOC_ZERO, .defaultdelivery = STRALLOC_ZERO, .mailboxowner = STRALLOC_ZERO, \
  .separator = '-', .timeoutprogram = 3600, .root = 0, .uidmin = 1000, .mailboxes = CDB_ZERO, .havecdb = 0, .cdbdev = 0, .cdbino = 0 }

 /* Reads the settings (the current directory is the home). 1: ok; 0: error, text in err. */
extern int ferry_local_ctx_load (ferry_local_ctx *ctx, stralloc *err) ;
extern void ferry_local_ctx_free (ferry_local_ctx *ctx) ;

 /* Reopens control/mailboxes.cdb if ferry-mailboxes has replaced it. 1: ok, 0: error (errno). */
extern int ferry_local_ctx_refresh (ferry_local_ctx *ctx) ;

 /* The resolved recipient. Strings are fields of sa, at these offsets. */
typedef struct ferry_local_target_s ferry_local_target ;
struct ferry_local_target_s
{
  char kind ;      /* 'u': a system user and their dot files; 'v': lines from the mailboxes table */
  int become ;     /* switch to uid/gid before delivering */
  uid_t uid ;
  gid_t gid ;
  stralloc sa ;
  size_t user, home, local, host, ext, lines ;
} ;
#define FERRY_LOCAL_TARGET_ZERO { .kind = 0, .become = 0, .uid = 0, .gid = 0, .sa = STRALLOC_ZERO, \
  .user = 0, .home = 0, .local = 0, .host = 0, .ext = 0, .lines = 0 }
#define ferry_local_target_str(t, field) ((t)->sa.s + (t)->field)

 /* Who gets recipient's mail. Returns 'K' (t filled), 'D' (no such address: text in err) or 'Z'. */
extern char ferry_local_resolve (ferry_local_ctx *ctx, char const *recipient, ferry_local_target *t, stralloc *err) ;

#endif
