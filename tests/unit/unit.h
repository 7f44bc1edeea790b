/* A minimal harness for ferry's unit tests: CHECK counts, reports and never stops early. */
#ifndef FERRY_TESTS_UNIT_H
#define FERRY_TESTS_UNIT_H

#include <stdio.h>

static unsigned int unit_checks = 0 ;
static unsigned int unit_failures = 0 ;

#define CHECK(cond, ...) do \
{ \
  unit_checks++ ; \
  if (!(cond)) \
  { \
    unit_failures++ ; \
    fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond) ; \
    fprintf(stderr, __VA_ARGS__) ; \
    fputc('\n', stderr) ; \
  } \
} while (0)

#define UNIT_END() (printf("%u checks, %u failed\n", unit_checks, unit_failures), unit_failures ? 1 : 0)

#endif
