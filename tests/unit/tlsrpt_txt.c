/* Unit tests of the TLSRPT TXT record (src/libferry/tlsrpt_txt.c): good records and their rua
   URIs, records of other kinds, and malformed TLSRPTv1 records. */

#include <stdlib.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/tlsrpt.h>

#include "unit.h"

static stralloc rua = STRALLOC_ZERO ;

 /* ferry_tlsrpt_txt on an exact-size copy of s[0..n) (so that a sanitizer sees a read past
    it), rua starting with "keep\0"; the URIs found joined by " " in *uris (rua untouched: "") */
static int txt (char const *s, size_t n, char const **uris)
{
  static char buf[1000] ;
  char *p = malloc(n ? n : 1) ;
  size_t i, w = 0 ;
  int r ;
  *uris = "" ;
  rua.len = 0 ;
  if (!p || !stralloc_catb(&rua, "keep", 5)) { free(p) ; return -9 ; }
  memcpy(p, s, n) ;
  r = ferry_tlsrpt_txt(p, n, &rua) ;
  free(p) ;
  for (i = 5 ; i < rua.len && w < sizeof buf - 1 ; i++) buf[w++] = rua.s[i] ? rua.s[i] : ' ' ;
  if (w && rua.s[rua.len - 1]) { strcpy(buf, "(not terminated)") ; w = 16 ; }
  else if (w) w-- ;
  buf[w] = 0 ;
  *uris = buf ;
  return r ;
}

#define GOOD(rec, want) do \
{ \
  char const *u_ ; \
  int r_ = txt(rec, sizeof(rec) - 1, &u_) ; \
  CHECK(r_ == 1 && !strcmp(u_, want), "%s: got %d \"%s\", want \"%s\"", rec, r_, u_, want) ; \
} while (0)

#define NOT(rec, want) do \
{ \
  char const *u_ ; \
  int r_ = txt(rec, sizeof(rec) - 1, &u_) ; \
  CHECK(r_ == (want) && rua.len == 5, "%s: got %d, rua %zu bytes", rec, r_, rua.len) ; \
} while (0)

static void test_good (void)
{
  GOOD("v=TLSRPTv1; rua=mailto:tlsrpt@example.org", "mailto:tlsrpt@example.org") ;
  GOOD("v=TLSRPTv1;rua=mailto:a@example.org,https://reports.example.org/v1/tlsrpt", "mailto:a@example.org https://reports.example.org/v1/tlsrpt") ;
  GOOD("v=TLSRPTv1 ;  rua=mailto:a@example.org ,\tmailto:b@example.org ;", "mailto:a@example.org mailto:b@example.org") ;
  GOOD("v=TLSRPTv1;rua=mailto:a@example.org;", "mailto:a@example.org") ;
  GOOD("v=TLSRPTv1; rua=mailto:a@example.org; \t", "mailto:a@example.org") ;
  GOOD("v=TLSRPTv1; rua=mailto:a@example.org  ", "mailto:a@example.org") ;
  /* escapes kept as written, queries and fragments, other schemes */
  GOOD("v=TLSRPTv1; rua=mailto:a%2Cb%21c@example.org?subject=TLS%20report", "mailto:a%2Cb%21c@example.org?subject=TLS%20report") ;
  GOOD("v=TLSRPTv1; rua=https://r.example.org:8443/p?x=1&y=(2)#f,HTTPS://[2001:db8::1]/r", "https://r.example.org:8443/p?x=1&y=(2)#f HTTPS://[2001:db8::1]/r") ;
  GOOD("v=TLSRPTv1; rua=x-local+v1.2:~user$'*", "x-local+v1.2:~user$'*") ;
  /* other fields, before and after, ignored */
  GOOD("v=TLSRPTv1; x-foo=bar; rua=mailto:a@example.org; ext.1_b=a:b/c,d\"", "mailto:a@example.org") ;
  GOOD("v=TLSRPTv1; 0abcdefghijklmnopqrstuvwxyz.-_12=1; rua=mailto:a@x", "mailto:a@x") ;
  GOOD("v=TLSRPTv1; v=TLSRPTv2; RUA=mailto:no@x; rua=mailto:yes@x", "mailto:yes@x") ;
}

static void test_other (void)
{
  NOT("", 0) ;
  NOT("v=spf1 -all", 0) ;
  NOT("v=TLSRPTv", 0) ;
  NOT("v=TLSRPTv10; rua=mailto:a@example.org", 0) ;
  NOT("v=TLSRPTv1,rua=mailto:a@example.org", 0) ;
  NOT("V=TLSRPTv1; rua=mailto:a@example.org", 0) ;
  NOT("v=tlsrptv1; rua=mailto:a@example.org", 0) ;
  NOT(" v=TLSRPTv1; rua=mailto:a@example.org", 0) ;
  NOT("rua=mailto:a@example.org; v=TLSRPTv1", 0) ;
  NOT("v=STSv1; id=20240101", 0) ;
}

static void test_bad (void)
{
  NOT("v=TLSRPTv1", -1) ;
  NOT("v=TLSRPTv1;", -1) ;
  NOT("v=TLSRPTv1 ; ", -1) ;
  NOT("v=TLSRPTv1; x=y", -1) ;
  NOT("v=TLSRPTv1; RUA=mailto:a@example.org", -1) ;
  NOT("v=TLSRPTv1 rua=mailto:a@example.org", -1) ;
  NOT("v=TLSRPTv1;; rua=mailto:a@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org;;", -1) ;
  NOT("v=TLSRPTv1; rua=", -1) ;
  NOT("v=TLSRPTv1; rua= mailto:a@example.org", -1) ;
  NOT("v=TLSRPTv1; rua =mailto:a@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org,", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org, ;", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org,,mailto:b@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org mailto:b@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org; rua=mailto:b@example.org", -1) ;
  /* URIs: a scheme, something after it, RFC 3986's characters, "!" escaped, good escapes */
  NOT("v=TLSRPTv1; rua=a@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:", -1) ;
  NOT("v=TLSRPTv1; rua=:a@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=1mailto:a@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mai_lto:a@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org!10m", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a%2@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org%", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a%zz@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:<a@example.org>", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a\"b@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=https://r.example.org/{x}", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a\x80@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a\r\n@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a\0@example.org", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org\0", -1) ;
  NOT("v=TLSRPTv1; rua=mailto:a@example.org\n", -1) ;
  /* other fields: a name of 1 to 32, a letter or digit first, then a value */
  NOT("v=TLSRPTv1; rua=mailto:a@x; ext=", -1) ;
  NOT("v=TLSRPTv1; ext=a=b; rua=mailto:a@x", -1) ;
  NOT("v=TLSRPTv1; ext=a b; rua=mailto:a@x", -1) ;
  NOT("v=TLSRPTv1; _ext=1; rua=mailto:a@x", -1) ;
  NOT("v=TLSRPTv1; =1; rua=mailto:a@x", -1) ;
  NOT("v=TLSRPTv1; ext; rua=mailto:a@x", -1) ;
  NOT("v=TLSRPTv1; e\177t=1; rua=mailto:a@x", -1) ;
  NOT("v=TLSRPTv1; ext=\1; rua=mailto:a@x", -1) ;
  NOT("v=TLSRPTv1; 0abcdefghijklmnopqrstuvwxyz.-_123=1; rua=mailto:a@x", -1) ;
}

int main (void)
{
  test_good() ;
  test_other() ;
  test_bad() ;
  stralloc_free(&rua) ;
  return UNIT_END() ;
}
