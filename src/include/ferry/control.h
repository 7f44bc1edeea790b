/* Control files: one setting per file in HOME/control, each with a documented default. */
#ifndef FERRY_CONTROL_H
#define FERRY_CONTROL_H

#include <stdint.h>
#include <sys/stat.h>
#include <skalibs/stralloc.h>

typedef struct ferry_control_s ferry_control ;
struct ferry_control_s
{
  char const *name ;
  char const *def ;   /* default; "=name" means the value of another setting, "" an empty file */
  uint64_t min ;      /* for numbers: the accepted range; min > max marks a text setting */
  uint64_t max ;
  char const *what ;
} ;

extern ferry_control const ferry_control_table[] ;
extern ferry_control const *ferry_control_find (char const *name) ;

 /* The whole default text of a setting, newline-terminated (or empty), into sa. */
extern int ferry_control_default (stralloc *sa, ferry_control const *c) ;

 /* The first line of control/NAME (relative to the current directory, the home),
    spaces trimmed, or its default when the file does not exist. sa is overwritten and
    not terminated. 1: read from the file, 0: default, -1: error (errno set). */
extern int ferry_control_readline (stralloc *sa, char const *name) ;

 /* The whole of control/NAME (up to 16 MiB), or its default. Same returns as readline. */
extern int ferry_control_readfile (stralloc *sa, char const *name) ;

 /* A list of domains (control/locals, control/virtualdomains): the whole file, lower-cased.
    1, 0 (default) or -1 as readline. */
extern int ferry_control_readlist (stralloc *sa, char const *name) ;
 /* Is the lower-cased s[0..n) a line of such a list (trailing spaces ignored)? */
extern int ferry_control_listed (stralloc const *list, char const *s, size_t n) ;

 /* A number setting, checked against the table's range.
    1: read, 0: default used, -1: read error (errno), -2: not a number in range. */
extern int ferry_control_readu64 (char const *name, uint64_t *u) ;

 /* The same for a server that applies the setting to each client: the file is read again when
    its status changed (inode, size, modification or change time), or when it had changed less
    than a second before the last read; else the last value read is given, with the last
    return. A failed read is tried again the next time. */
typedef struct ferry_control_watch_s ferry_control_watch ;
struct ferry_control_watch_s
{
  struct stat st ;      /* the file's status when it was read (all zero: there was none) */
  uint64_t value ;
  int r ;
  int stable ;          /* the last read can be given again while the status stays st */
} ;
#define FERRY_CONTROL_WATCH_ZERO { .stable = 0 }
extern int ferry_control_watchu64 (ferry_control_watch *w, char const *name, uint64_t *u) ;

 /* The same, dying with exit code e and a message naming the file on any failure. */
extern uint64_t ferry_control_u64_or_die (char const *name, int e) ;
extern void ferry_control_line_or_die (stralloc *sa, char const *name, int e) ;

 /* A number setting for a reread: 1 and *u set; 0 with why (terminated) saying what is wrong,
    *u untouched; -1 out of memory. */
extern int ferry_control_u64_why (char const *name, uint64_t *u, stralloc *why) ;

#endif
