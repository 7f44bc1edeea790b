/* control/mailboxes, the source of the mailboxes table (doc/ferry-mailboxes.html), as
   ferry-mailboxes compiles it and ferry-showctl checks it. */
#ifndef FERRY_MAILBOXES_H
#define FERRY_MAILBOXES_H

#include <stddef.h>

typedef struct ferry_mailboxes_entry_s ferry_mailboxes_entry ;
struct ferry_mailboxes_entry_s
{
  char *addr ;          /* lower-cased; 0 for a blank or comment line */
  size_t addrlen ;
  char *owner ;         /* 0 when the line names none */
  size_t ownerlen ;
  char *instr ;         /* starts with /, | or & */
  size_t instrlen ;
} ;

 /* Parses one line (no newline) in place: 0 and e filled (e->addr 0: nothing to add), or the
    reason it is bad. Whether the owner is a user of the system is the caller's to check. */
extern char const *ferry_mailboxes_line (char *line, size_t n, ferry_mailboxes_entry *e) ;

#endif
