// SPDX-License-Identifier: GPL-2.0
/*
 * The KMIP KMS provider: CMKs are AES keys on a KMIP server (1.4, tested
 * with pykmip 0.10), reached over TLS with a client certificate:
 *
 *	kmip://HOST[:PORT]?ca=FILE&cert=FILE&key=FILE[&timeout=SECONDS]
 *
 * Wrap and unwrap are the server's Encrypt and Decrypt with AES-GCM, the
 * encryption context as the additional authenticated data, the IV made by
 * the server; the key never leaves it.  Key states come from Get
 * Attributes, aliases are KMIP Name attributes "alias/NAME" (found with
 * Locate), disable is Revoke, deletion is Destroy after a grace period
 * kept on this host (kmip-pending.h).  The mapping of every command and
 * the wrapped key format: docs/KMS-KMIP.md.
 *
 * Opening connects nowhere; the first operation connects and the
 * connection is reused by the next operations of the same ec_kms.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "key-name.h"
#include "kmip-client.h"
#include "kmip-pending.h"
#include "kms.h"
#include "ttlv.h"
#include "uri.h"

#define KMIP_SCHEME		"kmip"
#define KMIP_URI_PREFIX		"kmip://"
#define KMIP_DEFAULT_PORT	"5696"
#define HOST_MAX		128

/* Wrapped key: version, IV length, IV, ciphertext, tag. */
#define WRAP_FORMAT		1
#define WRAP_TAG_SIZE		16
#define WRAP_IV_MAX		64
#define WRAP_HEAD		2

#define DELETION_DAYS_MIN	7
#define DELETION_DAYS_MAX	30
#define DAY_SECONDS		86400
#define AES_256_BITS		256
/* CMK label for messages: "CMK <id> (alias/NAME)" */
#define LABEL_MAX		(EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8)

struct kmip_kms {
	struct ec_kms kms;		/* first: the generic part */
	char host[HOST_MAX];		/* without brackets */
	char port[8];
	char ca[EC_KMS_URI_MAX];
	char cert[EC_KMS_URI_MAX];
	char key[EC_KMS_URI_MAX];
	struct kmip_client client;
	struct kmip_pending pending;
};

/* A CMK as the server describes it. */
struct kmip_key {
	char id[EC_CMK_ID_MAX];
	char alias[EC_CMK_ALIAS_MAX];	/* "alias/NAME" or "" */
	uint32_t state;			/* enum kmip_state */
	uint32_t algorithm;		/* 0: not given */
	int32_t length;			/* bits; 0: not given */
	int64_t created;		/* Initial Date; 0: not given */
	int64_t deletion_date;		/* recorded here; 0: none */
};

static struct kmip_kms *to_kmip(struct ec_kms *kms)
{
	return (struct kmip_kms *)kms;
}

static bool is_alias(const char *key)
{
	return !strncmp(key, EC_ALIAS_PREFIX, strlen(EC_ALIAS_PREFIX));
}

static const char *key_label(const struct kmip_key *k, char *buf,
			     size_t size)
{
	return ec_key_label(k->id, k->alias, buf, size);
}

/* A key id as KMIP servers make them: printable ASCII, no space. */
static bool valid_id(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= EC_CMK_ID_MAX)
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

/* ---- the URI ------------------------------------------------------------ */

static bool host_char(char c, bool v6)
{
	if (v6)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* HOST[:PORT] or [V6][:PORT] of @auth[0..len). */
static int parse_authority(const char *uri, const char *auth, size_t len,
			   struct kmip_kms *kk)
{
	const char *host = auth, *port = NULL, *end = auth + len;
	size_t host_len, port_len, i;
	unsigned long n;
	bool v6 = false;

	if (len && auth[0] == '[') {
		const char *close = memchr(auth, ']', len);

		if (!close)
			return ec_err_set(-EINVAL,
					  "KMS URI '%s': an IPv6 address has no closing ']'",
					  uri);
		v6 = true;
		host = auth + 1;
		host_len = (size_t)(close - host);
		if (close + 1 < end && close[1] != ':')
			return ec_err_set(-EINVAL,
					  "KMS URI '%s': ']' must be followed by ':PORT' or the end of the address",
					  uri);
		if (close + 1 < end)
			port = close + 2;
	} else {
		const char *colon = memchr(auth, ':', len);

		host_len = colon ? (size_t)(colon - auth) : len;
		if (colon) {
			port = colon + 1;
			if (memchr(port, ':', (size_t)(end - port)))
				return ec_err_set(-EINVAL,
						  "KMS URI '%s': write an IPv6 address in brackets: kmip://[ADDRESS]:PORT?...",
						  uri);
		}
	}
	if (!host_len || host_len >= sizeof(kk->host))
		return ec_err_set(-EINVAL,
				  "KMS URI '%s' names no KMIP server host (or a name longer than %zu characters); use kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE",
				  uri, sizeof(kk->host) - 1);
	for (i = 0; i < host_len; i++)
		if (!host_char(host[i], v6))
			return ec_err_set(-EINVAL,
					  "KMS URI '%s': '%.*s' is not a host name or address",
					  uri, (int)host_len, host);
	memcpy(kk->host, host, host_len);
	kk->host[host_len] = '\0';

	if (!port) {
		snprintf(kk->port, sizeof(kk->port), "%s", KMIP_DEFAULT_PORT);
		return 0;
	}
	port_len = (size_t)(end - port);
	n = 0;
	for (i = 0; i < port_len && i < 6; i++) {
		if (port[i] < '0' || port[i] > '9')
			break;
		n = n * 10 + (unsigned long)(port[i] - '0');
	}
	if (!port_len || i != port_len || n < 1 || n > 65535)
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': port '%.*s' is not a number from 1 to 65535",
				  uri, (int)(port_len > 8 ? 8 : port_len), port);
	snprintf(kk->port, sizeof(kk->port), "%lu", n);
	return 0;
}

/* Parameter @name (a file): required, made absolute against the cwd. */
static int file_param(const char *uri, const char *query, const char *name,
		      const char *what, char *path, size_t size)
{
	char value[EC_KMS_URI_MAX], cwd[PATH_MAX];
	int r;

	r = ec_uri_param(uri, query, '&', name, value, sizeof(value));
	if (r < 0)
		return r;
	if (!r || !value[0])
		return ec_err_set(-EINVAL,
				  "KMS URI '%s' has no %s=FILE (%s); a KMIP URI is kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE",
				  uri, name, what);
	if (value[0] == '/') {
		snprintf(path, size, "%s", value);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return ec_err_set(-errno,
				  "KMS URI '%s': %s=%s is relative, and the current directory is unknown: %s; give an absolute path",
				  uri, name, value, strerror(errno));
	if ((size_t)snprintf(path, size, "%s/%s", cwd, value) >= size)
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': the path of %s=%s is too long; use a shorter one",
				  uri, name, value);
	return 0;
}

/* @s percent-encoded where a URI query value needs it. */
static size_t encode_value(char *out, size_t size, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || strchr("-._~/+,:@", c);

		if (plain) {
			if (n + 1 < size)
				out[n] = (char)c;
			n++;
		} else {
			if (n + 3 < size) {
				out[n] = '%';
				out[n + 1] = hex[c >> 4];
				out[n + 2] = hex[c & 15];
			}
			n += 3;
		}
	}
	if (size)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

/* The canonical URI: what a wrap slot stores. */
static int canonical_uri(const char *uri, struct kmip_kms *kk, int timeout_ms)
{
	char ca[3 * EC_KMS_URI_MAX], cert[3 * EC_KMS_URI_MAX],
	     key[3 * EC_KMS_URI_MAX], timeout[24] = "";
	bool v6 = strchr(kk->host, ':') != NULL;
	int n;

	encode_value(ca, sizeof(ca), kk->ca);
	encode_value(cert, sizeof(cert), kk->cert);
	encode_value(key, sizeof(key), kk->key);
	if (timeout_ms != EC_KMS_TIMEOUT_DEFAULT_MS)
		snprintf(timeout, sizeof(timeout), "&timeout=%d",
			 timeout_ms / 1000);
	n = snprintf(kk->kms.uri, sizeof(kk->kms.uri),
		     KMIP_URI_PREFIX "%s%s%s:%s?ca=%s&cert=%s&key=%s%s",
		     v6 ? "[" : "", kk->host, v6 ? "]" : "", kk->port, ca,
		     cert, key, timeout);
	if (n < 0 || (size_t)n >= sizeof(kk->kms.uri))
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': with absolute paths it is %d characters long, more than a wrap slot holds (%d); use shorter paths (a symbolic link)",
				  uri, n, EC_KMS_URI_MAX - 1);
	return 0;
}

static int kmip_open(const char *uri, struct ec_kms **out)
{
	static const char *const known[] = { "ca", "cert", "key", "timeout",
					     NULL };
	const char *auth, *query, *q;
	struct kmip_kms *kk;
	size_t auth_len;
	int timeout_ms, r;

	*out = NULL;
	if (strncmp(uri, KMIP_URI_PREFIX, strlen(KMIP_URI_PREFIX)))
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': a KMIP URI is kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE",
				  uri);
	auth = uri + strlen(KMIP_URI_PREFIX);
	q = strchr(auth, '?');
	query = q ? q + 1 : "";
	auth_len = q ? (size_t)(q - auth) : strlen(auth);
	if (auth_len && auth[auth_len - 1] == '/')
		auth_len--;	/* kmip://host:port/?... */
	if (memchr(auth, '/', auth_len) || memchr(auth, '@', auth_len) ||
	    strchr(uri, '#'))
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': a KMIP URI has no path, user or fragment: kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE",
				  uri);

	kk = calloc(1, sizeof(*kk));
	if (!kk)
		return ec_err_set(-ENOMEM, "out of memory");
	r = parse_authority(uri, auth, auth_len, kk);
	if (!r)
		r = ec_uri_check_params(uri, query, '&', known);
	if (!r)
		r = file_param(uri, query, "ca",
			       "the CA certificate that signed the KMIP server's certificate",
			       kk->ca, sizeof(kk->ca));
	if (!r)
		r = file_param(uri, query, "cert",
			       "this host's client certificate",
			       kk->cert, sizeof(kk->cert));
	if (!r)
		r = file_param(uri, query, "key",
			       "the private key of the client certificate",
			       kk->key, sizeof(kk->key));
	if (!r)
		r = ec_uri_timeout_ms(uri, query, &timeout_ms);
	if (!r)
		r = canonical_uri(uri, kk, timeout_ms);
	if (r) {
		free(kk);
		return r;
	}
	snprintf(kk->kms.name, sizeof(kk->kms.name), "KMIP KMS %s%s%s:%s",
		 strchr(kk->host, ':') ? "[" : "", kk->host,
		 strchr(kk->host, ':') ? "]" : "", kk->port);
	r = kmip_pending_init(&kk->pending, kk->host, kk->port, kk->kms.name);
	if (r) {
		free(kk);
		return r;
	}
	kk->client.params = (struct ec_tls_params){
		.host = kk->host,
		.port = kk->port,
		.ca_file = kk->ca,
		.cert_file = kk->cert,
		.key_file = kk->key,
		.timeout_ms = timeout_ms,
		.peer = kk->kms.name,
	};
	*out = &kk->kms;
	return 0;
}

static void kmip_close(struct ec_kms *kms)
{
	struct kmip_kms *kk = to_kmip(kms);

	kmip_disconnect(&kk->client);
	free(kk);
}

/* ---- results ------------------------------------------------------------ */

/*
 * A failed operation as an errno, for the reasons that mean the same for
 * every operation; @what: "Get Attributes of CMK 5".
 */
static int failed(struct kmip_kms *kk, const struct kmip_response *resp,
		  const char *what)
{
	char reason[32];

	switch (resp->reason) {
	case KMIP_REASON_ITEM_NOT_FOUND:
		return ec_err_set(-ENOKEY, "%s: not found in %s ('%s')", what,
				  kk->kms.name, resp->message);
	case KMIP_REASON_PERMISSION_DENIED:
		return ec_err_set(-EKEYREJECTED,
				  "%s: %s denied it ('%s'); check the server's operation policy for this host's client certificate",
				  what, kk->kms.name, resp->message);
	case KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL:
		return ec_err_set(-EACCES,
				  "%s: %s did not accept this host's client certificate %s ('%s'); give a certificate the server trusts, with extended key usage clientAuth",
				  what, kk->kms.name, kk->cert, resp->message);
	}
	return ec_err_set(-EPROTO, "%s: %s failed it: %s: '%s'", what,
			  kk->kms.name,
			  resp->reason ?
			  kmip_reason_name(resp->reason, reason,
					   sizeof(reason)) :
			  "no reason given",
			  resp->message);
}

/* Send a request built in @e and read its response. */
static int call(struct kmip_kms *kk, struct ttlv_enc *e,
		enum kmip_operation op, struct kmip_response *resp)
{
	kmip_request_end(e);
	return kmip_call(&kk->client, e, op, resp);
}

/* The Unique Identifier of a response payload, checked. */
static int response_id(struct kmip_kms *kk, const struct kmip_response *resp,
		       char *id, size_t size)
{
	const struct ttlv_item *it;
	int r;

	r = ttlv_need(resp->payload, KMIP_TAG_UNIQUE_IDENTIFIER, &it);
	if (!r)
		r = ttlv_get_text_copy(it, id, size);
	if (!r && !valid_id(id))
		r = ec_err_set(-EPROTO, "a key id that is not printable ASCII");
	if (r)
		return ec_err_prefix(-EPROTO, "%s answered with a bad key id",
				     kk->kms.name);
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

static void put_attribute_begin(struct ttlv_enc *e, const char *name)
{
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(e, KMIP_TAG_ATTRIBUTE_NAME, name);
}

static void put_name_attribute(struct ttlv_enc *e, const char *name)
{
	put_attribute_begin(e, "Name");
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_put_text(e, KMIP_TAG_NAME_VALUE, name);
	ttlv_put_enum(e, KMIP_TAG_NAME_TYPE, KMIP_NAME_UNINTERPRETED_TEXT);
	ttlv_end(e);
	ttlv_end(e);
}

static void put_enum_attribute(struct ttlv_enc *e, const char *name,
			       uint32_t v)
{
	put_attribute_begin(e, name);
	ttlv_put_enum(e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_end(e);
}

static void put_int_attribute(struct ttlv_enc *e, const char *name,
			      int32_t v)
{
	put_attribute_begin(e, name);
	ttlv_put_integer(e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_end(e);
}

/*
 * Locate the AES keys (all, or those named @name): *ids malloc'd, *n of
 * them.
 */
static int locate(struct kmip_kms *kk, const char *name,
		  char (**ids)[EC_CMK_ID_MAX], size_t *n)
{
	char what[EC_CMK_ALIAS_MAX + 40];
	struct kmip_response resp;
	const struct ttlv_item *it;
	struct ttlv_enc e;
	size_t count = 0, i;
	int r;

	*ids = NULL;
	*n = 0;
	ttlv_enc_init(&e);
	kmip_request_begin(&e, KMIP_OP_LOCATE);
	put_enum_attribute(&e, "Object Type", KMIP_OBJECT_SYMMETRIC_KEY);
	put_enum_attribute(&e, "Cryptographic Algorithm", KMIP_ALGORITHM_AES);
	if (name)
		put_name_attribute(&e, name);
	r = call(kk, &e, KMIP_OP_LOCATE, &resp);
	ttlv_enc_free(&e);
	if (r)
		goto out;
	if (resp.status != KMIP_STATUS_SUCCESS) {
		snprintf(what, sizeof(what), "Locate of the AES keys%s%s",
			 name ? " named " : "", name ? name : "");
		r = failed(kk, &resp, what);
		goto out;
	}
	count = ttlv_count(resp.payload, KMIP_TAG_UNIQUE_IDENTIFIER);
	if (count) {
		*ids = calloc(count, sizeof(**ids));
		if (!*ids) {
			r = ec_err_set(-ENOMEM, "out of memory");
			goto out;
		}
	}
	it = ttlv_find(resp.payload, KMIP_TAG_UNIQUE_IDENTIFIER);
	for (i = 0; i < count; i++, it = ttlv_find_next(it)) {
		r = ttlv_get_text_copy(it, (*ids)[i], EC_CMK_ID_MAX);
		if (!r && !valid_id((*ids)[i]))
			r = ec_err_set(-EPROTO,
				       "a key id that is not printable ASCII");
		if (r) {
			ec_err_prefix(-EPROTO,
				      "%s answered a Locate with a bad key id",
				      kk->kms.name);
			r = -EPROTO;
			free(*ids);
			*ids = NULL;
			goto out;
		}
	}
	*n = count;
out:
	kmip_response_free(&resp);
	return r;
}

/* The id of the one key named @alias ("alias/NAME"). */
static int resolve_alias(struct kmip_kms *kk, const char *alias, char *id)
{
	char (*ids)[EC_CMK_ID_MAX];
	size_t n;
	int r;

	r = locate(kk, alias, &ids, &n);
	if (r)
		return r;
	if (n == 1)
		snprintf(id, EC_CMK_ID_MAX, "%s", ids[0]);
	else if (!n)
		r = ec_err_set(-ENOKEY, "CMK %s not found in %s", alias,
			       kk->kms.name);
	else
		r = ec_err_set(-EPROTO,
			       "%zu keys are named %s in %s (%s, %s%s): an alias must name one key; remove the name from all but one with the server's tools",
			       n, alias, kk->kms.name, ids[0], ids[1],
			       n > 2 ? ", ..." : "");
	free(ids);
	return r;
}

/* @key (an id or "alias/NAME") as a key id. */
static int resolve(struct kmip_kms *kk, const char *key, char *id)
{
	if (!key || !*key)
		return ec_err_set(-EINVAL, "no CMK given for %s",
				  kk->kms.name);
	if (is_alias(key))
		return resolve_alias(kk, key, id);
	if (!valid_id(key))
		return ec_err_set(-ENOKEY,
				  "'%.*s' is not a key id of %s (printable ASCII, at most %d characters) nor alias/NAME",
				  EC_CMK_ID_MAX, key, kk->kms.name,
				  EC_CMK_ID_MAX - 1);
	snprintf(id, EC_CMK_ID_MAX, "%s", key);
	return 0;
}

/* One Attribute of a Get Attributes answer into @k. */
static int read_attribute(const struct ttlv_item *attr, struct kmip_key *k)
{
	const struct ttlv_item *name_it = NULL, *value, *it;
	char name[64], text[EC_CMK_ALIAS_MAX];
	int r;

	r = ttlv_get_structure(attr);
	if (!r)
		r = ttlv_need(attr, KMIP_TAG_ATTRIBUTE_NAME, &name_it);
	if (!r)
		r = ttlv_get_text_copy(name_it, name, sizeof(name));
	if (r == -EPROTO && name_it && name_it->type == TTLV_TEXT_STRING)
		return 0;	/* a long name: not one we asked for */
	if (!r)
		r = ttlv_need(attr, KMIP_TAG_ATTRIBUTE_VALUE, &value);
	if (r)
		return r;
	if (!strcmp(name, "State"))
		return ttlv_get_enum(value, &k->state);
	if (!strcmp(name, "Cryptographic Algorithm"))
		return ttlv_get_enum(value, &k->algorithm);
	if (!strcmp(name, "Cryptographic Length"))
		return ttlv_get_integer(value, &k->length);
	if (!strcmp(name, "Initial Date"))
		return ttlv_get_date_time(value, &k->created);
	if (strcmp(name, "Name") || !strcmp(k->alias, EC_SERVICE_KEY_ALIAS))
		return 0;
	/*
	 * The first name "alias/NAME" is the alias, but the service key's
	 * name wins: the key must be known as the service key whatever other
	 * names it has.
	 */
	r = ttlv_need(value, KMIP_TAG_NAME_VALUE, &it);
	if (r)
		return r;
	r = ttlv_get_text_copy(it, text, sizeof(text));
	if (r == -EPROTO && it->type == TTLV_TEXT_STRING)
		return 0;	/* too long for an alias of ours */
	if (!r && is_alias(text) &&
	    ec_alias_name_valid(text + strlen(EC_ALIAS_PREFIX),
				strlen(text) - strlen(EC_ALIAS_PREFIX)) &&
	    (!k->alias[0] || !strcmp(text, EC_SERVICE_KEY_ALIAS)))
		memcpy(k->alias, text, sizeof(text));
	return r;
}

/* Get Attributes of key @key_id into @k (the server's view only); @key_id
 * may be @k->id. */
static int get_key(struct kmip_kms *kk, const char *key_id,
		   struct kmip_key *k)
{
	static const char *const names[] = {
		"State", "Name", "Cryptographic Algorithm",
		"Cryptographic Length", "Initial Date",
	};
	char what[EC_CMK_ID_MAX + 40], id[EC_CMK_ID_MAX];
	struct kmip_response resp;
	const struct ttlv_item *attr;
	struct ttlv_enc e;
	size_t i;
	int r;

	snprintf(id, sizeof(id), "%s", key_id);
	memset(k, 0, sizeof(*k));
	memcpy(k->id, id, sizeof(k->id));
	ttlv_enc_init(&e);
	kmip_request_begin(&e, KMIP_OP_GET_ATTRIBUTES);
	ttlv_put_text(&e, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ttlv_put_text(&e, KMIP_TAG_ATTRIBUTE_NAME, names[i]);
	r = call(kk, &e, KMIP_OP_GET_ATTRIBUTES, &resp);
	ttlv_enc_free(&e);
	if (r)
		goto out;
	snprintf(what, sizeof(what), "CMK %s", id);
	if (resp.status != KMIP_STATUS_SUCCESS) {
		r = failed(kk, &resp, what);
		if (r == -ENOKEY)
			r = ec_err_set(-ENOKEY, "CMK %s not found in %s", id,
				       kk->kms.name);
		goto out;
	}
	for (attr = ttlv_find(resp.payload, KMIP_TAG_ATTRIBUTE); attr;
	     attr = ttlv_find_next(attr)) {
		r = read_attribute(attr, k);
		if (r) {
			r = ec_err_prefix(-EPROTO,
					  "%s answered Get Attributes of CMK %s with a bad attribute",
					  kk->kms.name, id);
			goto out;
		}
	}
	if (!k->state)
		r = ec_err_set(-EPROTO,
			       "%s did not say the State of CMK %s; envcrypt needs it to know whether the key may be used",
			       kk->kms.name, id);
	else if (k->state == KMIP_STATE_DESTROYED ||
		 k->state == KMIP_STATE_DESTROYED_COMPROMISED)
		r = ec_err_set(-ENOKEY, "CMK %s was destroyed in %s", id,
			       kk->kms.name);
out:
	kmip_response_free(&resp);
	return r;
}

/* An operation on one key id that answers with nothing else we need. */
static int simple_op(struct kmip_kms *kk, enum kmip_operation op,
		     const char *id, struct kmip_response *resp)
{
	struct ttlv_enc e;
	int r;

	ttlv_enc_init(&e);
	kmip_request_begin(&e, op);
	ttlv_put_text(&e, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	if (op == KMIP_OP_REVOKE) {
		ttlv_begin(&e, KMIP_TAG_REVOCATION_REASON);
		ttlv_put_enum(&e, KMIP_TAG_REVOCATION_REASON_CODE,
			      KMIP_REVOKE_CESSATION_OF_OPERATION);
		ttlv_end(&e);
	}
	r = call(kk, &e, op, resp);
	ttlv_enc_free(&e);
	return r;
}

/* Activate, Revoke or Destroy key @k. */
static int key_op(struct kmip_kms *kk, enum kmip_operation op,
		  const struct kmip_key *k)
{
	char label[LABEL_MAX], what[LABEL_MAX + 40];
	struct kmip_response resp;
	int r;

	r = simple_op(kk, op, k->id, &resp);
	if (!r && resp.status != KMIP_STATUS_SUCCESS) {
		snprintf(what, sizeof(what), "%s of %s",
			 kmip_operation_name(op),
			 key_label(k, label, sizeof(label)));
		r = failed(kk, &resp, what);
	}
	kmip_response_free(&resp);
	return r;
}

/*
 * A key whose recorded deletion date has passed: destroy it now (it was
 * revoked when the deletion was scheduled; apply_pending() never gets here
 * with an Active key) and forget the record.  Returns -ENOKEY when it is
 * gone.
 */
static int purge(struct kmip_kms *kk, struct kmip_key *k)
{
	char label[LABEL_MAX], date[40];
	int r;

	r = key_op(kk, KMIP_OP_DESTROY, k);
	if (r && r != -ENOKEY)
		return ec_err_prefix(r,
				     "%s: destroying %s, whose deletion date %s has passed",
				     kk->kms.name,
				     key_label(k, label, sizeof(label)),
				     ec_key_date(k->deletion_date, date,
						 sizeof(date)));
	r = kmip_pending_set(&kk->pending, k->id, 0, 0);
	if (r)
		return r;
	return ec_err_set(-ENOKEY,
			  "%s was deleted from %s on its deletion date %s",
			  key_label(k, label, sizeof(label)), kk->kms.name,
			  ec_key_date(k->deletion_date, date, sizeof(date)));
}

/*
 * Apply the deletion record @rec of @k (NULL: none): purge when due.  The
 * record is of a key this host revoked: a key under that id that is not
 * revoked (Active: KMIP has no way back from Revoke), or that the server
 * made at another time, is another key (the server was reinstalled and
 * numbers its keys again): the record does not apply to it, and it is
 * never destroyed for it.
 */
static int apply_pending(struct kmip_kms *kk, struct kmip_key *k,
			 const struct kmip_pending_record *rec)
{
	k->deletion_date = 0;
	if (!rec || !rec->date)
		return 0;
	if (k->state == KMIP_STATE_ACTIVE ||
	    (rec->created && rec->created != k->created))
		return 0;
	k->deletion_date = rec->date;
	if (rec->date <= (int64_t)time(NULL))
		return purge(kk, k);
	return 0;
}

/* @key (an id or alias) as the server and the deletion records say. */
static int load_key(struct kmip_kms *kk, const char *key, struct kmip_key *k)
{
	struct kmip_pending_record rec;
	char id[EC_CMK_ID_MAX];
	int r;

	r = resolve(kk, key, id);
	if (!r)
		r = get_key(kk, id, k);
	if (r)
		return r;
	r = kmip_pending_get(&kk->pending, id, &rec);
	if (r < 0)
		return r;
	return apply_pending(kk, k, r ? &rec : NULL);
}

static enum ec_key_state key_state(const struct kmip_key *k)
{
	if (k->deletion_date)
		return EC_KEY_PENDING_DELETION;
	return k->state == KMIP_STATE_ACTIVE ? EC_KEY_ENABLED :
					       EC_KEY_DISABLED;
}

static void key_info(const struct kmip_key *k, struct ec_key_info *info)
{
	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	snprintf(info->id, sizeof(info->id), "%s", k->id);
	snprintf(info->alias, sizeof(info->alias), "%s", k->alias);
	/* every AES key wraps with AES-GCM; the length is the server's */
	info->spec = EC_SPEC_AES_256;
	info->state = key_state(k);
	info->versions = 1;
	info->created = k->created;
	info->deletion_date = k->deletion_date;
	info->service = !strcmp(k->alias, EC_SERVICE_KEY_ALIAS);
}

/* envcrypt wraps with AES keys only. */
static int check_aes(struct kmip_kms *kk, const struct kmip_key *k)
{
	char label[LABEL_MAX];

	if (!k->algorithm || k->algorithm == KMIP_ALGORITHM_AES)
		return 0;
	return ec_err_set(-EOPNOTSUPP,
			  "%s in %s is not an AES key (Cryptographic Algorithm 0x%x): envcrypt wraps with AES keys only",
			  key_label(k, label, sizeof(label)), kk->kms.name,
			  k->algorithm);
}

/*
 * Why the server refused key @id for @op (Permission Denied): the key's
 * state says Disabled, PendingDeletion or gone; an Active key means the
 * server's policy denies this host.
 */
static int key_refused(struct kmip_kms *kk, const char *id,
		       enum kmip_operation op, const char *server_msg)
{
	char label[LABEL_MAX], date[40], msg[KMIP_RESULT_MESSAGE_MAX + 1];
	struct kmip_key k;
	int r;

	snprintf(msg, sizeof(msg), "%s", server_msg);
	r = load_key(kk, id, &k);
	if (r)
		return r;
	key_label(&k, label, sizeof(label));
	if (k.deletion_date)
		return ec_err_set(-EKEYEXPIRED,
				  "%s is PendingDeletion in %s, deleted on %s; it was revoked when its deletion was scheduled, and KMIP cannot reactivate a revoked key: open the volume through another wrap slot",
				  label, kk->kms.name,
				  ec_key_date(k.deletion_date, date,
					      sizeof(date)));
	if (k.state != KMIP_STATE_ACTIVE)
		return ec_err_set(-EKEYREVOKED,
				  "%s is Disabled in %s (KMIP state %s); KMIP cannot reactivate a revoked key: open the volume through another wrap slot",
				  label,
				  kk->kms.name, kmip_state_name(k.state));
	return ec_err_set(-EKEYREJECTED,
			  "%s denied the %s with %s ('%s'); check the server's operation policy for this host's client certificate and the key's Cryptographic Usage Mask (Encrypt and Decrypt)",
			  kk->kms.name, kmip_operation_name(op), label, msg);
}

/* ---- wrap and unwrap ---------------------------------------------------- */

static void put_gcm_parameters(struct ttlv_enc *e, bool random_iv)
{
	ttlv_begin(e, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
	ttlv_put_enum(e, KMIP_TAG_BLOCK_CIPHER_MODE, KMIP_MODE_GCM);
	ttlv_put_enum(e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_ALGORITHM_AES);
	if (random_iv)
		ttlv_put_bool(e, KMIP_TAG_RANDOM_IV, true);
	ttlv_put_integer(e, KMIP_TAG_TAG_LENGTH, WRAP_TAG_SIZE);
	ttlv_end(e);
}

/* A failed Encrypt or Decrypt of key @id. */
static int crypt_failed(struct kmip_kms *kk, const char *id,
			enum kmip_operation op,
			const struct kmip_response *resp)
{
	char what[EC_CMK_ID_MAX + 40];

	if (resp->reason == KMIP_REASON_PERMISSION_DENIED)
		return key_refused(kk, id, op, resp->message);
	if (resp->reason == KMIP_REASON_ITEM_NOT_FOUND)
		return ec_err_set(-ENOKEY, "CMK %s not found in %s", id,
				  kk->kms.name);
	/*
	 * A tag that does not verify: Cryptographic Failure by the spec;
	 * pykmip 0.10 answers General Failure (an exception it does not
	 * map).  Our request is well-formed, so either means the wrapped
	 * key and its context disagree.
	 */
	if (op == KMIP_OP_DECRYPT &&
	    (resp->reason == KMIP_REASON_CRYPTOGRAPHIC_FAILURE ||
	     resp->reason == KMIP_REASON_GENERAL_FAILURE))
		return ec_err_set(-EBADMSG,
				  "the data key wrapped by CMK %s in %s does not authenticate: the header was changed, or the wrapped key belongs to another volume (the server said '%s')",
				  id, kk->kms.name, resp->message);
	snprintf(what, sizeof(what), "%s with CMK %s",
		 kmip_operation_name(op), id);
	return failed(kk, resp, what);
}

static int kmip_wrap(struct ec_kms *kms, const char *key_id,
		     const uint8_t *dk, size_t dk_len, const char *context,
		     struct ec_wrapped *out)
{
	struct kmip_kms *kk = to_kmip(kms);
	const struct ttlv_item *data, *iv, *tag;
	const uint8_t *ct, *ivp, *tagp;
	size_t ct_len, iv_len, tag_len;
	struct kmip_response resp;
	char id[EC_CMK_ID_MAX];
	struct ttlv_enc e;
	int r;

	if (!dk || !dk_len || !context || !out ||
	    dk_len > EC_WRAPPED_MAX - WRAP_HEAD - WRAP_IV_MAX - WRAP_TAG_SIZE)
		return ec_err_set(-EINVAL,
				  "%s: a data key of %zu bytes with a context cannot be wrapped",
				  kms->name, dk_len);
	r = resolve(kk, key_id, id);
	if (r)
		return r;

	ttlv_enc_init(&e);
	kmip_request_begin(&e, KMIP_OP_ENCRYPT);
	ttlv_put_text(&e, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	put_gcm_parameters(&e, true);
	ttlv_put_bytes(&e, KMIP_TAG_DATA, dk, dk_len);
	ttlv_put_bytes(&e, KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
		       context, strlen(context));
	r = call(kk, &e, KMIP_OP_ENCRYPT, &resp);
	ttlv_enc_free(&e);		/* wipes the data key */
	if (r)
		goto out;
	if (resp.status != KMIP_STATUS_SUCCESS) {
		r = crypt_failed(kk, id, KMIP_OP_ENCRYPT, &resp);
		goto out;
	}

	r = ttlv_need(resp.payload, KMIP_TAG_DATA, &data);
	if (!r)
		r = ttlv_get_bytes(data, &ct, &ct_len);
	if (r) {
		ec_err_prefix(r, "%s answered Encrypt without the ciphertext",
			      kms->name);
		goto out;
	}
	iv = ttlv_find(resp.payload, KMIP_TAG_IV_COUNTER_NONCE);
	tag = ttlv_find(resp.payload, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG);
	if (!iv || !tag) {
		r = ec_err_set(-EPROTO,
			       "%s answered an AES-GCM Encrypt with CMK %s without the %s: envcrypt needs a KMIP 1.4 server that makes a random IV and returns the tag",
			       kms->name, id,
			       !iv ? "IV it generated" :
			       "Authenticated Encryption Tag");
		goto out;
	}
	r = ttlv_get_bytes(iv, &ivp, &iv_len);
	if (!r)
		r = ttlv_get_bytes(tag, &tagp, &tag_len);
	if (r) {
		ec_err_prefix(r, "%s answered Encrypt with a bad IV or tag",
			      kms->name);
		goto out;
	}
	if (ct_len != dk_len || !iv_len || iv_len > WRAP_IV_MAX ||
	    tag_len != WRAP_TAG_SIZE) {
		r = ec_err_set(-EPROTO,
			       "%s answered an AES-GCM Encrypt of %zu bytes with %zu bytes of ciphertext, a %zu-byte IV and a %zu-byte tag (expected %zu, 1 to %d, %d)",
			       kms->name, dk_len, ct_len, iv_len, tag_len,
			       dk_len, WRAP_IV_MAX, WRAP_TAG_SIZE);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->data[0] = WRAP_FORMAT;
	out->data[1] = (uint8_t)iv_len;
	memcpy(out->data + WRAP_HEAD, ivp, iv_len);
	memcpy(out->data + WRAP_HEAD + iv_len, ct, ct_len);
	memcpy(out->data + WRAP_HEAD + iv_len + ct_len, tagp, tag_len);
	out->len = (uint32_t)(WRAP_HEAD + iv_len + ct_len + tag_len);
	out->cmk_version = 1;
out:
	kmip_response_free(&resp);
	return r;
}

static int kmip_unwrap(struct ec_kms *kms, const char *key_id,
		       const struct ec_wrapped *in, const char *context,
		       uint8_t *dk, size_t dk_len)
{
	struct kmip_kms *kk = to_kmip(kms);
	struct kmip_response resp;
	const struct ttlv_item *data;
	char id[EC_CMK_ID_MAX];
	const uint8_t *plain;
	size_t iv_len, len;
	struct ttlv_enc e;
	int r;

	if (!in || !dk || !dk_len || !context)
		return ec_err_set(-EINVAL, "%s: nothing to unwrap", kms->name);
	if (in->len < WRAP_HEAD || in->len > EC_WRAPPED_MAX ||
	    in->data[0] != WRAP_FORMAT)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key is not in KMIP wrap format %d: the header is damaged",
				  kms->name, WRAP_FORMAT);
	iv_len = in->data[1];
	if (!iv_len || iv_len > WRAP_IV_MAX ||
	    in->len != WRAP_HEAD + iv_len + dk_len + WRAP_TAG_SIZE)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key is %u bytes with a %zu-byte IV, a wrapped %zu-byte data key would be %zu: the header is damaged",
				  kms->name, in->len, iv_len, dk_len,
				  WRAP_HEAD + iv_len + dk_len + WRAP_TAG_SIZE);
	if (in->cmk_version != 1)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key names version %u of its CMK; KMIP keys have version 1 only: the header is damaged",
				  kms->name, in->cmk_version);
	r = resolve(kk, key_id, id);
	if (r)
		return r;

	ttlv_enc_init(&e);
	kmip_request_begin(&e, KMIP_OP_DECRYPT);
	ttlv_put_text(&e, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	put_gcm_parameters(&e, false);
	ttlv_put_bytes(&e, KMIP_TAG_DATA, in->data + WRAP_HEAD + iv_len,
		       dk_len);
	ttlv_put_bytes(&e, KMIP_TAG_IV_COUNTER_NONCE, in->data + WRAP_HEAD,
		       iv_len);
	ttlv_put_bytes(&e, KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
		       context, strlen(context));
	ttlv_put_bytes(&e, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG,
		       in->data + WRAP_HEAD + iv_len + dk_len, WRAP_TAG_SIZE);
	r = call(kk, &e, KMIP_OP_DECRYPT, &resp);
	ttlv_enc_free(&e);
	if (r)
		goto out;
	if (resp.status != KMIP_STATUS_SUCCESS) {
		r = crypt_failed(kk, id, KMIP_OP_DECRYPT, &resp);
		goto out;
	}
	r = ttlv_need(resp.payload, KMIP_TAG_DATA, &data);
	if (!r)
		r = ttlv_get_bytes(data, &plain, &len);
	if (r) {
		ec_err_prefix(r, "%s answered Decrypt without the plaintext",
			      kms->name);
		goto out;
	}
	if (len != dk_len) {
		r = ec_err_set(-EPROTO,
			       "%s answered a Decrypt with %zu bytes, the data key is %zu",
			       kms->name, len, dk_len);
		goto out;
	}
	memcpy(dk, plain, dk_len);
out:
	kmip_response_free(&resp);	/* wipes the plaintext */
	return r;
}

/* ---- administration ----------------------------------------------------- */

static int kmip_describe_key(struct ec_kms *kms, const char *key,
			     struct ec_key_info *info)
{
	struct kmip_kms *kk = to_kmip(kms);
	struct kmip_key k;
	int r;

	r = load_key(kk, key, &k);
	if (!r)
		r = check_aes(kk, &k);
	if (!r)
		key_info(&k, info);
	return r;
}

/* Create and activate an AES-256 key named @alias (or unnamed). */
static int create_named(struct kmip_kms *kk, const char *alias,
			struct ec_key_info *info)
{
	struct kmip_response resp;
	struct kmip_key k;
	struct ttlv_enc e;
	int r;

	ttlv_enc_init(&e);
	kmip_request_begin(&e, KMIP_OP_CREATE);
	ttlv_put_enum(&e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_SYMMETRIC_KEY);
	ttlv_begin(&e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	put_enum_attribute(&e, "Cryptographic Algorithm", KMIP_ALGORITHM_AES);
	put_int_attribute(&e, "Cryptographic Length", AES_256_BITS);
	put_int_attribute(&e, "Cryptographic Usage Mask",
			  KMIP_USAGE_ENCRYPT | KMIP_USAGE_DECRYPT);
	if (alias[0])
		put_name_attribute(&e, alias);
	ttlv_end(&e);
	r = call(kk, &e, KMIP_OP_CREATE, &resp);
	ttlv_enc_free(&e);
	if (!r && resp.status != KMIP_STATUS_SUCCESS)
		r = failed(kk, &resp, "Create of an AES-256 key");
	memset(&k, 0, sizeof(k));
	if (!r)
		r = response_id(kk, &resp, k.id, sizeof(k.id));
	kmip_response_free(&resp);
	if (r)
		return r;
	snprintf(k.alias, sizeof(k.alias), "%s", alias);

	r = key_op(kk, KMIP_OP_ACTIVATE, &k);
	if (r) {
		/* a Pre-Active key is of no use: do not leave it behind */
		char msg[EC_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", ec_err_msg());
		key_op(kk, KMIP_OP_DESTROY, &k);
		return ec_err_set(r, "%s", msg);
	}
	r = get_key(kk, k.id, &k);
	if (!r)
		key_info(&k, info);
	return r;
}

static int kmip_service_key(struct ec_kms *kms, struct ec_key_info *info)
{
	struct kmip_kms *kk = to_kmip(kms);
	char (*ids)[EC_CMK_ID_MAX];
	size_t n;
	int r;

	r = locate(kk, EC_SERVICE_KEY_ALIAS, &ids, &n);
	if (r)
		return r;
	free(ids);
	if (!n)
		return create_named(kk, EC_SERVICE_KEY_ALIAS, info);
	return kmip_describe_key(kms, EC_SERVICE_KEY_ALIAS, info);
}

static int kmip_create_key(struct ec_kms *kms, enum ec_key_spec spec,
			   const char *alias, struct ec_key_info *info)
{
	struct kmip_kms *kk = to_kmip(kms);
	char full[EC_CMK_ALIAS_MAX] = "";
	char (*ids)[EC_CMK_ID_MAX];
	size_t n;
	int r;

	if (spec == EC_SPEC_SM4)
		return ec_err_set(-EOPNOTSUPP,
				  "%s: KMIP has no SM4 keys (KMIP 1.4 names no SM4 algorithm); create an AES_256 key, or keep SM4 keys in another KMS",
				  kms->name);
	if (spec != EC_SPEC_AES_256)
		return ec_err_set(-EINVAL, "%s: unknown key spec %d",
				  kms->name, (int)spec);
	if (alias) {
		r = ec_alias_full(alias, full, sizeof(full));
		if (r)
			return r;
		r = locate(kk, full, &ids, &n);
		if (r)
			return r;
		if (n)
			r = ec_err_set(-EEXIST,
				       "%s is already taken by CMK %s in %s; choose another alias",
				       full, ids[0], kms->name);
		free(ids);
		if (r)
			return r;
	}
	return create_named(kk, full, info);
}

static int kmip_list_keys(struct ec_kms *kms, struct ec_key_info **keys,
			  size_t *n)
{
	struct kmip_kms *kk = to_kmip(kms);
	struct kmip_pending_record *recs = NULL, *rec;
	struct ec_key_info *list = NULL;
	char (*ids)[EC_CMK_ID_MAX] = NULL;
	size_t nids, nrecs = 0, i, j, count = 0;
	struct kmip_key k;
	int r;

	*keys = NULL;
	*n = 0;
	r = locate(kk, NULL, &ids, &nids);
	if (!r)
		r = kmip_pending_load(&kk->pending, &recs, &nrecs);
	if (r)
		goto out;
	if (nids) {
		list = calloc(nids, sizeof(*list));
		if (!list) {
			r = ec_err_set(-ENOMEM, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < nids; i++) {
		r = get_key(kk, ids[i], &k);
		/* gone, or not ours to see, since the Locate */
		if (r == -ENOKEY || r == -EKEYREJECTED)
			continue;
		if (r)
			goto out;
		for (rec = NULL, j = 0; j < nrecs && !rec; j++)
			if (!strcmp(recs[j].uid, k.id))
				rec = &recs[j];
		r = apply_pending(kk, &k, rec);
		if (r == -ENOKEY)
			continue;	/* destroyed just now */
		if (r)
			goto out;
		key_info(&k, &list[count++]);
	}
	r = 0;
	ec_key_info_sort(list, count);
	*keys = list;
	*n = count;
	list = NULL;
out:
	free(list);
	free(ids);
	free(recs);
	return r;
}

static int refuse_service_key(struct kmip_kms *kk, const struct kmip_key *k,
			      const char *what)
{
	return ec_key_refuse_service(k->id, k->alias, kk->kms.name, what);
}

static int pending_deletion(struct kmip_kms *kk, const struct kmip_key *k,
			    const char *what)
{
	return ec_key_pending_deletion(k->id, k->alias, k->deletion_date, "in",
				       kk->kms.name, what);
}

static int kmip_enable_key(struct ec_kms *kms, const char *key,
			   struct ec_key_info *info)
{
	struct kmip_kms *kk = to_kmip(kms);
	char label[LABEL_MAX];
	struct kmip_key k;
	int r;

	r = load_key(kk, key, &k);
	if (r)
		return r;
	key_label(&k, label, sizeof(label));
	if (k.deletion_date || k.state == KMIP_STATE_DEACTIVATED ||
	    k.state == KMIP_STATE_COMPROMISED)
		return ec_err_set(-EOPNOTSUPP,
				  "%s is %s in %s (KMIP state %s): KMIP has no way back from a Revoke, so a disabled key can never be enabled again; create a new key with 'kms create-key' and format or rewrap the volumes with it",
				  label, ec_key_state_name(key_state(&k)),
				  kms->name, kmip_state_name(k.state));
	if (k.state == KMIP_STATE_PRE_ACTIVE) {
		/* made by another tool and never activated */
		r = key_op(kk, KMIP_OP_ACTIVATE, &k);
		if (!r)
			r = load_key(kk, k.id, &k);
		if (r)
			return r;
	}
	key_info(&k, info);
	return 0;
}

static int kmip_disable_key(struct ec_kms *kms, const char *key,
			    struct ec_key_info *info)
{
	struct kmip_kms *kk = to_kmip(kms);
	struct kmip_key k;
	int r;

	r = load_key(kk, key, &k);
	if (r)
		return r;
	if (!strcmp(k.alias, EC_SERVICE_KEY_ALIAS))
		return refuse_service_key(kk, &k, "disable");
	if (k.deletion_date)
		return pending_deletion(kk, &k, "disable");
	if (k.state == KMIP_STATE_ACTIVE) {
		r = key_op(kk, KMIP_OP_REVOKE, &k);
		if (!r)
			r = get_key(kk, k.id, &k);
		if (r)
			return r;
	}
	key_info(&k, info);
	return 0;
}

static int kmip_rotate_key(struct ec_kms *kms, const char *key,
			   struct ec_key_info *info)
{
	(void)info;
	return ec_err_set(-EOPNOTSUPP,
			  "%s cannot rotate %s: a KMIP key has one version (KMIP's Re-key makes a new key with a new id, and pykmip has none); create a new key with 'kms create-key' and rewrap the volumes with it",
			  kms->name, key ? key : "a key");
}

static int kmip_schedule_deletion(struct ec_kms *kms, const char *key,
				  unsigned int days, struct ec_key_info *info)
{
	struct kmip_kms *kk = to_kmip(kms);
	char label[LABEL_MAX];
	struct kmip_key k;
	int64_t date;
	int r;

	r = load_key(kk, key, &k);
	if (r)
		return r;
	if (!strcmp(k.alias, EC_SERVICE_KEY_ALIAS))
		return refuse_service_key(kk, &k, "delete");
	if (days < DELETION_DAYS_MIN || days > DELETION_DAYS_MAX)
		return ec_err_set(-EINVAL,
				  "%s: the waiting period before deletion must be %d to %d days, not %u",
				  key_label(&k, label, sizeof(label)),
				  DELETION_DAYS_MIN, DELETION_DAYS_MAX, days);
	if (k.deletion_date)
		return pending_deletion(kk, &k, "schedule");
	/* unusable from now on, as a PendingDeletion key of any KMS */
	if (k.state == KMIP_STATE_ACTIVE) {
		r = key_op(kk, KMIP_OP_REVOKE, &k);
		if (!r)
			r = get_key(kk, k.id, &k);
		if (r)
			return r;
	}
	date = (int64_t)time(NULL) + (int64_t)days * DAY_SECONDS;
	r = kmip_pending_set(&kk->pending, k.id, date, k.created);
	if (r)
		return ec_err_prefix(r,
				     "%s is revoked (Disabled), but its deletion date could not be recorded",
				     key_label(&k, label, sizeof(label)));
	k.deletion_date = date;
	key_info(&k, info);
	return 0;
}

/* The key stays revoked: KMIP cannot make it Active again. */
static int kmip_cancel_deletion(struct ec_kms *kms, const char *key,
				struct ec_key_info *info)
{
	struct kmip_kms *kk = to_kmip(kms);
	char label[LABEL_MAX];
	struct kmip_key k;
	int r;

	r = load_key(kk, key, &k);
	if (r)
		return r;
	if (!k.deletion_date)
		return ec_err_set(-EINVAL,
				  "%s is %s in %s, not PendingDeletion: there is no deletion to cancel",
				  key_label(&k, label, sizeof(label)),
				  ec_key_state_name(key_state(&k)), kms->name);
	r = kmip_pending_set(&kk->pending, k.id, 0, 0);
	if (r)
		return r;
	k.deletion_date = 0;
	key_info(&k, info);
	return 0;
}

const struct ec_kms_ops ec_kms_kmip_ops = {
	.scheme			= KMIP_SCHEME,
	.open			= kmip_open,
	.close			= kmip_close,
	.describe_key		= kmip_describe_key,
	.wrap			= kmip_wrap,
	.unwrap			= kmip_unwrap,
	.service_key		= kmip_service_key,
	.create_key		= kmip_create_key,
	.list_keys		= kmip_list_keys,
	.enable_key		= kmip_enable_key,
	.disable_key		= kmip_disable_key,
	.rotate_key		= kmip_rotate_key,
	.schedule_deletion	= kmip_schedule_deletion,
	.cancel_deletion	= kmip_cancel_deletion,
};
