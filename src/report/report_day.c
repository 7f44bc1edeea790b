/* report_day_scan, report_day_fmt, report_line_parse: the day files of tlsrpt/ and their lines. */

#include <string.h>
#include <time.h>

#include <skalibs/types.h>

#include "report.h"

static unsigned int digits (char const *s, unsigned int n)
{
  unsigned int v = 0, i ;
  for (i = 0 ; i < n ; i++)
  {
    if (s[i] < '0' || s[i] > '9') return (unsigned int)-1 ;
    v = v * 10 + (unsigned int)(s[i] - '0') ;
  }
  return v ;
}

static int leap (unsigned int y)
{
  return (!(y % 4) && y % 100) || !(y % 400) ;
}

int report_day_scan (char const *s, size_t n, uint64_t *start)
{
  static unsigned char const mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 } ;
  unsigned int y, m, d, e, doy ;
  uint64_t days ;
  if (n != REPORT_DAY_LEN || s[4] != '-' || s[7] != '-') return 0 ;
  y = digits(s, 4) ; m = digits(s + 5, 2) ; d = digits(s + 8, 2) ;
  if (y == (unsigned int)-1 || m == (unsigned int)-1 || d == (unsigned int)-1) return 0 ;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m-1] + (unsigned int)(m == 2 && leap(y))) return 0 ;
  /* days since 1970-01-01: whole 400-year eras from 1600, then the years, months and days left
     (the year counted from March, so that February's leap day falls at its end) */
  if (m <= 2) y-- ;
  e = (y - 1600) / 400 ;
  y -= 1600 + 400 * e ;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1 ;
  days = (uint64_t)e * 146097 + y * 365 + y / 4 - y / 100 + doy ;
  *start = (days - 135080) * 86400 ;   /* 135080: the days from 1600-03-01 to 1970-01-01 */
  return 1 ;
}

void report_day_fmt (char *s, uint64_t t)
{
  struct tm tm ;
  time_t tt = (time_t)t ;
  unsigned int y, m, d ;
  if (!gmtime_r(&tt, &tm)) { memcpy(s, "1970-01-01", REPORT_DAY_LEN) ; return ; }
  y = (unsigned int)tm.tm_year + 1900 ; m = (unsigned int)tm.tm_mon + 1 ; d = (unsigned int)tm.tm_mday ;
  s[0] = '0' + y / 1000 % 10 ; s[1] = '0' + y / 100 % 10 ; s[2] = '0' + y / 10 % 10 ; s[3] = '0' + y % 10 ;
  s[4] = '-' ; s[5] = '0' + m / 10 ; s[6] = '0' + m % 10 ;
  s[7] = '-' ; s[8] = '0' + d / 10 ; s[9] = '0' + d % 10 ;
}

static char const *const types[] = { "sts", "tlsa", "no-policy-found", 0 } ;

 /* success, then the result types of RFC 8460 section 4.3 */
static char const *const results[] =
{
  "success",
  "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
  "certificate-not-trusted", "validation-failure",
  "tlsa-invalid", "dnssec-invalid", "dane-required",
  "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
  0
} ;

static int listed (char const *const *list, char const *s)
{
  for (; *list ; list++) if (!strcmp(*list, s)) return 1 ;
  return 0 ;
}

 /* a lower-case domain name that can be a file name and a header's value: letters, digits, -
    and _ in labels of 1 to 63, separated by single dots, no dot first or last */
static int domain_ok (char const *s)
{
  size_t n = strlen(s), i, label = 0 ;
  if (!n || n > 253) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (c == '.')
    {
      if (!label) return 0 ;
      label = 0 ;
    }
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
    {
      if (++label > 63) return 0 ;
    }
    else return 0 ;
  }
  return label > 0 ;
}

 /* a host name as the remote channel writes it: printable, no space; may be empty */
static int host_ok (char const *s)
{
  size_t n = strlen(s), i ;
  if (n > 255) return 0 ;
  for (i = 0 ; i < n ; i++) if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127) return 0 ;
  return 1 ;
}

 /* an IPv4 or IPv6 address's characters; may be empty */
static int ip_ok (char const *s)
{
  size_t n = strlen(s), i ;
  if (n > 45) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':')) return 0 ;
  }
  return 1 ;
}

 /* an MTA-STS policy id: 1 to 32 letters and digits (RFC 8461 3.1) */
static int stsid_ok (char const *s)
{
  size_t n = strlen(s), i ;
  if (!n || n > 32) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return 0 ;
  }
  return 1 ;
}

 /* TLSA records "3 1 1 hex" joined by commas: digits, hex, spaces and commas; none (a channel
    that had no usable record to write) is allowed */
static int tlsa_ok (char const *s)
{
  size_t n = strlen(s), i ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ' ' || c == ',')) return 0 ;
  }
  return 1 ;
}

int report_line_parse (char *s, size_t n, report_line *l, char const **why)
{
  size_t i ;
  unsigned int k = 0 ;
  uint64_t t ;
  l->f[0] = s ;
  for (i = 0 ; i < n ; i++)
  {
    if (s[i] == '\t')
    {
      if (++k >= RF_N) { *why = "more than 9 tab-separated fields" ; return 0 ; }
      s[i] = 0 ;
      l->f[k] = s + i + 1 ;
    }
    else if (!s[i]) { *why = "a null byte" ; return 0 ; }
  }
  s[n] = 0 ;
  if (k != RF_N - 1) { *why = "fewer than 9 tab-separated fields" ; return 0 ; }
  if (!l->f[RF_TIME][0] || uint640_scan(l->f[RF_TIME], &t) != strlen(l->f[RF_TIME])) { *why = "the time is not a decimal number" ; return 0 ; }
  {
    /* the domain as the report names it: lower case, no final dot */
    char *d = (char *)l->f[RF_DOMAIN] ;
    size_t len = strlen(d) ;
    for (i = 0 ; i < len ; i++) if (d[i] >= 'A' && d[i] <= 'Z') d[i] += 'a' - 'A' ;
    if (len > 1 && d[len-1] == '.') d[len-1] = 0 ;
  }
  if (!domain_ok(l->f[RF_DOMAIN])) { *why = "not a domain name" ; return 0 ; }
  if (!listed(types, l->f[RF_TYPE])) { *why = "the type is not sts, tlsa or no-policy-found" ; return 0 ; }
  if (!strcmp(l->f[RF_TYPE], "sts") ? !stsid_ok(l->f[RF_POLICY])
    : !strcmp(l->f[RF_TYPE], "tlsa") ? !tlsa_ok(l->f[RF_POLICY]) : l->f[RF_POLICY][0] != 0)
  {
    *why = "the policy does not go with the type (sts: a policy id, tlsa: TLSA records, no-policy-found: empty)" ;
    return 0 ;
  }
  if (!host_ok(l->f[RF_MXHOST])) { *why = "the MX host is not a host name" ; return 0 ; }
  if (!ip_ok(l->f[RF_RIP]) || !ip_ok(l->f[RF_SIP])) { *why = "an IP address field is not an address" ; return 0 ; }
  if (!listed(results, l->f[RF_RESULT])) { *why = "the result is neither success nor a result type of RFC 8460" ; return 0 ; }
  return 1 ;
}

static int istlsa (report_line const *l)
{
  return l->f[RF_TYPE][0] == 't' ;
}

 /* the fields of a policy, in order */
static int policy_cmp (report_line const *a, report_line const *b)
{
  int c = strcmp(a->f[RF_DOMAIN], b->f[RF_DOMAIN]) ;
  if (!c) c = strcmp(a->f[RF_TYPE], b->f[RF_TYPE]) ;
  if (!c) c = strcmp(a->f[RF_POLICY], b->f[RF_POLICY]) ;
  if (!c && istlsa(a)) c = strcmp(a->f[RF_MXHOST], b->f[RF_MXHOST]) ;
  return c ;
}

int report_line_samepolicy (report_line const *a, report_line const *b)
{
  return !policy_cmp(a, b) ;
}

int report_line_cmp (void const *pa, void const *pb)
{
  static unsigned char const order[5] = { RF_RESULT, RF_SIP, RF_MXHOST, RF_RIP, RF_DETAIL } ;
  report_line const *a = pa, *b = pb ;
  int c = policy_cmp(a, b) ;
  unsigned int i ;
  for (i = 0 ; !c && i < 5 ; i++) c = strcmp(a->f[order[i]], b->f[order[i]]) ;
  if (!c) c = a->lineno < b->lineno ? -1 : a->lineno > b->lineno ;
  return c ;
}
