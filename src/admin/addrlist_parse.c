/* addrlist_parse, addrlist_qualify: a header's address list, cut into its mailboxes one way for
   both: their addresses (for sendmail -t), and the list with bare local parts qualified. */

#include <string.h>

#include "admin.h"

static int space (char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' ; }

 /* One mailbox's address: what is in angle brackets, else the words outside comments and quotes
    (a quoted local part keeps its quotes). Appended to sa when sa is not null; *end: where it
    ends in s; *at: it has an @. 1: an address, 0: none, -1: out of memory. */
static int mailbox_read (stralloc *sa, char const *s, size_t n, size_t *end, int *at)
{
  size_t i, lt = n ;
  int depth = 0, quoted = 0, got = 0 ;
  *at = 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (quoted) { if (c == '\\' && i + 1 < n) i++ ; else if (c == '"') quoted = 0 ; continue ; }
    if (depth) { if (c == '\\' && i + 1 < n) i++ ; else if (c == '(') depth++ ; else if (c == ')') depth-- ; continue ; }
    if (c == '"') quoted = 1 ;
    else if (c == '(') depth = 1 ;
    else if (c == '<') { lt = i ; break ; }
  }
  if (lt < n)
  {
    size_t j = lt + 1, k ;
    k = j ;
    while (k < n && s[k] != '>') k++ ;
    /* a source route <@a,@b:user@host> keeps only user@host */
    if (j < k && s[j] == '@') { size_t c = j ; while (c < k && s[c] != ':') c++ ; if (c < k) j = c + 1 ; }
    while (j < k && space(s[j])) j++ ;
    while (k > j && space(s[k-1])) k-- ;
    if (k == j) return 0 ;
    if (sa && !stralloc_catb(sa, s + j, k - j)) return -1 ;
    *at = !!memchr(s + j, '@', k - j) ;
    *end = k ;
    return 1 ;
  }
  depth = quoted = 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (depth) { if (c == '\\' && i + 1 < n) i++ ; else if (c == '(') depth++ ; else if (c == ')') depth-- ; continue ; }
    if (!quoted && c == '(') { depth = 1 ; continue ; }
    if (c == '"') quoted = !quoted ;
    if (!quoted && space(c)) continue ;
    if (sa && !stralloc_catb(sa, &c, 1)) return -1 ;
    if (c == '@') *at = 1 ;
    *end = i + 1 ;
    got = 1 ;
  }
  return got ;
}

 /* One mailbox, for addrlist_parse: its address and a null byte. */
static int one (stralloc *sa, char const *s, size_t n)
{
  size_t i, start = sa->len, end ;
  int at, r = mailbox_read(sa, s, n, &end, &at) ;
  if (r <= 0) return r ;
  for (i = start ; i < sa->len ; i++)
  {
    unsigned char b = sa->s[i] ;
    if (b < 32 || b == 127) return -2 ;   /* a null byte would cut it short, a control byte has no place */
  }
  if (!stralloc_0(sa)) return -1 ;
  return 1 ;
}

typedef int mailbox_func (char const *, size_t, void *) ;

 /* Calls f for each mailbox of the list (what lies between commas, a group's colon and its
    semicolon, outside quotes, comments, literals and angle brackets). The sum of what f
    returned, or the first negative one. */
static int addrlist_walk (char const *s, size_t len, mailbox_func *f, void *data)
{
  size_t i, start = 0 ;
  int depth = 0, quoted = 0, angle = 0, literal = 0 ;
  int n = 0 ;
  if (!len) return 0 ;   /* s may be null then */
  for (i = 0 ; i <= len ; i++)
  {
    char c = i < len ? s[i] : ',' ;
    if (quoted) { if (c == '\\' && i + 1 < len) i++ ; else if (c == '"') quoted = 0 ; continue ; }
    if (depth) { if (c == '\\' && i + 1 < len) i++ ; else if (c == '(') depth++ ; else if (c == ')') depth-- ; continue ; }
    if (c == '"') { quoted = 1 ; continue ; }
    if (c == '(') { depth = 1 ; continue ; }
    if (literal) { if (c == ']') literal = 0 ; continue ; }   /* [IPv6:2001:db8::1] */
    if (c == '[') { literal = 1 ; continue ; }
    if (c == '<') { angle = 1 ; continue ; }
    if (c == '>') { angle = 0 ; continue ; }
    if (angle) continue ;
    if (c == ':') { start = i + 1 ; continue ; }   /* a group's name */
    if (c == ',' || c == ';')
    {
      int r = (*f)(s + start, i - start, data) ;
      if (r < 0) return r ;
      n += r ;
      start = i + 1 ;
    }
  }
  return n ;
}

static int parse_one (char const *s, size_t n, void *data)
{
  return one((stralloc *)data, s, n) ;
}

int addrlist_parse (stralloc *sa, char const *s, size_t len)
{
  return addrlist_walk(s, len, &parse_one, sa) ;
}

typedef struct qualify_s qualify ;
struct qualify_s
{
  stralloc *sa ;
  char const *base ;    /* the list */
  size_t copied ;       /* bytes of it already in sa */
  char const *domain ;
  size_t dlen ;
} ;

static int qualify_one (char const *s, size_t n, void *data)
{
  qualify *q = data ;
  int at ;
  size_t end, pos ;
  if (mailbox_read(0, s, n, &end, &at) <= 0 || at) return 0 ;
  pos = (size_t)(s - q->base) + end ;
  if (!stralloc_catb(q->sa, q->base + q->copied, pos - q->copied)
   || !stralloc_catb(q->sa, "@", 1) || !stralloc_catb(q->sa, q->domain, q->dlen)) return -1 ;
  q->copied = pos ;
  return 1 ;
}

int addrlist_qualify (stralloc *sa, char const *s, size_t len, char const *domain, size_t dlen)
{
  qualify q = { .sa = sa, .base = s, .copied = 0, .domain = domain, .dlen = dlen } ;
  int n = addrlist_walk(s, len, &qualify_one, &q) ;
  if (n < 0) return n ;
  if (len > q.copied && !stralloc_catb(sa, s + q.copied, len - q.copied)) return -1 ;
  return n ;
}
