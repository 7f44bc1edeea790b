/* ferry-smtpd's TLS: the context from control/smtpdcert and control/smtpdkey, the handshake of
   STARTTLS or of SMTPS with a deadline, and the reads and writes of the TLS stream that the
   buffered I/O layer calls in place of read(2) and write(2) once TLS is on. */
#ifndef FERRY_SMTPD_TLS_SERVER_H
#define FERRY_SMTPD_TLS_SERVER_H

#include <sys/types.h>

#include <openssl/ssl.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <ferry/tls.h>

#define SMTPD_TLS_CERT "control/smtpdcert"
#define SMTPD_TLS_KEY "control/smtpdkey"

typedef struct smtpd_tls_s smtpd_tls ;
struct smtpd_tls_s
{
  SSL_CTX *ctx ;          /* 0: no usable certificate: STARTTLS is not offered */
  SSL *ssl ;              /* 0 until the handshake starts */
  int rfd ;               /* the client's socket, as tcpserver gives it: fd 0 to read, fd 1 to write */
  int wfd ;
  int ev ;                /* what OpenSSL waits for before the last read or write can go on */
  size_t wlen ;           /* the length of a write to be retried */
  int on ;                /* the handshake is done: the session speaks TLS */
  ferry_tls_cert cert ;
  char version[16] ;      /* the negotiated version, "TLSv1.3" */
  char cipher[64] ;       /* and cipher, "TLS_AES_256_GCM_SHA384" */
  int bits ;              /* its secret bits */
} ;
#define SMTPD_TLS_ZERO { 0, 0, 0, 1, 0, 0, 0, FERRY_TLS_CERT_ZERO, "", "", 0 }

 /* Reads control/smtpdcert and control/smtpdkey (relative to the home, the current directory)
    into t->ctx. 1 done; 0 no usable certificate, why (terminated) says which file and what is
    wrong: the caller logs it and offers no STARTTLS (SMTPS cannot run). */
extern int smtpd_tls_init (smtpd_tls *t, stralloc *why) ;

 /* The handshake as the server on t->rfd and t->wfd (made non-blocking), waiting at most until
    deadline. 1 done: t->version, t->cipher and t->bits are set, and reads and writes go through
    smtpd_tls_read and smtpd_tls_write; 0 failed or timed out, why says so (the connection
    cannot go on: the caller ends it). */
extern int smtpd_tls_handshake (smtpd_tls *t, tain const *deadline, stralloc *why) ;

 /* As read(2) and write(2) on a non-blocking socket: -1 with errno EAGAIN means wait for
    smtpd_tls_event(t, reading) on the socket smtpd_tls_fd(t, reading) gives. */
extern ssize_t smtpd_tls_read (smtpd_tls *t, char *buf, size_t n) ;
extern ssize_t smtpd_tls_write (smtpd_tls *t, char const *buf, size_t n) ;
extern int smtpd_tls_event (smtpd_tls const *t, int reading) ;
extern int smtpd_tls_fd (smtpd_tls const *t, int reading) ;

 /* The same, waiting at most until deadline: -1 with errno ETIMEDOUT when it passed.
    smtpd_tls_write_all writes all of buf: n, or -1. */
extern ssize_t smtpd_tls_read_until (smtpd_tls *t, char *buf, size_t n, tain const *deadline) ;
extern ssize_t smtpd_tls_write_all (smtpd_tls *t, char const *buf, size_t n, tain const *deadline) ;

 /* Bytes already decrypted and not read yet: a reader must take them before it waits. */
extern size_t smtpd_tls_pending (smtpd_tls const *t) ;

 /* The TLS of the session for the Received header and the log, appended to sa (not
    terminated): "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)". 0: out of memory. */
extern int smtpd_tls_describe (smtpd_tls const *t, stralloc *sa) ;

 /* Sends close_notify once if TLS is on (no wait), frees the connection and the context. */
extern void smtpd_tls_end (smtpd_tls *t) ;

#endif
