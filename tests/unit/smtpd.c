/* Unit tests of ferry-smtpd's pieces: the command parser, the DATA and BDAT transform, the
   relay domain list, the Received: line. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "smtpd/smtpd.h"
#include "unit.h"

#define S(lit) lit, sizeof(lit) - 1

static int verb (char const *line)
{
  smtpd_command c ;
  smtpd_command_parse(line, strlen(line), &c) ;
  return c.verb ;
}

 /* the path of "arg" for the prefix: "" and the address, or the reply's first 9 characters */
static char const *path (char const *arg, char const *prefix, size_t *params)
{
  static stralloc addr = STRALLOC_ZERO ;
  static char buf[600] ;
  size_t pos = 0 ;
  char const *why = smtpd_path_parse(arg, strlen(arg), prefix, &addr, &pos) ;
  if (why) { memcpy(buf, why, 9) ; buf[9] = 0 ; return buf ; }
  memcpy(buf, addr.s, addr.len) ;
  buf[addr.len] = 0 ;
  if (params) *params = pos ;
  return buf ;
}

 /* DATA: the transform of s fed in pieces of every size must be want, ending after used bytes */
static void dot_check (char const *s, size_t n, char const *want, size_t wn, size_t used, unsigned char flags, char const *what)
{
  size_t k ;
  for (k = 1 ; k <= n ; k++)
  {
    smtpd_data d = SMTPD_DATA_ZERO ;
    stralloc out = STRALLOC_ZERO ;
    size_t i = 0 ;
    int done = 0 ;
    while (i < n && !done) i += smtpd_data_dot(&d, s + i, n - i < k ? n - i : k, &out, &done) ;
    CHECK(done == (used != 0) && (!used || i == used), "%s (pieces of %zu): done %d at %zu", what, k, done, i) ;
    CHECK(out.len == wn && !memcmp(out.s, want, wn), "%s (pieces of %zu): got [%.*s]", what, k, (int)out.len, out.s) ;
    CHECK((d.flags & flags) == flags && (flags || !(d.flags & (SMTPD_DATA_BARELF | SMTPD_DATA_BARECR | SMTPD_DATA_NUL))), "%s: flags %x", what, d.flags) ;
    stralloc_free(&out) ;
  }
}

int main (void)
{
  size_t pos ;
  smtpd_command c ;
  smtpd_param p ;
  uint64_t size ;
  int last ;

  /* verbs */
  CHECK(verb("EHLO x") == SMTPD_EHLO && verb("ehlo x") == SMTPD_EHLO, "EHLO in any case") ;
  CHECK(verb("QUIT") == SMTPD_QUIT && verb("noop hello") == SMTPD_NOOP, "QUIT, NOOP with text") ;
  CHECK(verb("MAILFROM:<a@b>") == SMTPD_UNKNOWN && verb("") == SMTPD_UNKNOWN && verb("FOO") == SMTPD_UNKNOWN, "unknown verbs") ;
  CHECK(verb("STARTTLS") == SMTPD_STARTTLS && verb("bdat 1 LAST") == SMTPD_BDAT, "STARTTLS, BDAT") ;
  smtpd_command_parse(S("HELO   client.example  "), &c) ;
  CHECK(c.verb == SMTPD_HELO && c.arglen == 14 && !memcmp(c.arg, "client.example", 14), "HELO's argument, spaces trimmed") ;

  /* paths */
  CHECK(!strcmp(path("FROM:<alice@example.org>", "FROM:", 0), "alice@example.org"), "a plain path") ;
  CHECK(!strcmp(path("from: <alice@example.org>", "FROM:", 0), "alice@example.org"), "a space after the colon, lower case") ;
  CHECK(!strcmp(path("FROM:<>", "FROM:", 0), ""), "the null path") ;
  CHECK(!strcmp(path("TO:<@r1.example,@r2.example:bob@example.net>", "TO:", 0), "bob@example.net"), "a source route dropped") ;
  CHECK(!strcmp(path("TO:<\"bob smith\\\"x\"@example.net>", "TO:", 0), "bob smith\"x@example.net"), "a quoted local part unquoted") ;
  CHECK(!strcmp(path("TO:<Postmaster>", "TO:", 0), "Postmaster"), "postmaster without a domain") ;
  CHECK(!strcmp(path("TO:<u@[192.0.2.1]>", "TO:", 0), "u@[192.0.2.1]"), "an address literal") ;
  CHECK(!strcmp(path("TO:bare@example.net", "TO:", 0), "bare@example.net"), "a path without brackets") ;
  CHECK(!strcmp(path("FROM:<a@b.example> SIZE=10", "FROM:", &pos), "a@b.example") && pos == 18, "parameters start after the path: %zu", pos) ;
  CHECK(!strncmp(path("FROM:<a@b.example>SIZE=10", "FROM:", 0), "501", 3), "no space before a parameter") ;
  CHECK(!strncmp(path("TO:<a b@example.net>", "TO:", 0), "501 5.1.3", 9), "a space in a local part") ;
  CHECK(!strncmp(path("TO:<a@exa mple.net>", "TO:", 0), "501 5.1.3", 9), "a space in a domain") ;
  CHECK(!strncmp(path("TO:<a@example..net>", "TO:", 0), "501 5.1.3", 9), "an empty label") ;
  CHECK(!strncmp(path("TO:<a@example.net", "TO:", 0), "501 5.1.3", 9), "no closing bracket") ;
  CHECK(!strncmp(path("TO:<\"a\x01\"@example.net>", "TO:", 0), "501 5.1.3", 9), "a control character in quotes") ;
  CHECK(!strncmp(path("TO:<.a@example.net>", "TO:", 0), "501 5.1.3", 9), "a leading dot") ;
  CHECK(!strncmp(path("FROM:<a@b>", "TO:", 0), "501 5.5.4", 9), "the wrong prefix") ;
  CHECK(!strncmp(path("TO:", "TO:", 0), "501 5.5.4", 9), "no path") ;
  CHECK(!strcmp(path("TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", "TO:", 0), "j\xc3\xb6rg@b\xc3\xbc" "cher.example"), "UTF-8 taken (SMTPUTF8 is checked by the session)") ;
  CHECK(!smtpd_ascii(S("j\xc3\xb6rg")) && smtpd_ascii(S("joerg")), "ascii") ;
  {
    char big[400] = "TO:<" ;
    memset(big + 4, 'a', 300) ;
    memcpy(big + 304, "@example.net>", 14) ;
    CHECK(!strncmp(path(big, "TO:", 0), "501 5.1.3", 9), "an address over 254 bytes") ;
  }

  /* parameters */
  {
    char const *a = " SIZE=1000 BODY=8BITMIME SMTPUTF8" ;
    pos = 0 ;
    CHECK(smtpd_param_next(a, strlen(a), &pos, &p) == 1 && p.keylen == 4 && p.valuelen == 4 && !memcmp(p.value, "1000", 4), "SIZE=1000") ;
    CHECK(smtpd_param_next(a, strlen(a), &pos, &p) == 1 && p.keylen == 4 && p.valuelen == 8, "BODY=8BITMIME") ;
    CHECK(smtpd_param_next(a, strlen(a), &pos, &p) == 1 && p.keylen == 8 && !p.value, "SMTPUTF8, no value") ;
    CHECK(smtpd_param_next(a, strlen(a), &pos, &p) == 0, "the end") ;
    a = " SIZE=" ; pos = 0 ;
    CHECK(smtpd_param_next(a, strlen(a), &pos, &p) == -1, "an empty value") ;
    a = " -X" ; pos = 0 ;
    CHECK(smtpd_param_next(a, strlen(a), &pos, &p) == -1, "a keyword starting with -") ;
    a = " A=b=c" ; pos = 0 ;
    CHECK(smtpd_param_next(a, strlen(a), &pos, &p) == -1, "= in a value") ;
  }

  /* BDAT */
  CHECK(smtpd_bdat_parse(S("100"), &size, &last) && size == 100 && !last, "BDAT 100") ;
  CHECK(smtpd_bdat_parse(S("0 last"), &size, &last) && size == 0 && last, "BDAT 0 LAST") ;
  CHECK(!smtpd_bdat_parse(S("10 LASTX"), &size, &last) && !smtpd_bdat_parse(S("x"), &size, &last) && !smtpd_bdat_parse(S(""), &size, &last), "bad BDAT") ;
  CHECK(!smtpd_bdat_parse(S("99999999999999999999999"), &size, &last), "BDAT too large a number") ;

  /* DATA */
  dot_check(S("Subject: x\r\n\r\nbody\r\n.\r\n"), S("Subject: x\n\nbody\n"), 23, 0, "a plain message") ;
  dot_check(S("..a\r\n.b\r\n...\r\n.\r\nQUIT\r\n"), S(".a\nb\n..\n"), 17, 0, "dots removed; what follows the end is not taken") ;
  dot_check(S(".\r\n"), S(""), 3, 0, "an empty message") ;
  dot_check(S("a\n.\nb\r\n.\r\n"), S("a\n.\nb\n"), 10, SMTPD_DATA_BARELF, "LF . LF does not end it: bare LF flagged") ;
  dot_check(S("a\n.\r\nb\r\n.\r\n"), S("a\n.\nb\n"), 11, SMTPD_DATA_BARELF, "LF . CRLF does not end it either") ;
  dot_check(S("a\r.\rb\r\n.\r\n"), S("a\r.\rb\n"), 10, SMTPD_DATA_BARECR, "CR . CR neither: bare CR flagged") ;
  dot_check(S("a\0b\r\n.\r\n"), S("a\0b\n"), 8, SMTPD_DATA_NUL, "a NUL flagged") ;
  dot_check(S("no end\r\n"), S("no end\n"), 0, 0, "no end yet") ;
  {
    smtpd_data d = SMTPD_DATA_ZERO ;
    stralloc out = STRALLOC_ZERO ;
    int done ;
    char line[1200] ;
    memset(line, 'x', 1000) ;
    memcpy(line + 1000, "\r\n.\r\n", 5) ;
    smtpd_data_dot(&d, line, 1005, &out, &done) ;
    CHECK(done && out.len == 1001 && (d.flags & SMTPD_DATA_LONGLINE), "a 1000-octet line kept whole and flagged") ;
    stralloc_free(&out) ;
  }

  /* BDAT chunks: CRLF to LF, no dots, a CR across chunks */
  {
    smtpd_data d = SMTPD_DATA_ZERO ;
    stralloc out = STRALLOC_ZERO ;
    CHECK(smtpd_data_chunk(&d, S("a\r"), &out) && smtpd_data_chunk(&d, S("\n.b\r\n"), &out) && smtpd_data_chunk_end(&d, &out), "chunks") ;
    CHECK(out.len == 5 && !memcmp(out.s, "a\n.b\n", 5) && !d.flags, "chunks joined: [%.*s]", (int)out.len, out.s) ;
    d.state = 0 ; out.len = 0 ;
    smtpd_data_chunk(&d, S("a\r"), &out) ;
    smtpd_data_chunk_end(&d, &out) ;
    CHECK(d.flags & SMTPD_DATA_BARECR, "a CR at the very end is bare") ;
    stralloc_free(&out) ;
  }

  /* control/relaydomains */
  {
    stralloc list = STRALLOC_ZERO ;
    stralloc_cats(&list, "example.com\n  .example.net \n# .example.org\n") ;
    CHECK(smtpd_domain_listed(&list, S("example.com")), "a domain") ;
    CHECK(!smtpd_domain_listed(&list, S("a.example.com")), "not its subdomains") ;
    CHECK(smtpd_domain_listed(&list, S("a.example.net")) && smtpd_domain_listed(&list, S("b.a.example.net")), ".domain: the domains under it") ;
    CHECK(!smtpd_domain_listed(&list, S("example.net")) && !smtpd_domain_listed(&list, S("xexample.net")), "not the domain itself, nor a look-alike") ;
    CHECK(!smtpd_domain_listed(&list, S("a.example.org")), "a comment") ;
    stralloc_free(&list) ;
  }

  /* the Received: line */
  {
    stralloc sa = STRALLOC_ZERO ;
    smtpd_received r = { .helo = "client (evil)\r\n", .remotehost = "mx.example.org", .remoteip = "192.0.2.1", .me = "mail.example.net",
      .protocol = "ESMTPS", .tlsversion = "TLSv1.3", .tlscipher = "TLS_AES_256_GCM_SHA384", .rcpt = "bob@example.net", .when = 0 } ;
    char const *want = "Received: from client??evil??? (mx.example.org [192.0.2.1])\n\tby mail.example.net (ferry-smtpd) with ESMTPS (TLSv1.3 TLS_AES_256_GCM_SHA384)\n\tfor <bob@example.net>; Thu, 1 Jan 1970 00:00:00 +0000\n" ;
    CHECK(smtpd_received_fmt(&sa, &r) && sa.len == strlen(want) && !memcmp(sa.s, want, sa.len), "Received: got [%.*s]", (int)sa.len, sa.s) ;
    sa.len = 0 ;
    r.helo = 0 ; r.remotehost = 0 ; r.tlsversion = 0 ; r.rcpt = 0 ; r.protocol = "SMTP" ;
    want = "Received: from unknown ([192.0.2.1])\n\tby mail.example.net (ferry-smtpd) with SMTP; Thu, 1 Jan 1970 00:00:00 +0000\n" ;
    CHECK(smtpd_received_fmt(&sa, &r) && sa.len == strlen(want) && !memcmp(sa.s, want, sa.len), "Received: no name: got [%.*s]", (int)sa.len, sa.s) ;
    stralloc_free(&sa) ;
  }
  return UNIT_END() ;
}
