/* DNS messages as they come from a resolver (RFC 1035 4.1): the header, and the TLSA records
   (RFC 6698 2.1) of an answer, as ferry's DANE lookups read them. Pure code: no globals, no I/O. */
#ifndef FERRY_DNS_WIRE_H
#define FERRY_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

typedef struct ferry_dns_head_s ferry_dns_head ;
struct ferry_dns_head_s
{
  uint16_t id ;
  int qr, tc, rd, ra, ad, cd ;   /* the flags, each 0 or 1 */
  unsigned int rcode ;           /* 0 no error, 2 server failure, 3 no such name... */
  uint16_t qd, an, ns, ar ;      /* the number of records of each section */
} ;
#define FERRY_DNS_HEAD_ZERO { .id = 0, .qr = 0, .tc = 0, .rd = 0, .ra = 0, .ad = 0, .cd = 0, .rcode = 0, .qd = 0, .an = 0, .ns = 0, .ar = 0 }

 /* The first 12 bytes of buf: 1 with h filled, 0 if len is shorter. */
extern int ferry_dns_head_parse (unsigned char const *buf, size_t len, ferry_dns_head *h) ;

 /* Every TLSA record (type 52, class IN) of the answer section of the message buf[0..len),
    appended to out as [usage][selector][mtype][len hi][len lo][len bytes of data], in the
    order of the message. *ttl = the smallest TTL of them (a TTL above 2^31 - 1 counts as 0,
    RFC 2181 8), untouched if there is none. The other records of the section (CNAME, RRSIG)
    are skipped; the header (rcode, AD) and the owner names are the caller's to judge.
    Returns the number of records (0: none); -1 malformed: a header, question or record cut
    short, TLSA data shorter than 3 bytes, or a bad name: a label type other than plain or
    pointer, over 255 bytes, a pointer into the header or not back before the part of the
    name it ends (so no loop), more than 127 pointers; -2 out of memory. On -1 and -2, out is
    as it was. */
extern int ferry_dns_tlsa (unsigned char const *buf, size_t len, stralloc *out, uint32_t *ttl) ;

typedef struct ferry_tlsa_s ferry_tlsa ;
struct ferry_tlsa_s
{
  unsigned char usage, selector, mtype ;
  unsigned char const *data ;   /* the certificate association data, len bytes */
  size_t len ;
} ;
#define FERRY_TLSA_ZERO { .usage = 0, .selector = 0, .mtype = 0, .data = 0, .len = 0 }

 /* The record at *pos of s[0..n), records as ferry_dns_tlsa writes them: 1 with t filled (its
    data points into s) and *pos past it; 0 at the end (*pos == n); -1 a record cut short. */
extern int ferry_tlsa_next (char const *s, size_t n, size_t *pos, ferry_tlsa *t) ;

 /* The presentation form of a record, "usage selector mtype hex" (e.g. "3 1 1 2a0f..."), the
    data in lower-case hex (nothing after the last space when it is empty), not terminated:
    written to s, its length returned; s = 0: the length only. */
extern size_t ferry_tlsa_fmt (char *s, ferry_tlsa const *t) ;

#endif
