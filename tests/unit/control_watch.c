/* Unit tests of ferry_control_watchu64 (src/libferry/control_watch.c) in a scratch home: every
   change of the file is seen at the next call, a change in place to a value of the same length
   made at once included; a missing file gives the default, a bad one its error until it is
   mended. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ferry/control.h>
#include "unit.h"

static void put (char const *text)
{
  FILE *f = fopen("control/databytes", "w") ;   /* in place: the same inode each time */
  if (!f) { perror("control/databytes") ; exit(2) ; }
  fputs(text, f) ;
  fclose(f) ;
}

int main (void)
{
  char dir[] = "/tmp/ferry-unit-watch.XXXXXX" ;
  ferry_control_watch w = FERRY_CONTROL_WATCH_ZERO ;
  uint64_t u = 7 ;
  int r, k ;
  if (!mkdtemp(dir) || chdir(dir) < 0 || mkdir("control", 0755) < 0) { perror(dir) ; return 2 ; }
  r = ferry_control_watchu64(&w, "databytes", &u) ;
  CHECK(r == 0 && u == 10240000, "no file: the default, 10240000: %d %llu", r, (unsigned long long)u) ;
  r = ferry_control_watchu64(&w, "databytes", &u) ;
  CHECK(r == 0 && u == 10240000, "no file, again: %d %llu", r, (unsigned long long)u) ;
  put("1000\n") ;
  r = ferry_control_watchu64(&w, "databytes", &u) ;
  CHECK(r == 1 && u == 1000, "the file made: %d %llu", r, (unsigned long long)u) ;
  for (k = 0 ; k < 50 ; k++)
  {
    /* rewritten in place at once, the same length: within one tick of a coarse clock */
    char line[16] ;
    snprintf(line, sizeof(line), "%d\n", 2000 + k) ;
    put(line) ;
    r = ferry_control_watchu64(&w, "databytes", &u) ;
    CHECK(r == 1 && u == (uint64_t)(2000 + k), "rewritten in place as %d: %d %llu", 2000 + k, r, (unsigned long long)u) ;
  }
  put("lots\n") ;
  r = ferry_control_watchu64(&w, "databytes", &u) ;
  CHECK(r == -2, "not a number: -2: %d", r) ;
  r = ferry_control_watchu64(&w, "databytes", &u) ;
  CHECK(r == -2, "still not a number: -2: %d", r) ;
  put("3000\n") ;
  r = ferry_control_watchu64(&w, "databytes", &u) ;
  CHECK(r == 1 && u == 3000, "mended: %d %llu", r, (unsigned long long)u) ;
  unlink("control/databytes") ;
  r = ferry_control_watchu64(&w, "databytes", &u) ;
  CHECK(r == 0 && u == 10240000, "removed: the default again: %d %llu", r, (unsigned long long)u) ;
  rmdir("control") ;
  if (chdir("/") == 0) rmdir(dir) ;
  return UNIT_END() ;
}
