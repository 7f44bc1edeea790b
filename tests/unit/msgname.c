/* Unit tests of message names: the format, its parser, and the stamp of a message file. */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ferry/msgname.h>
#include <ferry/queue.h>

#include "unit.h"

int main (void)
{
  char s[FERRY_MSGNAME_MAX], t[FERRY_MSGNAME_MAX] ;
  char tmpl[] = "/tmp/ferry-unit.XXXXXX" ;
  uint64_t id, stamp ;
  size_t n ;

  n = ferry_msgname_fmt(s, 1234567, 0) ;
  CHECK(!strcmp(s, "00000000000.1234567") && n == strlen(s), "%s", s) ;
  /* 2026-11-23 06:03:09.123456 UTC */
  n = ferry_msgname_fmt(s, 1234567, 1795413789123456ULL) ;
  CHECK(n == 19 && s[11] == '.' && !strcmp(s + 12, "1234567"), "%s", s) ;
  CHECK(ferry_msgname_scan(s, &id, &stamp) && id == 1234567 && stamp == 1795413789123456ULL, "round trip %s", s) ;
  ferry_msgname_fmt(t, 1234567, 1795413789123457ULL) ;
  CHECK(strcmp(s, t) < 0, "a microsecond later sorts later: %s %s", s, t) ;
  ferry_msgname_fmt(t, 99, 1795413789123457ULL) ;
  CHECK(strcmp(s, t) < 0 && strlen(t) == 14, "by time first, whatever the id: %s %s", s, t) ;
  ferry_msgname_fmt(t, UINT64_MAX, (1ULL << 55) - 1) ;
  CHECK(!strcmp(t, "ZZZZZZZZZZZ.18446744073709551615") && strlen(t) < FERRY_MSGNAME_MAX, "the longest: %s", t) ;
  CHECK(ferry_msgname_scan(t, &id, &stamp) && id == UINT64_MAX && stamp == (1ULL << 55) - 1, "the longest parses") ;
  {
    char low[FERRY_MSGNAME_MAX] ;
    size_t k ;
    for (k = 0 ; s[k] ; k++) low[k] = s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k] ;
    low[k] = 0 ;
    CHECK(ferry_msgname_scan(low, &id, &stamp) && id == 1234567 && stamp == 1795413789123456ULL, "lower case too: %s", low) ;
  }
  CHECK(!ferry_msgname_scan("1234567", &id, &stamp), "a bare id is not a name") ;
  CHECK(!ferry_msgname_scan("", &id, &stamp), "empty") ;
  CHECK(!ferry_msgname_scan("1KQ3ZJ8VX4.1234567", &id, &stamp), "a stamp too short") ;
  CHECK(!ferry_msgname_scan("1KQ3ZJ8VX4MM.1234567", &id, &stamp), "a stamp too long") ;
  CHECK(!ferry_msgname_scan("1KQ3ZJ8VX4U.1234567", &id, &stamp), "U is no digit") ;
  CHECK(!ferry_msgname_scan("1KQ3ZJ8VX4M.", &id, &stamp), "no id") ;
  CHECK(!ferry_msgname_scan("1KQ3ZJ8VX4M.0", &id, &stamp), "id 0") ;
  CHECK(!ferry_msgname_scan("1KQ3ZJ8VX4M.12x", &id, &stamp), "junk after the id") ;
  CHECK(!ferry_msgname_scan("1KQ3ZJ8VX4M.18446744073709551616", &id, &stamp), "an id too large") ;
  CHECK(!ferry_msgname_scan("1KQ3ZJ8VX4M-1234567", &id, &stamp), "another separator") ;

  /* the stamp of a message file: set by its writer, read back from queue/mess/N/ID */
  if (!mkdtemp(tmpl) || chdir(tmpl) < 0 || mkdir("queue", 0755) < 0 || mkdir("queue/mess", 0755) < 0 || mkdir("queue/mess/0", 0755) < 0) { perror("tmp") ; return 111 ; }
  {
    struct stat st ;
    uint64_t first = 0, second = 0 ;
    int fd = open("f", O_WRONLY | O_CREAT | O_EXCL, 0644) ;
    char fn[FERRY_QUEUE_PATH_MAX] ;
    if (fd < 0 || fstat(fd, &st) < 0) { perror("f") ; return 111 ; }
    ferry_queue_path(fn, "mess", st.st_ino, 1) ;
    if (rename("f", fn) < 0) { perror(fn) ; return 111 ; }
    CHECK(write(fd, "x", 1) == 1 && ferry_msgname_stamp_set(fd) == 0, "stamp set") ;
    CHECK(ferry_msgname_read(st.st_ino, 1, &first) == 1 && first, "stamp read: %llu", (unsigned long long)first) ;
    CHECK(ferry_msgname_stamp_set(fd) == 0 && ferry_msgname_read(st.st_ino, 1, &second) == 1 && second > first,
          "set again a moment later, it is later (to the microsecond, not the clock tick): %llu %llu", (unsigned long long)first, (unsigned long long)second) ;
    ferry_msgname_of(s, st.st_ino, 1) ;
    CHECK(ferry_msgname_scan(s, &id, &stamp) && id == (uint64_t)st.st_ino && stamp == second, "the name of the file: %s", s) ;
    close(fd) ;
    unlink(fn) ;
    CHECK(ferry_msgname_read(st.st_ino, 1, &stamp) == 0 && !stamp, "no file: 0") ;
    ferry_msgname_of(s, 42, 1) ;
    CHECK(!strcmp(s, "00000000000.42"), "no file: the time 0: %s", s) ;
  }
  rmdir("queue/mess/0") ; rmdir("queue/mess") ; rmdir("queue") ;
  if (chdir("/") == 0) rmdir(tmpl) ;
  return UNIT_END() ;
}
