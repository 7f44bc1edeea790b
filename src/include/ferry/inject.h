/* ferry-inject's exit codes: qmail-queue's, plus ferry's own (33). */
#ifndef FERRY_INJECT_H
#define FERRY_INJECT_H

#define FERRY_INJECT_OK 0
#define FERRY_INJECT_ADDRTOOLONG 11
#define FERRY_INJECT_REFUSED 31
#define FERRY_INJECT_TOOBIG 33
#define FERRY_INJECT_NOMEM 51
#define FERRY_INJECT_TIMEOUT 52
#define FERRY_INJECT_WRITE 53
#define FERRY_INJECT_READ 54
#define FERRY_INJECT_CONFIG 55
#define FERRY_INJECT_HOME 61
#define FERRY_INJECT_QUEUE 62
#define FERRY_INJECT_PID 63
#define FERRY_INJECT_MESS 64
#define FERRY_INJECT_INTD 65
#define FERRY_INJECT_TODO 66
#define FERRY_INJECT_BUSY 71     /* ferry-injectd only: turned away at the door, nothing read; use ferry-inject */
#define FERRY_INJECT_BUG 81
#define FERRY_INJECT_ENVELOPE 91

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include <ferry/date822.h>
#include <ferry/envelope.h>

 /* The longest Received: line ferry_inject_received_fmt writes. */
#define FERRY_INJECT_RECEIVED_MAX (80 + 3 * 20 + FERRY_DATE822_MAX)
#define FERRY_INJECT_PIDFILE_MAX (16 + 3 * 20)

 /* Creates queue/pid/PID.SEC.NSEC.SEQ (a name no other injection uses) into fn, which holds
    FERRY_INJECT_PIDFILE_MAX bytes: its fd, open for writing; -1 with errno set. */
extern int ferry_inject_pidfile (char *fn, pid_t pid) ;

 /* Creates the envelope queue/intd/N/ID for writing, exclusively; one left by a crash under the
    same name (the id is the caller's message file's inode: no live message has it) is replaced.
    The fd, or -1 with errno. */
extern int ferry_inject_intd_create (char const *fn) ;

 /* The exit code for an envelope the scanner refused. */
extern int ferry_inject_envelope_code (ferry_envelope_status st) ;

 /* The first line of every queued message: "Received: (ferry PID invoked by uid UID) id ID; DATE\n". */
extern size_t ferry_inject_received_fmt (char *s, pid_t pid, uid_t uid, uint64_t id, time_t now) ;

#endif
