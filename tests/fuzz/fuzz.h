/* Shared by ferry's fuzz harnesses (libFuzzer, built by make fuzz with ASan and UBSan; see
   tests/fuzz/README). A harness checks properties as well as surviving: a broken one aborts. */
#ifndef FERRY_TESTS_FUZZ_H
#define FERRY_TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(cond) do { if (!(cond)) { fprintf(stderr, "fuzz: property broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__) ; abort() ; } } while (0)

 /* An exact-size copy of s[0..n), so that AddressSanitizer sees a read one byte past a piece. */
static inline char *fuzz_piece (char const *s, size_t n)
{
  char *p = malloc(n ? n : 1) ;
  if (!p) abort() ;
  if (n) memcpy(p, s, n) ;
  return p ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

#endif
