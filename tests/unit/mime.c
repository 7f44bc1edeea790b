/* Unit tests of the remote channel's 7-bit conversion (src/remote/mime_conv.c): what is
   converted, what is refused and why, and that the quoted-printable decodes to the original. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "remote/mime_conv.h"
#include "unit.h"

#define S(lit) lit, sizeof(lit) - 1

 /* look, verdict, and (when it converts) the conversion fed in pieces of k bytes */
static int run (char const *s, size_t n, int to7bit, size_t k, stralloc *out, char const **why)
{
  mime_look look = MIME_LOOK_ZERO ;
  mime_conv m = MIME_CONV_ZERO ;
  stralloc none = STRALLOC_ZERO ;
  size_t i ;
  int v ;
  *why = 0 ;
  out->len = 0 ;
  mime_look_start(&m, &look) ;
  for (i = 0 ; i < n ; i += k) mime_conv_feed(&m, s + i, n - i < k ? n - i : k, &none) ;
  mime_conv_end(&m, &none) ;
  CHECK(!none.len, "the look writes nothing") ;
  v = mime_look_verdict(&look, to7bit, why) ;
  if (v == 1)
  {
    mime_conv_start(&m, &look, to7bit) ;
    for (i = 0 ; i < n ; i += k) mime_conv_feed(&m, s + i, n - i < k ? n - i : k, out) ;
    mime_conv_end(&m, out) ;
  }
  mime_conv_free(&m) ;
  stralloc_free(&look.regions) ;
  return v ;
}

static int hexval (char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1 ;
}

 /* quoted-printable text (LF line ends) decoded into sa */
static void qp_decode (char const *s, size_t n, stralloc *sa)
{
  size_t i ;
  for (i = 0 ; i < n ; i++)
  {
    if (s[i] == '=' && i + 1 < n && s[i+1] == '\n') { i++ ; continue ; }
    if (s[i] == '=' && i + 2 < n && hexval(s[i+1]) >= 0 && hexval(s[i+2]) >= 0)
    {
      char c = (char)(hexval(s[i+1]) * 16 + hexval(s[i+2])) ;
      stralloc_catb(sa, &c, 1) ;
      i += 2 ;
      continue ;
    }
    stralloc_catb(sa, s + i, 1) ;
  }
}

static size_t longest_line (char const *s, size_t n)
{
  size_t i, cur = 0, max = 0 ;
  for (i = 0 ; i < n ; i++)
  {
    if (s[i] == '\n') cur = 0 ;
    else if (++cur > max) max = cur ;
  }
  return max ;
}

static int all7bit (char const *s, size_t n)
{
  size_t i ;
  for (i = 0 ; i < n ; i++) if ((unsigned char)s[i] > 127) return 0 ;
  return 1 ;
}

 /* the body after the first blank line */
static char const *body_of (stralloc const *sa)
{
  char const *p = strstr(sa->s, "\n\n") ;
  return p ? p + 2 : sa->s + sa->len ;
}

int main (void)
{
  stralloc out = STRALLOC_ZERO, dec = STRALLOC_ZERO ;
  char const *why ;
  size_t k ;

  /* a plain 7-bit message: nothing to do for either peer */
  CHECK(run(S("Subject: x\n\nhello\n"), 1, 65536, &out, &why) == 0, "7-bit, short lines: as it is") ;

  /* 8-bit text without MIME: the header says MIME, quoted-printable, and the body decodes back */
  {
    static char const msg[] = "Subject: caf\n\ncaf\xc3\xa9 = cr\xc3\xa8me \nsecond line\t\n" ;
    CHECK(run(S(msg), 0, 65536, &out, &why) == 0, "8-bit body to an 8BITMIME peer: as it is") ;
    for (k = 1 ; k <= sizeof(msg) ; k += 3)
    {
      CHECK(run(S(msg), 1, k, &out, &why) == 1 && stralloc_0(&out), "8-bit body to a 7-bit peer: converted") ;
      out.len-- ;
      CHECK(strstr(out.s, "MIME-Version: 1.0\n") && strstr(out.s, "Content-Type: text/plain; charset=unknown-8bit\n")
         && strstr(out.s, "Content-Transfer-Encoding: quoted-printable\n\n"), "the header is MIME (pieces of %zu): %s", k, out.s) ;
      CHECK(all7bit(out.s, out.len), "7-bit output: %s", out.s) ;
      CHECK(strstr(out.s, "caf=C3=A9 =3D cr=C3=A8me=20\nsecond line=09\n") != 0, "=, 8-bit and trailing white space encoded: %s", out.s) ;
      dec.len = 0 ;
      qp_decode(body_of(&out), out.s + out.len - body_of(&out), &dec) ;
      CHECK(dec.len == sizeof(msg) - 1 - 14 && !memcmp(dec.s, msg + 14, dec.len), "decodes to the original body: %.*s", (int)dec.len, dec.s) ;
    }
  }

  /* a 5,000-octet line in a 7-bit text part: converted for any peer, no line over 76 */
  {
    stralloc msg = STRALLOC_ZERO ;
    size_t i ;
    stralloc_cats(&msg, "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\nshort\n") ;
    for (i = 0 ; i < 5000 ; i++) stralloc_catb(&msg, i % 80 == 79 ? "-" : "a", 1) ;
    stralloc_cats(&msg, "\r\nend\r\n") ;
    CHECK(run(msg.s, msg.len, 0, 4096, &out, &why) == 1 && stralloc_0(&out), "a long line to an 8BITMIME peer: converted") ;
    out.len-- ;
    CHECK(strstr(out.s, "Content-Transfer-Encoding: quoted-printable\n\n") && !strstr(out.s, "7bit") && !strstr(out.s, "MIME-Version: 1.0\nMIME"),
          "CTE rewritten, nothing added twice: %.300s", out.s) ;
    CHECK(longest_line(out.s, out.len) <= 76, "no line over 76: %zu", longest_line(out.s, out.len)) ;
    CHECK(!strstr(out.s, "\n-"), "no soft-broken line starts with -") ;
    dec.len = 0 ;
    qp_decode(body_of(&out), out.s + out.len - body_of(&out), &dec) ;
    CHECK(dec.len == 5000 + 11 && !memcmp(dec.s, "short\n", 6) && !memcmp(dec.s + 6, msg.s + msg.len - 5007, 5000) && !memcmp(dec.s + 5006, "\nend\n", 5),
          "decodes to the original lines (CR LF as line ends)") ;
    stralloc_free(&msg) ;
  }

  /* multipart: the 8-bit text part encoded; base64, message/rfc822 and the multipart's text left alone */
  {
    static char const msg[] =
      "MIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=\"b1\"\nContent-Transfer-Encoding: 8bit\n\npreamble\n"
      "--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nj\xc3\xb6rg\n"
      "--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAAA\n"
      "--b1\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner body\n"
      "--b1--\nepilogue\n" ;
    CHECK(run(S(msg), 1, 7, &out, &why) == 1 && stralloc_0(&out), "multipart to a 7-bit peer: converted") ;
    CHECK(strstr(out.s, "boundary=\"b1\"\nContent-Transfer-Encoding: 7bit\n\npreamble\n--b1\n") != 0, "the multipart is relabelled 7bit: %s", out.s) ;
    CHECK(strstr(out.s, "charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nj=C3=B6rg\n--b1\n") != 0, "the text part encoded: %s", out.s) ;
    CHECK(strstr(out.s, "Content-Transfer-Encoding: base64\n\nAAAA\n--b1\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner body\n--b1--\nepilogue\n") != 0,
          "the rest as it was: %s", out.s) ;
    CHECK(all7bit(out.s, out.len), "7-bit output") ;
    CHECK(run(S(msg), 0, 65536, &out, &why) == 0, "the same to an 8BITMIME peer: as it is") ;
  }

  /* what cannot be converted, and why */
  CHECK(run(S("Subject: caf\xc3\xa9\n\nbody\n"), 1, 65536, &out, &why) == -1 && strstr(why, "5.6.3 ") == why && strstr(why, "8-bit bytes in a header"),
        "8-bit header to a 7-bit peer: refused: %s", why) ;
  CHECK(run(S("Subject: caf\xc3\xa9\n\nbody\n"), 0, 65536, &out, &why) == 0, "to an 8BITMIME peer: as it is") ;
  {
    static char const msg[] = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: message/rfc822\n\nSubject: inner\n\nj\xc3\xb6rg\n--zz--\n" ;
    CHECK(run(S(msg), 1, 65536, &out, &why) == -1 && strstr(why, "8-bit data in a part that cannot be converted"), "8-bit in a message/rfc822 part: refused: %s", why) ;
    CHECK(run(S(msg), 0, 65536, &out, &why) == 0, "to an 8BITMIME peer: as it is") ;
  }
  {
    stralloc msg = STRALLOC_ZERO ;
    size_t i ;
    stralloc_cats(&msg, "MIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n") ;
    for (i = 0 ; i < 1200 ; i++) stralloc_catb(&msg, "A", 1) ;
    stralloc_cats(&msg, "\n") ;
    CHECK(run(msg.s, msg.len, 0, 65536, &out, &why) == -1 && strstr(why, "lines longer than 998 octets in a part that cannot be converted"),
          "a long line in an encoded part: refused: %s", why) ;
    msg.len = 0 ;
    stralloc_cats(&msg, "X-Long: ") ;
    for (i = 0 ; i < 1200 ; i++) stralloc_catb(&msg, "h", 1) ;
    stralloc_cats(&msg, "\n\nbody\n") ;
    CHECK(run(msg.s, msg.len, 0, 3, &out, &why) == -1 && strstr(why, "header line longer than 998"), "a long header line: refused: %s", why) ;
    msg.len = 0 ;
    stralloc_cats(&msg, "Subject: x\n\n") ;
    for (i = 0 ; i < 998 ; i++) stralloc_catb(&msg, "b", 1) ;
    stralloc_cats(&msg, "\r\n") ;
    CHECK(run(msg.s, msg.len, 1, 65536, &out, &why) == 0, "998 octets and CR LF: not too long") ;
    stralloc_free(&msg) ;
  }
  stralloc_free(&out) ;
  stralloc_free(&dec) ;
  return UNIT_END() ;
}
