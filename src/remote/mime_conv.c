/* The 7-bit conversion of a message (mime_conv.h): a line-by-line MIME walk, quoted-printable
   for the leaf parts that need it, Content-Transfer-Encoding rewritten. */

#include <strings.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "mime_conv.h"

#define QP_COLS 75   /* an encoded line's octets before the soft break's = */

static char const hexdigits[16] = "0123456789ABCDEF" ;

static int emit (mime_conv *m, stralloc *out, char const *s, size_t n)
{
  return m->looking || stralloc_catb(out, s, n) ;
}

static int emits (mime_conv *m, stralloc *out, char const *s)
{
  return emit(m, out, s, strlen(s)) ;
}

/* ---------- quoted-printable (RFC 2045 6.7) ---------- */

static int qp_put (mime_conv *m, stralloc *out, char const *tok, size_t k)
{
  if (m->col + k > QP_COLS)
  {
    if (!stralloc_catb(out, "=\n", 2)) return 0 ;
    m->col = 0 ;
    /* a line made by a soft break never starts like a boundary */
    if (k == 1 && tok[0] == '-') { tok = "=2D" ; k = 3 ; }
  }
  m->col += k ;
  return stralloc_catb(out, tok, k) ;
}

static int qp_hex (mime_conv *m, stralloc *out, unsigned char c)
{
  char t[3] = { '=', hexdigits[c >> 4], hexdigits[c & 15] } ;
  return qp_put(m, out, t, 3) ;
}

static int qp_byte (mime_conv *m, stralloc *out, unsigned char c)
{
  char ch = (char)c ;
  if (m->pendws)
  {
    char w = m->pendws ;
    m->pendws = 0 ;
    if (!qp_put(m, out, &w, 1)) return 0 ;
  }
  if (c == ' ' || c == '\t') { m->pendws = ch ; return 1 ; }
  if (c == '=' || c < 33 || c > 126) return qp_hex(m, out, c) ;
  return qp_put(m, out, &ch, 1) ;
}

static int qp_eol (mime_conv *m, stralloc *out)
{
  if (m->pendws)
  {
    unsigned char w = m->pendws ;
    m->pendws = 0 ;
    if (!qp_hex(m, out, w)) return 0 ;
  }
  m->col = 0 ;
  return stralloc_catb(out, "\n", 1) ;
}

/* ---------- body regions ---------- */

static int region_enc (mime_conv const *m, unsigned int r)
{
  unsigned char f ;
  if (r >= m->look->regions.len) return 0 ;
  f = m->look->regions.s[r] ;
  return (f & MIME_R_ENCODABLE) && ((f & MIME_R_LONG) || (m->to7bit && (f & MIME_R_8BIT))) ;
}

static void region_flag (mime_conv *m, char f)
{
  if (m->region < m->look->regions.len) m->look->regions.s[m->region] |= f ;
}

static int region_start (mime_conv *m, int encodable)
{
  m->region = m->nregions++ ;
  m->col = 0 ;
  m->pendws = 0 ;
  if (m->looking)
  {
    char f = encodable ? MIME_R_ENCODABLE : 0 ;
    m->enc = 0 ;
    return stralloc_catb(&m->look->regions, &f, 1) ;
  }
  m->enc = region_enc(m, m->region) ;
  return 1 ;
}

static int body_bytes (mime_conv *m, stralloc *out, char const *s, size_t n)
{
  size_t i ;
  if (m->looking)
  {
    for (i = 0 ; i < n ; i++) if ((unsigned char)s[i] > 127) { region_flag(m, MIME_R_8BIT) ; break ; }
    return 1 ;
  }
  if (!m->enc) return stralloc_catb(out, s, n) ;
  for (i = 0 ; i < n ; i++) if (!qp_byte(m, out, s[i])) return 0 ;
  return 1 ;
}

static int body_eol (mime_conv *m, stralloc *out)
{
  if (m->looking)
  {
    if (m->linelen > MIME_LINE_MAX) region_flag(m, MIME_R_LONG) ;
    return 1 ;
  }
  return m->enc ? qp_eol(m, out) : stralloc_catb(out, "\n", 1) ;
}

/* ---------- headers ---------- */

static void entity_start (mime_conv *m)
{
  m->inheader = 1 ;
  m->enc = m->looking ? 0 : region_enc(m, m->nregions) ;
  m->field.len = 0 ;
  m->multipart = m->message = m->encoded = m->hasmimever = m->hasct = 0 ;
  m->bndlen = 0 ;
}

static int is_ws (char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' ; }

static int word_is (char const *s, size_t n, char const *w)
{
  return n == strlen(w) && !strncasecmp(s, w, n) ;
}

 /* Content-Type: the type, and the boundary parameter. */
static void ct_parse (mime_conv *m, char const *v, size_t n)
{
  size_t i = 0, k ;
  while (i < n && is_ws(v[i])) i++ ;
  for (k = i ; k < n && v[k] != '/' && v[k] != ';' && !is_ws(v[k]) ; k++) ;
  m->multipart = word_is(v + i, k - i, "multipart") ;
  m->message = word_is(v + i, k - i, "message") ;
  i = k ;
  for (;;)
  {
    size_t name, namelen ;
    char val[MIME_BOUNDARY_MAX + 1] ;
    size_t vl = 0 ;
    int toolong = 0 ;
    while (i < n && v[i] != ';') i++ ;
    if (i >= n) return ;
    i++ ;
    while (i < n && is_ws(v[i])) i++ ;
    for (name = i ; i < n && v[i] != '=' && v[i] != ';' && !is_ws(v[i]) ; i++) ;
    namelen = i - name ;
    while (i < n && is_ws(v[i])) i++ ;
    if (i >= n || v[i] != '=') continue ;
    i++ ;
    while (i < n && is_ws(v[i])) i++ ;
    if (i < n && v[i] == '"')
    {
      for (i++ ; i < n && v[i] != '"' ; i++)
      {
        if (v[i] == '\\' && i + 1 < n) i++ ;
        if (v[i] == '\n') continue ;
        if (vl < MIME_BOUNDARY_MAX) val[vl++] = v[i] ; else toolong = 1 ;
      }
      if (i < n) i++ ;
    }
    else
      for (; i < n && v[i] != ';' && !is_ws(v[i]) ; i++)
        if (vl < MIME_BOUNDARY_MAX) val[vl++] = v[i] ; else toolong = 1 ;
    if (word_is(v + name, namelen, "boundary") && vl && !toolong)
    {
      memcpy(m->bnd, val, vl) ;
      m->bndlen = vl ;
    }
  }
}

 /* The field read so far is complete: parse it, and write it (or what replaces it). */
static int field_end (mime_conv *m, stralloc *out)
{
  char const *f = m->field.s ;
  size_t n = m->field.len, colon ;
  int keep = 1 ;
  if (!n) return 1 ;
  for (colon = 0 ; colon < n && f[colon] != ':' ; colon++) ;
  if (colon < n)
  {
    size_t nl = colon ;
    while (nl && (f[nl-1] == ' ' || f[nl-1] == '\t')) nl-- ;
    if (word_is(f, nl, "content-type")) { m->hasct = 1 ; ct_parse(m, f + colon + 1, n - colon - 1) ; }
    else if (word_is(f, nl, "mime-version")) m->hasmimever = 1 ;
    else if (word_is(f, nl, "content-transfer-encoding"))
    {
      size_t i = colon + 1, k ;
      int identity, eight ;
      while (i < n && is_ws(f[i])) i++ ;
      for (k = i ; k < n && !is_ws(f[k]) && f[k] != '(' ; k++) ;
      eight = word_is(f + i, k - i, "8bit") || word_is(f + i, k - i, "binary") ;
      identity = eight || word_is(f + i, k - i, "7bit") ;
      if (!identity) m->encoded = 1 ;
      if (m->enc) keep = 0 ;
      else if (m->to7bit && eight)
      {
        /* after a conversion for a 7-bit peer every part is 7-bit */
        keep = 0 ;
        if (!emits(m, out, "Content-Transfer-Encoding: 7bit\n")) return 0 ;
      }
    }
  }
  if (keep && (!emit(m, out, f, n) || !emit(m, out, "\n", 1))) return 0 ;
  m->field.len = 0 ;
  return 1 ;
}

 /* The end of an entity's header (blank is its blank line, 0 at the end of the message). */
static int header_done (mime_conv *m, stralloc *out, int blank)
{
  int encodable ;
  if (!field_end(m, out)) return 0 ;
  if (m->enc)
  {
    if (m->toplevel && !m->hasmimever && !emits(m, out, "MIME-Version: 1.0\n")) return 0 ;
    if (m->toplevel && !m->hasct && !emits(m, out, m->look->regions.s[m->nregions] & MIME_R_8BIT ?
        "Content-Type: text/plain; charset=unknown-8bit\n" : "Content-Type: text/plain; charset=us-ascii\n")) return 0 ;
    if (!emits(m, out, "Content-Transfer-Encoding: quoted-printable\n")) return 0 ;
  }
  if (blank && !emit(m, out, "\n", 1)) return 0 ;
  m->inheader = 0 ;
  m->toplevel = 0 ;
  if (m->multipart && m->bndlen && !m->encoded && m->depth < MIME_DEPTH_MAX)
  {
    memcpy(m->stack[m->depth], m->bnd, m->bndlen) ;
    m->stacklen[m->depth++] = m->bndlen ;
    encodable = 0 ;    /* the preamble */
  }
  else encodable = !m->multipart && !m->message && !m->encoded ;
  return region_start(m, encodable) ;
}

static int header_line (mime_conv *m, stralloc *out)
{
  size_t i ;
  if (!m->linelen) return header_done(m, out, 1) ;
  if (m->looking)
    for (i = 0 ; i < m->linelen ; i++) if ((unsigned char)m->line[i] > 127) { m->look->hdr8 = 1 ; break ; }
  if (m->linelen > MIME_LINE_MAX && m->looking) m->look->hdrlong = 1 ;
  if ((m->line[0] == ' ' || m->line[0] == '\t') && m->field.len)
    return stralloc_catb(&m->field, "\n", 1) && stralloc_catb(&m->field, m->line, m->linelen) ;
  return field_end(m, out) && stralloc_catb(&m->field, m->line, m->linelen) ;
}

 /* A line of a multipart's body that is one of the open boundaries: 1 (and the walk follows it). */
static int boundary_line (mime_conv *m, stralloc *out, int *r)
{
  unsigned int i = m->depth ;
  char const *l = m->line ;
  size_t n = m->linelen ;
  if (n < 3 || l[0] != '-' || l[1] != '-') return 0 ;
  while (i--)
  {
    size_t b = m->stacklen[i], k = 2 + b ;
    int close = 0 ;
    if (n < k || memcmp(l + 2, m->stack[i], b)) continue ;
    if (n >= k + 2 && l[k] == '-' && l[k+1] == '-') { close = 1 ; k += 2 ; }
    while (k < n && (l[k] == ' ' || l[k] == '\t')) k++ ;
    if (k < n) continue ;
    if (!emit(m, out, l, n) || !emit(m, out, "\n", 1)) { *r = 0 ; return 1 ; }
    if (close) { m->depth = i ; *r = region_start(m, 0) ; }   /* the epilogue */
    else { m->depth = i + 1 ; entity_start(m) ; *r = 1 ; }
    return 1 ;
  }
  return 0 ;
}

/* ---------- lines ---------- */

static int line_end (mime_conv *m, stralloc *out)
{
  int r = 1 ;
  if (m->spilled)
  {
    if (m->inheader) r = emit(m, out, "\n", 1) ;
    else r = body_eol(m, out) ;
  }
  else if (m->inheader) r = header_line(m, out) ;
  else if (!m->depth || !boundary_line(m, out, &r))
    r = body_bytes(m, out, m->line, m->linelen) && body_eol(m, out) ;
  m->linelen = 0 ;
  m->spilled = 0 ;
  return r ;
}

static int line_byte (mime_conv *m, stralloc *out, char c)
{
  if (!m->spilled)
  {
    if (m->linelen < MIME_LBUF) { m->line[m->linelen++] = c ; return 1 ; }
    /* longer than any good line, and than any boundary: its start goes out as it is */
    m->spilled = 1 ;
    if (m->inheader)
    {
      if (m->looking) m->look->hdrlong = 1 ;
      if (!field_end(m, out) || !emit(m, out, m->line, m->linelen)) return 0 ;
    }
    else if (!body_bytes(m, out, m->line, m->linelen)) return 0 ;
  }
  m->linelen++ ;
  return m->inheader ? emit(m, out, &c, 1) : body_bytes(m, out, &c, 1) ;
}

int mime_conv_feed (mime_conv *m, char const *s, size_t n, stralloc *out)
{
  size_t i ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (m->pendcr)
    {
      m->pendcr = 0 ;
      if (c == '\n') { if (!line_end(m, out)) return 0 ; continue ; }
      if (!line_byte(m, out, '\r')) return 0 ;
    }
    if (c == '\r') m->pendcr = 1 ;
    else if (c == '\n') { if (!line_end(m, out)) return 0 ; }
    else if (!line_byte(m, out, c)) return 0 ;
  }
  return 1 ;
}

int mime_conv_end (mime_conv *m, stralloc *out)
{
  if (m->pendcr)
  {
    m->pendcr = 0 ;
    if (!line_byte(m, out, '\r')) return 0 ;
  }
  if ((m->linelen || m->spilled) && !line_end(m, out)) return 0 ;
  if (m->inheader && !header_done(m, out, 0)) return 0 ;
  return 1 ;
}

static void start (mime_conv *m, mime_look *look, int looking, int to7bit)
{
  m->look = look ;
  m->looking = looking ;
  m->to7bit = to7bit ;
  m->nregions = 0 ;
  m->linelen = 0 ;
  m->pendcr = m->spilled = 0 ;
  m->toplevel = 1 ;
  m->depth = 0 ;
  m->region = 0 ;
  m->col = 0 ;
  m->pendws = 0 ;
  entity_start(m) ;
}

void mime_look_start (mime_conv *m, mime_look *look)
{
  look->regions.len = 0 ;
  look->hdr8 = look->hdrlong = 0 ;
  start(m, look, 1, 0) ;
}

void mime_conv_start (mime_conv *m, mime_look *look, int to7bit)
{
  start(m, look, 0, to7bit) ;
}

void mime_conv_free (mime_conv *m)
{
  stralloc_free(&m->field) ;
}

int mime_look_verdict (mime_look const *look, int to7bit, char const **why)
{
  size_t i ;
  int need = 0 ;
  if (look->hdrlong)
  {
    *why = "5.6.3 the message has a header line longer than 998 octets, which cannot be converted" ;
    return -1 ;
  }
  if (to7bit && look->hdr8)
  {
    *why = "5.6.3 the message has 8-bit bytes in a header, which cannot be converted, and the host does not offer 8BITMIME" ;
    return -1 ;
  }
  for (i = 0 ; i < look->regions.len ; i++)
  {
    unsigned char f = look->regions.s[i] ;
    if (f & MIME_R_LONG)
    {
      if (!(f & MIME_R_ENCODABLE))
      {
        *why = "5.6.3 the message has lines longer than 998 octets in a part that cannot be converted (message/*, already encoded, or a multipart's own text)" ;
        return -1 ;
      }
      need = 1 ;
    }
    if (to7bit && f & MIME_R_8BIT)
    {
      if (!(f & MIME_R_ENCODABLE))
      {
        *why = "5.6.3 the message has 8-bit data in a part that cannot be converted (message/*, already encoded, or a multipart's own text), and the host does not offer 8BITMIME" ;
        return -1 ;
      }
      need = 1 ;
    }
  }
  return need ;
}

int mime_look_fd (int fd, mime_look *look)
{
  mime_conv m = MIME_CONV_ZERO ;
  stralloc none = STRALLOC_ZERO ;
  char buf[65536] ;
  off_t off = 0 ;
  int ok = 1 ;
  mime_look_start(&m, look) ;
  for (;;)
  {
    ssize_t r = pread(fd, buf, sizeof(buf), off) ;
    if (r < 0) { ok = 0 ; break ; }
    if (!r) break ;
    off += r ;
    if (!mime_conv_feed(&m, buf, r, &none)) { ok = 0 ; break ; }
  }
  if (ok && !mime_conv_end(&m, &none)) ok = 0 ;
  mime_conv_free(&m) ;
  return ok ;
}
