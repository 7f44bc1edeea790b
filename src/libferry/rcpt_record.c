/* ferry_rcpt_record_cat, ferry_rcpt_record_take: the records of queue/local/ and queue/remote/. */

#include <string.h>

#include <ferry/queue.h>

int ferry_rcpt_record_cat (stralloc *sa, ferry_rcpt_record const *r)
{
  char head[FERRY_RCPT_HEAD] ;
  head[0] = r->status ;
  ferry_hex_fmt(head + 1, r->next, 16) ;
  ferry_hex_fmt(head + 17, r->index, 8) ;
  return stralloc_catb(sa, head, FERRY_RCPT_HEAD) && stralloc_catb(sa, r->addr, strlen(r->addr) + 1) ;
}

int ferry_rcpt_record_take (char const *s, size_t len, size_t *pos, ferry_rcpt_record *r)
{
  size_t p = *pos, k ;
  uint64_t next, idx ;
  if (p >= len) return 0 ;
  if (len - p <= FERRY_RCPT_HEAD) return -1 ;
  k = strnlen(s + p + FERRY_RCPT_HEAD, len - p - FERRY_RCPT_HEAD) ;
  if (p + FERRY_RCPT_HEAD + k == len) return -1 ;
  if ((s[p] != 'T' && s[p] != 'K' && s[p] != 'D')
   || !ferry_hex_scan(s + p + 1, 16, &next) || !ferry_hex_scan(s + p + 17, 8, &idx)) return -2 ;
  r->status = s[p] ;
  r->next = next ;
  r->index = (uint32_t)idx ;
  r->addr = s + p + FERRY_RCPT_HEAD ;
  *pos = p + FERRY_RCPT_HEAD + k + 1 ;
  return 1 ;
}
