/* The hand tools' shared parts: a read-only walk over the queue, JSON strings, durations. */
#ifndef FERRY_ADMIN_ADMIN_H
#define FERRY_ADMIN_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>

#include <ferry/msgname.h>

typedef struct qrcpt_s qrcpt ;
struct qrcpt_s
{
  char const *addr ;
  char channel ;          /* 'L', 'R', or '?' for a message not prepared yet */
  char status ;           /* 'T' to deliver, 'K' delivered, 'D' failed */
  uint64_t next ;         /* next attempt, seconds since the Epoch; 0: at once */
  uint32_t index ;        /* envelope index */
  char const *lasterr ;   /* the last deferral's text, or 0 */
  uint64_t lasttime ;
  uint32_t attempts ;     /* attempts that ended in a deferral (its records in queue/defer) */
} ;

typedef struct qmsg_s qmsg ;
struct qmsg_s
{
  uint64_t id ;
  uint64_t stamp ;        /* with id, its name: its message file's time (0 when the file is missing) */
  char name[FERRY_MSGNAME_MAX] ;
  int prepared ;          /* 0: only a todo entry so far (new) */
  uint64_t birth ;
  char const *sender ;
  uint64_t size ;
  int held ;
  int bounce ;            /* notifications pending (queue/bounce/ID) */
  int deleting ;          /* queue/delete/ID */
  qrcpt *r ;
  unsigned int n ;
  char const *damage ;    /* what is wrong with its files, or 0 */
  int unloadable ;        /* its envelope or recipient records do not parse: the queue manager never loads it */
} ;

 /* Enters the home (home, else as ferry_home says) and returns the queue's split, checked
    against control/queuesplit; dies 111 on failure. */
extern unsigned int queue_enter (char const *home) ;

 /* Calls f for every message in the queue (read-only; files that vanish while it reads are
    messages that finished: skipped). The current directory is the home. Returns 0 if f
    returned nonzero (a stop), 1 after the whole queue, -1 on a system error (errno). */
extern int qwalk (unsigned int split, int (*f)(qmsg const *, void *), void *data) ;

 /* The same for one message, found by its id: 1 shown, 0 not in the queue, -1 error. */
extern int qwalk_id (unsigned int split, uint64_t id, int (*f)(qmsg const *, void *), void *data) ;

 /* s as a JSON string, quotes included; bytes that are not UTF-8 become U+FFFD. */
extern int json_cat (stralloc *sa, char const *s) ;

 /* "3d4h", "25m", "12s" */
extern size_t duration_fmt (char *s, uint64_t secs) ;
#define DURATION_FMT 32

 /* The addresses of an RFC 5322 address list (a To:, Cc: or Bcc: value, unfolded), each appended
    to sa with a null byte after it: "Name <a@b>" gives a@b, "a@b (comment)" a@b, a group
    "team: a@b, c@d;" gives a@b and c@d. The number of addresses; -1: out of memory; -2: an
    address holds a null byte or a control character (nothing would deliver it as written). */
extern int addrlist_parse (stralloc *sa, char const *s, size_t len) ;

 /* The same list appended to sa with @domain after each address that has no @ (a bare local
    part: "root", "Bob <bob>"); every other byte as it was: display names, comments, groups,
    quoted strings, folding, qualified addresses. The number of addresses qualified; -1: out of
    memory. The addresses addrlist_parse then reads are those it read before, each without @
    given @domain. */
extern int addrlist_qualify (stralloc *sa, char const *s, size_t len, char const *domain, size_t dlen) ;

 /* The login name of uid, appended to sa with a null byte: from /etc/passwd, else from getent
    (the name services), without getpwuid, which a static program cannot use. 1 found, 0 no
    such account, -1 error (errno). */
extern int login_name (stralloc *sa, uid_t uid) ;

 /* The sendmail command line (sendmail_run.c), for ferry-sendmail-run and ferry-sendmaild's
    workers: takes argv as sendmail does, reads the message on fd 0 and queues it; returns or
    exits with a sysexits code. watch: -1, or a descriptor whose end of file (ferry-sendmail
    was killed) stops the job, with nothing queued, until the message is handed over. */
extern int sendmail_run (int argc, char const *const *argv, int watch) ;

 /* ferry-sendmail's request to ferry-sendmaild (sendmail_request.c; doc/ferry-sendmaild.html):
    "LEN:" then the arguments, argv[0] first, each ended by a null byte, then ",", LEN at most
    SENDMAIL_REQUEST_MAX. sendmail_request_length: the whole request's length from its first n
    bytes, 0 while its head is not whole, -1 malformed. sendmail_request_split: the arguments of
    a whole request of total bytes into *argv (malloc'd, null-terminated, pointing into s):
    their number, or -1 (malformed, or no memory). */
#define SENDMAIL_REQUEST_MAX (1 << 20)
extern ssize_t sendmail_request_length (char const *s, size_t n) ;
extern int sendmail_request_split (char const *s, size_t total, char const ***argv) ;

 /* ferry-metrics' page: every snapshot metrics/PROG/metrics.prom of the home (the current
    directory), by PROG, then ferry_up and ferry_snapshot_age_seconds per PROG, appended to sa. 1;
    0 if metrics/ cannot be read (errno); -1 out of memory. A snapshot that cannot be read is
    said on stderr and counts as absent. */
extern int metrics_collect (stralloc *sa) ;
#define METRICS_UP_SECONDS 10   /* a snapshot younger than this: its program runs */

 /* A sample line of a Prometheus text snapshot, cut in place (line must be null-terminated):
    its name, its labels as written ('a="x",b="y"', "" when none) and its value (+Inf: 1e300).
    1 a sample, 0 a comment or an empty line, -1 a line it does not read. */
typedef struct prom_sample_s prom_sample ;
struct prom_sample_s
{
  char const *name ;
  char const *labels ;
  double value ;
} ;
extern int prom_line (char *line, prom_sample *p) ;
 /* The value of label key, unescaped, null-terminated, in value: 1, or 0 when it has none; -1
    when the labels do not read (or out of memory). */
extern int prom_label (char const *labels, char const *key, stralloc *value) ;

 /* The queue manager's snapshot of shaping keys (shaping_read.c), from metrics/schedule/metrics.prom. */
typedef struct shapekey_s shapekey ;
struct shapekey_s
{
  char *key ;
  uint64_t inflight, waiting, conn, conf, dailysent, dailycap ;
  double ratelimit, rate ;
  int suspended ;
  int hasratelimit, hasrate, hasdaily, hascap ;
} ;
 /* The keys of the snapshot, and its age in seconds: 1 read; 0 no snapshot (errno ENOENT) or an
    unreadable one (errno). *keys is malloc'ed, each key's name too. */
extern int shaping_read (shapekey **keys, unsigned int *n, uint64_t *age) ;
extern void shaping_free (shapekey *keys, unsigned int n) ;

#endif
