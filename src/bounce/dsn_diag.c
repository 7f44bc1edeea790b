/* dsn_diag_parse: the status, remote host and SMTP reply in a channel's text. The texts come
   in three shapes (doc/protocols.html): "host NAME[IP]:PORT said: REPLY (in reply to WHAT)" from
   a remote peer, "X.Y.Z explanation" from ferry itself, and anything else (a program's output). */

#include <string.h>

#include "bounce.h"

 /* An enhanced status code at s (class 2, 4 or 5, then 1-3 digits twice), ending at a space or
    the end: its length, else 0. */
static size_t enhanced (char const *s)
{
  size_t n = 0, part ;
  unsigned int k ;
  if (s[0] != '2' && s[0] != '4' && s[0] != '5') return 0 ;
  n = 1 ;
  for (k = 0 ; k < 2 ; k++)
  {
    if (s[n] != '.') return 0 ;
    n++ ;
    for (part = 0 ; s[n] >= '0' && s[n] <= '9' && part < 3 ; part++) n++ ;
    if (!part) return 0 ;
  }
  return s[n] == ' ' || !s[n] ? n : 0 ;
}

static char const *find (char const *s, char const *what)
{
  return strstr(s, what) ;
}

void dsn_diag_parse (dsn_diag *d, char const *text, char kind)
{
  char const *host = 0 ;
  char want = kind == 'S' ? '2' : kind == 'Z' ? '4' : '5' ;
  size_t n ;
  memset(d, 0, sizeof(*d)) ;
  if (!strncmp(text, "host ", 5)) host = text + 5 ;
  else
  {
    char const *h = find(text, "last error: host ") ;
    if (h) host = h + 17 ;
  }
  if (host)
  {
    char const *said = find(host, " said: ") ;
    if (said)
    {
      char const *end, *in ;
      size_t hl = strcspn(host, "[ ") ;
      d->mta = host ;
      d->mtalen = hl ;
      d->reply = said + 7 ;
      end = d->reply + strlen(d->reply) ;
      in = 0 ;
      for (char const *p = d->reply ; (p = strstr(p, " (in reply to ")) ; p++) in = p ;
      d->replylen = (in ? in : end) - d->reply ;
    }
  }
  n = enhanced(text) ;
  if (n && n < sizeof(d->status)) memcpy(d->status, text, n) ;
  else if (d->reply && d->replylen > 4 && (n = enhanced(d->reply + 4)) && n < sizeof(d->status)) memcpy(d->status, d->reply + 4, n) ;
  else if (d->reply && (d->reply[0] == '2' || d->reply[0] == '4' || d->reply[0] == '5'))
  {
    d->status[0] = d->reply[0] ;
    memcpy(d->status + 1, ".0.0", 5) ;
  }
  /* the class must agree with what happened: a failure may end in 4.x.x (an expiry) */
  if (!d->status[0] || (d->status[0] != want && !(kind == 'D' && d->status[0] == '4')))
  {
    d->status[0] = want ;
    memcpy(d->status + 1, ".0.0", 5) ;
  }
}
