/* Fuzz target: control files as every program reads them (ferry_control_readline, _readu64,
   _readfile, _readlist and _listed), through a real file in a scratch home. The first byte
   chooses the setting, the rest is the file. Properties: a line setting is the file's first
   line with its trailing spaces cut; a number is taken exactly when that line is all digits and
   in the setting's range; the whole file reads back the same; every line of a domain list is
   found in it, whatever its case and surrounding spaces. */

#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>

#include <ferry/control.h>

#include "fuzz.h"

static unsigned int nsettings ;
static int home = -1 ;    /* the scratch home; the fuzzer's own paths are relative to where it started */
static char dir[] = "/tmp/ferry-fuzz-control.XXXXXX" ;

static void cleanup (void)
{
  char fn[sizeof dir + 64] ;
  unsigned int i ;
  for (i = 0 ; i < nsettings ; i++)
  {
    snprintf(fn, sizeof fn, "%s/control/%s", dir, ferry_control_table[i].name) ;
    unlink(fn) ;
  }
  snprintf(fn, sizeof fn, "%s/control", dir) ;
  rmdir(fn) ;
  rmdir(dir) ;
}

static void setup (void)
{
  char ctl[sizeof dir + 8] ;
  if (!mkdtemp(dir)) abort() ;
  snprintf(ctl, sizeof ctl, "%s/control", dir) ;
  if (mkdir(ctl, 0700) < 0) abort() ;
  home = open(dir, O_RDONLY | O_DIRECTORY) ;
  if (home < 0) abort() ;
  while (ferry_control_table[nsettings].name) nsettings++ ;
  atexit(&cleanup) ;
}

static void put (char const *name, char const *s, size_t n)
{
  char fn[64] ;
  int fd ;
  snprintf(fn, sizeof fn, "control/%s", name) ;
  fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
  if (fd < 0 || write(fd, s, n) != (ssize_t)n || close(fd) < 0) abort() ;
}

static int blank (char c) { return c == ' ' || c == '\t' || c == '\r' ; }
static char lower (char c) { return c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c ; }

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  ferry_control const *c ;
  char const *s = (char const *)data + 1 ;
  size_t n, first, i ;
  stralloc sa = STRALLOC_ZERO, list = STRALLOC_ZERO ;
  int back ;
  if (!nsettings) setup() ;
  if (!size) return 0 ;
  back = open(".", O_RDONLY | O_DIRECTORY) ;
  if (back < 0 || fchdir(home) < 0) abort() ;
  c = ferry_control_table + data[0] % nsettings ;
  n = size - 1 ;
  put(c->name, s, n) ;

  FUZZ_ASSERT(ferry_control_readline(&sa, c->name) == 1) ;
  first = 0 ;
  while (first < n && first < 65536 && s[first] != '\n') first++ ;
  while (first && blank(s[first - 1])) first-- ;
  FUZZ_ASSERT(sa.len == first && !memcmp(sa.s, s, first)) ;

  if (c->min <= c->max)
  {
    uint64_t u = 0, v = 0 ;
    int digits = first > 0 ;
    int r = ferry_control_readu64(c->name, &u) ;
    for (i = 0 ; digits && i < first ; i++)
    {
      unsigned int d = (unsigned char)s[i] - '0' ;
      if (d > 9 || v > (UINT64_MAX - d) / 10) digits = 0 ;
      else v = v * 10 + d ;
    }
    if (digits && v >= c->min && v <= c->max) FUZZ_ASSERT(r == 1 && u == v) ;
    else FUZZ_ASSERT(r == -2) ;
  }

  FUZZ_ASSERT(ferry_control_readfile(&sa, c->name) == 1) ;
  FUZZ_ASSERT(sa.len == n && !memcmp(sa.s, s, n)) ;

  FUZZ_ASSERT(ferry_control_readlist(&list, c->name) == 1 && list.len == n) ;
  for (i = 0 ; i < n ; )
  {
    size_t end = i, a, b, j ;
    char *line ;
    while (end < n && s[end] != '\n') end++ ;
    a = i ; b = end ;
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++ ;
    while (b > a && blank(s[b - 1])) b-- ;
    line = fuzz_piece(s + a, b - a) ;
    for (j = 0 ; j < b - a ; j++) line[j] = lower(line[j]) ;
    FUZZ_ASSERT(ferry_control_listed(&list, line, b - a)) ;
    free(line) ;
    i = end + 1 ;
  }
  stralloc_free(&sa) ;
  stralloc_free(&list) ;
  if (fchdir(back) < 0) abort() ;
  close(back) ;
  return 0 ;
}
