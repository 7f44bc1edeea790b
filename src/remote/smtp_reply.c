/* SMTP replies: parsing them as they arrive, with limits that a hostile peer cannot stretch. */

#include <string.h>
#include <strings.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include "remote.h"

void smtp_reply_reset (smtp_reply *r)
{
  r->code = 0 ;
  r->lines = 0 ;
  r->text.len = 0 ;
}

int smtp_reply_parse (smtp_reply *r, char const *s, size_t len, size_t *used, char const **why)
{
  size_t pos = 0 ;
  *used = 0 ;
  for (;;)
  {
    size_t k = byte_chr(s + pos, len - pos, '\n') ;
    size_t n = k ;
    char const *line = s + pos ;
    unsigned int code ;
    int last ;
    if (k == len - pos)
    {
      if (k > SMTP_LINE_MAX) { *why = "a reply line is too long" ; return -1 ; }
      return 0 ;
    }
    if (n && line[n-1] == '\r') n-- ;
    if (n > SMTP_LINE_MAX) { *why = "a reply line is too long" ; return -1 ; }
    if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9'
     || (n > 3 && line[3] != ' ' && line[3] != '-'))
    { *why = "the reply is not SMTP (no valid reply code)" ; return -1 ; }
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') ;
    if (r->lines && code != r->code) { *why = "the lines of a reply have different codes" ; return -1 ; }
    if (++r->lines > SMTP_LINES_MAX) { *why = "the reply has too many lines" ; return -1 ; }
    r->code = code ;
    if (r->text.len && !stralloc_catb(&r->text, "\n", 1)) { *why = "out of memory" ; return -1 ; }
    if (!stralloc_catb(&r->text, line, n)) { *why = "out of memory" ; return -1 ; }
    last = n == 3 || line[3] == ' ' ;
    pos += k + 1 ;
    *used = pos ;
    if (last) return 1 ;
  }
}

int smtp_reply_oneline (smtp_reply const *r, stralloc *sa, size_t max)
{
  size_t i, start = sa->len ;
  for (i = 0 ; i < r->text.len && sa->len - start < max ; i++)
  {
    unsigned char c = r->text.s[i] ;
    if (c == '\n') { if (!stralloc_catb(sa, " / ", 3)) return 0 ; }
    else if (c < 32 || c == 127) { if (!stralloc_catb(sa, " ", 1)) return 0 ; }
    else if (!stralloc_catb(sa, (char *)&c, 1)) return 0 ;
  }
  if (sa->len - start > max) sa->len = start + max ;
  return 1 ;
}

int smtp_ehlo_has (smtp_reply const *r, char const *keyword, char const **param, size_t *paramlen)
{
  size_t i = 0, kl = strlen(keyword) ;
  unsigned int line = 0 ;
  while (i < r->text.len)
  {
    size_t k = byte_chr(r->text.s + i, r->text.len - i, '\n') ;
    char const *s = r->text.s + i ;
    if (line++ && k >= 4 + kl && !strncasecmp(s + 4, keyword, kl) && (k == 4 + kl || s[4 + kl] == ' ' || s[4 + kl] == '='))
    {
      if (param) { *param = s + 4 + kl + (k > 4 + kl) ; *paramlen = k > 4 + kl ? k - 5 - kl : 0 ; }
      return 1 ;
    }
    i += k + 1 ;
  }
  return 0 ;
}

int smtp_auth_offers (char const *p, size_t n, char const *mech)
{
  size_t ml = strlen(mech), i = 0 ;
  while (i < n)
  {
    size_t k = i ;
    while (k < n && p[k] != ' ' && p[k] != '\t') k++ ;
    if (k - i == ml && !strncasecmp(p + i, mech, ml)) return 1 ;
    i = k + 1 ;
  }
  return 0 ;
}

 /* The enhanced status code that follows the reply code ("421 4.7.0 ..."): 1 with its subject
    and detail, 0 if the first line has none. */
static int enhanced_code (char const *t, size_t n, unsigned int *subject, unsigned int *detail)
{
  unsigned int v[2] = { 0, 0 }, k ;
  size_t i = 6 ;
  if (n < 9 || t[4] < '2' || t[4] > '5' || t[5] != '.') return 0 ;
  for (k = 0 ; k < 2 ; k++)
  {
    size_t digits = 0 ;
    while (i < n && t[i] >= '0' && t[i] <= '9' && digits < 3) { v[k] = v[k] * 10 + (t[i] - '0') ; i++ ; digits++ ; }
    if (!digits) return 0 ;
    if (!k) { if (i >= n || t[i] != '.') return 0 ; i++ ; }
  }
  if (i < n && t[i] != ' ' && t[i] != '\n') return 0 ;
  *subject = v[0] ;
  *detail = v[1] ;
  return 1 ;
}

static int letter (char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ; }

 /* Does the text have what (any case) at the start of a word? "rate", "ratelimit" and
    "rate-limited" do; "generate" and "accurate" do not. */
static int says (char const *s, size_t n, char const *what)
{
  size_t k = strlen(what), i ;
  for (i = 0 ; i + k <= n ; i++) if ((!i || !letter(s[i - 1])) && !strncasecmp(s + i, what, k)) return 1 ;
  return 0 ;
}

int smtp_reply_throttling (smtp_reply const *r)
{
  unsigned int subject, detail ;
  if (r->code == 421) return 1 ;
  if (r->code / 100 != 4) return 0 ;
  if (enhanced_code(r->text.s, r->text.len, &subject, &detail))
  {
    if (subject != 7 && !(subject == 2 && detail == 1)) return 0 ;
  }
  else if (r->code != 450 && r->code != 451 && r->code != 452) return 0 ;
  return says(r->text.s, r->text.len, "too many") || says(r->text.s, r->text.len, "rate") ;
}
