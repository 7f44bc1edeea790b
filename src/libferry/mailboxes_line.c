/* ferry_mailboxes_line: one line of control/mailboxes, as ferry-mailboxes compiles it. */

#include <skalibs/bytestr.h>

#include <ferry/mailboxes.h>

static void trim (char **s, size_t *n)
{
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r')) (*n)-- ;
  while (*n && (**s == ' ' || **s == '\t')) { (*s)++ ; (*n)-- ; }
}

 /* one @, not last; no space or control byte; lower-cased in place */
static int address_ok (char *s, size_t n)
{
  size_t at = byte_chr(s, n, '@'), i ;
  if (at == n || at + 1 == n || byte_chr(s + at + 1, n - at - 1, '@') < n - at - 1) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    unsigned char c = s[i] ;
    if (c <= 32 || c == 127) return 0 ;
    if (c >= 'A' && c <= 'Z') s[i] = c + 32 ;
  }
  return 1 ;
}

static int is_instruction (char c)
{
  return c == '/' || c == '|' || c == '&' ;
}

char const *ferry_mailboxes_line (char *line, size_t n, ferry_mailboxes_entry *e)
{
  size_t c ;
  e->owner = 0 ; e->ownerlen = 0 ;
  trim(&line, &n) ;
  if (!n || *line == '#') { e->addr = 0 ; return 0 ; }
  c = byte_chr(line, n, ':') ;
  if (c == n) return "no colon: a line is address:instruction or address:owner:instruction" ;
  e->addr = line ; e->addrlen = c ;
  trim(&e->addr, &e->addrlen) ;
  if (!address_ok(e->addr, e->addrlen)) return "bad address: write user@domain, user-ext@domain or @domain" ;
  e->instr = line + c + 1 ; e->instrlen = n - c - 1 ;
  trim(&e->instr, &e->instrlen) ;
  if (e->instrlen && !is_instruction(*e->instr))
  {
    c = byte_chr(e->instr, e->instrlen, ':') ;
    if (c == e->instrlen) return "the instruction must start with / (Maildir/ or mbox), | (program) or & (forward)" ;
    e->owner = e->instr ; e->ownerlen = c ;
    trim(&e->owner, &e->ownerlen) ;
    if (!e->ownerlen) return "the owner is not a user of this system" ;
    e->instr += c + 1 ; e->instrlen -= c + 1 ;
    trim(&e->instr, &e->instrlen) ;
  }
  if (!e->instrlen || !is_instruction(*e->instr)) return "the instruction must start with / (Maildir/ or mbox), | (program) or & (forward)" ;
  if (e->instrlen == 1) return "empty instruction" ;
  return 0 ;
}
