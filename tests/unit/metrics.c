/* Unit tests of the Prometheus text format (src/libferry/metrics_format.c) and of the snapshot
   write (metrics_write.c): HELP and TYPE lines, samples with and without labels, label values
   and help texts escaped, doubles as parsers read them, the file's mode and its replacement. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <ferry/metrics.h>
#include "unit.h"

static stralloc sa = STRALLOC_ZERO ;

#define IS(what, want) do \
{ \
  CHECK(sa.len == strlen(want) && !memcmp(sa.s, want, sa.len), "%s: got \"%.*s\", want \"%s\"", what, (int)sa.len, sa.s, want) ; \
  sa.len = 0 ; \
} while (0)

static void test_format (void)
{
  CHECK(ferry_prom_family(&sa, "ferry_x_total", "counter", "things done\\here\nand there"), "family") ;
  IS("a family", "# HELP ferry_x_total things done\\\\here\\nand there\n# TYPE ferry_x_total counter\n") ;
  CHECK(ferry_prom_sample(&sa, "ferry_x_total", "", 18446744073709551615ULL), "sample") ;
  IS("a sample without labels", "ferry_x_total 18446744073709551615\n") ;
  CHECK(ferry_prom_sample(&sa, "ferry_x_total", 0, 0), "sample") ;
  IS("null labels", "ferry_x_total 0\n") ;
  CHECK(ferry_prom_label(&sa, "key", "a\"b\\c\nd") && stralloc_catb(&sa, ",", 1) && ferry_prom_label(&sa, "result", "ok"), "labels") ;
  IS("escaped labels", "key=\"a\\\"b\\\\c\\nd\",result=\"ok\"") ;
  CHECK(ferry_prom_sample(&sa, "ferry_x_total", "result=\"ok\"", 7), "sample") ;
  IS("a sample with labels", "ferry_x_total{result=\"ok\"} 7\n") ;
  CHECK(ferry_prom_label(&sa, "program", "") , "label") ;
  IS("an empty label value", "program=\"\"") ;
}

static void test_doubles (void)
{
  static struct { double v ; char const *want ; } const t[] =
  {
    { 0.0, "0" }, { 1.0, "1" }, { 0.5, "0.5" }, { 0.1, "0.1" }, { -2.25, "-2.25" }, { 1e21, "1e+21" },
    { 300.0 / 60.0, "5" }, { 1.0 / 3.0, "0.33333333333333331" }, { 1e-7, "1e-07" }, { 123456789012.5, "123456789012.5" },
  } ;
  unsigned int i ;
  for (i = 0 ; i < sizeof(t) / sizeof(t[0]) ; i++)
  {
    char want[80] ;
    snprintf(want, sizeof(want), "d{le=\"1\"} %s\n", t[i].want) ;
    CHECK(ferry_prom_sample_double(&sa, "d", "le=\"1\"", t[i].v), "double") ;
    IS("a double", want) ;
  }
  CHECK(ferry_prom_sample_double(&sa, "d", "", INFINITY), "inf") ;
  IS("+Inf", "d +Inf\n") ;
  CHECK(ferry_prom_sample_double(&sa, "d", "", -INFINITY), "-inf") ;
  IS("-Inf", "d -Inf\n") ;
  CHECK(ferry_prom_sample_double(&sa, "d", "", NAN), "nan") ;
  IS("NaN", "d NaN\n") ;
  {
    /* every double read back is the same double */
    double v = 0.1 ;
    for (i = 0 ; i < 200 ; i++, v = v * 1.37 + 1e-3)
    {
      CHECK(ferry_prom_sample_double(&sa, "d", "", v) && stralloc_0(&sa), "double") ;
      CHECK(strtod(sa.s + 2, 0) == v, "%s does not read back as %.17g", sa.s, v) ;
      sa.len = 0 ;
    }
  }
}

static void test_write (void)
{
  char dir[] = "/tmp/ferry-unit-metrics.XXXXXX" ;
  char fn[64] ;
  struct stat st ;
  stralloc got = STRALLOC_ZERO ;
  mode_t old = umask(077) ;
  if (!mkdtemp(dir)) { CHECK(0, "mkdtemp: %s", strerror(errno)) ; return ; }
  snprintf(fn, sizeof(fn), "%s/metrics.prom", dir) ;
  CHECK(ferry_metrics_write(dir, "a 1\n", 4), "the first write: %s", strerror(errno)) ;
  CHECK(stat(fn, &st) == 0 && (st.st_mode & 07777) == 0640, "mode 0640 whatever the umask: %o", (unsigned int)(st.st_mode & 07777)) ;
  CHECK(ferry_metrics_write(dir, "a 2\nb 3\n", 8), "the second write") ;
  CHECK(openslurpclose(&got, fn) && got.len == 8 && !memcmp(got.s, "a 2\nb 3\n", 8), "the file replaced") ;
  snprintf(fn, sizeof(fn), "%s/metrics.prom.tmp", dir) ;
  CHECK(access(fn, F_OK) < 0, "no temporary file left") ;
  CHECK(!ferry_metrics_write("/nonexistent/ferry", "x", 1) && errno == ENOENT, "a missing directory: 0 and errno %d", errno) ;
  snprintf(fn, sizeof(fn), "%s/metrics.prom", dir) ;
  unlink(fn) ;
  rmdir(dir) ;
  umask(old) ;
  stralloc_free(&got) ;
}

int main (void)
{
  test_format() ;
  test_doubles() ;
  test_write() ;
  stralloc_free(&sa) ;
  return UNIT_END() ;
}
