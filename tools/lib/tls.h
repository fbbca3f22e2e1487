/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A TLS client connection with deadlines, for networked KMS providers
 * (KMIP).  OpenSSL 3, TLS 1.2 or later, the server certificate always
 * verified against the given CA file and checked for the host name (or the
 * IP address, for an IP literal), and a client certificate.
 *
 * Every function returns 0 or a negative errno and sets a message with
 * ec_err_set() that starts with the peer name (@peer, e.g. "KMIP KMS
 * 127.0.0.1:5696") and says what to fix.  The messages may quote OpenSSL's
 * error strings but never key material.  A peer that closes the connection
 * never raises SIGPIPE.
 */
#ifndef ENVCRYPT_TLS_H
#define ENVCRYPT_TLS_H

#include <stddef.h>

struct ec_tls;

struct ec_tls_params {
	const char *host, *port;
	const char *ca_file;		/* trust anchors; verification always on */
	const char *cert_file, *key_file; /* client certificate and key (PEM) */
	int timeout_ms;			/* connect, handshake, each read and write */
	const char *peer;		/* for messages: "KMIP KMS 127.0.0.1:5696" */
};

/*
 * Resolve @p->host, connect to each address in turn (the whole connect,
 * over all addresses, within @p->timeout_ms), then do the TLS handshake
 * (within @p->timeout_ms again).  *out is freed by ec_tls_close().
 *   -ECONNREFUSED  every address refused the connection
 *   -EHOSTUNREACH  no route, or the name does not resolve
 *   -ETIMEDOUT     no connection or no handshake within the timeout
 *   -EACCES        the server certificate is not trusted or names another
 *                  host, or the server rejected our client certificate
 *   -EINVAL        CA, certificate or key file unreadable, or the key does
 *                  not match the certificate
 *   -EPROTO        the peer does not speak TLS
 *   -ENOMEM
 */
int ec_tls_connect(const struct ec_tls_params *p, struct ec_tls **out);

/*
 * Send all @len bytes within the timeout (one deadline for the call); 0,
 * -ETIMEDOUT, -EACCES (an alert refusing our client certificate, TLS 1.3)
 * or -EPROTO when the peer went away ("closed the connection").
 */
int ec_tls_write(struct ec_tls *t, const void *buf, size_t len);

/*
 * Read exactly @len bytes within the timeout (one deadline for the call);
 * 0, -ETIMEDOUT ("no answer within N s"), -EACCES (as for write), or
 * -EPROTO when the peer closes before @len bytes ("closed the
 * connection").
 */
int ec_tls_read(struct ec_tls *t, void *buf, size_t len);

/* Shut down (without waiting for the peer) and free; NULL is fine. */
void ec_tls_close(struct ec_tls *t);

#endif /* ENVCRYPT_TLS_H */
