/* ferry-tlsrpt's parts: the day files of TLS results, the RFC 8460 report of a domain in JSON,
   its gzip and its multipart/report message, the TLSRPT record of a domain through c-ares. All
   but report_dns.c are pure: no globals, no I/O. */
#ifndef FERRY_REPORT_REPORT_H
#define FERRY_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

/* ---------- days (report_day.c) ---------- */

#define REPORT_DAY_LEN 10      /* YYYY-MM-DD */

 /* 1 if s[0..n) is exactly a day YYYY-MM-DD of 1970 to 9999 that exists, with *start the unix
    time of its 00:00:00 UTC; else 0. */
extern int report_day_scan (char const *s, size_t n, uint64_t *start) ;

 /* The day (UTC) of unix time t into s, REPORT_DAY_LEN bytes, not terminated. */
extern void report_day_fmt (char *s, uint64_t t) ;

/* ---------- the lines of a day file (report_day.c) ---------- */

 /* The fields of a day file's line, in their order (doc/ferry-tlsrpt.html). */
enum report_field
{
  RF_TIME, RF_DOMAIN, RF_TYPE, RF_POLICY, RF_MXHOST, RF_RIP, RF_SIP, RF_RESULT, RF_DETAIL, RF_N
} ;

typedef struct report_line_s report_line ;
struct report_line_s
{
  char const *f[RF_N] ;        /* each NUL-terminated, in the caller's buffer */
  unsigned int lineno ;
} ;

 /* One line, s[0..n) without its LF, split in place (its tabs become NULs, and s[n] too: the
    buffer has one byte more; the domain is lower-cased and loses a final dot). 1 good, with l
    filled; 0 not a good line, why says what is wrong (a constant string). */
extern int report_line_parse (char *s, size_t n, report_line *l, char const **why) ;

 /* The order in which a day's lines are aggregated: domain, then policy (type, policy, and the
    MX host for tlsa), then result, then the other fields of a failure detail. qsort's. */
extern int report_line_cmp (void const *a, void const *b) ;

 /* Lines a and b are in the same policy of the same domain. */
extern int report_line_samepolicy (report_line const *a, report_line const *b) ;

/* ---------- the JSON report (report_json.c) ---------- */

 /* A JSON string of s[0..n), quotes included, appended to sa: ", \ and control characters
    escaped, valid UTF-8 passed through, each byte of an invalid sequence as U+FFFD. 0 nomem. */
extern int report_json_string (stralloc *sa, char const *s, size_t n) ;

typedef struct report_meta_s report_meta ;
struct report_meta_s
{
  char const *org ;            /* organization-name */
  char const *contact ;        /* contact-info */
  char const *id ;             /* report-id */
  char const *day ;            /* YYYY-MM-DD, terminated */
  char const *stsid ;          /* the id of the cached MTA-STS policy of the domain, or 0 */
  char const *stsbody ;        /* and its text */
  size_t stsbodylen ;
  char const *stsmx ;          /* and its mx patterns, each NUL-terminated */
  unsigned int stsnmx ;
} ;

 /* Totals of a report, for the message's text. */
typedef struct report_totals_s report_totals ;
struct report_totals_s
{
  uint64_t ok ;
  uint64_t failed ;
  unsigned int policies ;
} ;

 /* The report of one domain (RFC 8460 section 4.4) from v[0..n): that domain's lines, sorted
    by report_line_cmp, n > 0. One line of JSON, no final newline, appended to sa; *t set.
    0 nomem. */
extern int report_json (stralloc *sa, report_meta const *m, report_line const *v, size_t n, report_totals *t) ;

/* ---------- the message (report_mail.c) ---------- */

 /* s[0..n) gzipped (RFC 1952), appended to out. 1, 0 out of memory (or a zlib failure). */
extern int report_gzip (stralloc *out, char const *s, size_t n) ;

typedef struct report_mail_s report_mail ;
struct report_mail_s
{
  char const *from ;           /* the sender's address */
  char const *const *to ;      /* the recipients' addresses */
  unsigned int nto ;
  char const *domain ;         /* the policy domain */
  char const *submitter ;      /* the reporting domain */
  char const *id ;             /* report-id */
  char const *unique ;         /* the unique part of the attachment's name */
  char const *day ;            /* YYYY-MM-DD */
  uint64_t start ;             /* the day's first second, unix time */
  uint64_t now ;               /* Date: */
  report_totals const *totals ;
} ;

 /* The RFC 8460 section 5.3 message: a multipart/report of report-type tlsrpt, a text/plain
    part, then gz[0..gzlen) base64 as application/tlsrpt+gzip named
    SUBMITTER!DOMAIN!BEGIN!END!UNIQUE.json.gz. LF line ends, appended to sa. 0 nomem. */
extern int report_mail_compose (stralloc *sa, report_mail const *m, char const *gz, size_t gzlen) ;

 /* The address of a mailto: URI (percent-escapes decoded, ?fields dropped) appended to out,
    each address NUL-terminated (a comma in the decoded text separates addresses). The number
    of addresses; 0 if uri is not mailto: or gives no good address (one with a control
    character, a space, angle brackets or no @); -1 nomem. */
extern int report_mailto (char const *uri, stralloc *out) ;

/* ---------- DNS (report_dns.c) ---------- */

 /* c-ares with the home's servers (control/dnssecservers or dnsservers): 1, or 0 with why. */
extern int report_dns_open (void **chan, stralloc *why) ;
extern void report_dns_close (void *chan) ;

 /* The TLSRPT record of domain (_smtp._tls.DOMAIN TXT, within secs seconds): 1 exactly one
    v=TLSRPTv1 record, its rua URIs appended to rua (each NUL-terminated); 0 no report for this
    domain (why: no record, several, a malformed one); -1 a temporary failure (why: the DNS
    error). why is overwritten and terminated. */
extern int report_rua_lookup (void *chan, char const *domain, unsigned int secs, stralloc *rua, stralloc *why) ;

#endif
