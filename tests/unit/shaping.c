/* Unit tests of traffic shaping's library part: the settings text, the lines of control/shaping,
   and the key of a domain in a compiled table. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/cdb.h>
#include <skalibs/cdbmake.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <ferry/shaping.h>
#include "unit.h"

 /* parses s, then formats it: the text (or "ERR: why") */
static char const *roundtrip (char const *s)
{
  static stralloc out = STRALLOC_ZERO ;
  ferry_shaping sh ;
  char const *why = ferry_shaping_settings(s, strlen(s), &sh) ;
  out.len = 0 ;
  if (why) { stralloc_cats(&out, "ERR: ") ; stralloc_cats(&out, why) ; }
  else ferry_shaping_settings_fmt(&out, &sh) ;
  stralloc_0(&out) ;
  return out.s ;
}

static int settings_bad (char const *s, char const *part)
{
  ferry_shaping sh ;
  char const *why = ferry_shaping_settings(s, strlen(s), &sh) ;
  return why && strstr(why, part) ;
}

 /* one line into e (a copy kept until the next call): the error, or 0 */
static char const *line (char const *s, ferry_shaping_entry *e)
{
  static char buf[1024] ;
  size_t n = strlen(s) ;
  memcpy(buf, s, n) ;
  return ferry_shaping_line(buf, n, e) ;
}

static int line_bad (char const *s, char const *part, char const *field)
{
  ferry_shaping_entry e ;
  char const *why = line(s, &e) ;
  if (!why || !strstr(why, part)) return 0 ;
  if (!field) return !e.field ;
  return e.field && e.fieldlen == strlen(field) && !memcmp(e.field, field, e.fieldlen) ;
}

static int same (char const *s, size_t n, char const *want)
{
  return n == strlen(want) && !memcmp(s, want, n) ;
}

static void add (cdbmaker *cm, char const *k, char const *v)
{
  if (!cdbmake_add(cm, k, strlen(k), v, strlen(v))) { perror("cdbmake_add") ; exit(111) ; }
}

 /* the key found for a domain, or "none", or "ERR" */
static char const *find (cdb const *c, char const *domain, char const *route, char const *mx, size_t mxlen, ferry_shaping *sh)
{
  static stralloc key = STRALLOC_ZERO ;
  int r = ferry_shaping_find(c, domain, route, mx, mxlen, &key, sh) ;
  return r < 0 ? "ERR" : r ? key.s : "none" ;
}

#define MX(lit) lit, sizeof(lit) - 1

int main (void)
{
  ferry_shaping sh ;
  ferry_shaping_entry e ;

  /* the settings text */
  CHECK(!strcmp(roundtrip(""), ""), "an empty text: no setting") ;
  CHECK(!strcmp(roundtrip("connections=5 messages=100 rate=300/m burst=10 newconns=20/m daily=100000"),
        "connections=5 messages=100 rate=300/m burst=10 newconns=20/m daily=100000"), "every setting, kept in order: %s", roundtrip("connections=5 messages=100 rate=300/m burst=10 newconns=20/m daily=100000")) ;
  CHECK(!strcmp(roundtrip("  daily=3\tconnections=2  "), "connections=2 daily=3"), "normalized: order and spaces: %s", roundtrip("  daily=3\tconnections=2  ")) ;
  CHECK(!strcmp(roundtrip("rate=1000000/h daily=1000000000 connections=1000 messages=100000 burst=100000 rate=1/s"), "ERR: a setting given twice"), "twice: %s", roundtrip("rate=1000000/h daily=1000000000 connections=1000 messages=100000 burst=100000 rate=1/s")) ;
  CHECK(!strcmp(roundtrip("rate=1000000/h daily=1000000000 connections=1000 messages=100000 burst=100000 newconns=1/s"),
        "connections=1000 messages=100000 rate=1000000/h burst=100000 newconns=1/s daily=1000000000"), "the upper bounds: %s", roundtrip("rate=1000000/h daily=1000000000 connections=1000 messages=100000 burst=100000 newconns=1/s")) ;
  ferry_shaping_settings("rate=300/m newconns=20/h", 24, &sh) ;
  CHECK(sh.rate == 300 && sh.rateunit == 'm' && sh.newconns == 20 && sh.newconnsunit == 'h' && !sh.connections && !sh.burst && !sh.daily, "the struct") ;
  CHECK(ferry_shaping_unit_seconds('s') == 1 && ferry_shaping_unit_seconds('m') == 60 && ferry_shaping_unit_seconds('h') == 3600, "units") ;
  CHECK(settings_bad("connections=0", "from 1 to 1000"), "connections=0") ;
  CHECK(settings_bad("connections=1001", "from 1 to 1000"), "connections=1001") ;
  CHECK(settings_bad("connections=", "from 1 to 1000"), "connections=") ;
  CHECK(settings_bad("connections=+5", "from 1 to 1000"), "connections=+5") ;
  CHECK(settings_bad("connections=5x", "from 1 to 1000"), "connections=5x") ;
  CHECK(settings_bad("connections=99999999999999999999999", "from 1 to 1000"), "a number too long") ;
  CHECK(settings_bad("messages=100001", "from 1 to 100000"), "messages=100001") ;
  CHECK(settings_bad("daily=1000000001", "from 1 to 1000000000"), "daily over 10^9") ;
  CHECK(settings_bad("burst=100001 rate=1/s", "from 1 to 100000"), "burst over") ;
  CHECK(settings_bad("rate=5", "bad unit"), "rate without a unit") ;
  CHECK(settings_bad("rate=5/d", "bad unit"), "rate per day") ;
  CHECK(settings_bad("rate=5/ss", "bad unit"), "rate, a unit of two letters") ;
  CHECK(settings_bad("rate=0/s", "rate= takes"), "rate=0") ;
  CHECK(settings_bad("rate=1000001/s", "rate= takes"), "rate over 10^6") ;
  CHECK(settings_bad("newconns=5/x", "bad unit"), "newconns, a bad unit") ;
  CHECK(settings_bad("newconns=/m", "newconns= takes"), "newconns without a number") ;
  CHECK(settings_bad("burst=5", "needs rate="), "burst without rate") ;
  CHECK(settings_bad("speed=5", "unknown setting"), "unknown setting") ;
  CHECK(settings_bad("connections", "unknown setting"), "a setting without =") ;
  CHECK(settings_bad("mx=a.example", "unknown setting"), "mx= is no setting of the text") ;
  CHECK(settings_bad("messages=1 messages=1", "twice"), "a setting twice") ;

  /* lines */
  CHECK(!line("", &e) && !e.kind, "an empty line") ;
  CHECK(!line("  \t\r", &e) && !e.kind, "a blank line") ;
  CHECK(!line("# site:google mx=*.google.com", &e) && !e.kind, "a comment") ;
  CHECK(!line("  Example.COM  connections=5 # the rest is a comment", &e) && e.kind == 'd' && same(e.key, e.keylen, "example.com")
        && same(e.name, e.namelen, "example.com") && e.sh.connections == 5 && !e.mx, "a domain, lower-cased, a comment after it") ;
  CHECK(!line("route:[192.0.2.7] connections=2 messages=50", &e) && e.kind == 'r' && same(e.key, e.keylen, "route:[192.0.2.7]")
        && same(e.name, e.namelen, "[192.0.2.7]") && e.sh.messages == 50, "a route to an address") ;
  CHECK(!line("route:Relay.Example.NET rate=10/s burst=5", &e) && e.kind == 'r' && same(e.name, e.namelen, "relay.example.net") && e.sh.burst == 5, "a route to a host name") ;
  CHECK(!line("site:google mx=*.google.com,*.GOOGLEMAIL.com,aspmx.l.google.com connections=10 rate=20/s", &e) && e.kind == 's'
        && same(e.key, e.keylen, "site:google") && same(e.name, e.namelen, "google")
        && same(e.mx, e.mxlen, "*.google.com,*.googlemail.com,aspmx.l.google.com") && e.sh.connections == 10, "a site with three patterns") ;
  CHECK(!line("site:o365 connections=4 mx=*.mail.protection.outlook.com", &e) && e.kind == 's' && same(e.mx, e.mxlen, "*.mail.protection.outlook.com"), "mx= after a setting") ;
  CHECK(!line("b\xc3\xbc" "cher.example daily=10", &e) && e.kind == 'd', "an 8-bit domain") ;
  CHECK(line_bad("example.com mx=a.example connections=1", "only for site:", "mx=a.example"), "mx= on a domain line") ;
  CHECK(line_bad("route:relay.example mx=a.example connections=1", "only for site:", "mx=a.example"), "mx= on a route line") ;
  CHECK(line_bad("site:x connections=1", "needs mx=", "site:x"), "a site without mx=") ;
  CHECK(line_bad("site:x mx=*.a.example", "no setting", "site:x"), "a site without a setting") ;
  CHECK(line_bad("example.com", "no setting", "example.com"), "a key alone") ;
  CHECK(line_bad("example.com # connections=5", "no setting", "example.com"), "a key and a comment") ;
  CHECK(line_bad("site:x mx=a*.example connections=1", "bad MX pattern", "mx=a*.example"), "a star inside a label") ;
  CHECK(line_bad("site:x mx=*.*.example connections=1", "bad MX pattern", "mx=*.*.example"), "a star not first") ;
  CHECK(line_bad("site:x mx=a.*.example connections=1", "bad MX pattern", "mx=a.*.example"), "a star in the middle") ;
  CHECK(line_bad("site:x mx=*example connections=1", "bad MX pattern", "mx=*example"), "a star without its dot") ;
  CHECK(line_bad("site:x mx=*. connections=1", "bad MX pattern", "mx=*."), "a star alone") ;
  CHECK(line_bad("site:x mx=a..example connections=1", "bad MX pattern", "mx=a..example"), "an empty label") ;
  CHECK(line_bad("site:x mx=a.example, connections=1", "bad MX pattern", "mx=a.example,"), "an empty pattern") ;
  CHECK(line_bad("site:x mx= connections=1", "bad MX pattern", "mx="), "mx= empty") ;
  CHECK(line_bad("site:x mx=a.example mx=b.example connections=1", "twice", "mx=b.example"), "mx= twice") ;
  CHECK(line_bad("example.com connections=1 connections=2", "twice", "connections=2"), "a setting twice") ;
  CHECK(line_bad("example.com foo=1", "unknown setting", "foo=1"), "an unknown setting") ;
  CHECK(line_bad("example.com connections=0", "from 1 to 1000", "connections=0"), "out of range") ;
  CHECK(line_bad("example.com rate=5/week", "bad unit", "rate=5/week"), "a bad unit") ;
  CHECK(line_bad("example.com burst=5 messages=3", "needs rate=", "burst=5"), "burst without rate") ;
  CHECK(line_bad("bad:key connections=1", "bad key", "bad:key"), "an unknown prefix") ;
  CHECK(line_bad("a..example connections=1", "bad key", "a..example"), "a domain with an empty label") ;
  CHECK(line_bad("route: connections=1", "bad route host", "route:"), "a route without a host") ;
  CHECK(line_bad("route:[192.0.2.7 connections=1", "bad route host", "route:[192.0.2.7"), "a route address without its bracket") ;
  CHECK(line_bad("site: mx=a.example connections=1", "bad site name", "site:"), "a site without a name") ;
  CHECK(line_bad("site:a/b mx=a.example connections=1", "bad site name", "site:a/b"), "a site name with a slash") ;

  /* the key of a domain */
  {
    char fn[] = "/tmp/ferry-unit-shaping.XXXXXX" ;
    int fd = mkstemp(fn) ;
    cdbmaker cm = CDBMAKER_ZERO ;
    cdb c = CDB_ZERO ;
    if (fd < 0 || !cdbmake_start(&cm, fd)) { perror("make a cdb") ; return 111 ; }
    add(&cm, "d:example.com", "connections=5") ;
    add(&cm, "r:[192.0.2.7]", "messages=3") ;
    add(&cm, "r:relay.example.net", "rate=10/s") ;
    add(&cm, "s:google", "connections=10") ;
    add(&cm, "m:*.google.com", "google") ;
    add(&cm, "m:aspmx.l.google.com", "google") ;
    add(&cm, "s:exact", "daily=5") ;
    add(&cm, "m:mx1.special.google.com", "exact") ;
    add(&cm, "s:long", "messages=7") ;
    add(&cm, "m:*.b.google.com", "long") ;
    add(&cm, "m:*.broken.example", "nosuch") ;
    add(&cm, "s:badvalue", "connections=0") ;
    add(&cm, "m:mx.badvalue.example", "badvalue") ;
    if (!cdbmake_finish(&cm)) { perror("make a cdb") ; return 111 ; }
    close(fd) ;
    if (!cdb_init(&c, fn)) { perror("cdb_init") ; return 111 ; }
    unlink(fn) ;
    CHECK(!strcmp(find(&c, "example.com", 0, MX("aspmx.l.google.com\0"), &sh), "example.com") && sh.connections == 5, "the domain's own line first") ;
    CHECK(!strcmp(find(&c, "example.com", "[192.0.2.7]", 0, 0, &sh), "example.com"), "the domain's line before its route's") ;
    CHECK(!strcmp(find(&c, "routed.example", "[192.0.2.7]", 0, 0, &sh), "route:[192.0.2.7]") && sh.messages == 3, "a route to an address") ;
    CHECK(!strcmp(find(&c, "routed.example", "Relay.Example.NET", 0, 0, &sh), "route:relay.example.net") && sh.rate == 10 && sh.rateunit == 's', "a route host, lower-cased") ;
    CHECK(!strcmp(find(&c, "routed.example", "other.example", MX("aspmx.l.google.com\0"), &sh), "none"), "routed, no route line: no site either") ;
    CHECK(!strcmp(find(&c, "gmail.com", 0, MX("alt1.aspmx.l.google.com\0"), &sh), "site:google") && sh.connections == 10, "a *. pattern") ;
    CHECK(!strcmp(find(&c, "gmail.com", 0, MX("aspmx.l.google.com\0"), &sh), "site:google"), "an exact pattern") ;
    CHECK(!strcmp(find(&c, "x.example", 0, MX("x.b.google.com\0"), &sh), "site:long") && sh.messages == 7, "the longest suffix first") ;
    CHECK(!strcmp(find(&c, "x.example", 0, MX("mx1.special.google.com\0"), &sh), "site:exact") && sh.daily == 5, "the exact pattern before *. ones") ;
    CHECK(!strcmp(find(&c, "x.example", 0, MX("google.com\0"), &sh), "none"), "*.google.com does not match google.com") ;
    CHECK(!strcmp(find(&c, "x.example", 0, MX("nomatch.example\0MX.B.GOOGLE.COM.\0"), &sh), "site:long"), "the first host that matches, case and final dot aside") ;
    CHECK(!strcmp(find(&c, "x.example", 0, MX("nomatch.example\0other.example\0"), &sh), "none"), "no host matches") ;
    CHECK(!strcmp(find(&c, "x.example", 0, 0, 0, &sh), "none"), "no MX host") ;
    errno = 0 ;
    CHECK(!strcmp(find(&c, "x.example", 0, MX("a.broken.example\0"), &sh), "ERR") && errno == EPROTO, "a pattern of a site without its line: broken") ;
    CHECK(!strcmp(find(&c, "x.example", 0, MX("mx.badvalue.example\0"), &sh), "ERR"), "a bad settings record: broken") ;
    cdb_free(&c) ;
  }
  return UNIT_END() ;
}
