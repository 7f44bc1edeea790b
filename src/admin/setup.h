/* ferry-setup's parts: the lines of package/modes, how a path is made or checked against its
   line, the home's directories and its service directories. All work in the home (the current
   directory) and die (111) on a system error. */
#ifndef FERRY_ADMIN_SETUP_H
#define FERRY_ADMIN_SETUP_H

#include <stddef.h>
#include <sys/types.h>

 /* A line of package/modes. */
typedef struct setup_item_s setup_item ;
struct setup_item_s
{
  char kind ;          /* 'b' installed program (bin/NAME), 'd' directory, 's' split directory, 'f' fifo,
                          'r' a record file (queue/split) */
  char const *path ;
  char const *owner ;
  char const *group ;
  mode_t mode ;
} ;
 /* every line, then one of kind 0 */
extern setup_item const setup_items[] ;

 /* A run: what it was asked, what it counted. */
typedef struct setup_s setup ;
struct setup_s
{
  int dedicated ;            /* owners are the dedicated users (-u, or a home made with -u) */
  int checkonly ;            /* -c: only report */
  unsigned int created ;     /* what the run made or changed */
  unsigned int problems ;    /* what it found differing from package/modes */
  uid_t homeuid ;            /* the home's owner: every owner without the dedicated users */
  gid_t homegid ;
} ;
#define SETUP_ZERO { 0, 0, 0, 0, 0, 0 }

 /* One line on stdout: what path more. */
extern void setup_say (char const *what, char const *path, char const *more) ;
 /* The line of package/modes for path (dies, 111, when there is none). */
extern setup_item const *setup_item_of (char const *path) ;
 /* The owner and group the line gives in this home. */
extern void setup_owner (setup const *s, setup_item const *it, uid_t *uid, gid_t *gid) ;
 /* Reports (a problem each) what differs at path from the line: missing, type (kind 'f' a FIFO,
    'b' or 'r' a file, else a directory), mode, owner. */
extern void setup_check (setup *s, char const *path, setup_item const *it, char kind) ;
 /* Creates the directory (or fifo) path with the line's owner and mode: 1; 0 when it was there,
    or with -c (then only checked). quiet: no "created" line. */
extern int setup_make (setup *s, char const *path, setup_item const *it, int fifo, int quiet) ;
 /* Writes fn with s, mode, atomically, only if fn does not exist (with -c: reported missing). */
extern void setup_file (setup *s, char const *fn, char const *data, size_t len, mode_t mode) ;

 /* Every directory and fifo of package/modes but control/ (the queue with its numbered
    subdirectories and queue/split, metrics/, service/, log/, ...), made or checked. */
extern void setup_tree (setup *s, unsigned int split) ;
 /* The run scripts of the s6 service directories: service/ferry (the set), service/ferry-injectd,
    service/ferry-metrics (down when first made), and the SMTP services (setup_smtpd). */
extern void setup_services (setup *s, char const *home) ;

 /* Writes fn, a service's log/run: s6-log into the home's logdir as ferryl (a dedicated home). */
extern void setup_log_run (setup *s, char const *fn, char const *home, char const *name, char const *logdir) ;
 /* The SMTP services: control/smtpd.rules and control/smtpd.cdb made from it with tcprules (when
    missing), service/ferry-smtpd (port 25), ferry-submission (587) and ferry-smtps (465), each
    ferry-smtpd's server mode (as ferryd with the dedicated users); each down when first made. */
extern void setup_smtpd (setup *s, char const *home) ;

#endif
