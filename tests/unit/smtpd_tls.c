/* Unit tests of ferry-smtpd's TLS server (src/smtpd/tls_server.c, src/libferry/tls_server_ctx.c):
   each problem of control/smtpdcert and control/smtpdkey named, the certificate's facts, a
   handshake with an OpenSSL client in a child over a socket pair, data both ways, the version and
   cipher, a TLS 1.1 client refused, a silent client cut at the deadline. */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/ssl.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "smtpd/tls_server.h"
#include "unit.h"

static void sh (char const *cmd)
{
  if (system(cmd)) { fprintf(stderr, "failed: %s\n", cmd) ; exit(111) ; }
}

static int has (stralloc const *why, char const *s)
{
  return why->s && strstr(why->s, s) != 0 ;
}

static int init (smtpd_tls *t, stralloc *why)
{
  smtpd_tls z = SMTPD_TLS_ZERO ;
  smtpd_tls_end(t) ;
  *t = z ;
  why->len = 0 ;
  return smtpd_tls_init(t, why) ;
}

static void files (void)
{
  smtpd_tls t = SMTPD_TLS_ZERO ;
  stralloc why = STRALLOC_ZERO ;
  CHECK(!init(&t, &why) && has(&why, "control/smtpdcert: no such file"), "no certificate: %s", why.s) ;
  sh(": > control/smtpdcert") ;
  CHECK(!init(&t, &why) && has(&why, "control/smtpdcert: empty"), "empty certificate: %s", why.s) ;
  sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout control/smtpdkey"
     " -out control/smtpdcert -days 30 -subj /CN=mail.test 2>/dev/null") ;
  sh("chmod 644 control/smtpdkey") ;
  CHECK(!init(&t, &why) && has(&why, "control/smtpdkey: readable by others"), "a key others may read: %s", why.s) ;
  sh("chmod 640 control/smtpdkey") ;
  CHECK(init(&t, &why) == 1, "a good pair: %s", why.s ? why.s : "") ;
  CHECK(strstr(t.cert.subject, "CN=mail.test") && t.cert.chain == 1 && !t.cert.expired && t.cert.notafter[0], "the facts: %s %s", t.cert.subject, t.cert.notafter) ;
  sh("cp control/smtpdkey key.good && openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out control/smtpdkey 2>/dev/null && chmod 640 control/smtpdkey") ;
  CHECK(!init(&t, &why) && has(&why, "control/smtpdkey: not the key of the certificate"), "another key: %s", why.s) ;
  sh("cp control/smtpdcert cert.good && echo garbage > control/smtpdcert") ;
  CHECK(!init(&t, &why) && has(&why, "control/smtpdcert: not a PEM certificate chain"), "not PEM: %s", why.s) ;
  sh("cp cert.good control/smtpdcert && cp key.good control/smtpdkey && chmod 640 control/smtpdkey") ;
  CHECK(init(&t, &why) == 1, "good again") ;
  smtpd_tls_end(&t) ;
  stralloc_free(&why) ;
}

 /* The client, in a child: 0 when it got "250 ok" for its lines; maxv its highest version;
    silent: it connects and says nothing. */
static int client (int fd, int maxv, int silent)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method()) ;
  SSL *ssl ;
  char buf[64] ;
  int n ;
  if (silent) { sleep(5) ; return 0 ; }
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) ;
  SSL_CTX_set_security_level(ctx, 0) ;
  if (maxv) SSL_CTX_set_max_proto_version(ctx, maxv) ;
  ssl = SSL_new(ctx) ;
  SSL_set_fd(ssl, fd) ;
  if (SSL_connect(ssl) != 1) return 2 ;
  if (SSL_write(ssl, "EHLO a\r\nMAIL FROM:<>\r\n", 22) != 22) return 3 ;
  n = SSL_read(ssl, buf, sizeof(buf)) ;
  if (n != 8 || memcmp(buf, "250 ok\r\n", 8)) return 4 ;
  SSL_shutdown(ssl) ;
  return 0 ;
}

static pid_t start (int *fd, int maxv, int silent)
{
  int sv[2] ;
  pid_t pid ;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) { perror("socketpair") ; exit(111) ; }
  pid = fork() ;
  if (pid < 0) { perror("fork") ; exit(111) ; }
  if (!pid) { close(sv[0]) ; _exit(client(sv[1], maxv, silent)) ; }
  close(sv[1]) ;
  *fd = sv[0] ;
  return pid ;
}

static int reap (pid_t pid)
{
  int wstat ;
  if (waitpid(pid, &wstat, 0) < 0) return -1 ;
  return WIFEXITED(wstat) ? WEXITSTATUS(wstat) : 128 + WTERMSIG(wstat) ;
}

static void handshake (void)
{
  smtpd_tls t = SMTPD_TLS_ZERO ;
  stralloc why = STRALLOC_ZERO, desc = STRALLOC_ZERO ;
  tain deadline ;
  char buf[64] ;
  int fd ;
  pid_t pid ;
  ssize_t r ;

  CHECK(init(&t, &why) == 1, "context") ;
  pid = start(&fd, 0, 0) ;
  t.rfd = t.wfd = fd ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, 10) ;
  CHECK(smtpd_tls_handshake(&t, &deadline, &why) == 1, "the handshake: %s", why.s ? why.s : "") ;
  CHECK(t.on && !strcmp(t.version, "TLSv1.3") && t.cipher[0] && t.bits >= 128, "TLS 1.3: %s %s %d", t.version, t.cipher, t.bits) ;
  r = smtpd_tls_read_until(&t, buf, 8, &deadline) ;
  CHECK(r == 8 && !memcmp(buf, "EHLO a\r\n", 8), "the first line: %zd", r) ;
  CHECK(smtpd_tls_pending(&t) == 14, "the rest of the record waits in OpenSSL: %zu", smtpd_tls_pending(&t)) ;
  r = smtpd_tls_read_until(&t, buf, sizeof(buf), &deadline) ;
  CHECK(r == 14 && !memcmp(buf, "MAIL FROM:<>\r\n", 14), "the second line: %zd", r) ;
  CHECK(smtpd_tls_write_all(&t, "250 ok\r\n", 8, &deadline) == 8, "the reply") ;
  CHECK(smtpd_tls_describe(&t, &desc) && desc.len > 20 && !memcmp(desc.s, "TLSv1.3 with cipher ", 20), "described: %.*s", (int)desc.len, desc.s) ;
  r = smtpd_tls_read_until(&t, buf, sizeof(buf), &deadline) ;
  CHECK(r == 0, "the client's close_notify: end of stream (%zd)", r) ;
  CHECK(reap(pid) == 0, "the client got its reply") ;
  smtpd_tls_end(&t) ;
  close(fd) ;

  CHECK(init(&t, &why) == 1, "context") ;
  pid = start(&fd, TLS1_2_VERSION, 0) ;
  t.rfd = t.wfd = fd ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, 10) ;
  CHECK(smtpd_tls_handshake(&t, &deadline, &why) == 1 && !strcmp(t.version, "TLSv1.2") && strstr(t.cipher, "GCM"), "TLS 1.2: %s %s", t.version, t.cipher) ;
  r = smtpd_tls_read_until(&t, buf, sizeof(buf), &deadline) ;
  CHECK(r > 0 && smtpd_tls_write_all(&t, "250 ok\r\n", 8, &deadline) == 8, "data over TLS 1.2") ;
  CHECK(reap(pid) == 0, "the TLS 1.2 client got its reply") ;
  smtpd_tls_end(&t) ;
  close(fd) ;

  CHECK(init(&t, &why) == 1, "context") ;
  pid = start(&fd, TLS1_1_VERSION, 0) ;
  t.rfd = t.wfd = fd ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, 10) ;
  CHECK(smtpd_tls_handshake(&t, &deadline, &why) == 0 && has(&why, "the TLS handshake failed: "), "TLS 1.1 refused: %s", why.s) ;
  CHECK(reap(pid) == 2, "the TLS 1.1 client could not connect") ;
  smtpd_tls_end(&t) ;
  close(fd) ;

  CHECK(init(&t, &why) == 1, "context") ;
  pid = start(&fd, 0, 1) ;
  t.rfd = t.wfd = fd ;
  tain_now_set_stopwatch_g() ;
  {
    tain half ;
    tain_from_millisecs(&half, 500) ;
    tain_add_g(&deadline, &half) ;
  }
  {
    tain begun = STAMP, took ;
    CHECK(smtpd_tls_handshake(&t, &deadline, &why) == 0 && has(&why, "timed out"), "a silent client: %s", why.s) ;
    tain_now_g() ;
    tain_sub(&took, &STAMP, &begun) ;
    CHECK(tain_to_millisecs(&took) >= 450 && tain_to_millisecs(&took) < 3000, "cut at the deadline: %d ms", tain_to_millisecs(&took)) ;
  }
  kill(pid, 9) ;
  reap(pid) ;
  smtpd_tls_end(&t) ;
  close(fd) ;
  stralloc_free(&why) ;
  stralloc_free(&desc) ;
}

int main (void)
{
  char dir[] = "/tmp/ferry-unit-tls.XXXXXX" ;
  char cmd[64] ;
  signal(SIGPIPE, SIG_IGN) ;   /* as ferry-smtpd: a client gone is a write's error */
  if (!mkdtemp(dir) || chdir(dir) < 0 || mkdir("control", 0755) < 0) { perror(dir) ; return 111 ; }
  files() ;
  handshake() ;
  if (chdir("/") < 0) return 111 ;
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir) ;
  sh(cmd) ;
  return UNIT_END() ;
}
