/* Unit tests of the DSN pieces: NOTIFY, xtext, bounce records, and what a channel's text says
   in DSN terms (status, remote host, reply), and the header section a notice returns. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/defer.h>
#include <ferry/dsn.h>
#include "bounce/bounce.h"
#include "unit.h"

static void diag (char const *text, char kind, char const *status, char const *mta, char const *reply)
{
  dsn_diag d ;
  dsn_diag_parse(&d, text, kind) ;
  CHECK(!strcmp(d.status, status), "%s: status %s, want %s", text, d.status, status) ;
  CHECK(mta ? d.mta && d.mtalen == strlen(mta) && !memcmp(d.mta, mta, d.mtalen) : !d.mta, "%s: remote host %.*s", text, (int)d.mtalen, d.mta ? d.mta : "") ;
  CHECK(reply ? d.reply && d.replylen == strlen(reply) && !memcmp(d.reply, reply, d.replylen) : !d.reply, "%s: reply %.*s", text, (int)d.replylen, d.reply ? d.reply : "") ;
}

int main (void)
{
  /* NOTIFY */
  CHECK(ferry_dsn_notify("SUCCESS,FAILURE", 15) == (FERRY_NOTIFY_SUCCESS | FERRY_NOTIFY_FAILURE), "two words") ;
  CHECK(ferry_dsn_notify("never", 5) == FERRY_NOTIFY_NEVER, "case-insensitive") ;
  CHECK(!ferry_dsn_notify("SUCCESS,BOGUS", 13), "garbage gives 0") ;
  CHECK(ferry_dsn_wants(0, 'D') && ferry_dsn_wants(0, 'Z') && !ferry_dsn_wants(0, 'S'), "no NOTIFY: failures and delays") ;
  CHECK(!ferry_dsn_wants(FERRY_NOTIFY_NEVER, 'D'), "NEVER: nothing") ;
  CHECK(ferry_dsn_wants(FERRY_NOTIFY_SUCCESS, 'S') && !ferry_dsn_wants(FERRY_NOTIFY_SUCCESS, 'D'), "SUCCESS alone: no failure notice") ;
  {
    static char const env[] = "u0\0p1\0t2\0Fa@b\0XRET=HDRS\0Tx@y\0XNOTIFY=SUCCESS\0Ty@z\0Tz@w\0XORCPT=rfc822;z@w\0XNOTIFY=NEVER\0" ;
    unsigned char bits[4] ;
    ferry_dsn_notify_scan(env, sizeof(env), bits, 4) ;
    CHECK(bits[0] == FERRY_NOTIFY_SUCCESS && bits[1] == 0 && bits[2] == FERRY_NOTIFY_NEVER && bits[3] == 0, "per index: %d %d %d %d", bits[0], bits[1], bits[2], bits[3]) ;
  }

  /* xtext */
  {
    stralloc sa = STRALLOC_ZERO ;
    CHECK(ferry_xtext_decode(&sa, "a+2Bb+3D", 8) && sa.len == 4 && !memcmp(sa.s, "a+b=", 4), "decoded") ;
    sa.len = 0 ;
    CHECK(!ferry_xtext_decode(&sa, "a+2", 3), "a cut escape") ;
    CHECK(!ferry_xtext_decode(&sa, "a=b", 3), "a bare =") ;
    CHECK(!ferry_xtext_decode(&sa, "a+2b", 4), "lower-case hex is not xtext") ;
    stralloc_free(&sa) ;
  }

  /* bounce records: written, read back, a truncated one refused */
  {
    stralloc sa = STRALLOC_ZERO ;
    ferry_bounce_record a = { .kind = 'D', .channel = 'R', .index = 0x1234, .when = 1795413789, .rcpt = "bob@example.net", .text = "5.1.1 gone" } ;
    ferry_bounce_record b = { .kind = 'S', .channel = 'L', .index = 0, .when = 0, .rcpt = "c@d", .text = "delivered" } ;
    ferry_bounce_record r ;
    size_t pos = 0, full ;
    CHECK(ferry_bounce_record_cat(&sa, &a) && ferry_bounce_record_cat(&sa, &b), "written") ;
    CHECK(!memcmp(sa.s, "DR00001234000000006b03d71d", 26), "the head: %.26s", sa.s) ;
    CHECK(ferry_bounce_record_take(sa.s, sa.len, &pos, &r) == 1 && r.kind == 'D' && r.channel == 'R' && r.index == 0x1234 && r.when == 1795413789
          && !strcmp(r.rcpt, "bob@example.net") && !strcmp(r.text, "5.1.1 gone"), "the first read back") ;
    CHECK(ferry_bounce_record_take(sa.s, sa.len, &pos, &r) == 1 && r.kind == 'S' && !strcmp(r.rcpt, "c@d"), "the second") ;
    CHECK(ferry_bounce_record_take(sa.s, sa.len, &pos, &r) == 0, "then the end") ;
    full = sa.len ;
    for (size_t cut = 1 ; cut < full - 1 ; cut++)
    {
      /* the second record cut anywhere: the first still reads, then -1 */
      size_t p = 0 ;
      int first = ferry_bounce_record_take(sa.s, cut, &p, &r) ;
      size_t firstlen = 26 + strlen("bob@example.net") + 1 + strlen("5.1.1 gone") + 1 ;
      if (cut < firstlen) CHECK(first == -1 && p == 0, "cut at %zu: refused", cut) ;
      else if (cut > firstlen) CHECK(first == 1 && ferry_bounce_record_take(sa.s, cut, &p, &r) == -1, "cut at %zu: the first, then refused", cut) ;
    }
    sa.s[0] = 'Q' ;
    pos = 0 ;
    CHECK(ferry_bounce_record_take(sa.s, sa.len, &pos, &r) == -1, "an unknown kind") ;
    stralloc_free(&sa) ;
  }

  /* what the texts say */
  diag("host mx.example.net[192.0.2.1]:25 said: 550 5.1.1 no such user (in reply to RCPT TO:<a@b>)", 'D', "5.1.1", "mx.example.net", "550 5.1.1 no such user") ;
  diag("host mx.example.net[192.0.2.1]:25 said: 554 transaction failed (in reply to end of data)", 'D', "5.0.0", "mx.example.net", "554 transaction failed") ;
  diag("5.1.1 no mailbox here by that name: x@y", 'D', "5.1.1", 0, 0) ;
  diag("4.4.7 message expired: queued longer than control/queuelifetime; last error: host mx[192.0.2.1]:25 said: 451 4.3.0 try later (in reply to MAIL FROM)", 'D', "4.4.7", "mx", "451 4.3.0 try later") ;
  diag("the program said: no", 'D', "5.0.0", 0, 0) ;
  diag("2.0.0 looks odd for a failure", 'D', "5.0.0", 0, 0) ;
  diag("host mx[192.0.2.1]:25 said: 250 2.0.0 ok queued (in reply to end of data)", 'S', "2.0.0", "mx", "250 2.0.0 ok queued") ;
  diag("delivered: Maildir /x/new/1", 'S', "2.0.0", 0, 0) ;
  diag("connection refused", 'Z', "4.0.0", 0, 0) ;
  /* ferry's own suffix is the last one: a peer that says "(in reply to" keeps its words */
  diag("host mx[192.0.2.1]:25 said: 450 4.2.1 busy (in reply to you) (in reply to RCPT TO:<a@b>)", 'Z', "4.2.1", "mx", "450 4.2.1 busy (in reply to you)") ;

  /* the composed report: types for SMTPUTF8, 8-bit content marked, headers only when asked */
  {
    static char const mess[] = "Subject: caf\xc3\xa9\n\nbody \xc3\xa9\n" ;
    bounce_rcpt r = { .kind = 'D', .channel = 'R', .when = 0, .addr = "j\xc3\xb6rg@example.net", .text = "host mx[192.0.2.1]:25 said: 550 5.1.1 no (in reply to RCPT TO)", .orcpt = 0 } ;
    bounce_report b = { .kind = 'D', .id = 7, .birth = 1, .now = 2, .me = "me.example", .from = "MAILER-DAEMON@me.example", .to = "a@b.example",
                        .sender = "a@b.example", .utf8 = 1, .mess = mess, .messlen = sizeof(mess) - 1, .rcpts = &r, .n = 1 } ;
    stralloc sa = STRALLOC_ZERO ;
    int eight = 0 ;
    CHECK(bounce_report_compose(&sa, &b, &eight) && stralloc_0(&sa), "composed") ;
    CHECK(eight == 1, "8-bit content is reported") ;
    CHECK(strstr(sa.s, "Content-Type: message/global-delivery-status\n") && strstr(sa.s, "Content-Type: message/global\nContent-Transfer-Encoding: 8bit\n"),
          "SMTPUTF8: the global types, and 8bit marked: %s", sa.s) ;
    CHECK(strstr(sa.s, "Final-Recipient: utf-8; j\xc3\xb6rg@example.net\n") != 0, "a UTF-8 address is typed utf-8") ;
    CHECK(strstr(sa.s, "Remote-MTA: dns; mx\n") && strstr(sa.s, "Diagnostic-Code: smtp; 550 5.1.1 no\n") && strstr(sa.s, "Status: 5.1.1\n"), "the remote fields") ;
    sa.len = 0 ;
    b.utf8 = 0 ;
    b.headersonly = 1 ;
    CHECK(bounce_report_compose(&sa, &b, &eight) && stralloc_0(&sa), "composed again") ;
    CHECK(strstr(sa.s, "Content-Type: text/rfc822-headers\n") && !strstr(sa.s, "body "), "headers only: %s", sa.s) ;
    CHECK(strstr(sa.s, "Final-Recipient: utf-8; j\xc3\xb6rg@example.net\n") && strstr(sa.s, "Content-Type: message/global-delivery-status\n")
       && strstr(sa.s, "<j\xc3\xb6rg@example.net>: host mx") && strstr(sa.s, "charset=utf-8\nContent-Transfer-Encoding: 8bit\n"),
          "without SMTPUTF8, a UTF-8 recipient is still typed utf-8, intact, in the global status part: %s", sa.s) ;
    CHECK(eight == 1, "and the notification is 8-bit") ;
    /* an ASCII recipient whose ORCPT was a UTF-8 address, in RFC 6533's \x{HEX} form */
    r.addr = "jorg@example.net" ;
    r.orcpt = "utf-8;j\\x{F6}rg@example.net" ;
    sa.len = 0 ;
    CHECK(bounce_report_compose(&sa, &b, &eight) && stralloc_0(&sa), "composed with an ORCPT") ;
    CHECK(strstr(sa.s, "Final-Recipient: rfc822; jorg@example.net\nOriginal-Recipient: utf-8; j\xc3\xb6rg@example.net\n")
       && strstr(sa.s, "Content-Type: message/global-delivery-status\n"), "a utf-8 ORCPT: Original-Recipient typed utf-8, decoded: %s", sa.s) ;
    /* ASCII only: the plain types, no 8-bit */
    r.orcpt = "rfc822;jorg@example.net" ;
    sa.len = 0 ;
    CHECK(bounce_report_compose(&sa, &b, &eight) && stralloc_0(&sa), "composed, ASCII") ;
    CHECK(strstr(sa.s, "Content-Type: message/delivery-status\n") && strstr(sa.s, "Original-Recipient: rfc822; jorg@example.net\n")
       && strstr(sa.s, "charset=us-ascii\n"), "ASCII addresses: message/delivery-status: %s", sa.s) ;
    stralloc_free(&sa) ;
  }

  /* deferral records: a batch's indexes as ranges; a record of another kind is refused */
  {
    stralloc sa = STRALLOC_ZERO ;
    uint32_t idx[] = { 7, 3, 4, 5, 10, 0x10000 } ;
    ferry_bounce_record old = { .kind = 'Z', .channel = 'L', .index = 9, .when = 5, .rcpt = "a@b", .text = "old" } ;
    ferry_defer_record d ;
    uint32_t f, l ;
    size_t pos = 0, cut ;
    CHECK(ferry_defer_record_cat(&sa, 'R', 1795413789, idx, 6, "4.4.1 refused") && ferry_bounce_record_cat(&sa, &old), "written") ;
    CHECK(ferry_defer_record_take(sa.s, sa.len, &pos, &d) == 1 && d.channel == 'R' && d.when == 1795413789 && d.nranges == 4
       && !strcmp(d.text, "4.4.1 refused"), "a batch: 4 ranges, its text") ;
    ferry_defer_record_range(&d, 0, &f, &l) ; CHECK(f == 3 && l == 5, "3-5") ;
    ferry_defer_record_range(&d, 1, &f, &l) ; CHECK(f == 7 && l == 7, "7") ;
    ferry_defer_record_range(&d, 3, &f, &l) ; CHECK(f == 0x10000 && l == 0x10000, "65536") ;
    {
      size_t z = pos ;
      CHECK(ferry_defer_record_take(sa.s, sa.len, &pos, &d) == -1 && pos == z, "a Z record (a bounce record's kind) is refused") ;
    }
    sa.len = pos ;
    CHECK(ferry_defer_record_take(sa.s, sa.len, &pos, &d) == 0, "the end") ;
    for (cut = 1 ; cut < 26 + 64 + 1 + 13 ; cut++)
    {
      size_t p = 0 ;
      CHECK(ferry_defer_record_take(sa.s, cut, &p, &d) == -1 && !p, "cut at %zu: refused", cut) ;
    }
    stralloc_free(&sa) ;
  }

  /* the header section */
  CHECK(bounce_header_len("A: b\nC: d\n\nbody\n", 16) == 11, "LF") ;
  CHECK(bounce_header_len("A: b\r\n\r\nbody", 12) == 8, "CRLF") ;
  CHECK(bounce_header_len("A: b\nC: d\n", 10) == 10, "no body: all of it") ;
  return UNIT_END() ;
}
