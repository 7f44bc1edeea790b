/* tls_policy_check, tls_policy_find: control/tlspolicy, the TLS level of each destination. */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <skalibs/bytestr.h>
#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/table.h>
#include <ferry/tls_policy.h>

static char const *const level_names[] = { "none", "may", "dane", "encrypt", "dane-only", "verify", "secure" } ;

char const *tls_level_name (enum tls_level level)
{
  return (unsigned int)level <= TLS_SECURE ? level_names[level] : "unknown" ;
}

typedef struct tls_line_s tls_line ;
struct tls_line_s
{
  char const *key ;
  size_t keylen ;
  enum tls_level level ;
  char const *match ;   /* the names of match=, if hasmatch */
  size_t matchlen ;
  int hasmatch ;
} ;

 /* The next field of s[0..n) from *pos: 1 with f, fn; 0 at the end of the line. */
static int field_next (char const *s, size_t n, size_t *pos, char const **f, size_t *fn)
{
  size_t i = *pos, j ;
  while (i < n && ferry_table_blank(s[i])) i++ ;
  if (i == n) { *pos = n ; return 0 ; }
  for (j = i ; j < n && !ferry_table_blank(s[j]) ; j++) ;
  *f = s + i ; *fn = j - i ; *pos = j ;
  return 1 ;
}

 /* A word of the file in a message: control characters shown as ?, long words cut. */
static int cat_shown (stralloc *sa, char const *s, size_t n)
{
  size_t i, m = n > 100 ? 100 : n ;
  for (i = 0 ; i < m ; i++)
  {
    unsigned char c = s[i] ;
    if (!stralloc_catb(sa, c < 32 || c == 127 ? "?" : s + i, 1)) return 0 ;
  }
  return n > m ? stralloc_cats(sa, "...") : 1 ;
}

static int key_ok (char const *k, size_t n)
{
  size_t i ;
  if (n == 1 && k[0] == '*') return 1 ;
  if (k[0] == '[')
  {
    if (n < 3 || k[n - 1] != ']') return 0 ;
    for (i = 1 ; i < n - 1 ; i++) if (k[i] == '[' || k[i] == ']' || (unsigned char)k[i] < 32) return 0 ;
    return 1 ;
  }
  /* a domain or .domain: labels of letters, digits, - and _ (and UTF-8), no empty label */
  i = k[0] == '.' ;
  if (i == n) return 0 ;
  for (; i < n ; i++)
  {
    unsigned char c = k[i] ;
    if (c == '.')
    {
      if (k[i - 1] == '.' || i == n - 1) return 0 ;
    }
    else if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0 ;
  }
  return 1 ;
}

static int level_scan (char const *s, size_t n, enum tls_level *level)
{
  unsigned int i = 0 ;
  for (; i <= TLS_SECURE ; i++)
    if (strlen(level_names[i]) == n && !strncasecmp(s, level_names[i], n)) { *level = (enum tls_level)i ; return 1 ; }
  return 0 ;
}

 /* Parses one line (not blank, not a comment). 1: good; 0: bad, with the reason appended to why
    if why is not 0; -1: out of memory. */
static int line_parse (char const *s, size_t n, tls_line *t, stralloc *why)
{
  size_t pos = 0 ;
  char const *f ;
  size_t fn ;
  memset(t, 0, sizeof(*t)) ;
  if (!field_next(s, n, &pos, &t->key, &t->keylen)) return 0 ;
  if (!key_ok(t->key, t->keylen))
  {
    if (!why) return 0 ;
    return stralloc_cats(why, "bad key ") && cat_shown(why, t->key, t->keylen)
      && stralloc_cats(why, ": write *, a domain, .domain (its subdomains) or [host] (a route's host)") ? 0 : -1 ;
  }
  if (!field_next(s, n, &pos, &f, &fn) || f[0] == '#')
    return !why || stralloc_cats(why, "a key and a level are needed: write key level [match=NAME[:NAME...]]") ? 0 : -1 ;
  if (!level_scan(f, fn, &t->level))
  {
    if (!why) return 0 ;
    return stralloc_cats(why, "unknown level ") && cat_shown(why, f, fn)
      && stralloc_cats(why, ": write none, may, dane, encrypt, dane-only, verify or secure") ? 0 : -1 ;
  }
  while (field_next(s, n, &pos, &f, &fn))
  {
    size_t i ;
    if (f[0] == '#') break ;
    if (fn < 6 || strncasecmp(f, "match=", 6))
    {
      if (!why) return 0 ;
      return stralloc_cats(why, "unknown option ") && cat_shown(why, f, fn)
        && stralloc_cats(why, ": the only option is match=NAME[:NAME...], for secure") ? 0 : -1 ;
    }
    if (t->level != TLS_SECURE)
      return !why || stralloc_cats(why, "match= is only for secure") ? 0 : -1 ;
    if (t->hasmatch)
      return !why || stralloc_cats(why, "match= appears twice: give every name in one, separated by colons") ? 0 : -1 ;
    t->hasmatch = 1 ;
    t->match = f + 6 ;
    t->matchlen = fn - 6 ;
    for (i = 0 ; i <= t->matchlen ; i++)
    {
      if ((i == t->matchlen || t->match[i] == ':') && (!i || t->match[i - 1] == ':'))
        return !why || stralloc_cats(why, "an empty name in match=: write match=NAME[:NAME...]") ? 0 : -1 ;
      if (i < t->matchlen && ((unsigned char)t->match[i] < 32 || t->match[i] == 127 || t->match[i] == '[' || t->match[i] == ']'))
        return !why || stralloc_cats(why, "a bad character in match=: write host names separated by colons") ? 0 : -1 ;
    }
  }
  return 1 ;
}

typedef struct seen_s seen ;
struct seen_s
{
  char const *key ;
  size_t keylen ;
  unsigned int line ;
} ;

static int seen_cmp (void const *a, void const *b)
{
  seen const *x = a, *y = b ;
  size_t m = x->keylen < y->keylen ? x->keylen : y->keylen ;
  int r = strncasecmp(x->key, y->key, m) ;
  if (r) return r ;
  if (x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1 ;
  return x->line < y->line ? -1 : x->line > y->line ;
}

static int same_key (seen const *x, seen const *y)
{
  return x->keylen == y->keylen && !strncasecmp(x->key, y->key, x->keylen) ;
}

 /* The first line that repeats a key of an earlier line: 0 if none; *dup and *first its key and
    the line of its first appearance. Sorts keys. */
static unsigned int dup_find (seen *keys, size_t n, seen const **dup, unsigned int *first)
{
  unsigned int best = 0 ;
  size_t i ;
  if (n < 2) return 0 ;
  qsort(keys, n, sizeof(seen), &seen_cmp) ;
  for (i = 1 ; i < n ; i++)
    /* keys[i] the second of its group (sorted by line within it) */
    if (same_key(keys + i, keys + i - 1) && (i < 2 || !same_key(keys + i - 1, keys + i - 2))
        && (!best || keys[i].line < best))
    {
      best = keys[i].line ;
      *dup = keys + i ;
      *first = keys[i - 1].line ;
    }
  return best ;
}

static int why_start (stralloc *why, unsigned int line)
{
  char fmt[UINT_FMT] ;
  why->len = 0 ;
  return stralloc_cats(why, "control/tlspolicy:") && stralloc_catb(why, fmt, uint_fmt(fmt, line)) && stralloc_cats(why, ": ") ;
}

int tls_policy_check (char const *table, size_t len, stralloc *why)
{
  genalloc keys = GENALLOC_ZERO ;
  stralloc reason = STRALLOC_ZERO ;
  size_t i = 0, n ;
  char const *line ;
  unsigned int lineno = 0, bad = 0, dupline, first = 0 ;
  seen const *dup = 0 ;
  int r = 1 ;
  while (ferry_table_line(table, len, &i, &line, &n))
  {
    tls_line t ;
    seen k ;
    lineno++ ;
    if (!n || line[0] == '#') continue ;
    r = line_parse(line, n, &t, &reason) ;
    if (r < 0) goto end ;
    if (!r) { bad = lineno ; break ; }
    k.key = t.key ; k.keylen = t.keylen ; k.line = lineno ;
    if (!genalloc_append(seen, &keys, &k)) { r = -1 ; goto end ; }
  }
  dupline = dup_find(genalloc_s(seen, &keys), genalloc_len(seen, &keys), &dup, &first) ;
  if (dupline)
  {
    char fmt[UINT_FMT] ;
    r = 0 ;
    if (!why_start(why, dupline)
     || !stralloc_cats(why, "the key ") || !cat_shown(why, dup->key, dup->keylen)
     || !stralloc_cats(why, " appears twice (first on line ") || !stralloc_catb(why, fmt, uint_fmt(fmt, first))
     || !stralloc_cats(why, ")") || !stralloc_0(why)) r = -1 ;
  }
  else if (bad)
  {
    r = 0 ;
    if (!why_start(why, bad) || !stralloc_catb(why, reason.s, reason.len) || !stralloc_0(why)) r = -1 ;
  }
  else r = 1 ;
 end:
  genalloc_free(seen, &keys) ;
  stralloc_free(&reason) ;
  return r ;
}

 /* The first good line whose key is k[0..kn), case-insensitively: 1 and *t, or 0. */
static int policy_lookup (char const *table, size_t len, char const *k, size_t kn, tls_line *t)
{
  size_t i = 0, n ;
  char const *line ;
  while (ferry_table_line(table, len, &i, &line, &n))
  {
    if (!n || line[0] == '#') continue ;
    if (line_parse(line, n, t, 0) != 1) continue ;
    if (t->keylen == kn && !strncasecmp(t->key, k, kn)) return 1 ;
  }
  return 0 ;
}

int tls_policy_find (char const *table, size_t len, char const *domain, char const *routehost, enum tls_level *level, stralloc *match)
{
  size_t dn = strlen(domain), j ;
  tls_line t ;
  int found = 0 ;
  match->len = 0 ;
  if (routehost)
  {
    size_t rn = strlen(routehost) ;
    char key[rn + 3] ;
    if (rn >= 2 && routehost[0] == '[' && routehost[rn - 1] == ']') { routehost++ ; rn -= 2 ; }
    key[0] = '[' ;
    memcpy(key + 1, routehost, rn) ;
    key[rn + 1] = ']' ;
    if (rn && policy_lookup(table, len, key, rn + 2, &t))
    {
      *level = t.level ;
      if (t.level == TLS_SECURE && !(t.hasmatch ? stralloc_catb(match, t.match, t.matchlen) : stralloc_catb(match, routehost, rn))) return -1 ;
      return stralloc_0(match) ? 1 : -1 ;
    }
  }
  if (dn && policy_lookup(table, len, domain, dn, &t)) found = 1 ;
  for (j = 0 ; !found && j < dn ; j++)
    if (domain[j] == '.' && policy_lookup(table, len, domain + j, dn - j, &t)) found = 1 ;
  if (!found && policy_lookup(table, len, "*", 1, &t)) found = 1 ;
  if (!found) { *level = TLS_MAY ; return stralloc_0(match) ? 0 : -1 ; }
  *level = t.level ;
  if (t.level == TLS_SECURE)
  {
    if (t.hasmatch ? !stralloc_catb(match, t.match, t.matchlen)
        : !stralloc_catb(match, domain, dn) || !stralloc_catb(match, ":.", 2) || !stralloc_catb(match, domain, dn)) return -1 ;
  }
  return stralloc_0(match) ? 1 : -1 ;
}
