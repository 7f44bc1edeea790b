/* Fuzz target: MTA-STS as ferry-mtasts-fetch and ferry-spawn-remote read it: a TXT record's text
   (ferry_sts_txt), a policy body (ferry_sts_policy_parse, ferry_sts_mx_match) and a cache file
   (ferry_sts_cache_parse). Properties: a record taken starts with v=STSv1 and has an id of 1 to 32
   letters and digits; a policy taken has a mode, a max_age in range, mx patterns in lower case
   (at least one unless mode none), each matching the host names it stands for; a refusal says
   why on one line; a policy taken, written as a cache file and read back, gives the same id,
   time, body and policy; a cache file taken, written again, is the same bytes. */

#include <ferry/mta_sts.h>

#include "fuzz.h"

static void why_ok (stralloc const *why)
{
  FUZZ_ASSERT(why->len && !why->s[why->len - 1] && strlen(why->s) == why->len - 1 && !strchr(why->s, '\n')) ;
}

static int alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ;
}

static void id_ok (char const *id)
{
  size_t i, n = strlen(id) ;
  FUZZ_ASSERT(n >= 1 && n <= FERRY_STS_ID_MAX) ;
  for (i = 0 ; i < n ; i++) FUZZ_ASSERT(alnum(id[i])) ;
}

static void txt_check (char const *s, size_t n)
{
  char id[FERRY_STS_ID_MAX + 1] ;
  int r = ferry_sts_txt(s, n, id) ;
  FUZZ_ASSERT(r >= -1 && r <= 1) ;
  if (r) FUZZ_ASSERT(n >= 7 && !memcmp(s, "v=STSv1", 7)) ;
  if (r == 1) id_ok(id) ;
}

static int same_policy (ferry_sts_policy const *a, ferry_sts_policy const *b)
{
  return a->mode == b->mode && a->max_age == b->max_age && a->nmx == b->nmx && a->mx.len == b->mx.len && (!a->mx.len || !memcmp(a->mx.s, b->mx.s, a->mx.len)) ;
}

static void policy_good (ferry_sts_policy const *p)
{
  size_t pos = 0 ;
  unsigned int i ;
  FUZZ_ASSERT(p->mode == STS_MODE_NONE || p->mode == STS_MODE_TESTING || p->mode == STS_MODE_ENFORCE) ;
  FUZZ_ASSERT(p->max_age <= FERRY_STS_MAX_AGE) ;
  FUZZ_ASSERT(p->nmx || p->mode == STS_MODE_NONE) ;
  for (i = 0 ; i < p->nmx ; i++)
  {
    char const *pat ;
    size_t pn, j ;
    FUZZ_ASSERT(pos < p->mx.len) ;
    pat = p->mx.s + pos ;
    pn = strlen(pat) ;
    FUZZ_ASSERT(pos + pn < p->mx.len && pn) ;
    for (j = 0 ; j < pn ; j++) FUZZ_ASSERT(!(pat[j] >= 'A' && pat[j] <= 'Z')) ;
    if (pn > 2 && pat[0] == '*' && pat[1] == '.')
    {
      /* one more label on the left matches, the name itself does not (unless another pattern has it) */
      char *h = malloc(pn + 2) ;
      if (!h) abort() ;
      memcpy(h, "ab", 2) ;
      memcpy(h + 2, pat + 1, pn) ;        /* "ab.rest", terminated */
      FUZZ_ASSERT(ferry_sts_mx_match(p, h)) ;
      h[0] = 'A' ;
      FUZZ_ASSERT(ferry_sts_mx_match(p, h)) ;
      free(h) ;
    }
    else
    {
      char *h = malloc(pn + 2) ;
      if (!h) abort() ;
      memcpy(h, pat, pn) ;
      h[pn] = '.' ; h[pn + 1] = 0 ;       /* a final dot is ignored */
      FUZZ_ASSERT(ferry_sts_mx_match(p, pat) && ferry_sts_mx_match(p, h)) ;
      free(h) ;
    }
    pos += pn + 1 ;
  }
  FUZZ_ASSERT(pos == p->mx.len) ;
  FUZZ_ASSERT(!ferry_sts_mx_match(p, "") && !ferry_sts_mx_match(p, ".")) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char *s = fuzz_piece((char const *)data, size) ;
  ferry_sts_policy p = FERRY_STS_POLICY_ZERO, q = FERRY_STS_POLICY_ZERO ;
  stralloc why = STRALLOC_ZERO, file = STRALLOC_ZERO ;
  char id[FERRY_STS_ID_MAX + 1], id2[FERRY_STS_ID_MAX + 1] ;
  uint64_t t, t2 = 0 ;
  char const *body ;
  size_t bodylen ;
  int r ;

  txt_check(s, size) ;

  /* the input as a policy body */
  r = ferry_sts_policy_parse(s, size, &p, &why) ;
  FUZZ_ASSERT(r == 0 || r == 1) ;
  if (!r) why_ok(&why) ;
  else
  {
    policy_good(&p) ;
    /* written as a cache file and read back */
    t = size * 2654435761u ;
    FUZZ_ASSERT(ferry_sts_cache_fmt(&file, "id20240101", t, s, size)) ;
    FUZZ_ASSERT(ferry_sts_cache_parse(file.s, file.len, id2, &t2, &body, &bodylen, &q, &why) == 1) ;
    FUZZ_ASSERT(!strcmp(id2, "id20240101") && t2 == t && bodylen == size && (!size || !memcmp(body, s, size))) ;
    FUZZ_ASSERT(same_policy(&p, &q)) ;
  }

  /* the input as a cache file */
  r = ferry_sts_cache_parse(s, size, id, &t, &body, &bodylen, &p, &why) ;
  FUZZ_ASSERT(r == 0 || r == 1) ;
  if (!r) why_ok(&why) ;
  else
  {
    id_ok(id) ;
    FUZZ_ASSERT(body >= s && body + bodylen == s + size) ;
    policy_good(&p) ;
    file.len = 0 ;
    FUZZ_ASSERT(ferry_sts_cache_fmt(&file, id, t, body, bodylen)) ;
    /* the same bytes, but a time written with leading zeros */
    if (file.len == size) FUZZ_ASSERT(!memcmp(file.s, s, size)) ;
    FUZZ_ASSERT(ferry_sts_cache_parse(file.s, file.len, id2, &t2, &body, &bodylen, &q, &why) == 1) ;
    FUZZ_ASSERT(!strcmp(id, id2) && t == t2 && same_policy(&p, &q)) ;
  }

  ferry_sts_policy_free(&p) ;
  ferry_sts_policy_free(&q) ;
  stralloc_free(&why) ;
  stralloc_free(&file) ;
  free(s) ;
  return 0 ;
}
