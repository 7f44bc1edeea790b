/* Unit tests of queue paths, RFC 5322 dates, the home rule, control file reading, and queue files
   read whole (ferry_queue_slurp, ferry_queue_read): every size around the read sizes, a bound. */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>

#include <ferry/config.h>
#include <ferry/control.h>
#include <ferry/date822.h>
#include <ferry/home.h>
#include <ferry/queue.h>

#include "unit.h"

static void put (char const *fn, char const *s)
{
  int fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0644) ;
  if (fd < 0 || write(fd, s, strlen(s)) < 0) { perror(fn) ; exit(111) ; }
  close(fd) ;
}

int main (void)
{
  char s[FERRY_QUEUE_PATH_MAX] ;
  char d[FERRY_DATE822_MAX] ;
  char tmpl[] = "/tmp/ferry-unit.XXXXXX" ;
  stralloc sa = STRALLOC_ZERO ;
  uint64_t u ;
  size_t n ;

  n = ferry_queue_path(s, "mess", 1234567, 23) ;
  CHECK(!strcmp(s, "queue/mess/19/1234567") && n == strlen(s), "%s", s) ;
  ferry_queue_path(s, "bounce", 42, 0) ;
  CHECK(!strcmp(s, "queue/bounce/42"), "%s", s) ;
  ferry_queue_subdir(s, "todo", 46, 23) ;
  CHECK(!strcmp(s, "queue/todo/0"), "%s", s) ;
  ferry_queue_path(s, "mess", UINT64_MAX, 1000) ;
  CHECK(!strcmp(s, "queue/mess/615/18446744073709551615"), "%s", s) ;

  n = ferry_date822_fmt(d, 0) ; d[n] = 0 ;
  CHECK(!strcmp(d, "Thu, 1 Jan 1970 00:00:00 +0000"), "%s", d) ;
  n = ferry_date822_fmt(d, 1795413789) ; d[n] = 0 ;
  CHECK(!strcmp(d, "Mon, 23 Nov 2026 06:03:09 +0000"), "%s", d) ;
  n = ferry_date822_fmt(d, 951782400) ; d[n] = 0 ;
  CHECK(!strcmp(d, "Tue, 29 Feb 2000 00:00:00 +0000"), "%s", d) ;

  unsetenv("FERRY_HOME") ;
  CHECK(!strcmp(ferry_home(0), FERRY_CONF_HOME), "default home %s", ferry_home(0)) ;
  setenv("FERRY_HOME", "/h/env", 1) ;
  CHECK(!strcmp(ferry_home(0), "/h/env"), "env home") ;
  CHECK(!strcmp(ferry_home("/h/arg"), "/h/arg"), "argument wins") ;
  CHECK(!strcmp(ferry_home(""), "/h/env"), "empty argument") ;

  if (!mkdtemp(tmpl) || chdir(tmpl) < 0 || mkdir("control", 0755) < 0) { perror("tmp") ; return 111 ; }
  {
    ferry_control const *c ;
    for (c = ferry_control_table ; c->name ; c++)
      if (c->min <= c->max)
      {
        CHECK(ferry_control_readu64(c->name, &u) >= 0, "default of %s parses", c->name) ;
      }
  }
  CHECK(ferry_control_readu64("databytes", &u) == 0 && u == 10240000, "default databytes %llu", (unsigned long long)u) ;
  put("control/databytes", "  5000 \n") ;
  CHECK(ferry_control_readu64("databytes", &u) == -2, "leading spaces are not a number") ;
  put("control/databytes", "5000  \r\nignored\n") ;
  CHECK(ferry_control_readu64("databytes", &u) == 1 && u == 5000, "trailing space and CR trimmed: %llu", (unsigned long long)u) ;
  put("control/databytes", "5000") ;
  CHECK(ferry_control_readu64("databytes", &u) == 1 && u == 5000, "no final newline") ;
  put("control/databytes", "18446744073709551616\n") ;
  CHECK(ferry_control_readu64("databytes", &u) == -2, "overflow") ;
  put("control/queuesplit", "1001\n") ;
  CHECK(ferry_control_readu64("queuesplit", &u) == -2, "out of range") ;
  put("control/me", "mx.example.org\n") ;
  CHECK(ferry_control_readline(&sa, "helohost") == 0 && sa.len == 14 && !memcmp(sa.s, "mx.example.org", 14), "helohost defaults to me") ;
  CHECK(ferry_control_readline(&sa, "me") == 1, "me from its file") ;
  CHECK(ferry_control_readline(&sa, "smtproutes") == 0 && sa.len == 0, "empty default") ;
  CHECK(ferry_control_find("queuelifetime") && !ferry_control_find("nonesuch"), "find") ;
  {
    /* sizes around the first read (4096) and the ones after it, up to 1 MiB: every byte back, in order */
    static size_t const sizes[] = { 0, 1, 4095, 4096, 4097, 8192, 12289, 65536, 1048576, 1048579 } ;
    char const *what = 0 ;
    unsigned int k ;
    for (k = 0 ; k < sizeof(sizes) / sizeof(sizes[0]) ; k++)
    {
      size_t len = sizes[k], i ;
      stralloc got = STRALLOC_ZERO ;
      char *buf = malloc(len + 1) ;
      int fd = open("control/file", O_WRONLY | O_CREAT | O_TRUNC, 0644), r ;
      if (!buf || fd < 0) { perror("control/file") ; return 111 ; }
      for (i = 0 ; i < len ; i++) buf[i] = (char)(i * 7 + i / 251) ;
      if (write(fd, buf, len) != (ssize_t)len) { perror("control/file") ; return 111 ; }
      close(fd) ;
      r = ferry_queue_slurp(&got, "control/file", &what) ;
      CHECK(r == 1 && got.len == len && !memcmp(got.s, buf, len), "slurp of %zu bytes: %d, %zu bytes", len, r, got.len) ;
      got.len = 0 ;
      fd = ferry_queue_open("control/file", O_RDONLY, &what) ;
      r = fd >= 0 ? ferry_queue_read(fd, &got, len / 2 + 1) : -1 ;
      CHECK(r == 1 && got.len == (len ? len / 2 + 1 : 0) && !memcmp(got.s, buf, got.len), "read of %zu bytes, at most %zu: %d, %zu bytes", len, len / 2 + 1, r, got.len) ;
      if (fd >= 0) close(fd) ;
      stralloc_free(&got) ;
      free(buf) ;
    }
    CHECK(mkfifo("control/fifo", 0644) == 0 && ferry_queue_slurp(&sa, "control/fifo", &what) == -1 && !strcmp(what, "a FIFO"), "a FIFO is refused, unread, not waited on") ;
    unlink("control/file") ; unlink("control/fifo") ;
  }
  unlink("control/databytes") ; unlink("control/queuesplit") ; unlink("control/me") ;
  rmdir("control") ; if (chdir("/") == 0) rmdir(tmpl) ;
  return UNIT_END() ;
}
