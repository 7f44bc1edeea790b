/* ferry-schedule's state and the functions between its files. The program's whole mutable state
   is one struct, sched (ferry-schedule.c); the queue on disk is the only state that survives it. */
#ifndef FERRY_SCHEDULE_H
#define FERRY_SCHEDULE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/genqdyn.h>
#include <skalibs/gensetdyn.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/addr.h>
#include <ferry/array.h>
#include <ferry/control.h>
#include <ferry/defer.h>
#include <ferry/dsn.h>
#include <ferry/envelope.h>
#include <ferry/frame.h>
#include <ferry/home.h>
#include <ferry/loop.h>
#include <ferry/metrics_snap.h>
#include <ferry/msgname.h>
#include <ferry/queue.h>

#include "backoff.h"
#include "dests.h"
#include "dueheap.h"
#include "idindex.h"
#include "idring.h"
#include "keys.h"
#include "rcpt.h"

#define DELETED_TEXT "5.0.0 returned to the sender by the administrator with ferry-qctl bounce"
#define BOUNCE_JOBS 4           /* runs of ferry-bounce-build at once */
 /* The ids of the recipient files found at start, loaded LOAD_CHUNK per round of the loop: the
    first delivery does not wait for 100,000 deferred messages to be read. */
#define LOAD_CHUNK 500

enum { CH_LOCAL, CH_REMOTE } ;
extern char const *const chname[2] ;    /* "local", "remote": the channels' names */
extern char const *const chdir_[2] ;    /* and their recipient files' directories */


 /* Kept small: a queue of 100,000 messages holds 100,000 of these (doc/performance.md). */
typedef struct msg_s msg ;
struct msg_s
{
  uint64_t id ;
  uint64_t stamp ;              /* with id, its name (ferry/msgname.h), as the log calls it */
  uint64_t wire ;               /* its body facts (the envelope's w and b records), for the remote channel */
  char *sender ;                /* one block: the sender, then every recipient's address */
  union { unsigned int one ; unsigned int *many ; } rs ;   /* its recipients (MSG_R) */
  char *lasterr ;
  uint32_t birth ;
  unsigned int count ;
  unsigned int open ;           /* recipients not yet K or D */
  uint32_t jobnext ;    /* not before: after a failed run */
  uint32_t lasttime ;   /* the last deferral: when, and its text (lasterr, for the delay warning) */
  uint32_t hintlo[2] ;  /* the earliest next attempt of the round's deferrals, per file; 0 for none */
  unsigned int flying[2] ;      /* recipients in flight, per channel */
  int fd[2] ;                   /* local/ and remote/ files, open only during a round of updates */
  unsigned int dirty : 2 ;      /* bit 1 << channel: that file has updates of this round to sync */
  unsigned int jobfailures : 8 ;
  unsigned int job : 1 ;        /* a ferry-bounce-build runs for it (sched.bjobs has its pid) */
  unsigned int used : 1 ;
  unsigned int bounced : 1 ;    /* queue/bounce/ID exists: notifications to send when every recipient is done */
  unsigned int warned : 1 ;     /* queue/bounce/ID.delay exists: the delay warning is made (or being made) */
  unsigned int delaypending : 1 ; /* ... and not sent yet */
  unsigned int waiting : 1 ;    /* on the list of messages waiting for ferry-bounce-build */
  unsigned int deferlog : 1 ;   /* queue/defer/N/ID may exist */
  unsigned int held : 1 ;       /* queue/hold/ID exists: never attempted until released */
  unsigned int finishing : 1 ;  /* on the list of messages to finish once this round's marks are synced */
  unsigned int ondirty : 1 ;    /* on the round's list of messages with updates to sync */
  unsigned int deleting : 2 ;   /* being deleted: 1 without notice, 2 with a failure notice */
  unsigned int eightbit : 1 ;
  unsigned int longline : 1 ;
  unsigned int requiretls : 1 ; /* its envelope's XREQUIRETLS: T in the requests' b field */
} ;

 /* A message's recipients, indices into rcpts: inline when there is one. */
#define MSG_R(m) ((m)->count > 1 ? (m)->rs.many : (unsigned int *)&(m)->rs.one)

typedef struct flight_s flight ;
struct flight_s
{
  int used ;
  char ch ;
  unsigned int msg ;
  unsigned int dest ;   /* remote: its destination (dests.h) */
  int key ;             /* remote: its shaping key (keys.h), -1 none */
  unsigned int epoch ;  /* the key's lowerings when it was sent */
  unsigned int n ;
  unsigned int *r ;     /* the recipients */
  unsigned int throttled : 1 ;     /* the channel said a host throttled it (!throttle) */
  unsigned int firstcontact : 1 ;  /* sent to a domain whose key was not told yet */
} ;

 /* The counters of the metrics snapshot (metrics.c), per channel where it says [2]. */
#define DELAY_BOUNDS 9          /* the delay histogram's buckets but +Inf: 1 5 15 60 300 900 3600 14400 86400 */
typedef struct counters_s counters ;
struct counters_s
{
  uint64_t started[2] ;         /* deliveries started */
  uint64_t results[2][3] ;      /* recipients, by RESULT_* (keys.h) */
  uint64_t delay[2][DELAY_BOUNDS + 1] ;   /* successes by delay, each in the first bucket that holds it */
  uint64_t delaysum[2] ;        /* seconds */
  uint64_t bytes[2] ;           /* message bytes of the requests with a success */
  uint64_t loaded, finished, marksyncs ;
} ;
typedef struct msgfd_s msgfd ;
struct msgfd_s
{
  size_t off ;
  int fd ;
} ;
typedef struct finisher_s finisher ;
struct finisher_s { unsigned int mi ; uint64_t id ; } ;
typedef struct removal_s removal ;
struct removal_s { uint64_t id ; uint64_t stamp ; } ;

 /* The other members of the set, in the order of FERRY_MEMBERS (ferry-start): their pipes, the
    frames to them not written yet and from them not whole yet, and what takes each frame. */
enum { PEER_PREPROCESS, PEER_LOCAL, PEER_REMOTE, PEER_CLEAN, PEER_SCLEAN, NPEERS } ;
typedef struct peer_s peer ;
struct peer_s
{
  char const *name ;    /* as the log names it */
  int infd, outfd ;
  stralloc in, out ;
  pid_t pid ;           /* 0 when FERRY_MEMBERS does not name it */
  void (*take) (char const *, size_t) ;
} ;
 /* The channel's request pipe: ferry-spawn-local or ferry-spawn-remote. */
#define PEER_OF_CHANNEL(ch) ((ch) == CH_LOCAL ? PEER_LOCAL : PEER_REMOTE)

 /* The program's mutable state: one instance, sched. */
typedef struct schedule_s schedule ;
struct schedule_s
{
  /* settings: the queue's split, then control/ (settings.c) */
  unsigned int split ;
  unsigned int conc[2], perdest ;
  uint64_t lifetime, delaywarning ;
  backoff curve ;               /* minbackoff, maxbackoff */

  /* the tables (tables.c): msgs[0..msgtop) and rcpts[0..rcpttop) used at some time */
  msg *msgs ;                   /* msgset's slots (moved when it grows) */
  gensetdyn msgset ;
  unsigned int livemsgs, msgtop ;
  rcpt *rcpts ;
  unsigned int nrcpts, openrcpts, rcpttop ;
  int freercpt ;                /* the free recipient slots, linked through link: the most recently freed first */
  idindex ids ;                 /* messages by id; the key, msg_id */

  desttable dests ;             /* remote destinations (dests.h) */

  /* traffic shaping (shaping.c, suspend.c, shapeday.c) */
  keytable keys ;
  domtable domains ;            /* domains whose key the remote channel told */
  int shaping ;                 /* the channel said !shaping on */
  int shapinghold ;             /* remote deliveries wait at start for it to say on or off (shaping.c) */
  uint32_t shapingwait ;        /* ... until then at most */
  uint64_t shapingday, recovery ;   /* control/shapingday, control/shapingrecovery */
  unsigned int nsuspdom ;       /* domains suspended */
  int daydirty ;                /* a key's count of the day changed since queue/shaping/counts was written */
  uint32_t daysaved ;
  uint32_t domainswept ;

  /* the metrics snapshot (metrics.c) */
  counters c ;
  unsigned int nready[2] ;      /* recipients in the ready rings (link -2) */
  unsigned int nparked ;        /* held by a limit or a suspension (link -3) */
  unsigned int flyingr[2] ;     /* recipients in flight */
  unsigned int opench[2] ;      /* open recipients (T or F) */
  ferry_metrics_snap snap ;     /* when it is written (ferry/metrics_snap.h) */

  /* deliveries out (dispatch.c) */
  flight *flights ;
  unsigned int nflights, inflight[2] ;

  /* recipients by when they are due (rings.c) */
  dueheap due ;                 /* deferred recipients, by next attempt */
  idring ready[2] ;             /* recipients due now */

  /* the other members of the set (peers.c) */
  peer peers[NPEERS] ;
  unsigned int nmembers ;       /* pids in FERRY_MEMBERS */
  /* When fd 5 is ferry-start's socket, each request to the remote channel carries its message's
     descriptor (SCM_RIGHTS) with the first byte of its frame, at offset off of the remote channel's out: the remote
     channel's user cannot read the queue (doc/security.html). A message that does not open is
     sent as /dev/null, which the channel answers with Z. */
  genqdyn msgfds ;              /* msgfd, in the order of their frames */
  int passfd, nullfd ;

  /* a round's in-place updates (marks.c) and the messages it finished (finish.c) */
  genalloc dirtylist ;          /* unsigned int */
  int queuefd ;
  /* Messages whose last recipient is done: finished (their files removed, their notifications
     started) once a sync has made every mark of their round durable (finish.c): finishlist, those
     of the rounds since the last sync began; syncwait, those the sync under way covers. */
  genalloc finishlist ;         /* finisher */
  genalloc syncwait ;           /* finisher */
  /* the syncer (syncer.c): its socket and pid; syncing: the sync under way ('s' syncfs, 'f' one
     file's fdatasync), 0 when none is */
  int syncfd ;
  pid_t syncpid ;
  int syncing ;
  /* Finished messages whose files the queue manager's ferry-clean is removing: in the order
     asked, which is the order of its answers. Until the answer, such an id is gone for ferry-qctl's
     commands, and its message file keeps the id from being reused. */
  genqdyn removing ;            /* removal */

  /* ferry-bounce-build (bounce.c) */
  char const *homepath ;
  char binbounce[PATH_MAX] ;    /* HOME/bin/ferry-bounce-build */
  genalloc bwait ;              /* unsigned int: messages waiting for a run */
  unsigned int nbjobs ;
  struct { pid_t pid ; unsigned int msg ; char delay ; } bjobs[BOUNCE_JOBS] ;
  uint32_t lastwarn ;           /* the last look for delay warnings */
  int deferwarned ;             /* a defer record could not be written: said once */

  /* ferry-qctl's commands (steer.c) */
  genalloc delpending ;         /* uint64_t: delete markers for messages not loaded yet */

  /* loading at start (load.c) */
  /* uint64_t: ids sorted, each taken from the end (a stack: nothing to gain from a queue's head) */
  genalloc loadq ;              /* the rest */
  genalloc dueq ;               /* those of the files due now, first */
  size_t loadahead, dueahead ;  /* from these indexes on, their ids' files were asked of the disk (ahead.c) */
  size_t asked ;                /* the messages whose files were asked ahead, for the log */
  time_t loadstart ;
  int loading ;

  int stopping ;
  int statuschanged ;
  char logbuf[65536] ;          /* the log, buffered for a round */
} ;

extern schedule sched ;

 /* answer.c */
extern void answer_take (int ch, char const *p, size_t n) ;
extern void batch_done (unsigned int const *r, unsigned int n, char status, char const *text) ;
extern void bounce_record_cat (stralloc *sa, unsigned int ri, char kind, char const *text, uint32_t when) ;
extern void rcpt_defer (unsigned int ri, uint32_t next) ;

 /* bounce.c */
extern int bounce_reap (pid_t pid, int wstat) ;
extern void bounce_start (void) ;
extern void bounce_want (unsigned int mi) ;
extern void warn_delays (void) ;

 /* dispatch.c */
extern void dest_unfail (int d) ;
extern void dispatch (void) ;

 /* metrics.c */
extern int metrics_fill (stralloc *sa) ;
extern void metrics_result (int ch, unsigned int mi, int result, unsigned int n, uint32_t now) ;

 /* finish.c */
extern int msg_exists (uint64_t id) ;
extern int removing_has (uint64_t id) ;
extern void finish_flush (void) ;
extern void finish_later (unsigned int mi) ;
extern void finish_synced (void) ;
extern void msg_finish (unsigned int mi) ;
extern void msg_forget (unsigned int mi) ;
extern void removal_start (uint64_t id, uint64_t stamp) ;

 /* ahead.c */
extern void load_ahead (unsigned int max) ;

 /* load.c */
extern int load_pending (void) ;  /* ids of the start-up list not loaded yet */
extern void load_rest (void) ;
extern void load_some (unsigned int max) ;
extern void msg_load (uint64_t id, int announce) ;
extern void queue_load (void) ;
extern void steer_load (void) ;

 /* log.c */
extern void log_addrs (unsigned int const *r, unsigned int n) ;
extern void logclean (char const *s) ;
extern void logend (void) ;
extern void logname (uint64_t id, uint64_t stamp) ;
extern void lognameof (uint64_t id) ;
extern void logs (char const *s) ;
extern void logu (uint64_t u) ;
extern void status_log (void) ;

 /* marks.c */
extern void mark_dirty (unsigned int mi) ;
extern void record_put (unsigned int ri, size_t at, char const *s, size_t n) ;
extern void records_mark (unsigned int const *r, unsigned int n, char status) ;
extern void sync_dirty (void) ;
extern int sync_dirty_start (void) ;

 /* syncer.c */
extern void syncer_start (void) ;
extern void syncer_ask (int fd, char what) ;
extern int syncer_answer (void) ;
extern void syncer_stop (void) ;

 /* peers.c */
extern void clean_request_to (unsigned int to, char kind, uint64_t id) ;
extern void peer_read (unsigned int i) ;
extern void peer_write (unsigned int i) ;
extern void clean_take (char const *p, size_t n) ;
extern void control_log (int ch, char const *p, size_t n) ;
  /* control frames to the channels (doc/protocols.html): "!reread" on SIGHUP, "!undead all" on
     SIGALRM; their answers are logged */
extern void control_send (char const *a, char const *b) ;
extern void control_send_local (char const *a) ;
extern void local_take (char const *p, size_t n) ;
extern void preprocess_signal (int sig) ;
extern void preprocess_take (char const *p, size_t n) ;
extern void remote_take (char const *p, size_t n) ;
extern void sclean_take (char const *p, size_t n) ;

 /* rings.c */
extern int ready_pop (int ch) ;
extern void ready_push (unsigned int ri) ;
 /* The recipient leaves the ready list or its parking: its link is -1 (the entry goes stale). */
extern void rcpt_unlink (unsigned int ri) ;

 /* adaptive.c */
extern void key_step (unsigned int k, uint64_t now) ;
extern void throttle_take (char const *num, char const *text) ;

 /* limits.c */
extern uint64_t shape_now (void) ;
extern uint64_t shape_today (void) ;
extern uint64_t nextday_at (uint64_t now) ;
extern unsigned int key_conf_conn (key const *K) ;
extern unsigned int key_conn (key const *K) ;
extern uint64_t key_rate (key const *K) ;
extern void key_retime (key *K) ;
extern void key_day (key *K) ;
extern void key_check (unsigned int k) ;
extern void key_ref (int k) ;
extern void key_unref (int k) ;
extern unsigned int key_release (unsigned int k) ;
extern void key_schedule (unsigned int k, uint64_t now, unsigned int pending) ;
extern void key_wake_all (void) ;
extern void dest_attach (unsigned int d) ;
extern void dest_idle (unsigned int d) ;
extern void dest_park (unsigned int d, unsigned int ri) ;
extern unsigned int dest_room (unsigned int d) ;
extern void dest_setkey (unsigned int d, int k) ;
extern int shape_admit (unsigned int d, unsigned int ri) ;
extern void shape_sent (unsigned int fi) ;
extern void shape_answer (unsigned int fi) ;
extern void shape_wake (void) ;

 /* shapeday.c */
extern void shapeday_load (void) ;
extern void shapeday_save (int force) ;

 /* shaping.c */
extern int shape_frame (char const *p, size_t n) ;
extern void shape_start (void) ;
extern int shape_remote_ready (void) ;
extern void shape_deadline (tain *deadline) ;
extern void shape_reread (void) ;

 /* suspend.c */
extern void suspend_load (void) ;
extern void suspend_command (char const *verb, char const *name) ;

 /* settings.c */
extern int load_settings (int initial) ;

 /* steer.c */
extern void delete_pending_check (unsigned int mi) ;
extern void msg_delete (unsigned int mi) ;
extern void steer_log (char const *what, uint64_t id, char const *rest) ;
extern void steer_read (int fd, stralloc *sa) ;

 /* tables.c */
extern char *xstrdup (char const *s, size_t n) ;
 /* add one element of size bytes at the end, or die (111, out of memory) */
extern void append_or_die (genalloc *g, void const *p, size_t size) ;
extern void push_or_die (genqdyn *q, void const *p) ;
extern int msg_find (uint64_t id) ;
extern uint64_t msg_id (void const *ctx, unsigned int mi) ;
extern unsigned int msg_alloc (void) ;
extern unsigned int rcpt_alloc (void) ;
extern void msg_free (unsigned int mi) ;

#endif
