/* bounce_report_compose: one notification, a multipart/report of RFC 6522 whose second part is
   the message/delivery-status of RFC 3464 (message/global-delivery-status of RFC 6533 for an
   SMTPUTF8 message or a UTF-8 address), then the returned message or its header. */

#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/fmtscan.h>
#include <skalibs/types.h>

#include <ferry/date822.h>

#include "bounce.h"

#define FIELD_MAX 900   /* a field's value is cut there: lines stay under RFC 5322's 998 */

size_t bounce_header_len (char const *s, size_t len)
{
  size_t i = 0 ;
  while (i < len)
  {
    char const *nl = memchr(s + i, '\n', len - i) ;
    size_t k = nl ? (size_t)(nl - s) : len ;
    size_t linelen = k - i ;
    if (!linelen || (linelen == 1 && s[i] == '\r')) return nl ? k + 1 : len ;
    if (!nl) return len ;
    i = k + 1 ;
  }
  return len ;
}

static int cats (stralloc *sa, char const *s) { return stralloc_cats(sa, s) ; }

 /* A value from elsewhere (an address, a peer's words), made safe for a header-like line:
    control characters become spaces, and 8-bit bytes question marks unless utf8. */
static int catclean (stralloc *sa, char const *s, size_t n, int utf8)
{
  size_t i ;
  if (n > FIELD_MAX) n = FIELD_MAX ;
  for (i = 0 ; i < n ; i++)
  {
    unsigned char c = s[i] ;
    char o = c < 32 || c == 127 ? ' ' : c > 127 && !utf8 ? '?' : (char)c ;
    if (!stralloc_catb(sa, &o, 1)) return 0 ;
  }
  return 1 ;
}

static int catdate (stralloc *sa, uint64_t t)
{
  char d[64] ;
  return stralloc_catb(sa, d, ferry_date822_fmt(d, (time_t)t)) ;
}

static int has8bit (char const *s, size_t n)
{
  size_t i ;
  for (i = 0 ; i < n ; i++) if ((unsigned char)s[i] > 127) return 1 ;
  return 0 ;
}

static int isutf8addr (char const *s) { return has8bit(s, strlen(s)) ; }

 /* A decoded ORCPT ("type;address") that is a UTF-8 address: typed utf-8, or 8-bit. */
static int isutf8orcpt (char const *orcpt)
{
  return !strncasecmp(orcpt, "utf-8;", 6) || isutf8addr(orcpt) ;
}

 /* Does the report name an address that only UTF-8 can write? Then its addresses are typed
    utf-8 (RFC 6533 section 3) and they need the global status part and a UTF-8 text part. */
static int report_utf8 (bounce_report const *b)
{
  unsigned int i ;
  if (b->utf8) return 1 ;
  for (i = 0 ; i < b->n ; i++)
    if (isutf8addr(b->rcpts[i].addr) || (b->rcpts[i].orcpt && isutf8orcpt(b->rcpts[i].orcpt))) return 1 ;
  return 0 ;
}

 /* An address of utf-8 type as RFC 6533's utf-8-addr-xtext may write it (\x{HEX} for a
    character): the raw UTF-8 that message/global-delivery-status carries. */
static int catutf8addr (stralloc *sa, char const *s)
{
  size_t start = sa->len, n = strlen(s), i = 0 ;
  while (i < n && sa->len - start < FIELD_MAX)
  {
    if (s[i] == '\\' && s[i+1] == 'x' && s[i+2] == '{')
    {
      size_t k = i + 3 ;
      uint32_t cp = 0 ;
      while (k < n && k < i + 9 && fmtscan_num(s[k], 16) < 16) cp = (cp << 4) | fmtscan_num(s[k++], 16) ;
      if (k < n && s[k] == '}' && k > i + 3 && cp >= 0x80 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff))   /* no surrogates: they are no UTF-8 */
      {
        char u[4] ;
        size_t m = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4 ;
        if (m == 2) { u[0] = 0xc0 | (cp >> 6) ; }
        else if (m == 3) { u[0] = 0xe0 | (cp >> 12) ; u[1] = 0x80 | ((cp >> 6) & 0x3f) ; }
        else { u[0] = 0xf0 | (cp >> 18) ; u[1] = 0x80 | ((cp >> 12) & 0x3f) ; u[2] = 0x80 | ((cp >> 6) & 0x3f) ; }
        u[m-1] = 0x80 | (cp & 0x3f) ;
        if (!stralloc_catb(sa, u, m)) return 0 ;
        i = k + 1 ;
        continue ;
      }
    }
    if (!catclean(sa, s + i, 1, 1)) return 0 ;
    i++ ;
  }
  return 1 ;
}

static char const *subject (bounce_report const *b)
{
  if (b->doublebounce) return "Postmaster copy: a delivery notification could not be delivered" ;
  switch (b->kind)
  {
    case 'Z' : return "Delayed Mail (still being retried)" ;
    case 'S' : return "Successful Mail Delivery Report" ;
  }
  return "Undelivered Mail Returned to Sender" ;
}

static int intro (stralloc *sa, bounce_report const *b)
{
  char fmt[UINT64_FMT] ;
  if (!cats(sa, "This is the mail system at host ") || !catclean(sa, b->me, strlen(b->me), 0) || !cats(sa, ".\n\n")) return 0 ;
  if (b->doublebounce)
    return cats(sa, "A delivery status notification could not be delivered to its recipient,\n"
      "the sender of the original message. The notification is returned below;\n"
      "it is not sent anywhere else.\n\n") ;
  switch (b->kind)
  {
    case 'Z' :
    {
      uint64_t age = b->now > b->birth ? b->now - b->birth : 0 ;
      int inhours = age >= 7200 ;
      uint64_t n = inhours ? age / 3600 : age / 60 ;
      fmt[uint64_fmt(fmt, n)] = 0 ;
      if (!cats(sa, "Your message has not yet been delivered to the recipients below. It has\n"
          "been in the queue for ") || !cats(sa, fmt) || !cats(sa, inhours ? " hours" : n == 1 ? " minute" : " minutes")
       || !cats(sa, " and is still being retried: you need do nothing\nfor now.")) return 0 ;
      if (b->retryuntil)
      {
        if (!cats(sa, " If it still cannot be delivered by\n") || !catdate(sa, b->retryuntil) || !cats(sa, ", it will be returned to you.")) return 0 ;
      }
      return cats(sa, "\n\n") ;
    }
    case 'S' :
      return cats(sa, "Your message was delivered to the recipients below, as you asked\n"
        "(NOTIFY=SUCCESS). \"relayed\" means it went on to a mail system that does\n"
        "not send such reports itself.\n\n") ;
  }
  if (!cats(sa, "I'm sorry to have to tell you that your message could not be delivered to\n"
      "the recipients below. This is a permanent error; it will not be retried.\n")) return 0 ;
  if (!b->mess) return cats(sa, "The message itself is no longer in the queue and cannot be returned.\n\n") ;
  if (b->headersonly)
    return cats(sa, "Only the header of your message is returned below") && (!b->why || (cats(sa, " (") && cats(sa, b->why) && cats(sa, ")"))) && cats(sa, ".\n\n") ;
  return cats(sa, "Your message is returned below.\n\n") ;
}

static char const *action (bounce_rcpt const *r)
{
  switch (r->kind)
  {
    case 'Z' : return "delayed" ;
    case 'S' : return r->channel == 'L' ? "delivered" : "relayed" ;
  }
  return "failed" ;
}

static int human (stralloc *sa, bounce_report const *b)
{
  unsigned int i ;
  if (!intro(sa, b)) return 0 ;
  for (i = 0 ; i < b->n ; i++)
  {
    bounce_rcpt const *r = b->rcpts + i ;
    if (!cats(sa, "<") || !catclean(sa, r->addr, strlen(r->addr), 1) || !cats(sa, ">: ")
     || !catclean(sa, r->text, strlen(r->text), 1) || !cats(sa, "\n\n")) return 0 ;
  }
  return cats(sa, "For further help, write to the postmaster of this host and include this\nreport.\n") ;
}

static int orcpt_field (stralloc *sa, char const *orcpt, int utf8)
{
  char const *semi = strchr(orcpt, ';') ;
  if (!semi) return 1 ;
  if (utf8 && isutf8orcpt(orcpt))
    return cats(sa, "Original-Recipient: utf-8; ") && catutf8addr(sa, semi + 1) && cats(sa, "\n") ;
  return cats(sa, "Original-Recipient: ") && catclean(sa, orcpt, semi - orcpt, 0) && cats(sa, "; ")
    && catclean(sa, semi + 1, strlen(semi + 1), utf8) && cats(sa, "\n") ;
}

static int status_part (stralloc *sa, bounce_report const *b, int utf8)
{
  unsigned int i ;
  if (!cats(sa, "Reporting-MTA: dns; ") || !catclean(sa, b->me, strlen(b->me), 0) || !cats(sa, "\n")) return 0 ;
  {
    char fmt[UINT64_FMT] ;
    fmt[uint64_fmt(fmt, b->id)] = 0 ;
    if (!cats(sa, "X-Ferry-Queue-ID: ") || !cats(sa, b->name ? b->name : fmt) || !cats(sa, "\n")) return 0 ;
  }
  if (b->envid && (!cats(sa, "Original-Envelope-Id: ") || !catclean(sa, b->envid, strlen(b->envid), 0) || !cats(sa, "\n"))) return 0 ;
  if (b->birth && (!cats(sa, "Arrival-Date: ") || !catdate(sa, b->birth) || !cats(sa, "\n"))) return 0 ;
  for (i = 0 ; i < b->n ; i++)
  {
    bounce_rcpt const *r = b->rcpts + i ;
    dsn_diag d ;
    int u = utf8 && isutf8addr(r->addr) ;
    dsn_diag_parse(&d, r->text, r->kind) ;
    if (!cats(sa, "\nFinal-Recipient: ") || !cats(sa, u ? "utf-8; " : "rfc822; ") || !catclean(sa, r->addr, strlen(r->addr), utf8) || !cats(sa, "\n")) return 0 ;
    if (r->orcpt && !orcpt_field(sa, r->orcpt, utf8)) return 0 ;
    if (!cats(sa, "Action: ") || !cats(sa, action(r)) || !cats(sa, "\nStatus: ") || !cats(sa, d.status) || !cats(sa, "\n")) return 0 ;
    if (d.mta && d.mtalen && (!cats(sa, "Remote-MTA: dns; ") || !catclean(sa, d.mta, d.mtalen, 0) || !cats(sa, "\n"))) return 0 ;
    if (d.reply)
    {
      if (!cats(sa, "Diagnostic-Code: smtp; ") || !catclean(sa, d.reply, d.replylen, utf8) || !cats(sa, "\n")) return 0 ;
    }
    else if (!cats(sa, "Diagnostic-Code: x-ferry; ") || !catclean(sa, r->text, strlen(r->text), utf8) || !cats(sa, "\n")) return 0 ;
    if (r->when && (!cats(sa, "Last-Attempt-Date: ") || !catdate(sa, r->when) || !cats(sa, "\n"))) return 0 ;
    if (r->kind == 'Z' && b->retryuntil && (!cats(sa, "Will-Retry-Until: ") || !catdate(sa, b->retryuntil) || !cats(sa, "\n"))) return 0 ;
  }
  return 1 ;
}

 /* A boundary that no line of the returned text starts with. */
static void boundary_make (char *bd, bounce_report const *b, char const *ret, size_t retlen)
{
  unsigned int salt = 0 ;
  for (;;)
  {
    size_t n = 0 ;
    memcpy(bd, "=_ferry_", 8) ; n = 8 ;
    n += uint64_fmt(bd + n, b->id) ;
    bd[n++] = '_' ;
    n += uint64_xfmt(bd + n, b->now) ;
    bd[n++] = '_' ;
    n += uint_xfmt(bd + n, (unsigned int)getpid() + salt) ;
    bd[n] = 0 ;
    {
      char const *p = ret ;
      size_t left = retlen ;
      int clash = 0 ;
      while (left > n + 2)
      {
        char const *q = memchr(p, '-', left) ;
        if (!q || (size_t)(q - ret) + n + 2 > retlen) break ;
        if (q[1] == '-' && !memcmp(q + 2, bd, n)) { clash = 1 ; break ; }
        left = retlen - (q - ret) - 1 ;
        p = q + 1 ;
      }
      if (!clash) return ;
    }
    salt++ ;
  }
}

int bounce_report_compose (stralloc *sa, bounce_report const *b, int *eightbit)
{
  char bd[80] ;
  char mid[UINT64_FMT * 3 + 8] ;
  size_t retlen = 0 ;
  char const *ret = b->mess ;
  int utf8 = report_utf8(b) ;
  if (ret) retlen = b->headersonly ? bounce_header_len(ret, b->messlen) : b->messlen ;
  *eightbit = ret && has8bit(ret, retlen) ;
  boundary_make(bd, b, ret ? ret : "", retlen) ;
  {
    size_t n = uint64_fmt(mid, b->id) ;
    mid[n++] = '.' ;
    n += uint64_fmt(mid + n, b->now) ;
    mid[n++] = '.' ;
    n += uint_fmt(mid + n, (unsigned int)getpid()) ;
    mid[n] = 0 ;
  }
  if (!cats(sa, "From: Mail Delivery System <") || !catclean(sa, b->from, strlen(b->from), 0)
   || !cats(sa, ">\nTo: <") || !catclean(sa, b->to, strlen(b->to), b->utf8)
   || !cats(sa, ">\nSubject: ") || !cats(sa, subject(b))
   || !cats(sa, "\nDate: ") || !catdate(sa, b->now)
   || !cats(sa, "\nMessage-ID: <") || !cats(sa, mid) || !cats(sa, ".ferry-bounce@") || !catclean(sa, b->me, strlen(b->me), 0)
   || !cats(sa, ">\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"")
   || !cats(sa, bd) || !cats(sa, "\"\n\nThis is a MIME-formatted delivery status notification.\n\n--") || !cats(sa, bd)
   || !cats(sa, "\nContent-Description: Notification\nContent-Type: text/plain; charset=")
   || !cats(sa, utf8 ? "utf-8\nContent-Transfer-Encoding: 8bit\n\n" : "us-ascii\n\n")) return 0 ;
  if (utf8) *eightbit = 1 ;
  {
    /* the human part is ASCII unless the addresses are not */
    size_t start = sa->len ;
    if (!human(sa, b)) return 0 ;
    if (!utf8)
    {
      size_t i ;
      for (i = start ; i < sa->len ; i++) if ((unsigned char)sa->s[i] > 127) sa->s[i] = '?' ;
    }
  }
  if (!cats(sa, "\n--") || !cats(sa, bd) || !cats(sa, "\nContent-Description: Delivery report\nContent-Type: ")
   || !cats(sa, utf8 ? "message/global-delivery-status\n\n" : "message/delivery-status\n\n")
   || !status_part(sa, b, utf8) || !cats(sa, "\n--") || !cats(sa, bd)) return 0 ;
  if (ret)
  {
    if (!cats(sa, "\nContent-Description: ") || !cats(sa, b->kind == 'D' ? "Undelivered message" : "Message")
     || !cats(sa, b->headersonly ? " header\nContent-Type: " : "\nContent-Type: ")
     || !cats(sa, b->headersonly ? (b->utf8 ? "message/global-headers\n" : "text/rfc822-headers\n") : (b->utf8 ? "message/global\n" : "message/rfc822\n"))
     || (*eightbit && !cats(sa, "Content-Transfer-Encoding: 8bit\n"))
     || !cats(sa, "\n") || !stralloc_catb(sa, ret, retlen)
     || (retlen && ret[retlen-1] != '\n' && !cats(sa, "\n"))
     || !cats(sa, "\n--") || !cats(sa, bd)) return 0 ;
  }
  return cats(sa, "--\n") ;
}
