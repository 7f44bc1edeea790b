/* TLS over OpenSSL, shared by the SMTP client (ferry-spawn-remote) and the SMTP server
   (ferry-smtpd): the texts of OpenSSL's errors, non-blocking reads, writes and handshakes that say
   what they wait for, and the server's certificate and key (control/smtpdcert, control/smtpdkey). */
#ifndef FERRY_TLS_H
#define FERRY_TLS_H

#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include <skalibs/stralloc.h>

 /* why = what followed by the last OpenSSL error, else the system's (errno), else "the
    connection was closed"; terminated (len without the null byte). OpenSSL's error queue is
    emptied. 0: out of memory. */
extern int ferry_tls_why (stralloc *why, char const *what) ;

 /* One step of the handshake of ssl (its side set by SSL_set_accept_state or SSL_set_connect_state):
    1 done (*ev untouched); 0 under way, *ev the event to wait for on the socket (IOPAUSE_READ or IOPAUSE_WRITE);
    -1 failed (ferry_tls_why says why). */
extern int ferry_tls_handshake (SSL *ssl, int *ev) ;

 /* As read(2) on a non-blocking socket: > 0 bytes read, 0 the peer closed, -1 errno (EAGAIN:
    wait, for a read event when *ev is 0, else for *ev: a renegotiation or key update may need to
    write; EPROTO a TLS error). */
extern ssize_t ferry_tls_read (SSL *ssl, char *buf, size_t n, int *ev) ;

 /* As write(2) on a non-blocking socket, errno as ferry_tls_read (EAGAIN: wait for a write event
    when *ev is 0, else for *ev). A write that must be retried goes again with the same length:
    *wlen keeps it (0 between writes). */
extern ssize_t ferry_tls_write (SSL *ssl, char const *buf, size_t n, int *ev, size_t *wlen) ;

 /* What ferry_tls_server_ctx found in the certificate file. */
typedef struct ferry_tls_cert_s ferry_tls_cert ;
struct ferry_tls_cert_s
{
  char subject[256] ;    /* the first certificate's subject, one line (RFC 2253 form) */
  char notafter[32] ;    /* its end of validity, "YYYY-MM-DD HH:MM:SS UTC" */
  int expired ;          /* it has expired (or is not valid yet) */
  unsigned int chain ;   /* the number of certificates in the file */
} ;
#define FERRY_TLS_CERT_ZERO { "", "", 0, 0 }

 /* The cheap part of ferry_tls_server_ctx's checks, nothing parsed: both files there, regular,
    not empty, readable by this process, keyfile not readable by others. 1, or 0 with why
    (terminated, naming the file). */
extern int ferry_tls_server_files (char const *certfile, char const *keyfile, stralloc *why) ;

 /* The server's context: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers for TLS 1.2, no
    compression, no renegotiation, no session cache or tickets (one process per connection), the
    certificate chain of certfile and the private key of keyfile (PEM). keyfile must not be
    readable by others. 0 with why (terminated, naming the file) when a file is missing, empty,
    unreadable, not PEM, or the key is not the certificate's; cert is filled as far as read. */
extern SSL_CTX *ferry_tls_server_ctx (char const *certfile, char const *keyfile, ferry_tls_cert *cert, stralloc *why) ;

#endif
