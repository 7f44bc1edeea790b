/* Fuzz target: control/tlspolicy as ferry-spawn-remote reads it (tls_policy_check,
   tls_policy_find). Properties: a refusal says "control/tlspolicy:LINE: ..." on one line, a
   terminated string; on a table it accepts, every lookup gives a level, secure with names to
   match and the other levels none, and the key of a line finds that line's level. */

#include <strings.h>

#include <ferry/tls_policy.h>

#include "fuzz.h"

static char const *const domains[] = { "example.org", "mx.example.org", "a.b.c.example.org", "x", "", "localhost", 0 } ;
static char const *const routes[] = { "smtp.example.org", "[10.0.0.1]", "[", "[]", 0 } ;

static void find_ok (char const *s, size_t size, char const *dom, char const *route, enum tls_level *level, stralloc *match)
{
  int r = tls_policy_find(s, size, dom, route, level, match) ;
  FUZZ_ASSERT(r == 0 || r == 1) ;
  FUZZ_ASSERT(match->len && !match->s[match->len - 1] && strlen(match->s) == match->len - 1) ;
  FUZZ_ASSERT(*level <= TLS_SECURE) ;
  FUZZ_ASSERT(r == 1 || *level == TLS_MAY) ;
  FUZZ_ASSERT(*level == TLS_SECURE ? match->len > 1 : match->len == 1) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  stralloc why = STRALLOC_ZERO, match = STRALLOC_ZERO ;
  enum tls_level level ;
  char key[64] ;
  size_t i, n = 0, keyend ;
  int r = tls_policy_check(s, size, &why) ;
  FUZZ_ASSERT(r == 0 || r == 1) ;
  if (!r)
  {
    FUZZ_ASSERT(why.len > 19 && !why.s[why.len - 1] && !strncmp(why.s, "control/tlspolicy:", 18)) ;
    FUZZ_ASSERT(strlen(why.s) == why.len - 1 && !strchr(why.s, '\n')) ;
  }
  /* the same file fed again gives the same answer */
  {
    stralloc why2 = STRALLOC_ZERO ;
    FUZZ_ASSERT(tls_policy_check(s, size, &why2) == r && (r || (why2.len == why.len && !memcmp(why.s, why2.s, why.len)))) ;
    stralloc_free(&why2) ;
  }
  /* the key of the first line, when it is a plain domain */
  for (i = 0 ; i < size && n < sizeof key - 1 && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' ; i++) key[n++] = s[i] ;
  key[n] = 0 ;
  keyend = i ;
  if (r)
  {
    size_t j, k ;
    for (i = 0 ; domains[i] ; i++)
    {
      find_ok(s, size, domains[i], 0, &level, &match) ;
      for (j = 0 ; routes[j] ; j++) find_ok(s, size, domains[i], routes[j], &level, &match) ;
    }
    if (n && n < sizeof key - 1 && !memchr(key, 0, n) && key[0] != '[' && key[0] != '.' && key[0] != '*' && key[0] != '#' && keyend < size)
    {
      /* the level written after the key */
      char const *lv = s + keyend ;
      while (lv < s + size && (*lv == ' ' || *lv == '\t' || *lv == '\r')) lv++ ;
      for (k = 0 ; lv + k < s + size && lv[k] != ' ' && lv[k] != '\t' && lv[k] != '\r' && lv[k] != '\n' ; k++) ;
      FUZZ_ASSERT(tls_policy_find(s, size, key, 0, &level, &match) == 1) ;
      FUZZ_ASSERT(strlen(tls_level_name(level)) == k && !strncasecmp(tls_level_name(level), lv, k)) ;
    }
  }
  else if (!memchr(key, 0, n)) find_ok(s, size, key, key, &level, &match) ;
  stralloc_free(&why) ;
  stralloc_free(&match) ;
  free(s) ;
  return 0 ;
}
