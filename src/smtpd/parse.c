/* The SMTP command parser of ferry-smtpd: verbs, MAIL and RCPT paths, ESMTP parameters, BDAT. */

#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>

#include "smtpd.h"

static struct { char const *name ; unsigned int verb ; } const verbs[] =
{
  { "HELO", SMTPD_HELO }, { "EHLO", SMTPD_EHLO }, { "MAIL", SMTPD_MAIL }, { "RCPT", SMTPD_RCPT },
  { "DATA", SMTPD_DATA }, { "BDAT", SMTPD_BDAT }, { "RSET", SMTPD_RSET }, { "NOOP", SMTPD_NOOP },
  { "QUIT", SMTPD_QUIT }, { "VRFY", SMTPD_VRFY }, { "EXPN", SMTPD_EXPN }, { "HELP", SMTPD_HELP },
  { "STARTTLS", SMTPD_STARTTLS }, { "AUTH", SMTPD_AUTH }, { 0, 0 }
} ;

void smtpd_command_parse (char const *line, size_t len, smtpd_command *c)
{
  size_t k = 0, i ;
  c->verb = SMTPD_UNKNOWN ;
  c->arg = line + len ;
  c->arglen = 0 ;
  while (k < len && line[k] != ' ') k++ ;
  for (i = 0 ; verbs[i].name ; i++)
    if (k == strlen(verbs[i].name) && !strncasecmp(line, verbs[i].name, k)) break ;
  if (!verbs[i].name) return ;
  c->verb = verbs[i].verb ;
  while (k < len && line[k] == ' ') k++ ;
  while (len > k && (line[len-1] == ' ' || line[len-1] == '\t')) len-- ;
  c->arg = line + k ;
  c->arglen = len - k ;
}

int smtpd_ascii (char const *s, size_t n)
{
  for (; n ; n--, s++) if ((unsigned char)*s >= 128) return 0 ;
  return 1 ;
}

 /* atext of RFC 5322, and any byte of 128 or more (RFC 6531: checked against SMTPUTF8 later) */
static int atext (unsigned char c)
{
  if (c >= 128) return 1 ;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1 ;
  return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != 0 ;
}

static int ctl (unsigned char c)
{
  return c < 32 || c == 127 ;
}

 /* A domain of RFC 5321 (letters, digits, hyphens, dots between labels; UTF-8 labels too) or an
    address literal [...] of printable ASCII. */
static int domain_ok (char const *s, size_t n)
{
  size_t i, label = 0 ;
  if (!n || n > 255) return 0 ;
  if (s[0] == '[')
  {
    if (n < 3 || s[n-1] != ']') return 0 ;
    for (i = 1 ; i < n - 1 ; i++)
    {
      unsigned char c = s[i] ;
      if (c <= 32 || c >= 127 || c == '[' || c == ']' || c == '\\') return 0 ;
    }
    return 1 ;
  }
  for (i = 0 ; i < n ; i++)
  {
    unsigned char c = s[i] ;
    if (c == '.')
    {
      if (!label) return 0 ;
      label = 0 ;
      continue ;
    }
    if (!(c >= 128 || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return 0 ;
    if (++label > 63) return 0 ;
  }
  return label > 0 ;
}

 /* The mailbox inside the brackets, s[0..n): [@route,@route:]local@domain or local alone. */
static char const *mailbox (char const *s, size_t n, stralloc *addr)
{
  size_t i = 0, start = addr->len ;
  if (n && s[0] == '@')
  {
    /* a source route: RFC 5321 says accept it and ignore it */
    while (i < n && s[i] != ':') i++ ;
    if (i == n) return "501 5.1.3 bad address syntax: a source route without its colon" ;
    i++ ;
  }
  if (i < n && s[i] == '"')
  {
    i++ ;
    for (;;)
    {
      if (i == n) return "501 5.1.3 bad address syntax: an unterminated quoted string" ;
      if (s[i] == '"') { i++ ; break ; }
      if (s[i] == '\\') { if (++i == n) return "501 5.1.3 bad address syntax: a backslash at the end" ; }
      if (ctl(s[i])) return "501 5.1.3 bad address syntax: a control character" ;
      if (!stralloc_catb(addr, s + i, 1)) return "451 4.3.0 out of memory" ;
      i++ ;
    }
    if (addr->len == start) return "501 5.1.3 bad address syntax: an empty local part" ;
  }
  else
  {
    size_t k = i ;
    while (k < n && s[k] != '@')
    {
      if (s[k] == '.' ? k == i || s[k-1] == '.' : !atext(s[k])) return "501 5.1.3 bad address syntax: a character not allowed in a local part" ;
      k++ ;
    }
    if (k == i || s[k-1] == '.') return "501 5.1.3 bad address syntax: an empty or dotted local part" ;
    if (!stralloc_catb(addr, s + i, k - i)) return "451 4.3.0 out of memory" ;
    i = k ;
  }
  if (i == n) return 0 ;
  if (s[i] != '@') return "501 5.1.3 bad address syntax: no @ after a quoted local part" ;
  if (!domain_ok(s + i + 1, n - i - 1)) return "501 5.1.3 bad address syntax: a bad domain" ;
  if (!stralloc_catb(addr, s + i, n - i)) return "451 4.3.0 out of memory" ;
  return 0 ;
}

char const *smtpd_path_parse (char const *arg, size_t len, char const *prefix, stralloc *addr, size_t *params)
{
  size_t plen = strlen(prefix) ;
  size_t i, start ;
  addr->len = 0 ;
  if (len < plen || strncasecmp(arg, prefix, plen)) return "501 5.5.4 syntax: MAIL FROM:<address> or RCPT TO:<address>" ;
  i = plen ;
  while (i < len && arg[i] == ' ') i++ ;
  if (i == len) return "501 5.5.4 syntax: MAIL FROM:<address> or RCPT TO:<address>" ;
  if (arg[i] == '<')
  {
    /* the closing bracket: the first > outside a quoted string */
    int quoted = 0 ;
    start = ++i ;
    for (; i < len ; i++)
    {
      if (quoted && arg[i] == '\\') { i++ ; continue ; }
      if (arg[i] == '"') quoted = !quoted ;
      else if (!quoted && arg[i] == '>') break ;
    }
    if (i >= len) return "501 5.1.3 bad address syntax: no closing >" ;
    if (i > start)
    {
      char const *why = mailbox(arg + start, i - start, addr) ;
      if (why) return why ;
    }
    i++ ;
    if (i < len && arg[i] != ' ') return "501 5.5.4 syntax: a space must separate the address from its parameters" ;
  }
  else
  {
    start = i ;
    while (i < len && arg[i] != ' ') i++ ;
    {
      char const *why = mailbox(arg + start, i - start, addr) ;
      if (why) return why ;
    }
  }
  if (addr->len > 254) return "501 5.1.3 address too long" ;
  *params = i ;
  return 0 ;
}

int smtpd_param_next (char const *s, size_t len, size_t *pos, smtpd_param *p)
{
  size_t i = *pos, k ;
  while (i < len && s[i] == ' ') i++ ;
  if (i == len) { *pos = i ; return 0 ; }
  k = i ;
  while (k < len && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9') || (k > i && s[k] == '-'))) k++ ;
  if (k == i) return -1 ;
  p->key = s + i ;
  p->keylen = k - i ;
  p->value = 0 ;
  p->valuelen = 0 ;
  if (k < len && s[k] == '=')
  {
    size_t v = ++k ;
    while (k < len && s[k] != ' ')
    {
      unsigned char c = s[k] ;
      if (c == '=' || (c < 33) || c == 127) return -1 ;
      k++ ;
    }
    if (k == v) return -1 ;
    p->value = s + v ;
    p->valuelen = k - v ;
  }
  if (k < len && s[k] != ' ') return -1 ;
  *pos = k ;
  return 1 ;
}

int smtpd_bdat_parse (char const *arg, size_t len, uint64_t *size, int *last)
{
  size_t i = 0 ;
  uint64_t n = 0 ;
  if (!len || arg[0] < '0' || arg[0] > '9') return 0 ;
  for (; i < len && arg[i] >= '0' && arg[i] <= '9' ; i++)
  {
    if (n > (UINT64_MAX - 9) / 10) return 0 ;
    n = n * 10 + (arg[i] - '0') ;
  }
  *last = 0 ;
  if (i < len)
  {
    if (arg[i] != ' ') return 0 ;
    while (i < len && arg[i] == ' ') i++ ;
    if (len - i != 4 || strncasecmp(arg + i, "LAST", 4)) return 0 ;
    *last = 1 ;
  }
  *size = n ;
  return 1 ;
}
