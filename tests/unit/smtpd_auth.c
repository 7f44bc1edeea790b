/* Unit tests of ferry-smtpd's AUTH (src/smtpd/auth.c, checkpassword.c): base64 decoding, the
   PLAIN and LOGIN exchanges and their replies, the failures counted up to 421, and the
   checkpassword program run with its verdicts, what it reads on fd 3, and the deadline. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <ferry/smtp_auth.h>

#include "smtpd/auth.h"
#include "unit.h"

static stralloc reply = STRALLOC_ZERO ;

static int is (stralloc const *sa, char const *s)
{
  return sa->len == strlen(s) && !memcmp(sa->s, s, sa->len) ;
}

static int begin (smtpd_auth *a, char const *arg)
{
  return smtpd_auth_begin(a, arg, strlen(arg), &reply) ;
}

static int respond (smtpd_auth *a, char const *line)
{
  return smtpd_auth_response(a, line, strlen(line), &reply) ;
}

static void base64 (void)
{
  char out[64] ;
  ssize_t r = smtp_base64_decode(out, "AHRlc3QAc2VjcmV0", 16) ;
  CHECK(r == 12 && !memcmp(out, "\0test\0secret", 12), "PLAIN's message decodes: %zd", r) ;
  CHECK(smtp_base64_decode(out, "YQ==", 4) == 1 && out[0] == 'a', "one byte, two pads") ;
  CHECK(smtp_base64_decode(out, "YWI=", 4) == 2 && !memcmp(out, "ab", 2), "two bytes, one pad") ;
  CHECK(smtp_base64_decode(out, "", 0) == 0, "nothing is nothing") ;
  CHECK(smtp_base64_decode(out, "YQ", 2) < 0, "no padding: refused") ;
  CHECK(smtp_base64_decode(out, "Y===", 4) < 0, "three pads: refused") ;
  CHECK(smtp_base64_decode(out, "YQ==YQ==", 8) < 0, "padding inside: refused") ;
  CHECK(smtp_base64_decode(out, "Y=Q=", 4) < 0, "a letter after a pad: refused") ;
  CHECK(smtp_base64_decode(out, "YR==", 4) < 0, "bits beyond the byte: refused") ;
  CHECK(smtp_base64_decode(out, "YW I", 4) < 0, "a blank: refused") ;
  CHECK(smtp_base64_decode(out, "YW\r\n", 4) < 0, "a line break: refused") ;
  {
    /* every byte value through encode and decode */
    char in[256], enc[344], dec[258] ;
    size_t i, n ;
    for (i = 0 ; i < 256 ; i++) in[i] = (char)i ;
    for (n = 0 ; n <= 256 ; n += 37)
    {
      size_t e = smtp_base64_encode(enc, in, n) ;
      CHECK(smtp_base64_decode(dec, enc, e) == (ssize_t)n && !memcmp(dec, in, n), "%zu bytes back and forth", n) ;
    }
  }
}

static void plain (void)
{
  smtpd_auth a = SMTPD_AUTH_ZERO ;
  stralloc u = STRALLOC_ZERO, p = STRALLOC_ZERO ;
  CHECK(smtpd_auth_plain_decode("AHRlc3QAc2VjcmV0", 16, &u, &p) == 1 && !strcmp(u.s, "test") && !strcmp(p.s, "secret"), "no authzid") ;
  /* "test\0test\0secret" */
  CHECK(smtpd_auth_plain_decode("dGVzdAB0ZXN0AHNlY3JldA==", 24, &u, &p) == 1 && !strcmp(u.s, "test"), "authzid the user's own") ;
  /* "boss\0test\0secret" */
  CHECK(smtpd_auth_plain_decode("Ym9zcwB0ZXN0AHNlY3JldA==", 24, &u, &p) == 0, "authzid of someone else: refused") ;
  /* "test\0secret": one NUL */
  CHECK(smtpd_auth_plain_decode("dGVzdABzZWNyZXQ=", 16, &u, &p) == 0, "one NUL: refused") ;
  /* "\0te\0st\0secret": three NULs */
  CHECK(smtpd_auth_plain_decode("AHRlAHN0AHNlY3JldA==", 20, &u, &p) == 0, "three NULs: refused") ;

  CHECK(begin(&a, "PLAIN AHRlc3QAc2VjcmV0") == SMTPD_AUTH_CHECK && !strcmp(a.user.s, "test") && !strcmp(a.pass.s, "secret"), "initial response") ;
  CHECK(smtpd_auth_result(&a, 0, &reply) == 1 && is(&reply, "235 2.7.0 Authentication successful"), "good: 235") ;
  CHECK(a.pass.len == 0 && !a.pass.s[0], "the password is wiped after the check") ;
  CHECK(begin(&a, "plain") == SMTPD_AUTH_CONTINUE && is(&reply, "334 "), "no initial response: an empty challenge") ;
  CHECK(respond(&a, "AHRlc3QAc2VjcmV0") == SMTPD_AUTH_CHECK && !strcmp(a.user.s, "test"), "the response") ;
  CHECK(smtpd_auth_result(&a, 1, &reply) == 0 && is(&reply, "535 5.7.8 Authentication credentials invalid"), "bad: 535") ;
  CHECK(begin(&a, "PLAIN") == SMTPD_AUTH_CONTINUE && respond(&a, "*") == SMTPD_AUTH_FAILED
    && is(&reply, "501 5.0.0 Authentication cancelled"), "cancelled: 501") ;
  CHECK(a.failures == 2 && !smtpd_auth_exhausted(&a), "two failures counted") ;
  CHECK(begin(&a, "PLAIN !!!!") == SMTPD_AUTH_FAILED && is(&reply, "421 4.7.0 Too many failed authentications: closing the connection")
    && smtpd_auth_exhausted(&a), "the third failure: 421") ;
  stralloc_free(&u) ; stralloc_free(&p) ;
  stralloc_free(&a.user) ; stralloc_free(&a.pass) ;
}

static void login (void)
{
  smtpd_auth a = SMTPD_AUTH_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  CHECK(begin(&a, "LOGIN") == SMTPD_AUTH_CONTINUE && is(&reply, "334 VXNlcm5hbWU6"), "asks the user name") ;
  CHECK(respond(&a, "dGVzdA==") == SMTPD_AUTH_CONTINUE && is(&reply, "334 UGFzc3dvcmQ6"), "then the password") ;
  CHECK(respond(&a, "c2VjcmV0") == SMTPD_AUTH_CHECK && !strcmp(a.user.s, "test") && !strcmp(a.pass.s, "secret"), "complete") ;
  CHECK(smtpd_auth_result(&a, 2, &reply) == 0 && is(&reply, "454 4.7.0 Temporary authentication failure"), "temporary: 454") ;
  CHECK(begin(&a, "LOGIN dGVzdA==") == SMTPD_AUTH_CONTINUE && is(&reply, "334 UGFzc3dvcmQ6"), "the user as initial response") ;
  CHECK(respond(&a, "c2VjcmV0") == SMTPD_AUTH_CHECK, "complete") ;
  CHECK(smtpd_auth_user_log(&a, &sa) && sa.len == 4 && !memcmp(sa.s, "test", 4), "the user for the log") ;
  a.failures = 0 ;
  CHECK(begin(&a, "LOGIN") == SMTPD_AUTH_CONTINUE && respond(&a, "dGVzdA") == SMTPD_AUTH_FAILED
    && is(&reply, "501 5.5.2 Cannot decode the response"), "bad base64: 501") ;
  /* "a\0b" as a user name */
  CHECK(begin(&a, "LOGIN YQBi") == SMTPD_AUTH_FAILED && is(&reply, "535 5.7.8 Authentication credentials invalid"), "a NUL in the user: 535") ;
  a.failures = 0 ;
  CHECK(begin(&a, "LOGIN =") == SMTPD_AUTH_FAILED, "an empty user: failed") ;
  CHECK(begin(&a, "CRAM-MD5") == SMTPD_AUTH_FAILED && is(&reply, "504 5.5.4 Unrecognized authentication type"), "unknown mechanism: 504") ;
  a.failures = 0 ;
  CHECK(begin(&a, "") == SMTPD_AUTH_FAILED && begin(&a, "PLAIN a b") == SMTPD_AUTH_FAILED, "syntax: 501") ;
  a.failures = 0 ;
  {
    size_t n = SMTPD_AUTH_LINE_MAX + 1 ;
    char *big = malloc(n) ;
    if (!big) abort() ;
    memset(big, 'A', n) ;
    CHECK(begin(&a, "LOGIN") == SMTPD_AUTH_CONTINUE && smtpd_auth_response(&a, big, n, &reply) == SMTPD_AUTH_FAILED
      && is(&reply, "500 5.5.6 Authentication Exchange line is too long"), "a response over the bound: 500 5.5.6") ;
    /* a user name over SMTPD_AUTH_FIELD_MAX: base64 of 1100 'a' */
    {
      char raw[1100], enc[1470] ;
      size_t e ;
      memset(raw, 'a', sizeof(raw)) ;
      e = smtp_base64_encode(enc, raw, sizeof(raw)) ;
      CHECK(begin(&a, "LOGIN") == SMTPD_AUTH_CONTINUE && smtpd_auth_response(&a, enc, e, &reply) == SMTPD_AUTH_FAILED
        && is(&reply, "535 5.7.8 Authentication credentials invalid"), "a user name over the bound: 535") ;
    }
    free(big) ;
  }
  stralloc_free(&sa) ;
  stralloc_free(&a.user) ; stralloc_free(&a.pass) ;
}

static char dir[] = "/tmp/ferry-unit-auth.XXXXXX" ;

static void script (char const *name, char const *body)
{
  char fn[sizeof(dir) + 32] ;
  FILE *f ;
  snprintf(fn, sizeof(fn), "%s/%s", dir, name) ;
  f = fopen(fn, "w") ;
  if (!f) { perror(fn) ; exit(111) ; }
  fprintf(f, "#!/bin/sh\n%s\n", body) ;
  fclose(f) ;
  chmod(fn, 0755) ;
}

static int run (char const *name, char const *user, char const *pass, unsigned int secs, stralloc *why)
{
  char fn[sizeof(dir) + 32] ;
  char const *argv[] = { fn, "true", 0 } ;
  tain deadline ;
  snprintf(fn, sizeof(fn), "%s/%s", dir, name) ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, secs) ;
  return smtpd_auth_run(argv, 0, user, pass, &deadline, why) ;
}

static void checkpassword (void)
{
  stralloc why = STRALLOC_ZERO, got = STRALLOC_ZERO ;
  char fn[sizeof(dir) + 32] ;
  FILE *f ;
  if (!mkdtemp(dir)) { perror("mkdtemp") ; exit(111) ; }
  /* good only for test/secret, and what fd 3 held is kept */
  {
    char body[512] ;
    snprintf(body, sizeof(body), "cat <&3 > %s/fd3\n[ \"$(tr '\\0' : < %s/fd3)\" = test:secret:: ] && exec \"$@\"\nexit 1", dir, dir) ;
    script("good", body) ;
  }
  script("temp", "exit 111") ;
  script("odd", "exit 2") ;
  script("slow", "exec sleep 30") ;
  script("signal", "kill -9 $$") ;
  CHECK(run("good", "test", "secret", 10, &why) == 0, "good credentials: 0 (%s)", why.s ? why.s : "") ;
  snprintf(fn, sizeof(fn), "%s/fd3", dir) ;
  f = fopen(fn, "r") ;
  {
    char b[64] ;
    size_t n = f ? fread(b, 1, sizeof(b), f) : 0 ;
    CHECK(n == 13 && !memcmp(b, "test\0secret\0\0", 13), "fd 3 held user NUL password NUL timestamp NUL: %zu bytes", n) ;
    if (f) fclose(f) ;
  }
  CHECK(run("good", "test", "wrong", 10, &why) == 1 && strstr(why.s, "bad credentials"), "bad credentials: 1") ;
  CHECK(run("temp", "test", "secret", 10, &why) == 2 && strstr(why.s, "exit 111"), "111: temporary (%s)", why.s) ;
  CHECK(run("odd", "test", "secret", 10, &why) == 2 && strstr(why.s, "exit 2"), "another exit: temporary (%s)", why.s) ;
  CHECK(run("signal", "test", "secret", 10, &why) == 2 && strstr(why.s, "signal 9"), "killed: temporary (%s)", why.s) ;
  CHECK(run("missing", "test", "secret", 10, &why) == 2 && strstr(why.s, "not found"), "no program: temporary (%s)", why.s) ;
  {
    tain start = STAMP ;
    tain took ;
    CHECK(run("slow", "test", "secret", 1, &why) == 2 && strstr(why.s, "deadline"), "past the deadline: killed, temporary (%s)", why.s) ;
    tain_now_g() ;
    tain_sub(&took, &STAMP, &start) ;
    CHECK(tain_to_millisecs(&took) < 5000, "killed at the deadline, not at the program's end") ;
  }
  {
    char cmd[sizeof(dir) + 16] ;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir) ;
    if (system(cmd)) {}
  }
  stralloc_free(&why) ;
  stralloc_free(&got) ;
}

int main (void)
{
  base64() ;
  plain() ;
  login() ;
  checkpassword() ;
  stralloc_free(&reply) ;
  return UNIT_END() ;
}
