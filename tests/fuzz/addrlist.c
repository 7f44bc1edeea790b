/* Fuzz target: the address lists of To:, Cc: and Bcc: as ferry-sendmail -t reads them from a
   message (addrlist_parse). Properties: the count is the number of addresses given back, none
   empty or holding a control byte, made of no more bytes than the header had; an address with
   a null or control byte refuses the whole list; and a plain list built from the same bytes
   (addresses of letters, digits, dots and @, joined by commas and spaces, some in angle
   brackets after a display name) gives back exactly its addresses, in order. The list qualified
   (addrlist_qualify, for ferry-sendmail's header) reads as the same addresses, each without @
   given @d.example, is longer by exactly that, and qualifying it again changes nothing. */

#include <skalibs/stralloc.h>

#include "admin/admin.h"

#include "fuzz.h"

static unsigned int count_and_check (stralloc const *sa, size_t inlen)
{
  size_t i = 0, bytes = 0 ;
  unsigned int k = 0 ;
  while (i < sa->len)
  {
    size_t n = strlen(sa->s + i), j ;
    FUZZ_ASSERT(n > 0 && i + n < sa->len) ;
    for (j = 0 ; j < n ; j++) FUZZ_ASSERT((unsigned char)sa->s[i + j] >= 32 && sa->s[i + j] != 127) ;
    bytes += n ;
    i += n + 1 ;
    k++ ;
  }
  FUZZ_ASSERT(bytes <= inlen) ;
  return k ;
}

static void check_qualify (char const *s, size_t size, stralloc const *before, int n)
{
  stralloc q = STRALLOC_ZERO, again = STRALLOC_ZERO, after = STRALLOC_ZERO, want = STRALLOC_ZERO ;
  int k = addrlist_qualify(&q, s, size, "d.example", 9), bare = 0 ;
  size_t i = 0 ;
  FUZZ_ASSERT(k >= 0) ;
  while (i < before->len)
  {
    size_t l = strlen(before->s + i) ;
    FUZZ_ASSERT(stralloc_catb(&want, before->s + i, l)) ;
    if (!memchr(before->s + i, '@', l)) { FUZZ_ASSERT(stralloc_cats(&want, "@d.example")) ; bare++ ; }
    FUZZ_ASSERT(stralloc_0(&want)) ;
    i += l + 1 ;
  }
  FUZZ_ASSERT(k == bare && q.len == size + 10 * (size_t)k) ;
  FUZZ_ASSERT(addrlist_parse(&after, q.s, q.len) == n) ;
  FUZZ_ASSERT(after.len == want.len && (!want.len || !memcmp(after.s, want.s, want.len))) ;
  FUZZ_ASSERT(addrlist_qualify(&again, q.s, q.len, "d.example", 9) == 0) ;
  FUZZ_ASSERT(again.len == q.len && (!q.len || !memcmp(again.s, q.s, q.len))) ;
  stralloc_free(&q) ; stralloc_free(&again) ; stralloc_free(&after) ; stralloc_free(&want) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static char const alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789.@" ;
  char *s = fuzz_piece((char const *)data, size) ;
  stralloc sa = STRALLOC_ZERO, plain = STRALLOC_ZERO, want = STRALLOC_ZERO ;
  int n = addrlist_parse(&sa, s, size), wanted = 0 ;
  size_t i ;
  FUZZ_ASSERT(n >= -2) ;
  if (n >= 0) FUZZ_ASSERT(count_and_check(&sa, size) == (unsigned int)n) ;
  if (n >= 0) check_qualify(s, size, &sa, n) ;

  /* the plain list: each byte of the input is a letter of an address, or (its high bits say)
     ends the address, with or without a display name */
  for (i = 0 ; i < size ; )
  {
    size_t start = want.len ;
    int named = 0 ;
    while (i < size && (data[i] & 0xc0) != 0xc0)
    {
      FUZZ_ASSERT(stralloc_catb(&want, alphabet + data[i] % (sizeof alphabet - 1), 1)) ;
      i++ ;
    }
    if (i < size) { named = data[i] & 1 ; i++ ; }
    if (want.len == start) continue ;
    if (plain.len) FUZZ_ASSERT(stralloc_cats(&plain, named ? ",\t" : ", ")) ;
    if (named) FUZZ_ASSERT(stralloc_cats(&plain, "\"A, Name\" (note) <") && stralloc_catb(&plain, want.s + start, want.len - start) && stralloc_cats(&plain, ">")) ;
    else FUZZ_ASSERT(stralloc_catb(&plain, want.s + start, want.len - start)) ;
    FUZZ_ASSERT(stralloc_0(&want)) ;
    wanted++ ;
  }
  sa.len = 0 ;
  FUZZ_ASSERT(addrlist_parse(&sa, plain.s, plain.len) == wanted) ;
  FUZZ_ASSERT(sa.len == want.len && (!sa.len || !memcmp(sa.s, want.s, sa.len))) ;
  stralloc_free(&sa) ;
  stralloc_free(&plain) ;
  stralloc_free(&want) ;
  free(s) ;
  return 0 ;
}
