/* MTA-STS (RFC 8461): the _mta-sts TXT record, the policy body, the MX patterns, and the cache
   file mtasts/DOMAIN that ferry-mtasts-fetch writes. Pure code: no globals, no I/O. */
#ifndef FERRY_MTA_STS_H
#define FERRY_MTA_STS_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#define FERRY_STS_ID_MAX 32            /* an id is 1 to 32 letters and digits */
#define FERRY_STS_MAX_AGE 31557600     /* the largest max_age, in seconds */

enum sts_mode { STS_MODE_NONE, STS_MODE_TESTING, STS_MODE_ENFORCE } ;

 /* One TXT RR's text (its strings concatenated): 1 = "v=STSv1" record with a valid id (1 to 32
    letters and digits, written to id, NUL-terminated, id has 33 bytes); 0 = not an STS record
    (does not start with v=STSv1, or a longer version word follows, v=STSv10); -1 = an STSv1
    record that is malformed (no id, a bad id, a field that is not name=value). Fields are
    "key=value" separated by ";" with optional blanks (RFC 8461 3.1); unknown fields are ignored,
    and of fields given twice the first counts. */
extern int ferry_sts_txt (char const *s, size_t n, char *id) ;

typedef struct ferry_sts_policy_s ferry_sts_policy ;
struct ferry_sts_policy_s
{
  enum sts_mode mode ;
  uint32_t max_age ;
  stralloc mx ;           /* patterns, each NUL-terminated, lower case */
  unsigned int nmx ;
} ;
#define FERRY_STS_POLICY_ZERO { .mode = STS_MODE_NONE, .max_age = 0, .mx = STRALLOC_ZERO, .nmx = 0 }

 /* A policy body (RFC 8461 3.2: "key: value" lines, LF or CRLF; version STSv1 required, mode
    required, max_age required 0..31557600, mx required unless mode none, repeated; of other
    fields given twice the first counts; unknown fields ignored; empty lines skipped).
    1 good, 0 bad (why: one line saying what, terminated), -1 out of memory. p is overwritten
    (its mx storage reused). */
extern int ferry_sts_policy_parse (char const *s, size_t n, ferry_sts_policy *p, stralloc *why) ;

 /* 1 if host (any case, a final dot ignored) matches a pattern: exact, or "*.example.com" =
    exactly one more label on the left. */
extern int ferry_sts_mx_match (ferry_sts_policy const *p, char const *host) ;

extern void ferry_sts_policy_free (ferry_sts_policy *p) ;

 /* "enforce", "testing", "none". */
extern char const *ferry_sts_mode_name (enum sts_mode) ;

 /* The cache file mtasts/DOMAIN (DOMAIN lower case, no final dot):
      line 1 "ferry-mtasts 1", then "id ID", "fetched UNIXSECONDS", then an empty line, then the
      policy body exactly as fetched (after HTTP decoding).
    ferry_sts_cache_fmt appends it to sa (1, or 0 out of memory); ferry_sts_cache_parse: 1 good
    (id 33 bytes, *fetched, body = pointer/length into s, and p parsed), 0 bad (why), -1 nomem. */
extern int ferry_sts_cache_fmt (stralloc *sa, char const *id, uint64_t fetched, char const *body, size_t bodylen) ;
extern int ferry_sts_cache_parse (char const *s, size_t n, char *id, uint64_t *fetched, char const **body, size_t *bodylen, ferry_sts_policy *p, stralloc *why) ;

#endif
