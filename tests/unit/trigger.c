/* Unit tests of the trigger FIFO's lines (ferry/queue.h): what ferry_trigger_pull writes into a
   real FIFO reads back as the same ids, whole or cut at any byte; a null byte, a letter, an
   empty line, a line longer than an id and an id past 2^64 each say "list everything". */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ferry/queue.h>

#include "unit.h"

#define IDS 400

static uint64_t got[IDS * 2] ;
static size_t ngot ;

static void take (uint64_t id, void *data)
{
  (void)data ;
  if (ngot < IDS * 2) got[ngot] = id ;
  ngot++ ;
}

static int parse (char const *s, size_t n, size_t cut)
{
  ferry_trigger_carry c = FERRY_TRIGGER_CARRY_ZERO ;
  ngot = 0 ;
  if (!ferry_trigger_parse(&c, s, cut, &take, 0)) return 0 ;
  return ferry_trigger_parse(&c, s + cut, n - cut, &take, 0) ;
}

int main (void)
{
  uint64_t ids[IDS] ;
  char buf[IDS * 21 + 1] ;
  size_t n = 0, k ;
  char fifo[] = "/tmp/ferry-unit-trigger.XXXXXX" ;
  int fd, ok = 1 ;
  for (k = 0 ; k < IDS ; k++) ids[k] = k == 0 ? 0 : k == 1 ? UINT64_MAX : (uint64_t)k * 7919 * 104729 * 1299709 ;

  /* through a real FIFO */
  if (!mkdtemp(fifo)) { perror("mkdtemp") ; return 1 ; }
  {
    char path[sizeof(fifo) + 6] ;
    snprintf(path, sizeof(path), "%s/fifo", fifo) ;
    if (mkfifo(path, 0600) < 0) { perror("mkfifo") ; return 1 ; }
    ferry_trigger_pull(path, ids, 1) ;   /* no reader: nothing, no error, no wait */
    fd = open(path, O_RDONLY | O_NONBLOCK) ;
    if (fd < 0) { perror("open") ; return 1 ; }
    ferry_trigger_pull(path, ids, IDS) ;
    for (;;)
    {
      ssize_t r = read(fd, buf + n, sizeof(buf) - n) ;
      if (r <= 0) break ;
      n += r ;
    }
    ferry_trigger_pull(path, 0, 0) ;
    {
      char z[4] ;
      ssize_t r = read(fd, z, sizeof(z)) ;
      CHECK(r == 1 && z[0] == 0, "a pull without ids writes one null byte (read %zd)", r) ;
    }
    close(fd) ;
    unlink(path) ;
    rmdir(fifo) ;
  }
  CHECK(n > 0 && buf[n-1] == '\n', "the lines end with a newline") ;
  CHECK(parse(buf, n, 0) && ngot == IDS, "all %d ids read back (got %zu)", IDS, ngot) ;
  for (k = 0 ; k < IDS && k < ngot ; k++) if (got[k] != ids[k]) ok = 0 ;
  CHECK(ok, "in order, the same ids, 0 and 2^64-1 included") ;

  /* cut anywhere: the same */
  ok = 1 ;
  for (k = 0 ; k <= n && k < 600 ; k++)
  {
    if (!parse(buf, n, k) || ngot != IDS || got[0] != ids[0] || got[IDS-1] != ids[IDS-1]) ok = 0 ;
  }
  CHECK(ok, "a line cut between two reads is taken once, whole") ;

  /* what is not an id line */
  CHECK(!parse("", 1, 0), "a null byte (a wake-up without ids)") ;
  CHECK(!parse("12\n\0", 4, 4) && ngot == 1, "a null byte after a line: the line taken, then list everything") ;
  CHECK(!parse("12a\n", 4, 2), "a letter") ;
  CHECK(!parse("\n", 1, 0), "an empty line") ;
  CHECK(!parse("-1\n", 3, 0), "a sign") ;
  CHECK(!parse("123456789012345678901\n", 22, 5), "21 digits: longer than any id") ;
  CHECK(!parse("18446744073709551616\n", 21, 0), "2^64: past the largest id") ;
  CHECK(parse("18446744073709551615\n", 21, 0) && ngot == 1 && got[0] == UINT64_MAX, "2^64-1 is an id") ;
  CHECK(parse("7\n7\n", 4, 1) && ngot == 2, "an id twice is reported twice (the reader takes it once)") ;
  {
    ferry_trigger_carry c = FERRY_TRIGGER_CARRY_ZERO ;
    ngot = 0 ;
    CHECK(!ferry_trigger_parse(&c, "1x", 2, &take, 0) && c.len == 0, "after a bad byte the carry is empty") ;
    CHECK(ferry_trigger_parse(&c, "5\n", 2, &take, 0) && ngot == 1 && got[0] == 5, "and the next line reads afresh") ;
  }
  (void)errno ;
  return UNIT_END() ;
}
