/* ferry-smtpd's Received: line (RFC 5321 4.4, the protocol names of RFC 3848). */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/date822.h>

#include "smtpd.h"

int smtpd_received_clean (stralloc *sa, char const *s, size_t max)
{
  size_t i = 0 ;
  for (; s[i] && i < max ; i++)
  {
    unsigned char c = s[i] ;
    char o = c <= 32 || c >= 127 || strchr("()[]\\\"", c) ? '?' : c ;
    if (!stralloc_catb(sa, &o, 1)) return 0 ;
  }
  return 1 ;
}

int smtpd_received_fmt (stralloc *sa, smtpd_received const *r)
{
  char date[FERRY_DATE822_MAX] ;
  size_t dlen = ferry_date822_fmt(date, r->when) ;
  /* from HELO (HOST [IP]): what the client said it is, then what the connection says */
  if (!stralloc_cats(sa, "Received: from ")
   || !smtpd_received_clean(sa, r->helo && *r->helo ? r->helo : r->remotehost && *r->remotehost ? r->remotehost : "unknown", 100)
   || !stralloc_cats(sa, " (")) return 0 ;
  if (r->remotehost && *r->remotehost)
  {
    if (!smtpd_received_clean(sa, r->remotehost, 100) || !stralloc_cats(sa, " ")) return 0 ;
  }
  if (!stralloc_cats(sa, "[")
   || !smtpd_received_clean(sa, r->remoteip && *r->remoteip ? r->remoteip : "unknown", 64)
   || !stralloc_cats(sa, "])\n\tby ")
   || !smtpd_received_clean(sa, r->me, 255)
   || !stralloc_cats(sa, " (ferry-smtpd) with ")
   || !stralloc_cats(sa, r->protocol)) return 0 ;
  if (r->tlsversion)
  {
    if (!stralloc_cats(sa, " (")
     || !smtpd_received_clean(sa, r->tlsversion, 32)
     || !stralloc_cats(sa, " ")
     || !smtpd_received_clean(sa, r->tlscipher ? r->tlscipher : "unknown", 100)
     || !stralloc_cats(sa, ")")) return 0 ;
  }
  if (r->rcpt)
  {
    /* the recipient only when there is one: the others' names stay out of each copy */
    if (!stralloc_cats(sa, "\n\tfor <")
     || !smtpd_received_clean(sa, r->rcpt, 256)
     || !stralloc_cats(sa, ">")) return 0 ;
  }
  return stralloc_cats(sa, "; ") && stralloc_catb(sa, date, dlen) && stralloc_cats(sa, "\n") ;
}
