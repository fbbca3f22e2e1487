// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/tls.c, the TLS client of networked KMSs, against a
 * TLS server in a thread of this process: a PKI made here (a CA, a server
 * certificate for 127.0.0.1, a client certificate, and a second CA with
 * its own client), a round trip, each failure's errno and exact message
 * (refused, name, untrusted server, refused client certificate in TLS 1.2
 * and 1.3, key mismatch, missing files, a peer that does not speak TLS, a
 * peer that closes mid-reply), the deadlines of the handshake and of a
 * read, and no SIGPIPE when writing to a peer that has gone away.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "tls.h"
#include "tools-util.h"

/* ---- the options of the client's context (-Wl,--wrap) ------------------ */

uint64_t __real_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op);
uint64_t __wrap_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op);

static uint64_t client_options;	/* every option tls.c set */

uint64_t __wrap_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op)
{
	client_options |= op;
	return __real_SSL_CTX_set_options(ctx, op);
}

/* ---- a PKI for the run ------------------------------------------------- */

static char *dir;		/* scratch directory with the PEM files */

static void write_pem(const char *name, X509 *cert, EVP_PKEY *key)
{
	char *path = path_in(dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (cert)
		assert_int_equal(PEM_write_X509(f, cert), 1);
	if (key)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0,
						      NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for @key named @cn, signed by @ca_key/@ca (self-signed CA
 * when @ca is NULL); @san for a server, NULL for a client.
 */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *ca,
		       EVP_PKEY *ca_key, const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name);
	if (!ca) {
		add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else if (san) {
		add_ext(x, ca, NID_subject_alt_name, san);
		add_ext(x, ca, NID_ext_key_usage, "serverAuth");
	} else {
		add_ext(x, ca, NID_ext_key_usage, "clientAuth");
	}
	assert_true(X509_sign(x, ca ? ca_key : key, EVP_sha256()) > 0);
	return x;
}

/* ca.pem, server.pem/.key, client.pem/.key, rogue-ca.pem, rogue.pem/.key */
static void make_pki(void)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	EVP_PKEY *srv_key = EVP_EC_gen("P-256");
	EVP_PKEY *cli_key = EVP_EC_gen("P-256");
	EVP_PKEY *rca_key = EVP_EC_gen("P-256");
	EVP_PKEY *rog_key = EVP_EC_gen("P-256");
	X509 *ca, *srv, *cli, *rca, *rog;

	assert_non_null(ca_key);
	assert_non_null(rog_key);
	ca = make_cert(ca_key, "test CA", NULL, NULL, NULL);
	srv = make_cert(srv_key, "127.0.0.1", ca, ca_key, "IP:127.0.0.1");
	cli = make_cert(cli_key, "test-client", ca, ca_key, NULL);
	rca = make_cert(rca_key, "rogue CA", NULL, NULL, NULL);
	rog = make_cert(rog_key, "test-client", rca, rca_key, NULL);
	write_pem("ca.pem", ca, NULL);
	write_pem("server.pem", srv, NULL);
	write_pem("server.key", NULL, srv_key);
	write_pem("client.pem", cli, NULL);
	write_pem("client.key", NULL, cli_key);
	write_pem("rogue-ca.pem", rca, NULL);
	write_pem("rogue.pem", rog, NULL);
	write_pem("rogue.key", NULL, rog_key);
	X509_free(ca);
	X509_free(srv);
	X509_free(cli);
	X509_free(rca);
	X509_free(rog);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
	EVP_PKEY_free(rca_key);
	EVP_PKEY_free(rog_key);
}

/* ---- the server thread ------------------------------------------------- */

enum mode {
	ECHO,		/* read 8 bytes, send them back, wait for the close */
	PARTIAL,	/* read 8 bytes, send 3, close */
	SILENT,		/* handshake, then wait for the client to close */
	TCP_SILENT,	/* no TLS: wait for the client to close */
	NOT_TLS,	/* no TLS: answer an HTTP error in plain text */
	CLOSE,		/* handshake, close at once (unread data: reset) */
};

struct server {
	int lfd;
	int port;
	char port_str[16];
	enum mode mode;
	int max_proto;		/* 0, or TLS1_2_VERSION */
	pthread_t thread;
	bool handshake_ok;
};

static SSL_CTX *server_ctx(int max_proto)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char *cert = path_in(dir, "server.pem");
	char *key = path_in(dir, "server.key");
	char *ca = path_in(dir, "ca.pem");

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate_file(ctx, cert,
						      SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key,
						     SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (max_proto)
		SSL_CTX_set_max_proto_version(ctx, max_proto);
	free(cert);
	free(key);
	free(ca);
	return ctx;
}

/* Read until EOF or error (the client closed). */
static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void *serve(void *arg)
{
	struct server *s = arg;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char buf[8];
	size_t n;
	int fd;

	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (s->mode == TCP_SILENT) {
		drain(fd);
		goto out;
	}
	if (s->mode == NOT_TLS) {
		(void)!read(fd, buf, sizeof(buf));
		(void)!write(fd, "HTTP/1.0 400 Bad Request\r\n\r\n", 28);
		goto out;
	}
	ctx = server_ctx(s->max_proto);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1)
		goto out;
	s->handshake_ok = true;
	switch (s->mode) {
	case ECHO:
		if (SSL_read_ex(ssl, buf, 8, &n) == 1 && n == 8 &&
		    SSL_write_ex(ssl, buf, 8, &n) == 1)
			SSL_read_ex(ssl, buf, 1, &n);
		break;
	case PARTIAL:
		if (SSL_read_ex(ssl, buf, 8, &n) == 1)
			SSL_write_ex(ssl, "abc", 3, &n);
		SSL_shutdown(ssl);
		break;
	case SILENT:
		SSL_read_ex(ssl, buf, 1, &n);
		break;
	case CLOSE:
	default:
		break;
	}
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	close(fd);
	return NULL;
}

static void server_start(struct server *s, enum mode mode, int max_proto)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->max_proto = max_proto;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	snprintf(s->port_str, sizeof(s->port_str), "%d", s->port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_join(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

/* ---- client side -------------------------------------------------------- */

struct client {
	char *ca, *cert, *key;
	char peer[64];
	struct ec_tls_params p;
};

static void client_init(struct client *c, const struct server *s,
			const char *host, const char *ca, const char *cert,
			const char *key, int timeout_ms)
{
	c->ca = path_in(dir, ca);
	c->cert = path_in(dir, cert);
	c->key = path_in(dir, key);
	snprintf(c->peer, sizeof(c->peer), "KMIP KMS %s:%s", host,
		 s->port_str);
	c->p = (struct ec_tls_params) {
		.host = host, .port = s->port_str, .ca_file = c->ca,
		.cert_file = c->cert, .key_file = c->key,
		.timeout_ms = timeout_ms, .peer = c->peer,
	};
}

static void client_free(struct client *c)
{
	free(c->ca);
	free(c->cert);
	free(c->key);
}

/* The current message must equal the printf of @fmt. */
static void msg_is(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void msg_is(const char *fmt, ...)
{
	char want[EC_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_string_equal(ec_err_msg(), want);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tests -------------------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct server s;
	struct client c;
	struct ec_tls *t;
	char buf[8];

	(void)state;
	server_start(&s, ECHO, 0);
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "client.key",
		    2000);
	client_options = 0;
	assert_int_equal(ec_tls_connect(&c.p, &t), 0);
	/* no renegotiation; a data key read leaves no copy in OpenSSL */
	assert_true(client_options & SSL_OP_NO_RENEGOTIATION);
	assert_true(client_options & SSL_OP_CLEANSE_PLAINTEXT);
	assert_int_equal(ec_tls_write(t, "01234567", 8), 0);
	assert_int_equal(ec_tls_read(t, buf, 8), 0);
	assert_memory_equal(buf, "01234567", 8);
	assert_int_equal(ERR_peek_error(), 0);
	ec_tls_close(t);
	server_join(&s);
	assert_true(s.handshake_ok);
	client_free(&c);
}

static void test_refused(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct server s = { 0 };
	struct client c;
	struct ec_tls *t = (void *)1;
	int fd;

	(void)state;
	/* a port nobody listens on: bound, never listening */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	s.port = ntohs(sin.sin_port);
	snprintf(s.port_str, sizeof(s.port_str), "%d", s.port);
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "client.key",
		    2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -ECONNREFUSED);
	assert_null(t);
	msg_is("KMIP KMS 127.0.0.1:%d: connection refused; is the KMS running and listening on 127.0.0.1 port %d?",
	       s.port, s.port);
	close(fd);
	client_free(&c);
}

static void test_unresolvable_host(void **state)
{
	struct server s = { .port_str = "5696" };
	struct client c;
	struct ec_tls *t;
	int r;

	(void)state;
	client_init(&c, &s, "no-such-host.invalid", "ca.pem", "client.pem",
		    "client.key", 2000);
	r = ec_tls_connect(&c.p, &t);
	assert_int_equal(r, -EHOSTUNREACH);
	assert_non_null(strstr(ec_err_msg(),
		"KMIP KMS no-such-host.invalid:5696: cannot resolve 'no-such-host.invalid': "));
	client_free(&c);
}

static void test_untrusted_server(void **state)
{
	struct server s;
	struct client c;
	struct ec_tls *t;

	(void)state;
	server_start(&s, SILENT, 0);
	client_init(&c, &s, "127.0.0.1", "rogue-ca.pem", "client.pem",
		    "client.key", 2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -EACCES);
	msg_is("KMIP KMS 127.0.0.1:%d: the server certificate is not trusted by %s (self-signed certificate in certificate chain); give the CA that signed the server's certificate with ca=",
	       s.port, c.ca);
	assert_int_equal(ERR_peek_error(), 0);
	server_join(&s);
	assert_false(s.handshake_ok);
	client_free(&c);
}

static void test_wrong_name(void **state)
{
	struct server s;
	struct client c;
	struct ec_tls *t;

	(void)state;
	/* the certificate names 127.0.0.1 only; "localhost" is refused */
	server_start(&s, SILENT, 0);
	client_init(&c, &s, "localhost", "ca.pem", "client.pem", "client.key",
		    2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -EACCES);
	msg_is("KMIP KMS localhost:%d: the server certificate does not name localhost (hostname mismatch); connect with the name or address in its certificate",
	       s.port);
	server_join(&s);
	client_free(&c);
}

static void refused_client(int max_proto)
{
	struct server s;
	struct client c;
	struct ec_tls *t;
	char buf[8];
	int r;

	server_start(&s, ECHO, max_proto);
	client_init(&c, &s, "127.0.0.1", "ca.pem", "rogue.pem", "rogue.key",
		    2000);
	r = ec_tls_connect(&c.p, &t);
	if (r == 0) {
		/* TLS 1.3: the server checks our certificate after the
		 * handshake; its alert comes with the first read */
		r = ec_tls_write(t, "01234567", 8);
		if (r == 0)
			r = ec_tls_read(t, buf, 8);
		ec_tls_close(t);
	}
	assert_int_equal(r, -EACCES);
	msg_is("KMIP KMS 127.0.0.1:%d: the server refused our client certificate %s (%s); give a certificate signed by a CA the server trusts with cert= and key=",
	       s.port, c.cert, "tlsv1 alert unknown ca");
	server_join(&s);
	client_free(&c);
}

static void test_client_refused_tls12(void **state)
{
	(void)state;
	refused_client(TLS1_2_VERSION);
}

static void test_client_refused_tls13(void **state)
{
	(void)state;
	refused_client(0);
}

static void test_key_mismatch(void **state)
{
	struct server s = { .port_str = "5696" };
	struct client c;
	struct ec_tls *t;

	(void)state;
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "rogue.key",
		    2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -EINVAL);
	msg_is("KMIP KMS 127.0.0.1:5696: the client key %s does not match the client certificate %s; give the key of that certificate with key=",
	       c.key, c.cert);
	assert_int_equal(ERR_peek_error(), 0);
	client_free(&c);
}

static void test_missing_files(void **state)
{
	struct server s = { .port_str = "5696" };
	struct client c;
	struct ec_tls *t;

	(void)state;
	client_init(&c, &s, "127.0.0.1", "nope.pem", "client.pem",
		    "client.key", 2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -EINVAL);
	msg_is("KMIP KMS 127.0.0.1:5696: cannot read the CA file %s: No such file or directory",
	       c.ca);
	client_free(&c);

	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "nope.key",
		    2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -EINVAL);
	msg_is("KMIP KMS 127.0.0.1:5696: cannot read the client key %s: No such file or directory",
	       c.key);
	client_free(&c);

	/* a key where the CA should be */
	client_init(&c, &s, "127.0.0.1", "client.key", "client.pem",
		    "client.key", 2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -EINVAL);
	msg_is("KMIP KMS 127.0.0.1:5696: the CA file %s holds no usable PEM certificate (no certificate or crl found); give the CA that signed the server's certificate with ca=",
	       c.ca);
	client_free(&c);

	/* a certificate where the key should be */
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "ca.pem",
		    2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -EINVAL);
	msg_is("KMIP KMS 127.0.0.1:5696: the client key %s is not an unencrypted PEM private key; give the key of the client certificate with key=",
	       c.key);
	client_free(&c);
}

static void test_handshake_timeout(void **state)
{
	struct server s;
	struct client c;
	struct ec_tls *t;
	int64_t t0, ms;

	(void)state;
	server_start(&s, TCP_SILENT, 0);
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "client.key",
		    300);
	t0 = now_ms();
	assert_int_equal(ec_tls_connect(&c.p, &t), -ETIMEDOUT);
	ms = now_ms() - t0;
	assert_true(ms >= 290 && ms < 1500);
	msg_is("KMIP KMS 127.0.0.1:%d: no answer within 0.3 s during the TLS handshake; is it a KMIP server (TLS on this port)?",
	       s.port);
	server_join(&s);
	client_free(&c);
}

static void test_read_timeout(void **state)
{
	struct server s;
	struct client c;
	struct ec_tls *t;
	int64_t t0, ms;
	char buf[8];

	(void)state;
	server_start(&s, SILENT, 0);
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "client.key",
		    1000);
	assert_int_equal(ec_tls_connect(&c.p, &t), 0);
	t0 = now_ms();
	assert_int_equal(ec_tls_read(t, buf, 8), -ETIMEDOUT);
	ms = now_ms() - t0;
	assert_true(ms >= 990 && ms < 2500);
	msg_is("KMIP KMS 127.0.0.1:%d: no answer within 1 s; check that the KMS is healthy, or raise timeout=",
	       s.port);
	ec_tls_close(t);
	server_join(&s);
	client_free(&c);
}

static void test_closed_mid_reply(void **state)
{
	struct server s;
	struct client c;
	struct ec_tls *t;
	char buf[8];

	(void)state;
	server_start(&s, PARTIAL, 0);
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "client.key",
		    2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), 0);
	assert_int_equal(ec_tls_write(t, "01234567", 8), 0);
	assert_int_equal(ec_tls_read(t, buf, 8), -ECONNRESET);
	msg_is("KMIP KMS 127.0.0.1:%d: the server closed the connection in the middle of a reply (3 of 8 bytes)",
	       s.port);
	ec_tls_close(t);
	server_join(&s);
	client_free(&c);
}

static void test_not_tls(void **state)
{
	struct server s;
	struct client c;
	struct ec_tls *t;

	(void)state;
	server_start(&s, NOT_TLS, 0);
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "client.key",
		    2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), -EPROTO);
	msg_is("KMIP KMS 127.0.0.1:%d: the server does not speak TLS (wrong version number); check the port",
	       s.port);
	server_join(&s);
	client_free(&c);
}

/* Writing to a peer that is gone fails cleanly: no SIGPIPE kills us. */
static void test_no_sigpipe(void **state)
{
	static char big[65536];
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	struct server s;
	struct client c;
	struct ec_tls *t;
	sigset_t pending, mask;
	int i, r = 0;

	(void)state;
	sigaction(SIGPIPE, &dfl, &old);
	server_start(&s, CLOSE, 0);
	client_init(&c, &s, "127.0.0.1", "ca.pem", "client.pem", "client.key",
		    2000);
	assert_int_equal(ec_tls_connect(&c.p, &t), 0);
	server_join(&s);
	for (i = 0; i < 100 && !r; i++)
		r = ec_tls_write(t, big, sizeof(big));
	assert_int_equal(r, -ECONNRESET);
	assert_non_null(strstr(ec_err_msg(), "the server closed the connection while we sent the request"));
	ec_tls_close(t);
	/* no SIGPIPE left pending, and the mask is as it was */
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	assert_false(sigismember(&mask, SIGPIPE));
	sigaction(SIGPIPE, &old, NULL);
	client_free(&c);
}

static void test_bad_params(void **state)
{
	struct ec_tls_params p = { .host = "127.0.0.1", .port = "",
				   .timeout_ms = 1000, .peer = "KMIP KMS x" };
	struct ec_tls *t;

	(void)state;
	assert_int_equal(ec_tls_connect(&p, &t), -EINVAL);
	msg_is("KMIP KMS x: no host, port or timeout given");
	ec_tls_close(NULL);
}

static int setup(void **state)
{
	*state = dir = scratch_dir();
	make_pki();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_unresolvable_host),
		cmocka_unit_test(test_untrusted_server),
		cmocka_unit_test(test_wrong_name),
		cmocka_unit_test(test_client_refused_tls12),
		cmocka_unit_test(test_client_refused_tls13),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_missing_files),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_read_timeout),
		cmocka_unit_test(test_closed_mid_reply),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_no_sigpipe),
		cmocka_unit_test(test_bad_params),
	};

	return cmocka_run_group_tests(tests, setup, scratch_teardown);
}
