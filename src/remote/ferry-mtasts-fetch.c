/* ferry-mtasts-fetch: the MTA-STS policy of one domain (RFC 8461) fetched into the cache
   mtasts/DOMAIN: its _mta-sts TXT record (exactly one STSv1 record, for the id), then
   https://mta-sts.DOMAIN/.well-known/mta-sts.txt, the certificate verified, the whole bounded
   by control/timeoutmtasts. The file is replaced only by a good policy. One log line on fd 2
   says what happened. Its parts: lookup_wait.c (DNS), https_get.c (HTTPS), tls_ca.c. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/select.h>
#include <ares.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/gccattributes.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/dns_servers.h>
#include <ferry/home.h>
#include <ferry/http.h>
#include <ferry/mta_sts.h>
#include <ferry/queue.h>

#include "mtasts_fetch.h"

#define USAGE "ferry-mtasts-fetch domain [ home ]"
#define BODY_MAX 65536          /* the largest policy body taken */
#define READ_MAX (BODY_MAX + 16384)   /* the largest response read: the body, its status line and header */
#define POLICY_PATH "/.well-known/mta-sts.txt"

static char domain[256] ;      /* lower case, no final dot; shown in every log line */

 /* The log line of a failure, then the exit with code e. */
static void fail (int e, char const *a, char const *b, char const *c, char const *d) gccattr_noreturn ;
static void fail (int e, char const *a, char const *b, char const *c, char const *d)
{
  stralloc sa = STRALLOC_ZERO ;
  if (stralloc_cats(&sa, PROG) && stralloc_cats(&sa, ": ") && stralloc_cats(&sa, domain) && stralloc_cats(&sa, ": policy fetch failed: ")
   && stralloc_cats(&sa, a) && stralloc_cats(&sa, b) && stralloc_cats(&sa, c) && stralloc_cats(&sa, d) && stralloc_catb(&sa, "\n", 1))
    allwrite(2, sa.s, sa.len) ;
  else strerr_diefu1sys(111, "allocate memory") ;
  _exit(e) ;
}

static void nomem (void)
{
  fail(111, "out of memory", "", "", "") ;
}

 /* The argument as the domain: lower-cased, a final dot dropped; labels of letters, digits,
    hyphens and underscores, short enough for mta-sts. in front. 0 if it is none. */
static int domain_take (char const *arg)
{
  size_t n = strlen(arg), i, label = 0 ;
  int ok = 1 ;
  if (n && arg[n - 1] == '.') n-- ;
  if (!n || n > 240) ok = 0 ;
  for (i = 0 ; i < n && i < sizeof(domain) - 1 ; i++)
  {
    char c = arg[i] ;
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A' ;
    if (c == '.') { if (!label) ok = 0 ; label = 0 ; }
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') { if (++label > 63) ok = 0 ; }
    else { ok = 0 ; c = '?' ; }
    domain[i] = c ;
  }
  domain[i] = 0 ;
  return ok && label ;
}

static unsigned int setting (char const *name)
{
  uint64_t u = 0 ;
  stralloc why = STRALLOC_ZERO ;
  int r = ferry_control_u64_why(name, &u, &why) ;
  if (r < 0) nomem() ;
  if (!r) fail(111, why.s, "", "", "") ;
  stralloc_free(&why) ;
  return (unsigned int)u ;
}

 /* The id of the one STSv1 record among the TXT records, or the exit. */
static void txt_id (lookup_wait const *w, char const *txtname, char *id)
{
  size_t const *len = genalloc_s(size_t, &w->txtlen) ;
  size_t i, n = genalloc_len(size_t, &w->txtlen), pos = 0 ;
  unsigned int sts = 0, good = 0 ;
  char tmp[FERRY_STS_ID_MAX + 1] ;
  if (w->txtstatus == ARES_ENOTFOUND || w->txtstatus == ARES_ENODATA || (w->txtstatus == ARES_SUCCESS && !n))
    fail(100, "no TXT record at ", txtname, "", "") ;
  if (w->txtstatus != ARES_SUCCESS) fail(111, "TXT lookup of ", txtname, ": ", ares_strerror(w->txtstatus)) ;
  for (i = 0 ; i < n ; i++)
  {
    int r = ferry_sts_txt(w->txt.s + pos, len[i], tmp) ;
    pos += len[i] ;
    if (!r) continue ;
    sts++ ;
    if (r == 1) { good = 1 ; memcpy(id, tmp, sizeof(tmp)) ; }
    else good = 0 ;
  }
  if (!sts) fail(100, "no v=STSv1 TXT record at ", txtname, "", "") ;
  if (sts > 1)
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, sts)] = 0 ;
    fail(100, txtname, " has ", fmt, " v=STSv1 TXT records, not one") ;
  }
  if (!good) fail(100, "the v=STSv1 TXT record at ", txtname, " is malformed", "") ;
}

 /* The response, or the exit: returns when it is a 200 with a body of text/plain (in r). */
static void response_check (ferry_http_resp *r, char const *host, char const *raw, size_t rawlen, int more)
{
  stralloc why = STRALLOC_ZERO ;
  char fmt[UINT_FMT] ;
  int ok = ferry_http_response(raw, rawlen, BODY_MAX, r, &why) ;
  if (ok < 0) nomem() ;
  fmt[uint_fmt(fmt, r->status)] = 0 ;
  if (r->status && r->status != 200)
  {
    if (r->status >= 300 && r->status < 400) fail(100, host, " answered HTTP status ", fmt, ", a redirect, not followed") ;
    if (r->status >= 500 || r->status == 408 || r->status == 429) fail(111, host, " answered HTTP status ", fmt, "") ;
    fail(100, host, " answered HTTP status ", fmt, "") ;
  }
  if (more)
  {
    fmt[uint_fmt(fmt, READ_MAX)] = 0 ;
    fail(100, "the response is larger than ", fmt, " bytes", "") ;
  }
  if (!ok)
  {
    if (!strncmp(why.s, "the body is larger than ", 24)) fail(100, "the policy: ", why.s, "", "") ;
    fail(111, "a bad HTTP response: ", why.s, "", "") ;
  }
  if (strcmp(r->ctype, "text/plain"))
    fail(100, "the media type is ", r->ctype[0] ? r->ctype : "not given", ", not text/plain", "") ;
  stralloc_free(&why) ;
}

 /* mtasts/DOMAIN replaced, atomically and durably, by sa. */
static void cache_write (stralloc const *sa)
{
  char fn[7 + sizeof(domain)] ;
  char tmp[13 + sizeof(domain) + UINT_FMT] ;
  size_t k = 0 ;
  int fd ;
  memcpy(fn, "mtasts/", 7) ;
  memcpy(fn + 7, domain, strlen(domain) + 1) ;
  memcpy(tmp, "mtasts/.tmp.", 12) ; k = 12 ;
  k += uint_fmt(tmp + k, (unsigned int)getpid()) ;
  tmp[k++] = '.' ;
  memcpy(tmp + k, domain, strlen(domain) + 1) ;
  unlink(tmp) ;   /* one left by a fetch of the same pid that was killed */
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) ;
  if (fd < 0) fail(111, "unable to create ", tmp, ": ", errno == ENOENT ? "no mtasts/ in the home (run ferry-setup)" : strerror(errno)) ;
  if (allwrite(fd, sa->s, sa->len) < sa->len || fsync(fd) < 0)
  {
    int e = errno ;
    unlink(tmp) ;
    fail(111, "unable to write ", tmp, ": ", strerror(e)) ;
  }
  fd_close(fd) ;
  if (rename(tmp, fn) < 0)
  {
    unlink(tmp) ;
    fail(111, "unable to rename into ", fn, ": ", strerror(errno)) ;
  }
  if (ferry_dir_sync("mtasts") < 0) fail(111, "unable to sync mtasts/: the policy may not be durable", "", "", "") ;
}

int main (int argc, char const *const *argv)
{
  stralloc sa = STRALLOC_ZERO, why = STRALLOC_ZERO, servers = STRALLOC_ZERO, cafile = STRALLOC_ZERO, raw = STRALLOC_ZERO ;
  lookup_wait w = LOOKUP_WAIT_ZERO ;
  ferry_http_resp resp = FERRY_HTTP_RESP_ZERO ;
  ferry_sts_policy pol = FERRY_STS_POLICY_ZERO ;
  char txtname[9 + sizeof(domain)], host[8 + sizeof(domain)] ;
  char id[FERRY_STS_ID_MAX + 1] ;
  unsigned int port, timeout ;
  int dnssec = 0, more = 0, cut = 0, r ;
  SSL_CTX *ctx ;
  tain deadline ;
  PROG = "ferry-mtasts-fetch" ;
  if (argc < 2 || argc > 3) strerr_dieusage(100, USAGE) ;
  if (!domain_take(argv[1])) fail(100, "not a domain name", "", "", "") ;
  if (argc > 2 && chdir(argv[2]) < 0) fail(111, "unable to enter the home ", argv[2], ": ", strerror(errno)) ;
  sig_ignore(SIGPIPE) ;
  /* root in a root install: the cache is the remote channel's user's */
  if (ferry_dedicated()) ferry_become("ferryr") ;

  port = setting("mtastsport") ;
  timeout = setting("timeoutmtasts") ;
  if (ferry_control_readline(&cafile, "tlscafile") < 0 || !stralloc_0(&cafile)) fail(111, "unable to read control/tlscafile: ", strerror(errno), "", "") ;
  r = ferry_dns_servers(&servers, &dnssec, &why) ;
  if (r < 0) nomem() ;
  if (!r) fail(111, why.s, "", "", "") ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, timeout) ;

  memcpy(txtname, "_mta-sts.", 9) ; memcpy(txtname + 9, domain, strlen(domain) + 1) ;
  memcpy(host, "mta-sts.", 8) ; memcpy(host + 8, domain, strlen(domain) + 1) ;
  ctx = https_ctx(cafile.s, &why) ;
  if (!ctx) { if (!why.len) nomem() ; fail(111, why.s, "", "", "") ; }

  r = lookup_wait_run(servers.s, txtname, host, &deadline, &w, &why) ;
  if (r < 0) nomem() ;
  if (!r) fail(111, dnssec ? "control/dnssecservers: " : "control/dnsservers: ", why.s, "", "") ;
  txt_id(&w, txtname, id) ;
  if (w.addrstatus == ARES_ENOTFOUND || w.addrstatus == ARES_ENODATA) fail(100, host, " has no address", "", "") ;
  if (w.addrstatus != ARES_SUCCESS) fail(111, "address lookup of ", host, ": ", ares_strerror(w.addrstatus)) ;

  r = https_get(ctx, genalloc_s(ip46, &w.addrs), genalloc_len(ip46, &w.addrs), (uint16_t)port, host, POLICY_PATH, &deadline, READ_MAX, &raw, &more, &cut, &why) ;
  if (r < 0) nomem() ;
  if (!r) fail(111, why.s, "", "", "") ;
  response_check(&resp, host, raw.s, raw.len, more) ;
  /* a body whose end is only the close, and a close TLS did not vouch for: maybe cut on the way */
  if (cut && !resp.framed) fail(111, host, " closed without TLS close_notify, and the response has neither Content-Length nor chunked coding: it may have been cut short", "", "") ;
  r = ferry_sts_policy_parse(resp.body.s, resp.body.len, &pol, &why) ;
  if (r < 0) nomem() ;
  if (!r) fail(100, "a bad policy: ", why.s, "", "") ;

  if (!ferry_sts_cache_fmt(&sa, id, (uint64_t)time(0), resp.body.s, resp.body.len)) nomem() ;
  cache_write(&sa) ;
  {
    char age[UINT_FMT], nmx[UINT_FMT] ;
    age[uint_fmt(age, pol.max_age)] = 0 ;
    nmx[uint_fmt(nmx, pol.nmx)] = 0 ;
    sa.len = 0 ;
    if (!stralloc_cats(&sa, PROG) || !stralloc_cats(&sa, ": ") || !stralloc_cats(&sa, domain) || !stralloc_cats(&sa, ": stored policy ")
     || !stralloc_cats(&sa, id) || !stralloc_cats(&sa, " (mode ") || !stralloc_cats(&sa, ferry_sts_mode_name(pol.mode))
     || !stralloc_cats(&sa, ", max_age ") || !stralloc_cats(&sa, age) || !stralloc_cats(&sa, ", ") || !stralloc_cats(&sa, nmx)
     || !stralloc_cats(&sa, pol.nmx == 1 ? " mx pattern)\n" : " mx patterns)\n")) nomem() ;
    allwrite(2, sa.s, sa.len) ;
  }
  return 0 ;
}
