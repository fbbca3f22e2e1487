// SPDX-License-Identifier: GPL-2.0
/*
 * A TLS client connection with deadlines (see tls.h).
 *
 * The socket is non-blocking; every wait is a poll() bounded by the
 * deadline of the call, so a peer that accepts and never answers costs at
 * most the timeout.  OpenSSL writes to the socket with write(), which
 * raises SIGPIPE on a connection the peer has closed: every call that may
 * write blocks SIGPIPE in this thread and consumes one it raised, so a dead
 * server never kills the process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "tls.h"

#define PEER_MAX	160
#define REASON_MAX	160

struct ec_tls {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	int timeout_ms;
	bool broken;			/* a fatal TLS error: no shutdown */
	char peer[PEER_MAX];
	char cert_file[PEER_MAX];
};

/* ---- SIGPIPE ------------------------------------------------------------ */

struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	static const struct timespec zero;
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	/* consume the SIGPIPE we raised, not one that was there before */
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- time --------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "5 s" or "1.5 s" */
static const char *timeout_str(int ms, char *buf, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%d s", ms / 1000);
	else
		snprintf(buf, size, "%.1f s", ms / 1000.0);
	return buf;
}

/*
 * Wait for @events on @fd until @deadline (ms, monotonic); 0 ready,
 * -ETIMEDOUT, or -errno.
 */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* ---- OpenSSL errors ----------------------------------------------------- */

/* The reason of the first error in OpenSSL's queue (then cleared). */
static const char *ssl_reason(char *buf, size_t size, unsigned long *code)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (code)
		*code = e;
	if (r)
		snprintf(buf, size, "%s", r);
	else if (e)
		snprintf(buf, size, "OpenSSL error %d", ERR_GET_REASON(e));
	else
		snprintf(buf, size, "no detail");
	ERR_clear_error();
	return buf;
}

/* Is @e an alert from the server refusing our client certificate? */
static bool alert_refuses_cert(unsigned long e)
{
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return false;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
	case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		return true;
	}
	return false;
}

/* Is @e the peer closing the connection without close_notify? */
static bool is_unexpected_eof(unsigned long e)
{
	return ERR_GET_LIB(e) == ERR_LIB_SSL &&
	       ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/*
 * The message of a failed SSL_read/SSL_write/SSL_connect that did not ask
 * to wait: @what says when ("during the TLS handshake", "before it
 * answered", ...).
 */
static int ssl_failure(struct ec_tls *t, int ret, const char *what)
{
	char reason[REASON_MAX];
	unsigned long e;
	int saved = errno;
	int err = SSL_get_error(t->ssl, ret);

	t->broken = true;
	switch (err) {
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return ec_err_set(-ECONNRESET, "%s: the server closed the connection %s",
				  t->peer, what);
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved == ECONNRESET || saved == EPIPE || saved == 0)
			return ec_err_set(-ECONNRESET, "%s: the server closed the connection %s%s",
					  t->peer, what,
					  saved ? " (reset)" : "");
		return ec_err_set(-saved, "%s: connection failed %s: %s",
				  t->peer, what, strerror(saved));
	case SSL_ERROR_SSL:
		ssl_reason(reason, sizeof(reason), &e);
		if (is_unexpected_eof(e))
			return ec_err_set(-ECONNRESET, "%s: the server closed the connection %s",
					  t->peer, what);
		if (alert_refuses_cert(e))
			return ec_err_set(-EACCES,
					  "%s: the server refused our client certificate %s (%s); give a certificate signed by a CA the server trusts with cert= and key=",
					  t->peer, t->cert_file, reason);
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER ||
		     ERR_GET_REASON(e) == SSL_R_PACKET_LENGTH_TOO_LONG ||
		     ERR_GET_REASON(e) == SSL_R_UNKNOWN_PROTOCOL))
			return ec_err_set(-EPROTO, "%s: the server does not speak TLS (%s); check the port",
					  t->peer, reason);
		return ec_err_set(-EPROTO, "%s: TLS failed %s (%s)",
				  t->peer, what, reason);
	default:
		ssl_reason(reason, sizeof(reason), NULL);
		return ec_err_set(-EPROTO, "%s: TLS failed %s (SSL error %d, %s)",
				  t->peer, what, err, reason);
	}
}

/* ---- context: trust anchors and client certificate ---------------------- */

/* Never prompt for a passphrase: an encrypted key is an error. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

static int readable(const char *peer, const char *what, const char *file,
		    const char *param)
{
	FILE *f;

	if (!file || !*file)
		return ec_err_set(-EINVAL, "%s: no %s given; give it with %s=FILE",
				  peer, what, param);
	f = fopen(file, "re");
	if (!f)
		return ec_err_set(-EINVAL, "%s: cannot read the %s %s: %s",
				  peer, what, file, strerror(errno));
	fclose(f);
	return 0;
}

static int load_key(SSL_CTX *ctx, const struct ec_tls_params *p)
{
	char reason[REASON_MAX];
	EVP_PKEY *pkey;
	X509 *cert;
	BIO *bio;
	int r;

	bio = BIO_new_file(p->key_file, "r");
	if (!bio) {
		ssl_reason(reason, sizeof(reason), NULL);
		return ec_err_set(-EINVAL, "%s: cannot read the client key %s (%s)",
				  p->peer, p->key_file, reason);
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey) {
		ERR_clear_error();
		return ec_err_set(-EINVAL, "%s: the client key %s is not an unencrypted PEM private key; give the key of the client certificate with key=",
				  p->peer, p->key_file);
	}
	cert = SSL_CTX_get0_certificate(ctx);
	if (!cert || X509_check_private_key(cert, pkey) != 1) {
		ERR_clear_error();
		EVP_PKEY_free(pkey);
		return ec_err_set(-EINVAL, "%s: the client key %s does not match the client certificate %s; give the key of that certificate with key=",
				  p->peer, p->key_file, p->cert_file);
	}
	r = SSL_CTX_use_PrivateKey(ctx, pkey);
	EVP_PKEY_free(pkey);
	if (r != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ssl_reason(reason, sizeof(reason), NULL);
		return ec_err_set(-EINVAL, "%s: cannot use the client key %s with the certificate %s (%s)",
				  p->peer, p->key_file, p->cert_file, reason);
	}
	return 0;
}

static int make_ctx(const struct ec_tls_params *p, SSL_CTX **out)
{
	char reason[REASON_MAX];
	SSL_CTX *ctx;
	int r;

	r = readable(p->peer, "CA file", p->ca_file, "ca");
	if (!r)
		r = readable(p->peer, "client certificate", p->cert_file, "cert");
	if (!r)
		r = readable(p->peer, "client key", p->key_file, "key");
	if (r)
		return r;

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ERR_clear_error();
		return ec_err_set(-ENOMEM, "%s: cannot create a TLS context",
				  p->peer);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	/* a Decrypt answer holds a data key: no copy left in OpenSSL's buffer */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_CLEANSE_PLAINTEXT);

	if (SSL_CTX_load_verify_locations(ctx, p->ca_file, NULL) != 1) {
		ssl_reason(reason, sizeof(reason), NULL);
		r = ec_err_set(-EINVAL, "%s: the CA file %s holds no usable PEM certificate (%s); give the CA that signed the server's certificate with ca=",
			       p->peer, p->ca_file, reason);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, p->cert_file) != 1) {
		ssl_reason(reason, sizeof(reason), NULL);
		r = ec_err_set(-EINVAL, "%s: the client certificate %s is not a usable PEM certificate (%s); give it with cert=",
			       p->peer, p->cert_file, reason);
		goto fail;
	}
	r = load_key(ctx, p);
	if (r)
		goto fail;
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return r;
}

/* ---- TCP connect -------------------------------------------------------- */

static int errno_class(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return -ECONNREFUSED;
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
		return -EHOSTUNREACH;
	default:
		return -e;
	}
}

/* Connect to one address before @deadline; fd or -errno. */
static int connect_addr(const struct addrinfo *ai, int64_t deadline)
{
	socklen_t len;
	int fd, r, err;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EINTR) {
		r = -errno;
		goto fail;
	}
	r = wait_fd(fd, POLLOUT, deadline);
	if (r)
		goto fail;
	err = 0;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
		r = -errno;
		goto fail;
	}
	if (err) {
		r = -err;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

static int tcp_connect(const struct ec_tls_params *p, int64_t deadline,
		       int *fdp)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res, *ai;
	char tbuf[32];
	int r, fd, worst = 0;

	r = getaddrinfo(p->host, p->port, &hints, &res);
	if (r) {
		if (r == EAI_SYSTEM)
			return ec_err_set(-EHOSTUNREACH, "%s: cannot resolve '%s': %s",
					  p->peer, p->host, strerror(errno));
		if (r == EAI_SERVICE)
			return ec_err_set(-EINVAL, "%s: bad port '%s'",
					  p->peer, p->port);
		return ec_err_set(-EHOSTUNREACH, "%s: cannot resolve '%s': %s; check the host name",
				  p->peer, p->host, gai_strerror(r));
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_addr(ai, deadline);
		if (fd >= 0) {
			freeaddrinfo(res);
			*fdp = fd;
			return 0;
		}
		/* keep the most telling failure: timeout > refused > other */
		fd = errno_class(-fd);
		if (!worst || fd == -ETIMEDOUT ||
		    (fd == -ECONNREFUSED && worst != -ETIMEDOUT))
			worst = fd;
		if (fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (!worst)
		worst = -EHOSTUNREACH;

	switch (worst) {
	case -ETIMEDOUT:
		return ec_err_set(-ETIMEDOUT, "%s: no answer within %s while connecting; check the host, the port and the firewall, or raise timeout=",
				  p->peer, timeout_str(p->timeout_ms, tbuf,
						       sizeof(tbuf)));
	case -ECONNREFUSED:
		return ec_err_set(-ECONNREFUSED, "%s: connection refused; is the KMS running and listening on %s port %s?",
				  p->peer, p->host, p->port);
	case -EHOSTUNREACH:
		return ec_err_set(-EHOSTUNREACH, "%s: cannot reach %s port %s (no route); check the network",
				  p->peer, p->host, p->port);
	default:
		return ec_err_set(worst, "%s: cannot connect: %s",
				  p->peer, strerror(-worst));
	}
}

/* ---- handshake ---------------------------------------------------------- */

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

static int check_name(struct ec_tls *t, const char *host)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
	int ok;

	if (is_ip_literal(host)) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(vp, host);
	} else {
		SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = SSL_set1_host(t->ssl, host) &&
		     SSL_set_tlsext_host_name(t->ssl, host);
	}
	if (ok != 1) {
		ERR_clear_error();
		return ec_err_set(-EINVAL, "%s: cannot check the server name '%s'",
				  t->peer, host);
	}
	return 0;
}

/* The handshake failed on the certificate check of the server. */
static int untrusted(struct ec_tls *t, const struct ec_tls_params *p,
		     long vr)
{
	const char *why = X509_verify_cert_error_string(vr);

	ERR_clear_error();
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH ||
	    vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
		return ec_err_set(-EACCES, "%s: the server certificate does not name %s (%s); connect with the name or address in its certificate",
				  t->peer, p->host, why);
	return ec_err_set(-EACCES, "%s: the server certificate is not trusted by %s (%s); give the CA that signed the server's certificate with ca=",
			  t->peer, p->ca_file, why);
}

static int handshake(struct ec_tls *t, const struct ec_tls_params *p,
		     int64_t deadline)
{
	char tbuf[32];
	long vr;
	int ret, err, r;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		ret = SSL_connect(t->ssl);
		if (ret == 1)
			break;
		err = SSL_get_error(t->ssl, ret);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			r = wait_fd(t->fd, err == SSL_ERROR_WANT_READ ?
				    POLLIN : POLLOUT, deadline);
			if (r == -ETIMEDOUT)
				return ec_err_set(r, "%s: no answer within %s during the TLS handshake; is it a KMIP server (TLS on this port)?",
						  t->peer, timeout_str(t->timeout_ms, tbuf,
								       sizeof(tbuf)));
			if (r)
				return ec_err_set(r, "%s: TLS handshake: %s",
						  t->peer, strerror(-r));
			continue;
		}
		vr = SSL_get_verify_result(t->ssl);
		if (err == SSL_ERROR_SSL && vr != X509_V_OK)
			return untrusted(t, p, vr);
		return ssl_failure(t, ret, "during the TLS handshake");
	}
	/* SSL_VERIFY_PEER fails the handshake; check again all the same */
	vr = SSL_get_verify_result(t->ssl);
	if (vr != X509_V_OK)
		return untrusted(t, p, vr);
	if (!SSL_get0_peer_certificate(t->ssl))
		return ec_err_set(-EACCES, "%s: the server sent no certificate",
				  t->peer);
	return 0;
}

int ec_tls_connect(const struct ec_tls_params *p, struct ec_tls **out)
{
	struct sigpipe_guard g;
	struct ec_tls *t;
	int64_t deadline;
	int r;

	*out = NULL;
	if (!p->host || !*p->host || !p->port || !*p->port ||
	    p->timeout_ms <= 0)
		return ec_err_set(-EINVAL, "%s: no host, port or timeout given",
				  p->peer ? p->peer : "TLS");
	t = calloc(1, sizeof(*t));
	if (!t)
		return ec_err_set(-ENOMEM, "%s: out of memory", p->peer);
	t->fd = -1;
	t->timeout_ms = p->timeout_ms;
	snprintf(t->peer, sizeof(t->peer), "%s",
		 p->peer ? p->peer : "TLS peer");
	snprintf(t->cert_file, sizeof(t->cert_file), "%s",
		 p->cert_file ? p->cert_file : "");

	sigpipe_block(&g);
	r = make_ctx(p, &t->ctx);
	if (r)
		goto fail;

	deadline = now_ms() + p->timeout_ms;
	r = tcp_connect(p, deadline, &t->fd);
	if (r)
		goto fail;

	t->ssl = SSL_new(t->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, t->fd) != 1) {
		ERR_clear_error();
		r = ec_err_set(-ENOMEM, "%s: cannot create a TLS connection",
			       t->peer);
		goto fail;
	}
	r = check_name(t, p->host);
	if (r)
		goto fail;
	r = handshake(t, p, now_ms() + p->timeout_ms);
	if (r)
		goto fail;
	sigpipe_restore(&g);
	*out = t;
	return 0;
fail:
	ERR_clear_error();
	SSL_free(t->ssl);
	t->ssl = NULL;
	ec_tls_close(t);
	sigpipe_restore(&g);
	return r;
}

/* ---- read and write ----------------------------------------------------- */

/*
 * A write failed with the peer gone: an alert refusing our certificate
 * (TLS 1.3 sends it after the handshake) may be waiting to be read.
 */
static int pending_alert(struct ec_tls *t)
{
	unsigned char c;
	size_t n;
	unsigned long e;
	char reason[REASON_MAX];

	ERR_clear_error();
	if (SSL_read_ex(t->ssl, &c, 1, &n) == 1)
		return 0;
	e = ERR_peek_error();
	if (e && alert_refuses_cert(e)) {
		ssl_reason(reason, sizeof(reason), NULL);
		return ec_err_set(-EACCES, "%s: the server refused our client certificate %s (%s); give a certificate signed by a CA the server trusts with cert= and key=",
				  t->peer, t->cert_file, reason);
	}
	ERR_clear_error();
	return 0;
}

/*
 * Wait until @t can go on after SSL_ERROR_WANT_READ or _WRITE (@err), or
 * until @deadline; 0, or a negative errno (message set) that names what
 * we were doing: @sending the request, or receiving the answer.
 */
static int wait_ssl(struct ec_tls *t, int err, int64_t deadline,
		    bool sending)
{
	char tbuf[32];
	int r;

	r = wait_fd(t->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline);
	if (r == -ETIMEDOUT && sending)
		return ec_err_set(r, "%s: could not send the request within %s",
				  t->peer, timeout_str(t->timeout_ms, tbuf,
						       sizeof(tbuf)));
	if (r == -ETIMEDOUT)
		return ec_err_set(r, "%s: no answer within %s; check that the KMS is healthy, or raise timeout=",
				  t->peer, timeout_str(t->timeout_ms, tbuf,
						       sizeof(tbuf)));
	if (r)
		return ec_err_set(r, "%s: %s: %s", t->peer,
				  sending ? "send" : "receive", strerror(-r));
	return 0;
}

/* What had happened when SSL_write_ex or SSL_read_ex failed with @ret. */
static int transfer_failure(struct ec_tls *t, int ret, bool sending,
			    size_t done, size_t len)
{
	char what[128];
	int r, a;

	if (sending)
		snprintf(what, sizeof(what),
			 "while we sent the request (%zu of %zu bytes sent)",
			 done, len);
	else if (done)
		snprintf(what, sizeof(what),
			 "in the middle of a reply (%zu of %zu bytes)",
			 done, len);
	else
		snprintf(what, sizeof(what), "before it answered");
	r = ssl_failure(t, ret, what);
	if (sending && r == -ECONNRESET) {
		a = pending_alert(t);
		if (a)
			r = a;
	}
	return r;
}

/*
 * Send the @len bytes of @out, or receive @len bytes into @in (the other
 * one NULL), within the timeout.
 */
static int transfer(struct ec_tls *t, const unsigned char *out,
		    unsigned char *in, size_t len)
{
	struct sigpipe_guard g;
	bool sending = out != NULL;
	int64_t deadline = now_ms() + t->timeout_ms;
	size_t done = 0, n;
	int ret, err, r = 0;

	if (!t->ssl)
		return ec_err_set(-ENOTCONN, "%s: not connected", t->peer);
	sigpipe_block(&g);
	while (done < len) {
		ERR_clear_error();
		errno = 0;
		if (sending)
			ret = SSL_write_ex(t->ssl, out + done, len - done, &n);
		else
			ret = SSL_read_ex(t->ssl, in + done, len - done, &n);
		if (ret == 1) {
			done += n;
			continue;
		}
		err = SSL_get_error(t->ssl, ret);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			r = wait_ssl(t, err, deadline, sending);
			if (r)
				break;
			continue;
		}
		r = transfer_failure(t, ret, sending, done, len);
		break;
	}
	ERR_clear_error();
	sigpipe_restore(&g);
	return r;
}

int ec_tls_write(struct ec_tls *t, const void *buf, size_t len)
{
	return transfer(t, buf, NULL, len);
}

int ec_tls_read(struct ec_tls *t, void *buf, size_t len)
{
	return transfer(t, NULL, buf, len);
}

void ec_tls_close(struct ec_tls *t)
{
	struct sigpipe_guard g;

	if (!t)
		return;
	sigpipe_block(&g);
	if (t->ssl) {
		/* send close_notify if we can; never wait for the peer's */
		ERR_clear_error();
		if (!t->broken &&
		    !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
			SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	if (t->fd >= 0)
		close(t->fd);
	SSL_CTX_free(t->ctx);
	ERR_clear_error();
	sigpipe_restore(&g);
	free(t);
}
