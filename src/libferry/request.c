/* Delivery requests and answers of doc/protocols.html, shared by the spawners. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/uint64.h>

#include <ferry/body.h>
#include <ferry/frame.h>

char const *ferry_request_check (char const *p, size_t n, ferry_request *r, char *numbuf)
{
  char const *f[6] ;
  ferry_body b = FERRY_BODY_ZERO ;
  uint64_t u ;
  size_t i ;
  int nf = ferry_fields_split(p, n, f, 6) ;
  r->num = 0 ;
  if (nf == -1)
  {
    size_t l = 0 ;
    while (l < n && l < 10 && p[l] >= '0' && p[l] <= '9') l++ ;
    if (l && l < n && !p[l]) { memcpy(numbuf, p, l) ; numbuf[l] = 0 ; r->num = numbuf ; }
    return "the request does not end with a null byte" ;
  }
  if (nf == -2) nf = 6 ;
  if (!f[0][0] || strlen(f[0]) > 10 || uint640_scan(f[0], &u) != strlen(f[0]) || u > 4294967295U)
    return "the delivery number is not a decimal number up to 4294967295" ;
  r->num = f[0] ;
  if (nf < 2 || !f[1][0] || uint640_scan(f[1], &r->id) != strlen(f[1])) return "the message id is not a decimal number" ;
  if (nf < 3 || ferry_body_record_scan(f[2], strlen(f[2]), &b) != 'w') return "the wire size is not w and a decimal number" ;
  if (nf < 4) return "the body field is not b7 or b8, with or without L, with or without T" ;
  {
    /* the envelope's b record, then T when the message asks for REQUIRETLS */
    size_t bl = strlen(f[3]) ;
    r->requiretls = bl >= 3 && f[3][bl - 1] == 'T' ;
    if (ferry_body_record_scan(f[3], bl - r->requiretls, &b) != 'b') return "the body field is not b7 or b8, with or without L, with or without T" ;
  }
  r->wire = b.wire ;
  r->eightbit = b.eightbit ;
  r->longline = b.longline ;
  if (nf < 6) return "no recipient" ;
  r->sender = f[4] ;
  r->rcpt = f[5] ;
  r->nrcpt = 0 ;
  for (i = f[5] - p ; i < n ; i += strlen(p + i) + 1)
  {
    if (!p[i]) return "an empty recipient" ;
    r->nrcpt++ ;
  }
  return 0 ;
}

int ferry_request_facts_cat (stralloc *sa, ferry_body const *b, int requiretls)
{
  if (!ferry_body_records_cat(sa, b)) return 0 ;
  if (!requiretls) return 1 ;
  sa->s[sa->len - 1] = 'T' ;   /* the b field's null byte: T goes before it */
  return stralloc_0(sa) ;
}

int ferry_answer_cat (stralloc *out, char const *num, stralloc const *results, unsigned int n)
{
  size_t mark ;
  unsigned int i ;
  if (!ferry_frame_begin(out, &mark) || !ferry_field_cats(out, num)) return 0 ;
  for (i = 0 ; i < n ; i++)
    if (!ferry_field_cat(out, results[i].s, results[i].len > 1001 ? 1001 : results[i].len)) return 0 ;
  return ferry_frame_end(out, mark) ;
}
