/* Netstring frames: parsing what arrives in a buffer, building what goes out. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/uint64.h>

#include <ferry/frame.h>

int ferry_frame_take (char const *s, size_t len, size_t *pos, size_t *start, size_t *plen)
{
  size_t i = *pos ;
  uint64_t n = 0 ;
  size_t digits = 0 ;
  while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 11)
  {
    n = n * 10 + (s[i] - '0') ;
    i++ ; digits++ ;
  }
  if (i == len) return 0 ;
  if (!digits || digits > 10 || s[i] != ':' || (digits > 1 && s[*pos] == '0'))
  {
    char const *comma = memchr(s + i, ',', len - i) ;
    *pos = comma ? (size_t)(comma - s) + 1 : len ;
    return -1 ;
  }
  i++ ;
  if (n > FERRY_FRAME_MAX)
  {
    *plen = n ;
    *start = i ;
    *pos = len ;
    return -2 ;
  }
  if (len - i < n + 1) return 0 ;
  if (s[i + n] != ',')
  {
    char const *comma = memchr(s + i, ',', len - i) ;
    *pos = comma ? (size_t)(comma - s) + 1 : len ;
    return -1 ;
  }
  *start = i ;
  *plen = n ;
  *pos = i + n + 1 ;
  return 1 ;
}

 /* The length prefix is written as 10 digits' room, then moved in place when the frame ends. */
int ferry_frame_begin (stralloc *sa, size_t *mark)
{
  *mark = sa->len ;
  return stralloc_catb(sa, "0000000000:", 11) ;
}

int ferry_frame_end (stralloc *sa, size_t mark)
{
  char fmt[UINT64_FMT] ;
  size_t plen = sa->len - mark - 11 ;
  size_t k = uint64_fmt(fmt, plen) ;
  memmove(sa->s + mark + k + 1, sa->s + mark + 11, plen) ;
  memcpy(sa->s + mark, fmt, k) ;
  sa->s[mark + k] = ':' ;
  sa->len = mark + k + 1 + plen ;
  return stralloc_catb(sa, ",", 1) ;
}

int ferry_field_cat (stralloc *sa, char const *s, size_t n)
{
  size_t i, base = sa->len ;
  if (!stralloc_readyplus(sa, n + 1)) return 0 ;
  memcpy(sa->s + base, s, n) ;
  for (i = 0 ; i < n ; i++)
  {
    unsigned char c = sa->s[base + i] ;
    if (c < 32 || c == 127) sa->s[base + i] = ' ' ;
  }
  sa->s[base + n] = 0 ;
  sa->len = base + n + 1 ;
  return 1 ;
}

int ferry_field_cats (stralloc *sa, char const *s)
{
  return ferry_field_cat(sa, s, strlen(s)) ;
}

int ferry_field_catu64 (stralloc *sa, uint64_t u)
{
  char fmt[UINT64_FMT] ;
  return ferry_field_cat(sa, fmt, uint64_fmt(fmt, u)) ;
}

int ferry_fields_split (char const *p, size_t n, char const **fields, unsigned int max)
{
  unsigned int k = 0 ;
  size_t i = 0 ;
  if (!n || p[n-1]) return -1 ;
  while (i < n)
  {
    if (k == max) return -2 ;
    fields[k++] = p + i ;
    i += strlen(p + i) + 1 ;
  }
  return k ;
}
