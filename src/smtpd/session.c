/* ferry-smtpd's session: the state machine of RFC 5321 and its extensions, one command at a time,
   replies grouped for pipelining (RFC 2920: written when no more input is waiting). */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/envelope.h>

#include "auth.h"
#include "smtpd.h"

void smtpd_log (char const *text)
{
  buffer_puts(buffer_2, "ferry-smtpd: info: ") ;
  buffer_puts(buffer_2, text) ;
  buffer_putflush(buffer_2, "\n", 1) ;
}

int smtpd_client_cat (smtpd_session const *s, stralloc *sa)
{
  char const *host = s->cfg->remotehost && *s->cfg->remotehost ? s->cfg->remotehost : "unknown" ;
  return smtpd_received_clean(sa, host, 100) && stralloc_cats(sa, "[")
      && smtpd_received_clean(sa, s->cfg->remoteip && *s->cfg->remoteip ? s->cfg->remoteip : "unknown", 64)
      && stralloc_cats(sa, "]") ;
}

void smtpd_session_init (smtpd_session *s, smtpd_config const *cfg, int fdin, int fdout, tain const *end)
{
  static smtpd_session const zero ;
  smtpd_rcpt r = SMTPD_RCPT_ZERO ;
  *s = zero ;
  s->cfg = cfg ;
  s->rcpt = r ;
  s->ended = "the client closed the connection" ;
  smtpd_io_init(&s->io, fdin, fdout, cfg->timeout, end) ;
}

void smtpd_session_free (smtpd_session *s)
{
  static smtpd_session const zero ;
  stralloc_free(&s->line) ;
  stralloc_free(&s->helo) ;
  stralloc_free(&s->sender) ;
  stralloc_free(&s->env) ;
  stralloc_free(&s->rcpts) ;
  stralloc_free(&s->msg) ;
  stralloc_free(&s->scratch) ;
  stralloc_free(&s->io.out) ;
  stralloc_free(&s->rcpt.relaydomains) ;
  ferry_local_ctx_free(&s->rcpt.local) ;
  /* the buffered input, the counters, HELO, relaying, AUTH and TLS flags: all gone */
  *s = zero ;
}

void smtpd_session_reply (smtpd_session *s, char const *text)
{
  if (text[0] == '5') s->errors++ ;
  if (!smtpd_io_puts(&s->io, text) || !smtpd_io_put(&s->io, "\r\n", 2)) s->quit = 1 ;
}

 /* a reply made of pieces */
static void reply3 (smtpd_session *s, char const *a, char const *b, char const *c)
{
  s->scratch.len = 0 ;
  if (!stralloc_cats(&s->scratch, a) || !stralloc_cats(&s->scratch, b) || !stralloc_cats(&s->scratch, c) || !stralloc_0(&s->scratch))
  {
    smtpd_session_reply(s, "421 4.3.0 out of memory") ;
    s->quit = 1 ;
    s->ended = "out of memory" ;
    return ;
  }
  smtpd_session_reply(s, s->scratch.s) ;
}

char const *smtpd_protocol (smtpd_session const *s)
{
  if (s->greeted != 2 && !s->tls && !s->authenticated) return "SMTP" ;
  return s->tls ? (s->authenticated ? "ESMTPSA" : "ESMTPS") : (s->authenticated ? "ESMTPA" : "ESMTP") ;
}

void smtpd_session_reset (smtpd_session *s)
{
  s->inmail = 0 ;
  s->utf8 = 0 ;
  s->sender.len = 0 ;
  s->env.len = 0 ;
  s->rcpts.len = 0 ;
  s->nrcpts = 0 ;
  s->bdat = 0 ;
  s->bdatfail = 0 ;
  s->toobig = 0 ;
  /* a large message's memory goes back at once, not at the next one */
  stralloc_free(&s->msg) ;
}

void smtpd_session_restart (smtpd_session *s)
{
  smtpd_session_reset(s) ;
  s->greeted = 0 ;
  s->helo.len = 0 ;
  smtpd_io_discard(&s->io) ;
}

int smtpd_ehlo_caps (smtpd_session const *s, stralloc *sa)
{
  char fmt[UINT64_FMT] ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, "PIPELINING") || !stralloc_0(sa)) return 0 ;
  if (!stralloc_cats(sa, "SIZE")) return 0 ;
  if (s->cfg->databytes && (!stralloc_cats(sa, " ") || !stralloc_catb(sa, fmt, uint64_fmt(fmt, s->cfg->databytes)))) return 0 ;
  if (!stralloc_0(sa)) return 0 ;
  {
    static char const fixed[] = "8BITMIME\0SMTPUTF8\0DSN\0ENHANCEDSTATUSCODES\0CHUNKING" ;
    if (!stralloc_catb(sa, fixed, sizeof(fixed))) return 0 ;
  }
  if (s->starttls && !s->tls && !stralloc_catb(sa, "STARTTLS", 9)) return 0 ;
  if (s->auth && s->authmechs && (!stralloc_cats(sa, "AUTH ") || !stralloc_cats(sa, s->authmechs) || !stralloc_0(sa))) return 0 ;
  return 1 ;
}

static void hello (smtpd_session *s, smtpd_command const *c, int ehlo)
{
  if (!c->arglen) { smtpd_session_reply(s, ehlo ? "501 5.5.4 syntax: EHLO domain" : "501 5.5.4 syntax: HELO domain") ; return ; }
  smtpd_session_reset(s) ;
  s->helo.len = 0 ;
  if (!stralloc_catb(&s->helo, c->arg, c->arglen > 255 ? 255 : c->arglen) || !stralloc_0(&s->helo)) { reply3(s, "421 4.3.0 out of memory", "", "") ; s->quit = 1 ; return ; }
  s->greeted = ehlo ? 2 : 1 ;
  if (!ehlo) { reply3(s, "250 ", s->cfg->me, "") ; return ; }
  {
    stralloc caps = STRALLOC_ZERO ;
    size_t i = 0 ;
    s->scratch.len = 0 ;
    if (!stralloc_cats(&s->scratch, "250-") || !stralloc_cats(&s->scratch, s->cfg->me) || !stralloc_cats(&s->scratch, " greets ")
     || !smtpd_received_clean(&s->scratch, s->helo.s, 255) || !stralloc_0(&s->scratch) || !smtpd_ehlo_caps(s, &caps))
    {
      stralloc_free(&caps) ;
      reply3(s, "421 4.3.0 out of memory", "", "") ;
      s->quit = 1 ;
      return ;
    }
    smtpd_session_reply(s, s->scratch.s) ;
    while (i < caps.len)
    {
      size_t n = strlen(caps.s + i) ;
      reply3(s, i + n + 1 < caps.len ? "250-" : "250 ", caps.s + i, "") ;
      i += n + 1 ;
    }
    stralloc_free(&caps) ;
  }
}

 /* The parameters of MAIL (level 'F') or RCPT ('T') after pos, as X records into x. 0, or the
    reply that refuses them. */
static char const *params (smtpd_session *s, char const *arg, size_t len, size_t pos, char level, stralloc *x)
{
  unsigned int seen = 0 ;
  smtpd_param p ;
  int r ;
  x->len = 0 ;
  while ((r = smtpd_param_next(arg, len, &pos, &p)) == 1)
  {
    unsigned int bit ;
    if (s->greeted != 2) return "555 5.5.4 parameters need EHLO" ;
    if (level == 'F' && p.keylen == 4 && !strncasecmp(p.key, "SIZE", 4))
    {
      uint64_t size ;
      char tmp[21] ;
      if (seen & 0x100) return "501 5.5.4 SIZE given twice" ;
      seen |= 0x100 ;
      if (!p.value || p.valuelen > 20) return "501 5.5.4 syntax: SIZE=octets" ;
      memcpy(tmp, p.value, p.valuelen) ; tmp[p.valuelen] = 0 ;
      if (!uint640_scan(tmp, &size)) return "501 5.5.4 syntax: SIZE=octets" ;
      if (s->cfg->databytes && size > s->cfg->databytes) return "552 5.3.4 message size exceeds the limit of this server" ;
      continue ;
    }
    if (level == 'F' && p.keylen == 4 && !strncasecmp(p.key, "AUTH", 4))
    {
      /* RFC 4954 5: the authenticated sender is for trusted relays; ferry records none */
      if (seen & 0x200) return "501 5.5.4 AUTH given twice" ;
      seen |= 0x200 ;
      if (!p.value) return "501 5.5.4 syntax: AUTH=mailbox" ;
      continue ;
    }
    if (level == 'F' && p.keylen == 4 && !strncasecmp(p.key, "BODY", 4) && p.value && p.valuelen == 10 && !strncasecmp(p.value, "BINARYMIME", 10))
      return "555 5.5.4 BODY=BINARYMIME is not offered" ;
    if (level == 'F' && p.keylen == 10 && !strncasecmp(p.key, "REQUIRETLS", 10))
      return "555 5.5.4 REQUIRETLS is not offered" ;
    {
      size_t n = p.keylen + (p.value ? p.valuelen + 1 : 0) ;
      bit = ferry_dsn_check(p.key, n, level) ;
    }
    if (!bit)
    {
      size_t k = 0 ;
      static char const *const known[] = { "BODY", "SMTPUTF8", "RET", "ENVID", "NOTIFY", "ORCPT", 0 } ;
      for (; known[k] ; k++) if (p.keylen == strlen(known[k]) && !strncasecmp(p.key, known[k], p.keylen)) break ;
      return known[k] ? "501 5.5.4 bad parameter value" : "555 5.5.4 unknown parameter" ;
    }
    if (seen & bit) return "501 5.5.4 a parameter given twice" ;
    seen |= bit ;
    if (level == 'F' && p.keylen == 8 && !strncasecmp(p.key, "SMTPUTF8", 8)) s->utf8 = 1 ;
    if (!stralloc_catb(x, "X", 1) || !stralloc_catb(x, p.key, p.keylen + (p.value ? p.valuelen + 1 : 0)) || !stralloc_0(x))
      return "451 4.3.0 out of memory" ;
  }
  return r < 0 ? "501 5.5.4 bad parameter syntax" : 0 ;
}

static void mail (smtpd_session *s, smtpd_command const *c)
{
  size_t pos ;
  char const *why ;
  if (!s->greeted) { smtpd_session_reply(s, "503 5.5.1 send HELO or EHLO first") ; return ; }
  if (s->inmail) { smtpd_session_reply(s, "503 5.5.1 a transaction is open: RSET first") ; return ; }
  why = smtpd_path_parse(c->arg, c->arglen, "FROM:", &s->sender, &pos) ;
  if (why) { smtpd_session_reply(s, why) ; return ; }
  s->utf8 = 0 ;
  why = params(s, c->arg, c->arglen, pos, 'F', &s->scratch) ;
  if (why) { s->utf8 = 0 ; smtpd_session_reply(s, why) ; return ; }
  if (!s->utf8 && !smtpd_ascii(s->sender.s, s->sender.len)) { smtpd_session_reply(s, "553 5.6.7 a non-ASCII address needs SMTPUTF8") ; return ; }
  if (s->sender.len && byte_chr(s->sender.s, s->sender.len, '@') == s->sender.len) { smtpd_session_reply(s, "553 5.1.7 the sender address needs a domain") ; return ; }
  s->env.len = 0 ;
  if (!stralloc_catb(&s->env, "F", 1) || !stralloc_catb(&s->env, s->sender.s, s->sender.len) || !stralloc_0(&s->env)
   || !stralloc_catb(&s->env, s->scratch.s, s->scratch.len) || !stralloc_0(&s->sender))
  {
    smtpd_session_reply(s, "451 4.3.0 out of memory") ;
    return ;
  }
  s->sender.len-- ;
  s->inmail = 1 ;
  smtpd_session_reply(s, "250 2.1.0 sender ok") ;
}

static void rcpt (smtpd_session *s, smtpd_command const *c)
{
  stralloc addr = STRALLOC_ZERO, x = STRALLOC_ZERO, reply = STRALLOC_ZERO, why = STRALLOC_ZERO ;
  size_t pos ;
  char const *err ;
  char st ;
  if (!s->inmail) { smtpd_session_reply(s, "503 5.5.1 send MAIL first") ; return ; }
  if (s->bdat) { smtpd_session_reply(s, "503 5.5.1 RCPT after BDAT") ; return ; }
  err = smtpd_path_parse(c->arg, c->arglen, "TO:", &addr, &pos) ;
  if (!err && !addr.len) err = "501 5.1.3 a recipient cannot be empty" ;
  if (!err && byte_chr(addr.s, addr.len, '@') == addr.len && !(addr.len == 10 && !strncasecmp(addr.s, "postmaster", 10)))
    err = "501 5.1.3 a recipient needs a domain" ;
  if (!err) err = params(s, c->arg, c->arglen, pos, 'T', &x) ;
  if (!err && !s->utf8 && !smtpd_ascii(addr.s, addr.len)) err = "553 5.6.7 a non-ASCII address needs SMTPUTF8" ;
  if (!err && s->nrcpts >= s->cfg->maxrcpts) err = "452 4.5.3 too many recipients" ;
  /* qmail-smtpd's RELAYCLIENT: its value appended to every recipient */
  if (!err && s->rcpt.relayclient && !stralloc_cats(&addr, s->rcpt.relayclient)) err = "451 4.3.0 out of memory" ;
  if (!err && !stralloc_0(&addr)) err = "451 4.3.0 out of memory" ;
  if (err) { smtpd_session_reply(s, err) ; goto end ; }
  st = smtpd_rcpt_check(&s->rcpt, addr.s, &reply, &why) ;
  if (st == 'K')
  {
    if (!stralloc_catb(&s->env, "T", 1) || !stralloc_catb(&s->env, addr.s, addr.len) || !stralloc_catb(&s->env, x.s, x.len)
     || !stralloc_catb(&s->rcpts, addr.s, addr.len))
    {
      smtpd_session_reply(s, "451 4.3.0 out of memory") ;
      goto end ;
    }
    s->nrcpts++ ;
    smtpd_session_reply(s, "250 2.1.5 recipient ok") ;
    goto end ;
  }
  s->scratch.len = 0 ;
  if (st == 'Z' ? stralloc_cats(&s->scratch, "unable to check a recipient for ") : stralloc_cats(&s->scratch, "refused a recipient for "))
  {
    smtpd_client_cat(s, &s->scratch) ;
    stralloc_cats(&s->scratch, ": <") ;
    smtpd_received_clean(&s->scratch, addr.s, 256) ;
    stralloc_cats(&s->scratch, ">: ") ;
    stralloc_cats(&s->scratch, st == 'Z' && why.len ? why.s : reply.s) ;
    if (stralloc_0(&s->scratch)) smtpd_log(s->scratch.s) ;
  }
  smtpd_session_reply(s, reply.len ? reply.s : "451 4.3.0 out of memory") ;
 end:
  stralloc_free(&addr) ; stralloc_free(&x) ; stralloc_free(&reply) ; stralloc_free(&why) ;
}

 /* One command; its replies buffered. */
static void dispatch (smtpd_session *s, smtpd_command const *c)
{
  switch (c->verb)
  {
    case SMTPD_EHLO : hello(s, c, 1) ; return ;
    case SMTPD_HELO : hello(s, c, 0) ; return ;
    case SMTPD_MAIL : mail(s, c) ; return ;
    case SMTPD_RCPT : rcpt(s, c) ; return ;
    case SMTPD_DATA : if (!smtpd_message_data(s, c)) s->quit = 1 ; return ;
    case SMTPD_BDAT : if (!smtpd_message_bdat(s, c)) s->quit = 1 ; return ;
    case SMTPD_RSET :
      if (c->arglen) { smtpd_session_reply(s, "501 5.5.4 syntax: RSET") ; return ; }
      smtpd_session_reset(s) ;
      smtpd_session_reply(s, "250 2.0.0 ok") ;
      return ;
    case SMTPD_NOOP : smtpd_session_reply(s, "250 2.0.0 ok") ; return ;
    case SMTPD_QUIT :
      reply3(s, "221 2.0.0 ", s->cfg->me, " closing connection") ;
      s->quit = 1 ;
      s->ended = "QUIT" ;
      return ;
    case SMTPD_VRFY :
      if (!c->arglen) { smtpd_session_reply(s, "501 5.5.4 syntax: VRFY address") ; return ; }
      smtpd_session_reply(s, "252 2.5.0 cannot verify, but will take mail for local recipients that exist") ;
      return ;
    case SMTPD_EXPN : smtpd_session_reply(s, "502 5.5.1 EXPN is not offered") ; return ;
    case SMTPD_HELP :
      smtpd_session_reply(s, "214-2.0.0 commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP") ;
      smtpd_session_reply(s, "214 2.0.0 see RFC 5321") ;
      return ;
    case SMTPD_STARTTLS :
      if (s->starttls && !s->tls) { if (!(*s->starttls)(s, c)) s->quit = 1 ; return ; }
      smtpd_session_reply(s, s->tls ? "503 5.5.1 TLS is already active" : "502 5.5.1 STARTTLS is not offered") ;
      return ;
    case SMTPD_AUTH :
      /* the hook answers when AUTH is not offered now too: 538 before TLS (RFC 4954 4) */
      if (s->auth) { if (!(*s->auth)(s, c)) s->quit = 1 ; return ; }
      smtpd_session_reply(s, "502 5.5.1 AUTH is not offered") ;
      return ;
    default : smtpd_session_reply(s, "500 5.5.2 unknown command") ; return ;
  }
}

void smtpd_session_run (smtpd_session *s)
{
  reply3(s, "220 ", s->cfg->me, " ESMTP ferry-smtpd") ;
  while (!s->quit)
  {
    int r ;
    /* pipelining: the replies go out when the client has sent all it had */
    if (!smtpd_io_buffered(&s->io) && !smtpd_io_flush(&s->io))
    {
      s->ended = s->io.timedout ? "timeout writing to the client" : "the client closed the connection" ;
      return ;
    }
    /* while AUTH is offered, lines are read up to its bound (RFC 4954 4: 12288 octets), and
       only AUTH may be longer than a command line */
    r = smtpd_io_getline(&s->io, &s->line, s->authmechs ? SMTPD_AUTH_LINE_MAX + 2 : SMTPD_LINE_MAX) ;
    if (!r) { s->ended = "the client closed the connection" ; break ; }
    if (r < 0)
    {
      if (s->io.timedout)
      {
        s->ended = "timeout" ;
        reply3(s, "421 4.4.2 ", s->cfg->me, " timeout: closing connection") ;
      }
      else s->ended = "read error" ;
      break ;
    }
    s->commands++ ;
    /* a bound on what a client sends without giving mail: a sender that keeps its connection
       for message after message (a relay's connection cache) is never cut off */
    if (++s->unqueued > s->cfg->maxcommands)
    {
      s->ended = "too many commands" ;
      reply3(s, "421 4.7.0 ", s->cfg->me, " too many commands: closing connection") ;
      break ;
    }
    if (r == 2) smtpd_session_reply(s, "500 5.5.2 line too long") ;
    else if (byte_chr(s->line.s, s->line.len, 0) < s->line.len) smtpd_session_reply(s, "500 5.5.2 a NUL byte in a command") ;
    else
    {
      smtpd_command c ;
      smtpd_command_parse(s->line.s, s->line.len, &c) ;
      if (s->line.len + 2 > SMTPD_LINE_MAX && c.verb != SMTPD_AUTH) smtpd_session_reply(s, "500 5.5.2 line too long") ;
      else dispatch(s, &c) ;
    }
    if (!s->quit && s->errors >= s->cfg->maxerrors)
    {
      s->ended = "too many errors" ;
      reply3(s, "421 4.7.0 ", s->cfg->me, " too many errors: closing connection") ;
      break ;
    }
  }
  smtpd_io_flush(&s->io) ;
}
