/* Unit tests of the SMTP session's state machine (src/remote/smtp_session.c): scripted replies,
   the next state, the action, and the result each recipient gets. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "remote/smtp_session.h"
#include "unit.h"

#define NR 4

typedef struct run_s run ;
struct run_s
{
  smtp_session s ;
  smtp_txn t ;
  char const *rcpt[NR] ;
  char st[NR] ;
  stralloc text[NR] ;
  stralloc lasterr ;
  stralloc out ;
  smtp_reply r ;
  int verify ;          /* the handshake is verified as a policy requires (tls_done) */
} ;

static stralloc helo = STRALLOC_ZERO ;

static void run_init (run *x, unsigned int nrcpt)
{
  static char const *const names[NR] = { "a@x.test", "b@x.test", "c@x.test", "d@x.test" } ;
  unsigned int i ;
  memset(x, 0, sizeof(*x)) ;
  for (i = 0 ; i < NR ; i++) x->rcpt[i] = names[i] ;
  x->t.sender = "s@y.test" ;
  x->t.rcpt = x->rcpt ;
  x->t.nrcpt = nrcpt ;
  x->t.st = x->st ;
  x->t.text = x->text ;
  x->t.lasterr = &x->lasterr ;
  x->t.size = 1000 ;
  smtp_session_connect(&x->s, "mx.x.test[127.0.0.1]:25") ;
}

static enum smtp_action ev (run *x, enum smtp_event e)
{
  return smtp_session_step(&x->s, e, &x->r, &x->t, &helo, &x->out) ;
}

 /* a reply (lines joined by \n, without CR LF) */
static enum smtp_action reply (run *x, char const *lines)
{
  stralloc in = STRALLOC_ZERO ;
  size_t used ;
  char const *why ;
  char const *p ;
  int ok ;
  for (p = lines ; *p ; p++) { if (*p == '\n') stralloc_catb(&in, "\r", 1) ; stralloc_catb(&in, p, 1) ; }
  stralloc_catb(&in, "\r\n", 2) ;
  smtp_reply_reset(&x->r) ;
  ok = smtp_reply_parse(&x->r, in.s, in.len, &used, &why) ;
  CHECK(ok == 1, "the scripted reply parses: %s", lines) ;
  stralloc_free(&in) ;
  return ev(x, SMTP_EV_REPLY) ;
}

static int out_has (run *x, char const *s)
{
  size_t n = strlen(s), i ;
  for (i = 0 ; i + n <= x->out.len ; i++) if (!memcmp(x->out.s + i, s, n)) return 1 ;
  return 0 ;
}

 /* connected, greeted, EHLO answered with ehlo; a transaction begun (no conversion asked) */
static enum smtp_action to_trans (run *x, char const *ehlo)
{
  enum smtp_action a ;
  CHECK(ev(x, SMTP_EV_CONNECTED) == SMTP_WAIT && x->s.state == SMTP_GREETING, "connected: greeting awaited") ;
  a = reply(x, "220 mx.x.test ESMTP") ;
  CHECK(a == SMTP_WAIT && x->s.state == SMTP_EHLO && out_has(x, "EHLO me.test\r\n"), "220: EHLO sent") ;
  x->out.len = 0 ;
  a = reply(x, ehlo) ;
  if (a != SMTP_BEGIN) return a ;
  return ev(x, SMTP_EV_BEGIN) ;
}

 /* connected, greeted, EHLO answered with ehlo: the action after that EHLO (out emptied before it) */
static enum smtp_action to_hello (run *x, char const *ehlo)
{
  CHECK(ev(x, SMTP_EV_CONNECTED) == SMTP_WAIT && x->s.state == SMTP_GREETING, "connected: greeting awaited") ;
  reply(x, "220 mx.x.test ESMTP") ;
  x->out.len = 0 ;
  return reply(x, ehlo) ;
}

static int out_is (run *x, char const *s)
{
  return x->out.len == strlen(s) && !memcmp(x->out.s, s, x->out.len) ;
}

 /* the TLS handshake done, as the connection code reports it */
static enum smtp_action tls_done (run *x)
{
  strcpy(x->s.tlsdesc, " over TLSv1.3 (TLS_AES_256_GCM_SHA384, certificate verified)") ;
  x->s.tlsverified = x->verify ;
  x->out.len = 0 ;
  return ev(x, SMTP_EV_TLS_DONE) ;
}

 /* credentials for the route host relay.x.test: alice@example.com, "s3cret pass" */
static void creds (run *x)
{
  x->s.hascreds = 1 ;
  strcpy(x->s.credhost, "relay.x.test") ;
  stralloc_copys(&x->s.authplain64, "AGFsaWNlQGV4YW1wbGUuY29tAHMzY3JldCBwYXNz") ;
  stralloc_copys(&x->s.authuser64, "YWxpY2VAZXhhbXBsZS5jb20=") ;
  stralloc_copys(&x->s.authpass64, "czNjcmV0IHBhc3M=") ;
}

 /* with TLS wanted (want), STARTTLS offered and accepted, the handshake done: the second EHLO sent */
static void to_tls (run *x, int want)
{
  enum smtp_action a ;
  x->s.tlswant = want ;
  a = to_hello(x, "250-mx.x.test\n250-PIPELINING\n250 STARTTLS") ;
  CHECK(a == SMTP_WAIT && x->s.state == SMTP_STARTTLS && out_is(x, "STARTTLS\r\n"), "STARTTLS offered: STARTTLS sent, alone: %.*s", (int)x->out.len, x->out.s) ;
  x->out.len = 0 ;
  a = reply(x, "220 2.0.0 ready") ;
  CHECK(a == SMTP_TLS_START && x->s.state == SMTP_HANDSHAKE && !x->out.len, "220 to STARTTLS: the handshake starts, nothing sent") ;
  a = tls_done(x) ;
  CHECK(a == SMTP_WAIT && x->s.state == SMTP_EHLO && x->s.tls && out_is(x, "EHLO me.test\r\n"), "TLS done: EHLO again") ;
  x->out.len = 0 ;
}

int main (void)
{
  run x ;
  enum smtp_action a ;
  stralloc_cats(&helo, "me.test") ;

  /* greeting 554: the host fails the delivery */
  run_init(&x, 1) ;
  ev(&x, SMTP_EV_CONNECTED) ;
  a = reply(&x, "554 go away") ;
  CHECK(a == SMTP_FAIL && !strcmp(x.s.why, "greeted with ") && strstr(x.s.whymore, "554 go away"), "554 greeting: FAIL, saying so") ;
  CHECK(x.st[0] == 0, "554 greeting: the recipient stays open for the next host") ;

  /* EHLO with PIPELINING 8BITMIME SIZE SMTPUTF8: all in one go, MAIL with SIZE= and BODY= and SMTPUTF8 */
  run_init(&x, 2) ;
  x.t.eightbit = 1 ; x.t.utf8 = 1 ;
  a = to_trans(&x, "250-mx.x.test\n250-PIPELINING\n250-8BITMIME\n250-SIZE 5000\n250 SMTPUTF8") ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_TRANS, "EHLO 250: a transaction") ;
  CHECK(x.s.pipelining && x.s.eightbitmime && x.s.smtputf8 && x.s.hassize && x.s.sizemax == 5000, "EHLO keywords read") ;
  CHECK(out_has(&x, "MAIL FROM:<s@y.test> SIZE=1000 BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"),
        "pipelined: MAIL, RCPTs and DATA at once: %.*s", (int)x.out.len, x.out.s) ;
  reply(&x, "250 ok") ;
  reply(&x, "250 ok") ;
  reply(&x, "550 5.1.1 no such user") ;
  CHECK(x.st[0] == 'A' && x.st[1] == 'D', "RCPT accepted and refused: A and D (%c %c)", x.st[0], x.st[1]) ;
  CHECK(strstr(x.text[1].s, "(in reply to RCPT TO:<b@x.test>)") != 0, "the refusal's text says which RCPT") ;
  a = reply(&x, "354 go on") ;
  CHECK(a == SMTP_SEND_DATA && x.s.state == SMTP_DATA, "DATA 354: the message goes") ;
  a = ev(&x, SMTP_EV_DATA_SENT) ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_DOT, "data sent: the end's reply awaited") ;
  a = reply(&x, "250 2.0.0 queued") ;
  CHECK(a == SMTP_DONE && x.s.state == SMTP_IDLE, "250 to the end: done, idle") ;
  CHECK(x.st[0] == 'K' && x.st[1] == 'D', "final: K for the accepted one, D kept") ;

  /* reuse: the next delivery on the idle connection starts with RSET */
  memset(x.st, 0, sizeof(x.st)) ;
  x.out.len = 0 ;
  x.t.nrcpt = 1 ;
  a = ev(&x, SMTP_EV_START) ;
  CHECK(a == SMTP_BEGIN, "an idle connection takes a delivery") ;
  a = ev(&x, SMTP_EV_BEGIN) ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_TRANS && out_has(&x, "RSET\r\nMAIL FROM:"), "reused: RSET first") ;
  a = reply(&x, "421 4.3.2 shutting down") ;
  CHECK(a == SMTP_FAIL && !strcmp(x.s.why, "RSET refused on a cached connection"), "421 to RSET: FAIL") ;

  /* SIZE too small: D, no MAIL */
  run_init(&x, 1) ;
  x.t.size = 9000 ;
  a = to_trans(&x, "250-mx\n250 SIZE 5000") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'D' && strstr(x.text[0].s, "5.3.4"), "larger than SIZE: D 5.3.4, done") ;

  /* SMTPUTF8 needed, not offered: D 5.6.7 */
  run_init(&x, 1) ;
  x.t.utf8 = 1 ;
  a = to_trans(&x, "250 mx") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'D' && strstr(x.text[0].s, "5.6.7"), "SMTPUTF8 not offered: D 5.6.7") ;

  /* EHLO 5xx: HELO, then one command at a time */
  run_init(&x, 2) ;
  ev(&x, SMTP_EV_CONNECTED) ;
  reply(&x, "220 old") ;
  x.out.len = 0 ;
  a = reply(&x, "502 what") ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_HELO && out_has(&x, "HELO me.test\r\n"), "EHLO 502: HELO") ;
  x.out.len = 0 ;
  a = reply(&x, "250 hi") ;
  CHECK(a == SMTP_BEGIN, "HELO 250: a transaction can begin") ;
  a = ev(&x, SMTP_EV_BEGIN) ;
  CHECK(!x.s.pipelining && x.out.len == 22 && !memcmp(x.out.s, "MAIL FROM:<s@y.test>\r\n", 22), "no pipelining: MAIL alone, no ESMTP parameters: %.*s", (int)x.out.len, x.out.s) ;
  /* MAIL 4xx: the destination's failure, H for all; the transaction ends */
  a = reply(&x, "451 4.3.0 try later") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'H' && x.st[1] == 'H', "MAIL 451: H for every recipient, done (%c %c)", x.st[0], x.st[1]) ;

  /* EHLO 4xx: FAIL */
  run_init(&x, 1) ;
  a = to_trans(&x, "421 busy") ;
  CHECK(a == SMTP_FAIL && !strcmp(x.s.why, "EHLO refused temporarily"), "EHLO 421: FAIL") ;

  /* MAIL 5xx pipelined: D for all, the RCPT replies ignored, DATA refused: done */
  run_init(&x, 2) ;
  to_trans(&x, "250-mx\n250 PIPELINING") ;
  reply(&x, "550 5.7.1 sender refused") ;
  reply(&x, "503 no MAIL") ;
  reply(&x, "503 no MAIL") ;
  a = reply(&x, "503 no valid recipients") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'D' && x.st[1] == 'D' && strstr(x.text[0].s, "(in reply to MAIL FROM)"), "MAIL 550: D for all, done") ;

  /* RCPT: 452 4.5.3 too many recipients vs 452 4.2.2 mailbox full, pipelined */
  run_init(&x, 4) ;
  to_trans(&x, "250-mx\n250 PIPELINING") ;
  reply(&x, "250 ok") ;
  reply(&x, "250 ok") ;
  reply(&x, "452 4.2.2 mailbox full") ;
  reply(&x, "452 4.5.3 too many recipients") ;
  reply(&x, "451 4.3.0 later") ;
  CHECK(x.st[0] == 'A' && x.st[1] == 'Z' && x.st[2] == 0 && x.st[3] == 'Z', "452 4.2.2: Z; 452 4.5.3: left open; 451: Z (%c %c %d %c)", x.st[0], x.st[1], x.st[2], x.st[3]) ;
  CHECK(x.s.toomany, "too many: noted") ;
  a = reply(&x, "354 go") ;
  CHECK(a == SMTP_SEND_DATA, "354 with one accepted: data") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  x.out.len = 0 ;
  a = reply(&x, "250 ok") ;
  CHECK(x.st[0] == 'K' && x.st[2] == 0, "end of data 250: K; the one left open stays open") ;
  CHECK(a == SMTP_BEGIN && x.s.reused, "too many with progress: another transaction on the same connection") ;
  a = ev(&x, SMTP_EV_BEGIN) ;
  CHECK(a == SMTP_WAIT && out_has(&x, "RSET\r\nMAIL FROM:<s@y.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n"), "the next transaction: RSET, MAIL, the open one: %.*s", (int)x.out.len, x.out.s) ;
  reply(&x, "250 ok") ;
  reply(&x, "250 ok") ;
  reply(&x, "250 ok") ;
  reply(&x, "354 go") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  a = reply(&x, "554 5.6.0 rejected") ;
  CHECK(a == SMTP_DONE && x.st[2] == 'D' && strstr(x.text[2].s, "(in reply to end of data)"), "end of data 554: D") ;

  /* DATA refused 4xx / end of data 4xx: Z; 421 at the end of data: H */
  run_init(&x, 1) ;
  to_trans(&x, "250-mx\n250 PIPELINING") ;
  reply(&x, "250 ok") ;
  reply(&x, "250 ok") ;
  a = reply(&x, "451 4.3.0 no DATA now") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'Z', "DATA 451: Z, done") ;
  run_init(&x, 2) ;
  to_trans(&x, "250-mx\n250 PIPELINING") ;
  reply(&x, "250 ok") ; reply(&x, "250 ok") ; reply(&x, "250 ok") ; reply(&x, "354 go") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  a = reply(&x, "452 4.3.1 out of storage") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'Z' && x.st[1] == 'Z', "end of data 452: Z") ;
  run_init(&x, 1) ;
  to_trans(&x, "250-mx\n250 PIPELINING") ;
  reply(&x, "250 ok") ; reply(&x, "250 ok") ; reply(&x, "354 go") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  a = reply(&x, "421 4.4.2 bye") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'H', "end of data 421: H") ;

  /* 421 at RCPT: H for that recipient; 421 while the data goes: H, the connection dropped */
  run_init(&x, 2) ;
  to_trans(&x, "250-mx\n250 PIPELINING") ;
  reply(&x, "250 ok") ; reply(&x, "250 ok") ;
  reply(&x, "421 4.4.2 closing") ;
  CHECK(x.st[0] == 'A' && x.st[1] == 'H', "RCPT 421: H (%c)", x.st[1]) ;
  reply(&x, "354 go") ;
  a = reply(&x, "421 4.4.2 closing now") ;
  CHECK(a == SMTP_DONE_CLOSE && x.s.state == SMTP_FREE && x.st[0] == 'H', "421 during the data: H, dropped") ;

  /* no pipelining, every RCPT refused: no DATA */
  run_init(&x, 2) ;
  ev(&x, SMTP_EV_CONNECTED) ;
  reply(&x, "220 mx") ;
  reply(&x, "250 mx") ;
  ev(&x, SMTP_EV_BEGIN) ;
  reply(&x, "250 ok") ;
  x.out.len = 0 ;
  reply(&x, "550 no") ;
  CHECK(out_has(&x, "RCPT TO:<b@x.test>\r\n") && !out_has(&x, "DATA"), "one command per reply") ;
  a = reply(&x, "550 no") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'D' && x.st[1] == 'D', "every RCPT refused: done without DATA") ;

  /* a reply nobody asked for, and replies on an idle connection */
  run_init(&x, 1) ;
  to_trans(&x, "250 mx") ;
  reply(&x, "250 ok") ;   /* MAIL; the RCPT goes */
  reply(&x, "250 ok") ;   /* RCPT; the DATA goes */
  x.s.replied = x.s.sent ;   /* as if the DATA were answered */
  a = reply(&x, "250 extra") ;
  CHECK(a == SMTP_FAIL && !strcmp(x.s.whymore, "a reply nobody asked for"), "an extra reply: protocol error") ;
  run_init(&x, 1) ;
  to_trans(&x, "250 mx") ;
  reply(&x, "250 ok") ; reply(&x, "250 ok") ; reply(&x, "354 go") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  reply(&x, "250 ok") ;
  CHECK(x.s.state == SMTP_IDLE, "idle after the delivery") ;
  a = reply(&x, "421 4.4.2 idle timeout") ;
  CHECK(a == SMTP_CLOSE && x.s.state == SMTP_FREE, "421 on an idle connection: closed") ;

  /* a transaction without an open recipient: done at once, no MAIL */
  run_init(&x, 1) ;
  x.st[0] = 'D' ;
  a = to_trans(&x, "250 mx") ;
  CHECK(a == SMTP_DONE && !x.out.len, "nothing open: done, nothing sent") ;

  /* TLS: STARTTLS offered under may: STARTTLS, 220, the handshake, EHLO again with the old
     capabilities forgotten (RFC 3207), then the transaction; the texts say over TLS */
  run_init(&x, 1) ;
  to_tls(&x, SMTP_TLS_MAY) ;
  CHECK(!x.s.pipelining && !x.s.starttls, "inside TLS: the capabilities of the first EHLO are forgotten (%d %d)", x.s.pipelining, x.s.starttls) ;
  a = reply(&x, "250-mx.x.test\n250 8BITMIME") ;
  CHECK(a == SMTP_BEGIN && !x.s.pipelining && x.s.eightbitmime, "the second EHLO's capabilities only: no PIPELINING, 8BITMIME") ;
  a = ev(&x, SMTP_EV_BEGIN) ;
  CHECK(a == SMTP_WAIT && out_is(&x, "MAIL FROM:<s@y.test>\r\n"), "inside TLS: MAIL, one command at a time: %.*s", (int)x.out.len, x.out.s) ;
  reply(&x, "250 ok") ; reply(&x, "250 ok") ; reply(&x, "354 go") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  a = reply(&x, "250 2.0.0 queued") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'K' && strstr(x.text[0].s, "host mx.x.test[127.0.0.1]:25 over TLSv1.3 (TLS_AES_256_GCM_SHA384, certificate verified) said: 250 2.0.0 queued"),
        "delivered; the text names TLS in the host part: %s", x.text[0].s) ;

  /* STARTTLS offered, no TLS wanted (level none): plain, no STARTTLS */
  run_init(&x, 1) ;
  a = to_hello(&x, "250-mx.x.test\n250 STARTTLS") ;
  CHECK(a == SMTP_BEGIN && !out_has(&x, "STARTTLS"), "level none: STARTTLS offered but not sent") ;

  /* not offered under must: FAIL with the text, nothing sent */
  run_init(&x, 1) ;
  x.s.tlswant = SMTP_TLS_MUST ; x.s.policy = "control/tlspolicy: encrypt" ;
  a = to_hello(&x, "250-mx.x.test\n250 PIPELINING") ;
  CHECK(a == SMTP_FAIL && x.s.why && !strcmp(x.s.why, "TLS is required (control/tlspolicy: encrypt) but the host does not offer STARTTLS"),
        "must, STARTTLS not offered: FAIL, saying so: %s", x.s.why ? x.s.why : "(none)") ;
  CHECK(!x.out.len && x.st[0] == 0, "nothing sent, the recipient open for the next host") ;
  /* not offered under may: plain */
  run_init(&x, 1) ;
  x.s.tlswant = SMTP_TLS_MAY ;
  a = to_hello(&x, "250-mx.x.test\n250 PIPELINING") ;
  CHECK(a == SMTP_BEGIN && !x.s.tls, "may, STARTTLS not offered: a plain transaction") ;

  /* STARTTLS refused (454): under may a plain transaction with the first EHLO's capabilities; under must FAIL */
  run_init(&x, 1) ;
  x.s.tlswant = SMTP_TLS_MAY ;
  to_hello(&x, "250-mx.x.test\n250-PIPELINING\n250 STARTTLS") ;
  x.out.len = 0 ;
  a = reply(&x, "454 4.7.0 TLS not available now") ;
  CHECK(a == SMTP_BEGIN && !x.s.tls && x.s.state != SMTP_HANDSHAKE, "may, 454 to STARTTLS: the transaction goes in plain text") ;
  a = ev(&x, SMTP_EV_BEGIN) ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_TRANS && out_has(&x, "MAIL FROM:<s@y.test>\r\nRCPT TO:<a@x.test>\r\nDATA\r\n") && !out_has(&x, "STARTTLS"),
        "plain, pipelined as the first EHLO said: %.*s", (int)x.out.len, x.out.s) ;
  run_init(&x, 1) ;
  x.s.tlswant = SMTP_TLS_MUST ; x.s.policy = "control/tlspolicy: verify" ;
  to_hello(&x, "250-mx.x.test\n250-PIPELINING\n250 STARTTLS") ;
  x.out.len = 0 ;
  a = reply(&x, "454 4.7.0 TLS not available now") ;
  CHECK(a == SMTP_FAIL && x.s.why && !strcmp(x.s.why, "TLS is required (control/tlspolicy: verify) but the host refused STARTTLS: 454 4.7.0 TLS not available now"),
        "must, 454 to STARTTLS: FAIL quoting it: %s", x.s.why ? x.s.why : "(none)") ;
  CHECK(!x.out.len, "and nothing sent after it") ;

  /* implicit TLS (port 465): the handshake at once, then the greeting, EHLO, no STARTTLS */
  run_init(&x, 1) ;
  x.s.implicit = 1 ; x.s.tlswant = SMTP_TLS_MAY ;
  a = ev(&x, SMTP_EV_CONNECTED) ;
  CHECK(a == SMTP_TLS_START && x.s.state == SMTP_HANDSHAKE, "implicit: TLS_START when connected") ;
  a = tls_done(&x) ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_GREETING && !x.out.len && x.s.tls, "implicit, TLS done: the greeting awaited, nothing sent") ;
  a = reply(&x, "220 mx.x.test ESMTP") ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_EHLO && out_is(&x, "EHLO me.test\r\n"), "220: EHLO") ;
  x.out.len = 0 ;
  a = reply(&x, "250-mx.x.test\n250 STARTTLS") ;
  CHECK(a == SMTP_BEGIN && !out_has(&x, "STARTTLS"), "inside TLS already: no STARTTLS even if offered") ;

  /* credentials without TLS: FAIL, no AUTH ever sent in plain text (offered in clear, or not at all) */
  run_init(&x, 1) ;
  creds(&x) ;
  x.s.tlswant = SMTP_TLS_MAY ;
  a = to_hello(&x, "250-mx.x.test\n250-AUTH PLAIN LOGIN\n250 PIPELINING") ;
  CHECK(a == SMTP_FAIL && x.s.why && !strcmp(x.s.why, "credentials for relay.x.test (control/smtpauth) are sent only over TLS, and the host does not offer STARTTLS"),
        "credentials, no STARTTLS, AUTH offered in clear: FAIL, saying why: %s", x.s.why ? x.s.why : "(none)") ;
  CHECK(!out_has(&x, "AUTH") && !out_has(&x, "MAIL"), "no AUTH, no MAIL in plain text") ;
  run_init(&x, 1) ;
  creds(&x) ;
  x.s.tlswant = SMTP_TLS_MAY ;
  to_hello(&x, "250-mx.x.test\n250-AUTH PLAIN\n250 STARTTLS") ;
  x.out.len = 0 ;
  a = reply(&x, "454 4.7.0 no TLS now") ;
  CHECK(a == SMTP_FAIL && !out_has(&x, "AUTH") && x.s.why && strstr(x.s.why, "are sent only over TLS"), "credentials, STARTTLS refused: FAIL, no AUTH") ;

  /* credentials inside TLS, PLAIN offered: AUTH PLAIN with the initial response, 235, MAIL */
  run_init(&x, 1) ;
  creds(&x) ;
  to_tls(&x, SMTP_TLS_MAY) ;
  a = reply(&x, "250-mx.x.test\n250-PIPELINING\n250 AUTH LOGIN PLAIN") ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_AUTH && out_is(&x, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHMzY3JldCBwYXNz\r\n"),
        "PLAIN offered: AUTH PLAIN <base64 of NUL user NUL password>, alone: %.*s", (int)x.out.len, x.out.s) ;
  x.out.len = 0 ;
  a = reply(&x, "235 2.7.0 ok") ;
  CHECK(a == SMTP_BEGIN && x.s.authed, "235: authenticated, the transaction can begin") ;
  a = ev(&x, SMTP_EV_BEGIN) ;
  CHECK(a == SMTP_WAIT && out_has(&x, "MAIL FROM:<s@y.test>\r\n") && !out_has(&x, "AUTH"), "then MAIL") ;
  reply(&x, "250 ok") ; reply(&x, "250 ok") ; reply(&x, "354 go") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  reply(&x, "250 ok") ;
  /* the idle connection takes the next delivery: authenticated already, RSET and MAIL */
  memset(x.st, 0, sizeof(x.st)) ;
  x.out.len = 0 ;
  a = ev(&x, SMTP_EV_START) ;
  CHECK(a == SMTP_BEGIN, "reused: no second AUTH") ;
  ev(&x, SMTP_EV_BEGIN) ;
  CHECK(out_has(&x, "RSET\r\nMAIL FROM:") && !out_has(&x, "AUTH"), "reused: RSET, MAIL") ;

  /* LOGIN only: AUTH LOGIN, 334 -> user, 334 -> password, 235 */
  run_init(&x, 1) ;
  creds(&x) ;
  to_tls(&x, SMTP_TLS_MAY) ;
  a = reply(&x, "250-mx.x.test\n250 AUTH LOGIN") ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_AUTH && out_is(&x, "AUTH LOGIN\r\n"), "LOGIN only: AUTH LOGIN: %.*s", (int)x.out.len, x.out.s) ;
  x.out.len = 0 ;
  a = reply(&x, "334 VXNlcm5hbWU6") ;
  CHECK(a == SMTP_WAIT && out_is(&x, "YWxpY2VAZXhhbXBsZS5jb20=\r\n"), "334: the user in base64: %.*s", (int)x.out.len, x.out.s) ;
  x.out.len = 0 ;
  a = reply(&x, "334 UGFzc3dvcmQ6") ;
  CHECK(a == SMTP_WAIT && out_is(&x, "czNjcmV0IHBhc3M=\r\n"), "334: the password in base64: %.*s", (int)x.out.len, x.out.s) ;
  x.out.len = 0 ;
  a = reply(&x, "334 again?") ;
  CHECK(a == SMTP_FAIL && !x.out.len, "a third 334: FAIL, nothing more sent") ;
  run_init(&x, 1) ;
  creds(&x) ;
  to_tls(&x, SMTP_TLS_MAY) ;
  reply(&x, "250-mx.x.test\n250 AUTH LOGIN") ;
  reply(&x, "334 VXNlcm5hbWU6") ;
  reply(&x, "334 UGFzc3dvcmQ6") ;
  a = reply(&x, "235 2.7.0 ok") ;
  CHECK(a == SMTP_BEGIN && x.s.authed, "LOGIN, 235: the transaction can begin") ;

  /* 535: FAIL quoting the reply, no MAIL */
  run_init(&x, 1) ;
  creds(&x) ;
  to_tls(&x, SMTP_TLS_MAY) ;
  reply(&x, "250-mx.x.test\n250 AUTH PLAIN") ;
  x.out.len = 0 ;
  a = reply(&x, "535 5.7.8 Authentication credentials invalid") ;
  CHECK(a == SMTP_FAIL && x.s.why && !strcmp(x.s.why, "authentication failed: 535 5.7.8 Authentication credentials invalid (in reply to AUTH; check control/smtpauth)"),
        "535: FAIL quoting it: %s", x.s.why ? x.s.why : "(none)") ;
  CHECK(!x.out.len && x.st[0] == 0 && !x.s.authed, "nothing sent after the 535; the recipient open for the next host") ;

  /* 530 at MAIL: H for every recipient, with the note */
  run_init(&x, 2) ;
  to_trans(&x, "250-mx.x.test\n250 PIPELINING") ;
  reply(&x, "530 5.7.0 Authentication required") ;
  reply(&x, "503 no") ; reply(&x, "503 no") ;
  a = reply(&x, "503 no") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'H' && x.st[1] == 'H', "530 at MAIL, no credentials: H for all (%c %c)", x.st[0], x.st[1]) ;
  CHECK(x.text[0].len > 1 && strstr(x.text[0].s, "530 5.7.0 Authentication required (in reply to MAIL FROM); control/smtpauth has no credentials for this route"),
        "the text ends with the note: %.*s", (int)x.text[0].len, x.text[0].s) ;
  run_init(&x, 1) ;
  creds(&x) ;
  to_tls(&x, SMTP_TLS_MAY) ;
  a = reply(&x, "250-mx.x.test\n250 PIPELINING") ;
  CHECK(a == SMTP_BEGIN && !out_has(&x, "AUTH"), "credentials, no AUTH offered inside TLS: the transaction, no AUTH") ;
  ev(&x, SMTP_EV_BEGIN) ;
  reply(&x, "530 5.7.0 Authentication required") ;
  reply(&x, "503 no") ;
  a = reply(&x, "503 no") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'H' && x.text[0].len > 1 && strstr(x.text[0].s, "over TLSv1.3 (") && strstr(x.text[0].s, "; the host wants authentication, which it does not offer here"),
        "530 at MAIL with credentials the host takes no AUTH for: H, saying so: %.*s", (int)x.text[0].len, x.text[0].s) ;

  /* REQUIRETLS asked, no TLS (policy none): the host fails the delivery (the next host may
     qualify; the channel returns the message, 5.7.30, when none does), no MAIL */
  run_init(&x, 2) ;
  x.t.requiretls = 1 ;
  a = to_trans(&x, "250-mx.x.test\n250-PIPELINING\n250-STARTTLS\n250 REQUIRETLS") ;
  CHECK(a == SMTP_FAIL && x.s.rtlsrefused && !out_has(&x, "MAIL") && !x.st[0] && !x.st[1], "REQUIRETLS without TLS: the host fails, no MAIL: %.*s", (int)x.out.len, x.out.s) ;
  CHECK(!strcmp(x.s.why, "REQUIRETLS support required: ") && !strcmp(x.s.whymore, "the connection is not over TLS"), "saying why: %s%s", x.s.why, x.s.whymore) ;

  /* over TLS, not verified by a policy (may): the host fails */
  run_init(&x, 1) ;
  x.t.requiretls = 1 ;
  to_tls(&x, SMTP_TLS_MAY) ;
  a = reply(&x, "250-mx.x.test\n250-PIPELINING\n250 REQUIRETLS") ;
  CHECK(a == SMTP_FAIL && x.s.rtlsrefused && !out_has(&x, "MAIL") && !x.st[0]
        && !strcmp(x.s.whymore, "its TLS is not verified by DANE, MTA-STS or control/tlspolicy verify or secure"),
        "REQUIRETLS over TLS not verified: the host fails, saying so: %s", x.s.whymore) ;

  /* verified, the host does not offer REQUIRETLS (it did before STARTTLS: forgotten) */
  run_init(&x, 1) ;
  x.t.requiretls = 1 ;
  x.verify = 1 ;
  x.s.tlswant = SMTP_TLS_MUST ;
  a = to_hello(&x, "250-mx.x.test\n250-REQUIRETLS\n250 STARTTLS") ;
  CHECK(a == SMTP_WAIT && x.s.state == SMTP_STARTTLS && x.s.requiretls_offered, "REQUIRETLS before STARTTLS: read, STARTTLS sent") ;
  reply(&x, "220 go ahead") ;
  a = tls_done(&x) ;
  CHECK(a == SMTP_WAIT && x.s.tls && x.s.tlsverified && !x.s.requiretls_offered, "TLS done: what the first EHLO offered is forgotten") ;
  x.out.len = 0 ;
  a = reply(&x, "250-mx.x.test\n250 PIPELINING") ;
  CHECK(a == SMTP_FAIL && x.s.rtlsrefused && !out_has(&x, "MAIL") && !x.st[0] && !strcmp(x.s.whymore, "the host does not offer REQUIRETLS"),
        "REQUIRETLS not offered inside TLS: the host fails, saying so: %s", x.s.whymore) ;

  /* verified and offered: MAIL FROM with REQUIRETLS, delivered */
  run_init(&x, 2) ;
  x.t.requiretls = 1 ;
  x.verify = 1 ;
  to_tls(&x, SMTP_TLS_MUST) ;
  a = reply(&x, "250-mx.x.test\n250-PIPELINING\n250-SIZE 5000\n250 requiretls") ;
  CHECK(a == SMTP_BEGIN && x.s.requiretls_offered, "verified TLS, REQUIRETLS offered (any case): the transaction can begin") ;
  a = ev(&x, SMTP_EV_BEGIN) ;
  CHECK(a == SMTP_WAIT && out_has(&x, "MAIL FROM:<s@y.test> SIZE=1000 REQUIRETLS\r\nRCPT TO:<a@x.test>\r\n"),
        "MAIL FROM carries REQUIRETLS: %.*s", (int)x.out.len, x.out.s) ;
  reply(&x, "250 ok") ; reply(&x, "250 ok") ; reply(&x, "250 ok") ;
  a = reply(&x, "354 go") ;
  CHECK(a == SMTP_SEND_DATA, "REQUIRETLS met: the data goes") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  a = reply(&x, "250 2.0.0 queued") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'K' && x.st[1] == 'K', "REQUIRETLS met: K for both") ;

  /* the same idle connection: a message that does not ask for it goes without the parameter */
  memset(x.st, 0, sizeof(x.st)) ;
  x.out.len = 0 ;
  x.t.requiretls = 0 ;
  x.t.nrcpt = 1 ;
  a = ev(&x, SMTP_EV_START) ;
  CHECK(a == SMTP_BEGIN, "an idle connection takes a message without REQUIRETLS") ;
  ev(&x, SMTP_EV_BEGIN) ;
  CHECK(out_has(&x, "MAIL FROM:<s@y.test> SIZE=1000\r\n"), "no REQUIRETLS asked: none in MAIL FROM: %.*s", (int)x.out.len, x.out.s) ;

  /* an idle connection not verified: a REQUIRETLS message fails on it at once, nothing sent */
  run_init(&x, 1) ;
  to_tls(&x, SMTP_TLS_MAY) ;
  a = reply(&x, "250-mx.x.test\n250 REQUIRETLS") ;
  ev(&x, SMTP_EV_BEGIN) ;
  reply(&x, "250 ok") ; reply(&x, "250 ok") ; reply(&x, "354 go") ;
  ev(&x, SMTP_EV_DATA_SENT) ;
  a = reply(&x, "250 2.0.0 queued") ;
  CHECK(a == SMTP_DONE && x.st[0] == 'K', "a first message without REQUIRETLS: K") ;
  memset(x.st, 0, sizeof(x.st)) ;
  x.out.len = 0 ;
  x.t.requiretls = 1 ;
  a = ev(&x, SMTP_EV_START) ;
  CHECK(a == SMTP_FAIL && x.s.rtlsrefused && !x.out.len && !x.st[0],
        "reused, not verified: the host fails at once, nothing sent: %s", x.s.whymore) ;

  /* HELO: no extensions, so no REQUIRETLS */
  run_init(&x, 1) ;
  x.t.requiretls = 1 ;
  x.verify = 1 ;
  to_tls(&x, SMTP_TLS_MUST) ;
  reply(&x, "502 no EHLO") ;
  a = reply(&x, "250 hi") ;
  CHECK(a == SMTP_FAIL && x.s.rtlsrefused && !x.st[0] && !strcmp(x.s.whymore, "the host does not offer REQUIRETLS"), "HELO inside verified TLS: the host fails, REQUIRETLS not offered") ;

  /* a new connection forgets the verification */
  x.s.tlsverified = 1 ;
  smtp_session_connect(&x.s, "mx2.x.test[127.0.0.2]:25") ;
  CHECK(!x.s.tlsverified && !x.s.tls && !x.s.requiretls_offered, "smtp_session_connect: not verified, nothing offered") ;

  return UNIT_END() ;
}
