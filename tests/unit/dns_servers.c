/* Unit tests of the DNS servers' files (src/libferry/dns_servers.c): the lines as c-ares's list,
   and control/dnssecservers against control/dnsservers in a scratch home. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>

#include <ferry/dns_servers.h>
#include "unit.h"

static char const *csv_of (char const *s)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (!ferry_dns_servers_csv(s, strlen(s), &sa) || !stralloc_0(&sa)) return "(nomem)" ;
  return sa.s ;
}

static void put (char const *name, char const *text)
{
  char fn[64] ;
  FILE *f ;
  snprintf(fn, sizeof(fn), "control/%s", name) ;
  f = fopen(fn, "w") ;
  if (!f) { perror(fn) ; exit(2) ; }
  fputs(text, f) ;
  fclose(f) ;
}

int main (void)
{
  char dir[] = "/tmp/ferry-unit-dns.XXXXXX" ;
  stralloc csv = STRALLOC_ZERO, why = STRALLOC_ZERO ;
  int dnssec = -1, r ;
  CHECK(!strcmp(csv_of(""), ""), "empty") ;
  CHECK(!strcmp(csv_of("127.0.0.1\n"), "127.0.0.1"), "one line") ;
  CHECK(!strcmp(csv_of("# resolvers\n  127.0.0.1:5353 \r\n\n\t[::1]:53\n192.0.2.1"), "127.0.0.1:5353,[::1]:53,192.0.2.1"), "comments, blanks, CRLF, no final line end: %s", csv_of("# resolvers\n  127.0.0.1:5353 \r\n\n\t[::1]:53\n192.0.2.1")) ;

  if (!mkdtemp(dir) || chdir(dir) < 0 || mkdir("control", 0755) < 0) { perror(dir) ; return 2 ; }
  r = ferry_dns_servers(&csv, &dnssec, &why) ;
  CHECK(r == 1 && csv.len == 1 && !csv.s[0] && dnssec == 0, "no files: resolv.conf: %d %zu", r, csv.len) ;
  put("dnsservers", "127.0.0.1:5300\n") ;
  r = ferry_dns_servers(&csv, &dnssec, &why) ;
  CHECK(r == 1 && !strcmp(csv.s, "127.0.0.1:5300") && csv.len == 15 && dnssec == 0, "dnsservers: %d %s", r, csv.s) ;
  put("dnssecservers", "# unbound\n") ;
  r = ferry_dns_servers(&csv, &dnssec, &why) ;
  CHECK(r == 1 && !strcmp(csv.s, "127.0.0.1:5300") && dnssec == 0, "dnssecservers without lines: dnsservers: %d %s", r, csv.s) ;
  put("dnssecservers", "127.0.0.1:53\n") ;
  r = ferry_dns_servers(&csv, &dnssec, &why) ;
  CHECK(r == 0 && why.len && !strcmp(why.s, "control/dnsservers must be empty when control/dnssecservers has lines: every lookup goes to the validating resolvers"),
        "both: refused: %d %s", r, why.len ? why.s : "") ;
  put("dnsservers", "# none\n") ;
  r = ferry_dns_servers(&csv, &dnssec, &why) ;
  CHECK(r == 1 && !strcmp(csv.s, "127.0.0.1:53") && dnssec == 1, "dnssecservers: %d %s %d", r, csv.s, dnssec) ;
  unlink("control/dnsservers") ;
  unlink("control/dnssecservers") ;
  rmdir("control") ;
  if (chdir("/") == 0) rmdir(dir) ;
  stralloc_free(&csv) ;
  stralloc_free(&why) ;
  return UNIT_END() ;
}
