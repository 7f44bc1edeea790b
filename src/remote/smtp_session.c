/* The SMTP client session as one state machine (smtp_session.h): greeting, EHLO or HELO, the
   transactions and their replies, the end of data, idle. No I/O here. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include "smtp_session.h"

static void nomem (void)
{
  strerr_diefu1sys(111, "allocate memory") ;
}

static void out_cat (stralloc *out, char const *s, size_t n)
{
  if (!stralloc_catb(out, s, n)) nomem() ;
}

static void out_cats (stralloc *out, char const *s)
{
  out_cat(out, s, strlen(s)) ;
}

void smtp_txn_set (smtp_txn *t, unsigned int i, char status, char const *s, size_t n)
{
  t->st[i] = status ;
  t->text[i].len = 0 ;
  if (!stralloc_catb(&t->text[i], &status, 1) || !stralloc_catb(&t->text[i], s, n > SMTP_TEXT_MAX ? SMTP_TEXT_MAX : n)) nomem() ;
}

void smtp_txn_all (smtp_txn *t, char status, char const *s, size_t n)
{
  unsigned int i ;
  for (i = 0 ; i < t->nrcpt ; i++) if (!t->st[i] || t->st[i] == 'A') smtp_txn_set(t, i, status, s, n) ;
}

void smtp_session_connect (smtp_session *s, char const *host)
{
  s->state = SMTP_CONNECTING ;
  s->reused = 0 ;
  s->hasdeliv = 1 ;
  s->pipelining = s->eightbitmime = s->smtputf8 = s->hassize = s->requiretls_offered = 0 ;
  s->sizemax = 0 ;
  s->tlswant = SMTP_TLS_NO ;
  s->implicit = 0 ;
  s->policy = "control/tlspolicy: none" ;
  s->starttls = s->authplain = s->authlogin = 0 ;
  s->tls = s->tlsverified = s->hascreds = s->authed = s->tlsmissing = s->rtlsrefused = 0 ;
  s->credhost[0] = 0 ;
  s->authstep = 0 ;
  s->tlsdesc[0] = 0 ;
  strncpy(s->host, host, sizeof(s->host) - 1) ;
  s->host[sizeof(s->host) - 1] = 0 ;
}

static enum smtp_action fail (smtp_session *s, char const *why, char const *more)
{
  s->why = why ;
  s->whymore = more ;
  return SMTP_FAIL ;
}

static enum smtp_action done (smtp_session *s)
{
  s->state = SMTP_IDLE ;
  s->reused = 1 ;
  s->hasdeliv = 0 ;
  return SMTP_DONE ;
}

static char code_status (unsigned int code)
{
  return code < 300 ? 'K' : code < 500 ? 'Z' : 'D' ;
}

 /* A refusal: D when permanent; when temporary, H (the destination's failure, doc/protocols.html)
    for a refused MAIL or a 421 at any stage, else Z (this recipient's or this message's). */
static char refusal_status (unsigned int code, int atmail)
{
  if (code_status(code) == 'D') return 'D' ;
  return atmail || code == 421 ? 'H' : 'Z' ;
}

static void reply_text (smtp_session const *s, smtp_reply const *r, stralloc *sa, char const *inreplyto)
{
  sa->len = 0 ;
  if (!stralloc_cats(sa, "host ") || !stralloc_cats(sa, s->host) || !stralloc_cats(sa, s->tlsdesc) || !stralloc_cats(sa, " said: ")
   || !smtp_reply_oneline(r, sa, 600)
   || (inreplyto && (!stralloc_cats(sa, " (in reply to ") || !stralloc_cats(sa, inreplyto) || !stralloc_cats(sa, ")"))))
    nomem() ;
}

static void rcpt_reply_text (smtp_session const *s, smtp_reply const *r, stralloc *sa, char const *rcpt)
{
  stralloc cmd = STRALLOC_ZERO ;
  if (!stralloc_cats(&cmd, "RCPT TO:<") || !stralloc_cats(&cmd, rcpt) || !stralloc_cats(&cmd, ">") || !stralloc_0(&cmd)) nomem() ;
  reply_text(s, r, sa, cmd.s) ;
  stralloc_free(&cmd) ;
}

 /* A refusal of RCPT that says the transaction has all the recipients the host takes (RFC 5321
    4.5.3.1.10: 452, or 4.5.3): that recipient and those not sent yet go in the next transaction. */
static int too_many (smtp_reply const *r)
{
  char const *t = r->text.s ;
  size_t n = r->text.len ;
  int enhanced = n >= 9 && t[4] >= '2' && t[4] <= '5' && t[5] == '.' ;
  /* 4.5.3 says it; a bare 452 may mean it (RFC 5321 4.5.3.1.10). A 452 with another
     enhanced code (4.2.2 mailbox full, 4.3.1 out of storage) is that recipient's own failure */
  if (enhanced) return r->code / 100 == 4 && !memcmp(t + 4, "4.5.3", 5) && (n == 9 || t[9] == ' ') ;
  return r->code == 452 ;
}

static void ehlo_parse (smtp_session *s, smtp_reply const *r)
{
  char const *p ;
  size_t pl ;
  s->pipelining = smtp_ehlo_has(r, "PIPELINING", 0, 0) ;
  s->eightbitmime = smtp_ehlo_has(r, "8BITMIME", 0, 0) ;
  s->smtputf8 = smtp_ehlo_has(r, "SMTPUTF8", 0, 0) ;
  s->requiretls_offered = smtp_ehlo_has(r, "REQUIRETLS", 0, 0) ;
  s->starttls = smtp_ehlo_has(r, "STARTTLS", 0, 0) ;
  s->authplain = s->authlogin = 0 ;
  if (smtp_ehlo_has(r, "AUTH", &p, &pl))
  {
    s->authplain = smtp_auth_offers(p, pl, "PLAIN") ;
    s->authlogin = smtp_auth_offers(p, pl, "LOGIN") ;
  }
  s->hassize = smtp_ehlo_has(r, "SIZE", &p, &pl) ;
  s->sizemax = 0 ;
  if (s->hassize && pl && pl < 24)
  {
    char buf[24] ;
    uint64_t u = 0 ;
    memcpy(buf, p, pl) ; buf[pl] = 0 ;
    if (uint640_scan(buf, &u) == pl) s->sizemax = u ;
  }
}

static enum smtp_action hello (smtp_session *s, char const *verb, enum smtp_state next, stralloc const *helo, stralloc *out)
{
  out_cats(out, verb) ;
  out_cat(out, helo->s, helo->len) ;
  out_cat(out, "\r\n", 2) ;
  s->state = next ;
  return SMTP_WAIT ;
}

 /* A message that asks for REQUIRETLS and a connection that does not meet it: every open
    recipient fails (RFC 8689's 5.7.30), the connection stays for other messages. */
static enum smtp_action requiretls_refuse (smtp_session *s, char const *why)
{
  /* this host fails the delivery (RFC 8689 4.2.1): the next may qualify; the channel returns the
     message (5.7.30) when none did */
  s->rtlsrefused = 1 ;
  return fail(s, "REQUIRETLS support required: ", why) ;
}

 /* A transaction for the open recipients, if the host can take the message. */
static enum smtp_action transaction_check (smtp_session *s, smtp_txn *t)
{
  unsigned int i, open = 0 ;
  for (i = 0 ; i < t->nrcpt ; i++) if (!t->st[i]) open++ ;
  if (!open) return done(s) ;
  if (t->requiretls)
  {
    if (!s->tls) return requiretls_refuse(s, "the connection is not over TLS") ;
    if (!s->tlsverified) return requiretls_refuse(s, "its TLS is not verified by DANE, MTA-STS or control/tlspolicy verify or secure") ;
    if (!s->requiretls_offered) return requiretls_refuse(s, "the host does not offer REQUIRETLS") ;
  }
  if (s->hassize && s->sizemax && t->size > s->sizemax)
  {
    char a[UINT64_FMT], b[UINT64_FMT] ;
    a[uint64_fmt(a, t->size)] = 0 ; b[uint64_fmt(b, s->sizemax)] = 0 ;
    t->lasterr->len = 0 ;
    if (!stralloc_cats(t->lasterr, "5.3.4 the message (") || !stralloc_cats(t->lasterr, a)
     || !stralloc_cats(t->lasterr, " bytes) is larger than the host takes (SIZE ") || !stralloc_cats(t->lasterr, b)
     || !stralloc_cats(t->lasterr, ")")) nomem() ;
    smtp_txn_all(t, 'D', t->lasterr->s, t->lasterr->len) ;
    return done(s) ;
  }
  if (t->utf8 && !s->smtputf8)
  {
    static char const text[] = "5.6.7 an address needs SMTPUTF8, which the host does not offer" ;
    smtp_txn_all(t, 'D', text, sizeof(text) - 1) ;
    return done(s) ;
  }
  return SMTP_BEGIN ;
}

static enum smtp_action fail_text (smtp_session *s, char const *a, char const *b, char const *c)
{
  s->whybuf.len = 0 ;
  if (!stralloc_cats(&s->whybuf, a) || !stralloc_cats(&s->whybuf, b) || !stralloc_cats(&s->whybuf, c) || !stralloc_0(&s->whybuf)) nomem() ;
  return fail(s, s->whybuf.s, "") ;
}

 /* The greeting and EHLO (or HELO) are done: STARTTLS, AUTH or the transaction, as the policy
    asks and the host offers. Never plain text where TLS is required, never credentials outside TLS. */
static enum smtp_action after_hello (smtp_session *s, smtp_txn *t, stralloc *out)
{
  if (!s->tls)
  {
    if (s->starttls && s->tlswant != SMTP_TLS_NO)
    {
      out_cat(out, "STARTTLS\r\n", 10) ;
      s->state = SMTP_STARTTLS ;
      return SMTP_WAIT ;
    }
    s->tlsmissing = s->tlswant != SMTP_TLS_NO ;
    if (s->tlswant == SMTP_TLS_MUST)
      return fail_text(s, "TLS is required (", s->policy, ") but the host does not offer STARTTLS") ;
    if (s->hascreds)
      return fail_text(s, "credentials for ", s->credhost, s->starttls
        ? " (control/smtpauth) are sent only over TLS, and TLS with this host failed (it is contacted without TLS for control/tlsbrokentime seconds)"
        : " (control/smtpauth) are sent only over TLS, and the host does not offer STARTTLS") ;
  }
  else if (s->hascreds && !s->authed && (s->authplain || s->authlogin))
  {
    s->state = SMTP_AUTH ;
    s->authstep = 0 ;
    if (s->authplain)
    {
      out_cat(out, "AUTH PLAIN ", 11) ;
      out_cat(out, s->authplain64.s, s->authplain64.len) ;
      out_cat(out, "\r\n", 2) ;
      s->authstep = 2 ;
    }
    else out_cat(out, "AUTH LOGIN\r\n", 12) ;
    return SMTP_WAIT ;
  }
  return transaction_check(s, t) ;
}

 /* A reply to AUTH: 235 done, 334 the next LOGIN answer, anything else a failure of this host. */
static enum smtp_action auth_reply (smtp_session *s, smtp_reply const *r, smtp_txn *t, stralloc *out)
{
  if (r->code == 235) { s->authed = 1 ; return transaction_check(s, t) ; }
  if (r->code == 334 && s->authstep < 2)
  {
    stralloc const *answer = s->authstep ? &s->authpass64 : &s->authuser64 ;
    out_cat(out, answer->s, answer->len) ;
    out_cat(out, "\r\n", 2) ;
    s->authstep++ ;
    return SMTP_WAIT ;
  }
  s->whybuf.len = 0 ;
  if (!stralloc_cats(&s->whybuf, "authentication failed: ") || !smtp_reply_oneline(r, &s->whybuf, 400)
   || !stralloc_cats(&s->whybuf, " (in reply to AUTH; check control/smtpauth)") || !stralloc_0(&s->whybuf)) nomem() ;
  return fail(s, s->whybuf.s, "") ;
}

static void command_cat (smtp_session const *s, smtp_txn const *t, char kind, unsigned int rcpt, stralloc *out)
{
  switch (kind)
  {
    case 'R' : out_cat(out, "RSET\r\n", 6) ; break ;
    case 'M' :
    {
      char fmt[UINT64_FMT] ;
      out_cat(out, "MAIL FROM:<", 11) ;
      out_cats(out, t->sender) ;
      out_cat(out, ">", 1) ;
      if (s->hassize)
      {
        out_cat(out, " SIZE=", 6) ;
        out_cat(out, fmt, uint64_fmt(fmt, t->size)) ;
      }
      if (t->eightbit && s->eightbitmime) out_cat(out, " BODY=8BITMIME", 14) ;
      if (t->utf8 && s->smtputf8) out_cat(out, " SMTPUTF8", 9) ;
      if (t->requiretls && s->requiretls_offered) out_cat(out, " REQUIRETLS", 11) ;
      out_cat(out, "\r\n", 2) ;
      break ;
    }
    case 'T' :
      out_cat(out, "RCPT TO:<", 9) ;
      out_cats(out, t->rcpt[rcpt]) ;
      out_cat(out, ">\r\n", 3) ;
      break ;
    case 'D' : out_cat(out, "DATA\r\n", 6) ; break ;
  }
}

 /* With PIPELINING every command goes at once; without, one per reply. */
static enum smtp_action plan_send_next (smtp_session *s, smtp_txn const *t, stralloc *out)
{
  if (s->pipelining)
    while (s->sent < s->nplan) { command_cat(s, t, s->plan[s->sent], s->planrcpt[s->sent], out) ; s->sent++ ; }
  else if (s->sent < s->nplan && s->sent == s->replied)
  {
    command_cat(s, t, s->plan[s->sent], s->planrcpt[s->sent], out) ;
    s->sent++ ;
  }
  return SMTP_WAIT ;
}

static enum smtp_action transaction_begin (smtp_session *s, smtp_txn *t, stralloc *out)
{
  unsigned int i ;
  s->state = SMTP_TRANS ;
  s->nplan = s->sent = s->replied = 0 ;
  s->mailok = 0 ;
  s->accepted = 0 ;
  s->toomany = 0 ;
  out->len = 0 ;
  if (s->reused) s->plan[s->nplan++] = 'R' ;
  s->plan[s->nplan++] = 'M' ;
  for (i = 0 ; i < t->nrcpt ; i++) if (!t->st[i]) { s->planrcpt[s->nplan] = i ; s->plan[s->nplan++] = 'T' ; }
  s->plan[s->nplan++] = 'D' ;
  return plan_send_next(s, t, out) ;
}

static enum smtp_action transaction_end (smtp_session *s, smtp_txn *t)
{
  if (s->toomany && s->accepted)
  {
    /* the host took some and said no more: the rest in a new transaction, on this connection
       (a transaction without progress ends the delivery: its open recipients are Z) */
    s->reused = 1 ;
    return transaction_check(s, t) ;
  }
  return done(s) ;
}

 /* A reply in a transaction: to the command of the plan it answers. */
static enum smtp_action trans_reply (smtp_session *s, smtp_reply const *r, smtp_txn *t, stralloc *out)
{
  char kind = s->plan[s->replied] ;
  unsigned int rc = s->planrcpt[s->replied] ;
  unsigned int code = r->code ;
  stralloc *tx = &s->whybuf ;
  s->replied++ ;
  switch (kind)
  {
    case 'R' :
      if (code / 100 != 2) return fail(s, "RSET refused on a cached connection", "") ;
      break ;
    case 'M' :
      s->mailok = code / 100 == 2 ;
      if (!s->mailok)
      {
        reply_text(s, r, tx, "MAIL FROM") ;
        if (code == 530)
        {
          /* authentication required: this host's settings, never the message's fault */
          if (!stralloc_cats(tx, s->hascreds ? "; the host wants authentication, which it does not offer here (no AUTH PLAIN or LOGIN after STARTTLS)"
                                             : "; control/smtpauth has no credentials for this route")) nomem() ;
          smtp_txn_all(t, 'H', tx->s, tx->len) ;
        }
        else smtp_txn_all(t, refusal_status(code, 1), tx->s, tx->len) ;
        if (!s->pipelining) return transaction_end(s, t) ;
      }
      break ;
    case 'T' :
      if (!s->mailok) break ;
      if (code / 100 == 2) { t->st[rc] = 'A' ; s->accepted++ ; }
      else if (too_many(r))
      {
        /* left open for the next transaction; without pipelining no other RCPT goes out */
        rcpt_reply_text(s, r, t->lasterr, t->rcpt[rc]) ;
        s->toomany = 1 ;
        if (!s->pipelining && s->plan[s->nplan - 1] == 'D') { s->plan[s->sent] = 'D' ; s->nplan = s->sent + 1 ; }
      }
      else
      {
        rcpt_reply_text(s, r, tx, t->rcpt[rc]) ;
        smtp_txn_set(t, rc, refusal_status(code, 0), tx->s, tx->len) ;
      }
      if (!s->pipelining && s->replied == s->nplan - 1 && !s->accepted) return transaction_end(s, t) ;
      break ;
    case 'D' :
      if (code == 354)
      {
        if (s->mailok && s->accepted) { s->state = SMTP_DATA ; return SMTP_SEND_DATA ; }
        /* a 354 with nobody to deliver to (pipelined): end the empty data at once */
        out_cat(out, ".\r\n", 3) ;
        s->plan[s->nplan] = 'X' ; s->nplan++ ; s->sent++ ;
        break ;
      }
      if (s->mailok && s->accepted)
      {
        unsigned int i ;
        reply_text(s, r, tx, "DATA") ;
        /* those accepted; the ones left by a "too many" stay open */
        for (i = 0 ; i < t->nrcpt ; i++) if (t->st[i] == 'A' || (!t->st[i] && !s->toomany)) smtp_txn_set(t, i, refusal_status(code, 0), tx->s, tx->len) ;
      }
      return transaction_end(s, t) ;
    case '.' :
    {
      unsigned int i ;
      char st = code_status(code) == 'K' ? 'K' : refusal_status(code, 0) ;
      reply_text(s, r, tx, st == 'K' ? 0 : "end of data") ;
      for (i = 0 ; i < t->nrcpt ; i++) if (t->st[i] == 'A') smtp_txn_set(t, i, st, tx->s, tx->len) ;
      return transaction_end(s, t) ;
    }
    case 'X' :
      return transaction_end(s, t) ;
  }
  return plan_send_next(s, t, out) ;
}

static enum smtp_action on_reply (smtp_session *s, smtp_reply const *r, smtp_txn *t, stralloc const *helo, stralloc *out)
{
  unsigned int code = r->code ;
  switch (s->state)
  {
    case SMTP_GREETING :
      if (code / 100 != 2)
      {
        s->whybuf.len = 0 ;
        if (!smtp_reply_oneline(r, &s->whybuf, 400) || !stralloc_0(&s->whybuf)) nomem() ;
        return fail(s, "greeted with ", s->whybuf.s) ;
      }
      return hello(s, "EHLO ", SMTP_EHLO, helo, out) ;
    case SMTP_EHLO :
      if (code / 100 == 2) { ehlo_parse(s, r) ; return after_hello(s, t, out) ; }
      if (code / 100 == 5) return hello(s, "HELO ", SMTP_HELO, helo, out) ;
      return fail(s, "EHLO refused temporarily", "") ;
    case SMTP_HELO :
      if (code / 100 != 2) return fail(s, "HELO refused", "") ;
      s->pipelining = s->eightbitmime = s->smtputf8 = s->hassize = s->requiretls_offered = 0 ;
      s->starttls = s->authplain = s->authlogin = 0 ;
      return after_hello(s, t, out) ;
    case SMTP_STARTTLS :
      if (code == 220) { s->state = SMTP_HANDSHAKE ; return SMTP_TLS_START ; }
      if (s->tlswant == SMTP_TLS_MUST)
      {
        s->whybuf.len = 0 ;
        if (!stralloc_cats(&s->whybuf, "TLS is required (") || !stralloc_cats(&s->whybuf, s->policy)
         || !stralloc_cats(&s->whybuf, ") but the host refused STARTTLS: ") || !smtp_reply_oneline(r, &s->whybuf, 400) || !stralloc_0(&s->whybuf)) nomem() ;
        return fail(s, s->whybuf.s, "") ;
      }
      s->starttls = 0 ;
      return after_hello(s, t, out) ;
    case SMTP_AUTH :
      return auth_reply(s, r, t, out) ;
    case SMTP_TRANS :
      if (s->replied >= s->sent) return fail(s, "protocol error: ", "a reply nobody asked for") ;
      return trans_reply(s, r, t, out) ;
    case SMTP_DOT :
      return trans_reply(s, r, t, out) ;
    case SMTP_DATA :
    {
      /* the peer refuses while the message is still going out: its reply is the result */
      unsigned int i ;
      char st = refusal_status(code, 0) ;
      reply_text(s, r, &s->whybuf, "the message data") ;
      for (i = 0 ; i < t->nrcpt ; i++) if (t->st[i] == 'A') smtp_txn_set(t, i, st, s->whybuf.s, s->whybuf.len) ;
      s->state = SMTP_FREE ;
      s->hasdeliv = 0 ;
      return SMTP_DONE_CLOSE ;
    }
    default :
      /* 421 on an idle connection, or a reply nobody asked for: drop the connection */
      if (s->hasdeliv) return fail(s, "an unexpected reply", "") ;
      s->state = SMTP_FREE ;
      return SMTP_CLOSE ;
  }
}

enum smtp_action smtp_session_step (smtp_session *s, enum smtp_event ev, smtp_reply const *r, smtp_txn *t, stralloc const *helo, stralloc *out)
{
  switch (ev)
  {
    case SMTP_EV_CONNECTED :
      if (s->implicit) { s->state = SMTP_HANDSHAKE ; return SMTP_TLS_START ; }
      s->state = SMTP_GREETING ;
      return SMTP_WAIT ;
    case SMTP_EV_TLS_DONE :
      s->tls = 1 ;
      if (s->implicit) { s->state = SMTP_GREETING ; return SMTP_WAIT ; }
      /* RFC 3207: what the host said before TLS is forgotten; EHLO again */
      s->pipelining = s->eightbitmime = s->smtputf8 = s->hassize = s->requiretls_offered = 0 ;
      s->starttls = s->authplain = s->authlogin = 0 ;
      return hello(s, "EHLO ", SMTP_EHLO, helo, out) ;
    case SMTP_EV_REPLY : return on_reply(s, r, t, helo, out) ;
    case SMTP_EV_START :
      s->hasdeliv = 1 ;
      return transaction_check(s, t) ;
    case SMTP_EV_BEGIN : return transaction_begin(s, t, out) ;
    case SMTP_EV_CANCEL : return done(s) ;
    case SMTP_EV_DATA_SENT :
      s->state = SMTP_DOT ;
      s->plan[s->nplan] = '.' ; s->planrcpt[s->nplan] = 0 ;
      s->replied = s->nplan ; s->nplan++ ; s->sent = s->nplan ;
      return SMTP_WAIT ;
  }
  return SMTP_WAIT ;
}
