/* Unit tests of control/tlspolicy and control/smtpauth as ferry-spawn-remote reads them
   (src/remote/tls_policy.c, smtp_auth.c): the lookup order, case, the default names of secure,
   each error with its line, credentials, and base64 against RFC 4648's vectors. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/smtp_auth.h>
#include <ferry/tls_policy.h>
#include "unit.h"

static stralloc why = STRALLOC_ZERO ;
static stralloc match = STRALLOC_ZERO ;

static int check (char const *table)
{
  why.len = 0 ;
  return tls_policy_check(table, strlen(table), &why) ;
}

 /* the level found and the match names, as "level names" */
static char const *find (char const *table, char const *domain, char const *routehost, int *found)
{
  static char buf[300] ;
  enum tls_level level = TLS_NONE ;
  int r = tls_policy_find(table, strlen(table), domain, routehost, &level, &match) ;
  if (found) *found = r ;
  if (r < 0 || !match.len || match.s[match.len - 1]) return "(bad return)" ;
  strcpy(buf, tls_level_name(level)) ;
  if (match.len > 1) { strcat(buf, " ") ; strcat(buf, match.s) ; }
  return buf ;
}

#define FIND_IS(table, dom, route, want) do \
{ \
  char const *got_ = find(table, dom, route, 0) ; \
  CHECK(!strcmp(got_, want), "%s via %s: got \"%s\", want \"%s\"", dom, route ? route : "DNS", got_, want) ; \
} while (0)

#define BAD(table, want) do \
{ \
  int r_ = check(table) ; \
  CHECK(r_ == 0 && why.len && !why.s[why.len - 1] && !strcmp(why.s, want), "%s: got %d \"%s\", want \"%s\"", table, r_, why.len ? why.s : "", want) ; \
} while (0)

static void test_lookup (void)
{
  static char const t[] =
    "# key level\n"
    "*                    encrypt\n"
    "example.com          verify\n"
    ".example.com         none   # subdomains\n"
    ".deep.example.com    may\n"
    "[smtp.provider.net]  secure match=smtp.provider.net:.provider.net\n"
    "[10.0.0.1]           secure\n"
    "Secure.Test          secure\n"
    "\n"
    "  \t\n"
    "[plain.route]        verify\r\n" ;
  int found ;
  CHECK(check(t) == 1, "a good table refused: %s", why.len ? why.s : "") ;
  FIND_IS(t, "example.com", 0, "verify") ;
  FIND_IS(t, "a.example.com", 0, "none") ;
  FIND_IS(t, "x.a.example.com", 0, "none") ;
  /* the nearest parent wins, whatever the order of the lines */
  FIND_IS(t, "x.deep.example.com", 0, "may") ;
  FIND_IS(t, "deep.example.com", 0, "none") ;
  FIND_IS(t, "other.org", 0, "encrypt") ;
  FIND_IS(t, "EXAMPLE.COM", 0, "verify") ;
  FIND_IS(t, "A.Example.Com", 0, "none") ;
  /* a route's host first, then the domain */
  FIND_IS(t, "example.com", "smtp.provider.net", "secure smtp.provider.net:.provider.net") ;
  FIND_IS(t, "example.com", "SMTP.Provider.NET", "secure smtp.provider.net:.provider.net") ;
  FIND_IS(t, "example.com", "unlisted.route", "verify") ;
  FIND_IS(t, "other.org", "plain.route", "verify") ;
  /* an address route: its brackets dropped, the key keeps its own; secure's default is the route host */
  FIND_IS(t, "other.org", "[10.0.0.1]", "secure 10.0.0.1") ;
  FIND_IS(t, "other.org", "10.0.0.1", "secure 10.0.0.1") ;
  /* secure without match=: the destination domain and its subdomains */
  FIND_IS(t, "secure.test", 0, "secure secure.test:.secure.test") ;
  find(t, "example.com", 0, &found) ;
  CHECK(found == 1, "a line found: %d", found) ;
  find("", "example.com", 0, &found) ;
  CHECK(found == 0, "an empty table: the default, %d", found) ;
  FIND_IS("", "example.com", 0, "may") ;
  FIND_IS("# nothing\n\n", "example.com", "r.test", "may") ;
  FIND_IS("other.org none\n", "example.com", 0, "may") ;
  /* .example.com is not example.com itself, and a suffix is no parent */
  FIND_IS(".example.com verify\n", "example.com", 0, "may") ;
  FIND_IS("example.com verify\n", "badexample.com", 0, "may") ;
  FIND_IS(".example.com verify\n", "xexample.com", 0, "may") ;
  /* * with secure: the names of the destination */
  FIND_IS("* secure\n", "b.test", 0, "secure b.test:.b.test") ;
  /* the first line of a key counts (check refuses two) */
  FIND_IS("a.test encrypt\na.test none\n", "a.test", 0, "encrypt") ;
  CHECK(!strcmp(tls_level_name(TLS_NONE), "none") && !strcmp(tls_level_name(TLS_MAY), "may")
     && !strcmp(tls_level_name(TLS_ENCRYPT), "encrypt") && !strcmp(tls_level_name(TLS_VERIFY), "verify")
     && !strcmp(tls_level_name(TLS_SECURE), "secure"), "level names") ;
  CHECK(check("A.TEST MAY\n.b-c_d.test Secure MATCH=x.test\n") == 1, "case in levels and options: %s", why.len ? why.s : "") ;
  FIND_IS("A.TEST VERIFY\n", "a.test", 0, "verify") ;
}

static void test_errors (void)
{
  BAD("a.test frobnicate\n", "control/tlspolicy:1: unknown level frobnicate: write none, may, dane, encrypt, dane-only, verify or secure") ;
  BAD("# c\n\na.test may\nb.test\n", "control/tlspolicy:4: a key and a level are needed: write key level [match=NAME[:NAME...]]") ;
  BAD("a.test may\nb.test # no level\n", "control/tlspolicy:2: a key and a level are needed: write key level [match=NAME[:NAME...]]") ;
  BAD("a.test secure mtach=x\n", "control/tlspolicy:1: unknown option mtach=x: the only option is match=NAME[:NAME...], for secure") ;
  BAD("a.test may\na.test verify match=x.test\n", "control/tlspolicy:2: match= is only for secure") ;
  BAD("a.test secure match=\n", "control/tlspolicy:1: an empty name in match=: write match=NAME[:NAME...]") ;
  BAD("a.test secure match=x::y\n", "control/tlspolicy:1: an empty name in match=: write match=NAME[:NAME...]") ;
  BAD("a.test secure match=x:\n", "control/tlspolicy:1: an empty name in match=: write match=NAME[:NAME...]") ;
  BAD("a.test secure match=:x\n", "control/tlspolicy:1: an empty name in match=: write match=NAME[:NAME...]") ;
  BAD("a.test secure match=x\001y\n", "control/tlspolicy:1: a bad character in match=: write host names separated by colons") ;
  BAD("a.test secure match=[10.0.0.1]\n", "control/tlspolicy:1: a bad character in match=: write host names separated by colons") ;
  BAD("a.test secure match=x match=y\n", "control/tlspolicy:1: match= appears twice: give every name in one, separated by colons") ;
  BAD("a.test may\nb.test may\n[x] verify\nc.test may\n[X] none\n", "control/tlspolicy:5: the key [X] appears twice (first on line 3)") ;
  BAD("a.test may\nA.Test verify\n", "control/tlspolicy:2: the key A.Test appears twice (first on line 1)") ;
  /* the first offence in the file counts, a repeat or a bad line */
  BAD("z.test may\nb.test may\nz.test may\nb.test may\nq.test bad\n", "control/tlspolicy:3: the key z.test appears twice (first on line 1)") ;
  BAD("z.test may\nq.test bad\nz.test may\n", "control/tlspolicy:2: unknown level bad: write none, may, dane, encrypt, dane-only, verify or secure") ;
  BAD("[smtp.x may\n", "control/tlspolicy:1: bad key [smtp.x: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  BAD("[a b] may\n", "control/tlspolicy:1: bad key [a: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  BAD(". may\n", "control/tlspolicy:1: bad key .: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  BAD("[] may\n", "control/tlspolicy:1: bad key []: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  BAD("a..b may\n", "control/tlspolicy:1: bad key a..b: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  BAD("a.test. may\n", "control/tlspolicy:1: bad key a.test.: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  BAD("*.a.test may\n", "control/tlspolicy:1: bad key *.a.test: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  BAD("a.test: may\n", "control/tlspolicy:1: bad key a.test:: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  BAD("a\001b may\n", "control/tlspolicy:1: bad key a?b: write *, a domain, .domain (its subdomains) or [host] (a route's host)") ;
  CHECK(check("") == 1 && check("\n\n# x\n") == 1 && check("a.test may") == 1, "empty tables and a last line without newline are good") ;
  /* a bad line is skipped by find, the rest still answers */
  FIND_IS("a.test bogus\n* verify\n", "a.test", 0, "verify") ;
}

static void test_smtpauth (void)
{
  static char const t[] =
    "# route host       user                password\n"
    "smtp.provider.net  alice@example.com   s3cret  pass with spaces  \r\n"
    "\n"
    "[10.0.0.1]\tbob\tpw\n"
    "smtp.provider.net  second              never\n" ;
  stralloc user = STRALLOC_ZERO, pass = STRALLOC_ZERO ;
  int r ;
  why.len = 0 ;
  CHECK(smtp_auth_check(t, strlen(t), &why) == 1, "good credentials refused: %s", why.len ? why.s : "") ;
  r = smtp_auth_find(t, strlen(t), "SMTP.Provider.Net", &user, &pass) ;
  CHECK(r == 1 && user.len && !user.s[user.len - 1] && !strcmp(user.s, "alice@example.com"), "user: %d %s", r, user.len ? user.s : "") ;
  CHECK(r == 1 && pass.len && !pass.s[pass.len - 1] && !strcmp(pass.s, "s3cret  pass with spaces"), "password: \"%s\"", pass.len ? pass.s : "") ;
  r = smtp_auth_find(t, strlen(t), "[10.0.0.1]", &user, &pass) ;
  CHECK(r == 1 && !strcmp(user.s, "bob") && !strcmp(pass.s, "pw"), "brackets kept, tabs: %d %s %s", r, user.s, pass.s) ;
  CHECK(smtp_auth_find(t, strlen(t), "10.0.0.1", &user, &pass) == 0, "a host without its brackets is another host") ;
  CHECK(smtp_auth_find(t, strlen(t), "provider.net", &user, &pass) == 0, "no parent matching") ;
  CHECK(smtp_auth_find(t, strlen(t), "smtp.provider.ne", &user, &pass) == 0, "a prefix is no match") ;
  CHECK(smtp_auth_find("", 0, "x", &user, &pass) == 0, "an empty file") ;
  why.len = 0 ;
  r = smtp_auth_check("a.test u p\n\nb.test onlyuser\n", 26, &why) ;
  CHECK(r == 0 && why.len && !why.s[why.len - 1] && !strcmp(why.s, "control/smtpauth:3: write host user password"), "%d %s", r, why.len ? why.s : "") ;
  why.len = 0 ;
  r = smtp_auth_check("justahost   \r\n", 14, &why) ;
  CHECK(r == 0 && !strcmp(why.s, "control/smtpauth:1: write host user password"), "%d %s", r, why.len ? why.s : "") ;
  CHECK(smtp_auth_mode_ok(0100640) && smtp_auth_mode_ok(0600) && smtp_auth_mode_ok(0660), "private modes") ;
  CHECK(!smtp_auth_mode_ok(0644) && !smtp_auth_mode_ok(0642) && !smtp_auth_mode_ok(0641) && !smtp_auth_mode_ok(0100604), "modes open to others") ;
  stralloc_free(&user) ;
  stralloc_free(&pass) ;
}

static void test_base64 (void)
{
  static char const *const vec[][2] =
  {
    { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" }, { 0, 0 }
  } ;
  stralloc out = STRALLOC_ZERO ;
  char buf[16] ;
  unsigned int i ;
  for (i = 0 ; vec[i][0] ; i++)
  {
    size_t n = smtp_base64_encode(buf, vec[i][0], strlen(vec[i][0])) ;
    CHECK(n == strlen(vec[i][1]) && !memcmp(buf, vec[i][1], n), "base64(%s): got %.*s", vec[i][0], (int)n, buf) ;
    CHECK(smtp_auth_b64(vec[i][0], &out) && out.len == strlen(vec[i][1]) + 1 && !strcmp(out.s, vec[i][1]), "smtp_auth_b64(%s)", vec[i][0]) ;
  }
  {
    static char const high[] = { (char)0xff, (char)0xfe, (char)0xfd, 0 } ;
    size_t n = smtp_base64_encode(buf, high, 3) ;
    CHECK(n == 4 && !memcmp(buf, "//79", 4), "bytes above 127: %.*s", (int)n, buf) ;
  }
  CHECK(smtp_auth_plain("test", "pass", &out) && !strcmp(out.s, "AHRlc3QAcGFzcw==") && out.len == 17, "PLAIN test/pass: %s", out.s) ;
  CHECK(smtp_auth_plain("alice@example.com", "s3cret pass", &out) && !strcmp(out.s, "AGFsaWNlQGV4YW1wbGUuY29tAHMzY3JldCBwYXNz"), "PLAIN alice: %s", out.s) ;
  CHECK(smtp_auth_b64("alice@example.com", &out) && !strcmp(out.s, "YWxpY2VAZXhhbXBsZS5jb20="), "LOGIN user: %s", out.s) ;
  stralloc_free(&out) ;
}

int main (void)
{
  test_lookup() ;
  test_errors() ;
  test_smtpauth() ;
  test_base64() ;
  stralloc_free(&why) ;
  stralloc_free(&match) ;
  return UNIT_END() ;
}
