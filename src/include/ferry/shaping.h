/* Traffic shaping (doc/ferry-shaping.html): the lines of control/shaping as ferry-shaping compiles
   them, the settings text that the table's records and the channel's frames carry, and the
   lookup of a domain's key in control/shaping.cdb (ferry-spawn-remote). */
#ifndef FERRY_SHAPING_H
#define FERRY_SHAPING_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

typedef struct ferry_shaping_s ferry_shaping ;
struct ferry_shaping_s
{
  unsigned int connections ;      /* 0: not given */
  unsigned int messages ;         /* 0: not given */
  uint64_t rate ; char rateunit ; /* rate 0: not given; unit 's' 'm' 'h' */
  unsigned int burst ;            /* 0: not given */
  uint64_t newconns ; char newconnsunit ;
  uint64_t daily ;                /* 0: not given */
} ;
#define FERRY_SHAPING_ZERO { .connections = 0, .messages = 0, .rate = 0, .rateunit = 0, .burst = 0, .newconns = 0, .newconnsunit = 0, .daily = 0 }

 /* The settings text, fields separated by blanks, each setting at most once (an empty text is
    good: no setting). 0 on success, else a static string saying what is wrong. */
extern char const *ferry_shaping_settings (char const *s, size_t n, ferry_shaping *sh) ;

 /* Appends the normalized text (no NUL): the settings given, in the order connections messages
    rate burst newconns daily, single spaces. 0: out of memory. */
extern int ferry_shaping_settings_fmt (stralloc *sa, ferry_shaping const *sh) ;

 /* One field NAME=VALUE (n bytes) into sh; *seen holds a bit per setting already given (0 at
    the start of a line). 0, or what is wrong. burst= without rate= is the caller's to check
    (ferry_shaping_settings and ferry_shaping_line do). */
extern char const *ferry_shaping_setting (char const *s, size_t n, ferry_shaping *sh, unsigned int *seen) ;

 /* The seconds of a unit: 1 for 's', 60 for 'm', 3600 for 'h'. */
extern unsigned int ferry_shaping_unit_seconds (char unit) ;

 /* One line of control/shaping (no newline), parsed in place (keys and patterns lower-cased). */
typedef struct ferry_shaping_entry_s ferry_shaping_entry ;
struct ferry_shaping_entry_s
{
  char kind ;             /* 0: nothing (blank or comment); 'd' a domain, 'r' route:HOST, 's' site:NAME */
  char *key ;             /* the key as the frames name it: example.com, route:HOST, site:NAME */
  size_t keylen ;
  char *name ;            /* the key without its prefix: the domain, the HOST, the NAME */
  size_t namelen ;
  char *mx ;              /* a site's patterns, comma-separated; 0 for other lines */
  size_t mxlen ;
  ferry_shaping sh ;
  char const *field ;     /* on an error: the field at fault, if one is (else 0) */
  size_t fieldlen ;
} ;

 /* 0 and e filled, or what is wrong (e->field says where, when it can). Whether a key or a
    pattern is on another line too is the caller's to check. */
extern char const *ferry_shaping_line (char *line, size_t n, ferry_shaping_entry *e) ;

 /* Is p[0..n) a good MX pattern: a host name, or "*." and a host name (lower case)? */
extern int ferry_shaping_pattern_ok (char const *p, size_t n) ;

 /* The records of control/shaping.cdb (a format private to this module, written by
    ferry-shaping): the key's record "d:DOMAIN", "r:HOST" or "s:NAME" (its value the normalized
    settings text) for a line; "m:PATTERN" (its value the site's NAME) for each pattern. */
extern int ferry_shaping_record_key (stralloc *sa, ferry_shaping_entry const *e) ;
extern int ferry_shaping_record_pattern (stralloc *sa, char const *p, size_t n) ;

 /* The key of a lower-cased domain in control/shaping.cdb c, the first that applies: the
    domain's own line; for a domain control/smtproutes routes (routehost: its host as
    control/smtproutes writes it, else 0), the line of route:HOST; for MX delivery, the site of
    the first of its MX hosts (mx[0..mxlen): names, each ended by a null byte, in preference
    order) that a pattern matches: for each host the exact pattern, then the "*." patterns
    from the longest suffix to the shortest. 1: the key's name (example.com, route:HOST,
    site:NAME) into key, its settings into sh, both terminated; 0: no line applies;
    -1: a record is broken (errno EPROTO) or memory ran out (ENOMEM). */
extern int ferry_shaping_find (cdb const *c, char const *domain, char const *routehost, char const *mx, size_t mxlen, stralloc *key, ferry_shaping *sh) ;

#endif
