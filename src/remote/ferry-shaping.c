/* ferry-shaping: compile control/shaping into control/shaping.cdb, atomically. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/cdbmake.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <ferry/home.h>
#include <ferry/queue.h>
#include <ferry/shaping.h>

#define USAGE "ferry-shaping [ home ]"
#define TMP "control/shaping.cdb.tmp"

 /* One record of the table: its key and value in recs, the line it comes from. */
typedef struct rec_s rec ;
struct rec_s
{
  size_t key, keylen, val, vallen ;
  unsigned int line ;
} ;

static stralloc recs = STRALLOC_ZERO ;
static rec *v = 0 ;
static size_t nv = 0, av = 0 ;

static void nomem (void)
{
  strerr_diefu1sys(111, "allocate memory") ;
}

 /* A failure once TMP is made: it goes, so that nothing is left in control/ (111). */
static void die_tmp (char const *what, char const *fn)
{
  int e = errno ;
  unlink(TMP) ;
  errno = e ;
  strerr_diefu2sys(111, what, fn) ;
}

static void bad (unsigned int line, char const *field, size_t fieldlen, char const *what)
{
  char fmt[UINT_FMT] ;
  stralloc f = STRALLOC_ZERO ;
  unlink(TMP) ;
  fmt[uint_fmt(fmt, line)] = 0 ;
  if (field && (!stralloc_catb(&f, field, fieldlen) || !stralloc_catb(&f, ": ", 2))) nomem() ;
  if (!stralloc_0(&f)) nomem() ;
  strerr_dief(100, "control/shaping:", fmt, ": ", f.s, what, ": nothing changed") ;
}

static void rec_add (unsigned int line, char const *k1, size_t n1, char const *k2, size_t n2, char const *val, size_t vn)
{
  rec r ;
  if (nv == av)
  {
    av = av ? 2 * av : 64 ;
    v = realloc(v, av * sizeof(rec)) ;
    if (!v) nomem() ;
  }
  r.key = recs.len ;
  if (!stralloc_catb(&recs, k1, n1) || !stralloc_catb(&recs, k2, n2)) nomem() ;
  r.keylen = recs.len - r.key ;
  r.val = recs.len ;
  if (!stralloc_catb(&recs, val, vn)) nomem() ;
  r.vallen = vn ;
  r.line = line ;
  v[nv++] = r ;
}

static int rec_cmp (void const *a, void const *b)
{
  rec const *x = a, *y = b ;
  size_t n = x->keylen < y->keylen ? x->keylen : y->keylen ;
  int c = memcmp(recs.s + x->key, recs.s + y->key, n) ;
  if (c) return c ;
  if (x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1 ;
  return x->line < y->line ? -1 : x->line > y->line ;
}

 /* A key on two lines, or a pattern in two sites: the first line that repeats one, named. */
static void repeats_check (void)
{
  rec *s = malloc((nv ? nv : 1) * sizeof(rec)) ;
  rec const *first = 0, *second = 0 ;
  size_t i ;
  if (!s) nomem() ;
  memcpy(s, v, nv * sizeof(rec)) ;
  qsort(s, nv, sizeof(rec), &rec_cmp) ;
  for (i = 0 ; i + 1 < nv ; i++)
  {
    rec const *a = s + i, *b = s + i + 1 ;
    if (a->keylen != b->keylen || memcmp(recs.s + a->key, recs.s + b->key, a->keylen)) continue ;
    /* the earliest line at fault; on one line, the key before its patterns */
    if (!second || b->line < second->line || (b->line == second->line && recs.s[b->key] != 'm'))
    {
      first = a ;
      second = b ;
      while (i + 1 < nv && s[i + 1].keylen == a->keylen && !memcmp(recs.s + s[i + 1].key, recs.s + a->key, a->keylen)) i++ ;
    }
  }
  if (second)
  {
    char fmt[UINT_FMT] ;
    stralloc what = STRALLOC_ZERO ;
    char const *k = recs.s + second->key ;
    fmt[uint_fmt(fmt, first->line)] = 0 ;
    if (k[0] == 'm' && first->line == second->line)
    {
      if (!stralloc_cats(&what, "the MX pattern is given twice")) nomem() ;
    }
    else if (k[0] == 'm')
    {
      if (!stralloc_cats(&what, "the MX pattern is in two sites: line ") || !stralloc_cats(&what, fmt)
       || !stralloc_cats(&what, " has it in site:") || !stralloc_catb(&what, recs.s + first->val, first->vallen)) nomem() ;
    }
    else if (!stralloc_cats(&what, "the key is already on line ") || !stralloc_cats(&what, fmt)) nomem() ;
    if (!stralloc_0(&what)) nomem() ;
    if (k[0] == 'm') bad(second->line, k + 2, second->keylen - 2, what.s) ;
    {
      /* the key as the line writes it */
      stralloc name = STRALLOC_ZERO ;
      if (!stralloc_cats(&name, k[0] == 'r' ? "route:" : k[0] == 's' ? "site:" : "") || !stralloc_catb(&name, k + 2, second->keylen - 2)) nomem() ;
      bad(second->line, name.s, name.len, what.s) ;
    }
  }
  free(s) ;
}

int main (int argc, char const *const *argv)
{
  stralloc src = STRALLOC_ZERO, val = STRALLOC_ZERO ;
  cdbmaker cm = CDBMAKER_ZERO ;
  size_t i = 0 ;
  unsigned int lineno = 0, keys = 0 ;
  char fmt[UINT_FMT] ;
  int fd ;
  PROG = "ferry-shaping" ;
  if (argc > 2) strerr_dieusage(100, USAGE) ;
  if (chdir(ferry_home(argc > 1 ? argv[1] : 0)) < 0) strerr_diefu1sys(111, "enter the ferry home") ;
  /* no table: a table with no key */
  if (!openslurpclose(&src, "control/shaping") && errno != ENOENT) strerr_diefu1sys(111, "read control/shaping") ;
  while (i < src.len)
  {
    size_t k = byte_chr(src.s + i, src.len - i, '\n') ;
    char *line = src.s + i ;
    ferry_shaping_entry e ;
    char const *why ;
    i += k + 1 ;
    lineno++ ;
    why = ferry_shaping_line(line, k, &e) ;
    if (why) bad(lineno, e.field, e.fieldlen, why) ;
    if (!e.kind) continue ;
    val.len = 0 ;
    if (!ferry_shaping_settings_fmt(&val, &e.sh)) nomem() ;
    {
      char p[2] = { e.kind, ':' } ;
      rec_add(lineno, p, 2, e.name, e.namelen, val.s, val.len) ;
    }
    if (e.mx)
    {
      size_t j = 0 ;
      while (j < e.mxlen)
      {
        size_t c = byte_chr(e.mx + j, e.mxlen - j, ',') ;
        rec_add(lineno, "m:", 2, e.mx + j, c, e.name, e.namelen) ;
        j += c + 1 ;
      }
    }
    keys++ ;
  }
  repeats_check() ;
  fd = open(TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) ;
  if (fd < 0) die_tmp("create ", TMP) ;
  if (!cdbmake_start(&cm, fd)) die_tmp("write ", TMP) ;
  for (i = 0 ; i < nv ; i++)
    if (!cdbmake_add(&cm, recs.s + v[i].key, v[i].keylen, recs.s + v[i].val, v[i].vallen)) die_tmp("write ", TMP) ;
  if (!cdbmake_finish(&cm) || fsync(fd) < 0) die_tmp("write ", TMP) ;
  fd_close(fd) ;
  if (rename(TMP, "control/shaping.cdb") < 0) die_tmp("rename ", TMP) ;
  if (ferry_dir_sync("control") < 0) strerr_diefu1sys(111, "sync control/") ;
  fmt[uint_fmt(fmt, keys)] = 0 ;
  if (buffer_puts(buffer_1, "ferry-shaping: ") < 0 || buffer_puts(buffer_1, fmt) < 0
   || buffer_puts(buffer_1, " keys compiled into control/shaping.cdb\n") < 0 || !buffer_flush(buffer_1))
    strerr_diefu1sys(111, "write to stdout") ;
  return 0 ;
}
