/* SMTP AUTH: control/smtpauth, the credentials of route hosts, and the base64 that AUTH PLAIN and
   AUTH LOGIN send, as ferry-spawn-remote writes and ferry-smtpd reads them. Pure code: no globals, no I/O. */
#ifndef FERRY_SMTP_AUTH_H
#define FERRY_SMTP_AUTH_H

#include <stddef.h>

#include <sys/types.h>

#include <skalibs/stralloc.h>

 /* One line: "host user password": host a route's host as control/smtproutes writes it
    (brackets kept), user one word, the password the rest of the line (inner spaces kept, spaces
    and a CR at its end dropped). # lines and blank lines are ignored. */

 /* 1: every line is good; 0: why = "control/smtpauth:LINE: write host user password"
    (terminated, the first bad line); -1: out of memory. */
extern int smtp_auth_check (char const *table, size_t len, stralloc *why) ;

 /* The credentials of host (case-insensitive; the first line that names it): 1 with user and
    pass overwritten, each terminated (len counts the 0); 0: none; -1: out of memory. */
extern int smtp_auth_find (char const *table, size_t len, char const *host, stralloc *user, stralloc *pass) ;

 /* May a credentials file of this st_mode be used? Not if others may read or write it. */
extern int smtp_auth_mode_ok (unsigned int mode) ;

 /* base64 (RFC 4648, with = padding) of in[0..n) into out, which has room for
    4 * ((n + 2) / 3) bytes; returns that length. out is not terminated. */
extern size_t smtp_base64_encode (char *out, char const *in, size_t n) ;

 /* The bytes of base64 in[0..n) (RFC 4648: the standard alphabet, = padding to a multiple of 4,
    no blanks or line breaks) into out, which has room for 3 * (n / 4) bytes; returns their
    number, or -1 when in is not such base64 (out then holds garbage). */
extern ssize_t smtp_base64_decode (char *out, char const *in, size_t n) ;

 /* The response of AUTH PLAIN: base64 of "\0user\0pass". out is overwritten, terminated (len
    counts the 0), no CRLF. 1, or 0 out of memory. */
extern int smtp_auth_plain (char const *user, char const *pass, stralloc *out) ;

 /* base64 of the string s (a response of AUTH LOGIN), the same way. */
extern int smtp_auth_b64 (char const *s, stralloc *out) ;

#endif
