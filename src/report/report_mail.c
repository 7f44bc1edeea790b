/* report_gzip, report_mail_compose, report_mailto: a report as RFC 8460 section 5 mails it. */

#include <limits.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/date822.h>
#include <ferry/smtp_auth.h>

#include "report.h"

int report_gzip (stralloc *out, char const *s, size_t n)
{
  z_stream z ;
  uLong bound ;
  int r ;
  if (n > UINT_MAX / 2) return 0 ;
  memset(&z, 0, sizeof(z)) ;
  /* windowBits 15 + 16: a gzip header and trailer around the deflate stream */
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0 ;
  bound = deflateBound(&z, (uLong)n) ;
  if (!stralloc_readyplus(out, bound)) { deflateEnd(&z) ; return 0 ; }
  z.next_in = (Bytef *)s ;
  z.avail_in = (uInt)n ;
  z.next_out = (Bytef *)out->s + out->len ;
  z.avail_out = (uInt)bound ;
  r = deflate(&z, Z_FINISH) ;
  if (r == Z_STREAM_END) out->len += z.total_out ;
  deflateEnd(&z) ;
  return r == Z_STREAM_END ;
}

static int cats (stralloc *sa, char const *s)
{
  return stralloc_cats(sa, s) ;
}

static int catu64 (stralloc *sa, uint64_t u)
{
  char fmt[UINT64_FMT] ;
  return stralloc_catb(sa, fmt, uint64_fmt(fmt, u)) ;
}

 /* base64 in lines of 76 characters (RFC 2045 6.8), each ended by LF */
static int base64_lines (stralloc *sa, char const *s, size_t n)
{
  size_t pos ;
  if (!stralloc_readyplus(sa, (n + 56) / 57 * 77)) return 0 ;
  for (pos = 0 ; pos < n ; pos += 57)
  {
    size_t k = n - pos < 57 ? n - pos : 57 ;
    sa->len += smtp_base64_encode(sa->s + sa->len, s + pos, k) ;
    sa->s[sa->len++] = '\n' ;
  }
  return 1 ;
}

int report_mail_compose (stralloc *sa, report_mail const *m, char const *gz, size_t gzlen)
{
  char date[FERRY_DATE822_MAX] ;
  char bd[16 + UINT64_FMT] ;
  unsigned int i ;
  /* base64 has no "-" and the text part is ours: no line can start like the boundary */
  memcpy(bd, "=_ferry_tlsrpt_", 15) ;
  bd[15 + uint64_xfmt(bd + 15, m->now)] = 0 ;
  if (!cats(sa, "From: <") || !cats(sa, m->from) || !cats(sa, ">\nTo: ")) return 0 ;
  for (i = 0 ; i < m->nto ; i++)
    if ((i && !cats(sa, ",\n ")) || !cats(sa, "<") || !cats(sa, m->to[i]) || !cats(sa, ">")) return 0 ;
  if (!cats(sa, "\nSubject: Report Domain: ") || !cats(sa, m->domain)
   || !cats(sa, "\n Submitter: ") || !cats(sa, m->submitter)
   || !cats(sa, "\n Report-ID: <") || !cats(sa, m->id)
   || !cats(sa, ">\nDate: ") || !stralloc_catb(sa, date, ferry_date822_fmt(date, (time_t)m->now))
   || !cats(sa, "\nMessage-ID: <") || !cats(sa, m->id)
   || !cats(sa, ">\nTLS-Report-Domain: ") || !cats(sa, m->domain)
   || !cats(sa, "\nTLS-Report-Submitter: ") || !cats(sa, m->submitter)
   || !cats(sa, "\nAuto-Submitted: auto-generated\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=\"tlsrpt\";\n\tboundary=\"")
   || !cats(sa, bd) || !cats(sa, "\"\n\nThis is a MIME-formatted SMTP TLS report (RFC 8460).\n\n--") || !cats(sa, bd)
   || !cats(sa, "\nContent-Type: text/plain; charset=us-ascii\n\nThe SMTP TLS report of ") || !cats(sa, m->submitter)
   || !cats(sa, " for ") || !cats(sa, m->domain) || !cats(sa, ", day ") || !cats(sa, m->day)
   || !cats(sa, " (UTC):\n") || !catu64(sa, m->totals->ok) || !cats(sa, " successful and ")
   || !catu64(sa, m->totals->failed) || !cats(sa, " failed sessions under ")
   || !catu64(sa, m->totals->policies) || !cats(sa, m->totals->policies == 1 ? " policy.\nThe report is attached, gzipped JSON.\n\n--" : " policies.\nThe report is attached, gzipped JSON.\n\n--")
   || !cats(sa, bd)
   || !cats(sa, "\nContent-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment;\n\tfilename=\"")
   || !cats(sa, m->submitter) || !cats(sa, "!") || !cats(sa, m->domain) || !cats(sa, "!")
   || !catu64(sa, m->start) || !cats(sa, "!") || !catu64(sa, m->start + 86399) || !cats(sa, "!")
   || !cats(sa, m->unique) || !cats(sa, ".json.gz\"\n\n")
   || !base64_lines(sa, gz, gzlen)
   || !cats(sa, "\n--") || !cats(sa, bd) || !cats(sa, "--\n")) return 0 ;
  return 1 ;
}

static int hexval (char c)
{
  if (c >= '0' && c <= '9') return c - '0' ;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10 ;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10 ;
  return -1 ;
}

 /* an address that can go in an envelope and a header as it is */
static int address_ok (char const *s, size_t n)
{
  size_t i ;
  if (!n || n > 1000 || !memchr(s, '@', n) || s[0] == '@' || s[n-1] == '@') return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    unsigned char c = s[i] ;
    if (c <= 32 || c == 127 || c == '<' || c == '>' || c == '(' || c == ')' || c == ';' || c == '"' || c == '\\') return 0 ;
  }
  return 1 ;
}

int report_mailto (char const *uri, stralloc *out)
{
  stralloc dec = STRALLOC_ZERO ;
  size_t i, n, pos ;
  int count = 0 ;
  if (strncasecmp(uri, "mailto:", 7)) return 0 ;
  uri += 7 ;
  n = strcspn(uri, "?") ;
  for (i = 0 ; i < n ; i++)
  {
    char c = uri[i] ;
    if (c == '%')
    {
      int hi, lo ;
      if (i + 2 >= n) { count = 0 ; goto end ; }
      hi = hexval(uri[i+1]) ; lo = hexval(uri[i+2]) ;
      if (hi < 0 || lo < 0) { count = 0 ; goto end ; }
      c = (char)(hi << 4 | lo) ;
      i += 2 ;
    }
    if (!stralloc_catb(&dec, &c, 1)) { count = -1 ; goto end ; }
  }
  for (pos = 0 ; pos < dec.len ; )
  {
    char const *comma = memchr(dec.s + pos, ',', dec.len - pos) ;
    size_t end = comma ? (size_t)(comma - dec.s) : dec.len ;
    if (address_ok(dec.s + pos, end - pos))
    {
      if (!stralloc_catb(out, dec.s + pos, end - pos) || !stralloc_0(out)) { count = -1 ; goto end ; }
      count++ ;
    }
    pos = end + 1 ;
  }
 end:
  stralloc_free(&dec) ;
  return count ;
}
