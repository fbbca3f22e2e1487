// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the KMIP provider (tools/lib/kms/kmip*.c) without a server:
 * the TLS transport is faked (-Wl,--wrap of ec_tls_*), the responses are
 * built here with the TTLV encoder.  URIs and their canonical form, the
 * wrapped key format, what the requests carry, the mapping of results to
 * errnos, the framing checks, connection reuse and reconnection, and the
 * deletion records.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "kms.h"
#include "kms/kmip-client.h"
#include "tls.h"
#include "tools-util.h"
#include "ttlv.h"

#define CTX		"volume-context"
#define DK_LEN		64

/* ---- the fake transport ------------------------------------------------- */

struct ec_tls {
	int unused;
};

struct canned {
	uint8_t *buf;
	size_t len, pos;
};

static struct ec_tls fake_tls;
static struct canned answers[16];
static int nanswers, next_answer;
static int connects, closes, connect_error;
static bool drop_next_read;	/* the server closes before answering */
static uint8_t request[8192];
static size_t request_len;
static int requests;

int __wrap_ec_tls_connect(const struct ec_tls_params *p, struct ec_tls **out);
int __wrap_ec_tls_write(struct ec_tls *t, const void *buf, size_t len);
int __wrap_ec_tls_read(struct ec_tls *t, void *buf, size_t len);
void __wrap_ec_tls_close(struct ec_tls *t);

int __wrap_ec_tls_connect(const struct ec_tls_params *p, struct ec_tls **out)
{
	connects++;
	if (connect_error)
		return ec_err_set(connect_error, "%s: connection refused",
				  p->peer);
	*out = &fake_tls;
	return 0;
}

int __wrap_ec_tls_write(struct ec_tls *t, const void *buf, size_t len)
{
	assert_ptr_equal(t, &fake_tls);
	assert_true(len <= sizeof(request));
	memcpy(request, buf, len);
	request_len = len;
	requests++;
	return 0;
}

int __wrap_ec_tls_read(struct ec_tls *t, void *buf, size_t len)
{
	struct canned *c;

	assert_ptr_equal(t, &fake_tls);
	if (drop_next_read) {
		drop_next_read = false;
		return ec_err_set(-ECONNRESET, "peer closed the connection");
	}
	if (next_answer >= nanswers)
		return ec_err_set(-ECONNRESET, "peer closed the connection");
	c = &answers[next_answer];
	if (c->len - c->pos < len) {
		next_answer++;
		return ec_err_set(-ECONNRESET, "peer closed the connection");
	}
	memcpy(buf, c->buf + c->pos, len);
	c->pos += len;
	if (c->pos == c->len)
		next_answer++;
	return 0;
}

void __wrap_ec_tls_close(struct ec_tls *t)
{
	if (t)
		closes++;
}

static void queue_bytes(const void *buf, size_t len)
{
	struct canned *c = &answers[nanswers++];

	assert_true(nanswers <= (int)(sizeof(answers) / sizeof(answers[0])));
	c->buf = malloc(len ? len : 1);
	assert_non_null(c->buf);
	memcpy(c->buf, buf, len);
	c->len = len;
	c->pos = 0;
}

typedef void payload_fn(struct ttlv_enc *e);

/* A response of one batch item; @payload NULL for none. */
static void queue_response(uint32_t op, uint32_t status, uint32_t reason,
			   const char *msg, payload_fn *payload)
{
	struct ttlv_enc e;

	ttlv_enc_init(&e);
	ttlv_begin(&e, KMIP_TAG_RESPONSE_MESSAGE);
	ttlv_begin(&e, KMIP_TAG_RESPONSE_HEADER);
	ttlv_begin(&e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_put_integer(&e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_put_integer(&e, KMIP_TAG_PROTOCOL_VERSION_MINOR, 4);
	ttlv_end(&e);
	ttlv_put_date_time(&e, KMIP_TAG_TIME_STAMP, 1700000000);
	ttlv_put_integer(&e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_end(&e);
	ttlv_begin(&e, KMIP_TAG_BATCH_ITEM);
	ttlv_put_enum(&e, KMIP_TAG_OPERATION, op);
	ttlv_put_enum(&e, KMIP_TAG_RESULT_STATUS, status);
	if (reason)
		ttlv_put_enum(&e, KMIP_TAG_RESULT_REASON, reason);
	if (msg)
		ttlv_put_text(&e, KMIP_TAG_RESULT_MESSAGE, msg);
	if (payload) {
		ttlv_begin(&e, KMIP_TAG_RESPONSE_PAYLOAD);
		payload(&e);
		ttlv_end(&e);
	}
	ttlv_end(&e);
	ttlv_end(&e);
	assert_int_equal(ttlv_enc_finish(&e), 0);
	queue_bytes(e.buf, e.len);
	ttlv_enc_free(&e);
}

static void queue_failure(uint32_t op, uint32_t reason, const char *msg)
{
	queue_response(op, KMIP_STATUS_OPERATION_FAILED, reason, msg, NULL);
}

/* ---- canned payloads ------------------------------------------------------ */

static uint8_t ciphertext[DK_LEN], iv[16], tag[16];

static void encrypt_payload(struct ttlv_enc *e)
{
	ttlv_put_text(e, KMIP_TAG_UNIQUE_IDENTIFIER, "7");
	ttlv_put_bytes(e, KMIP_TAG_DATA, ciphertext, sizeof(ciphertext));
	ttlv_put_bytes(e, KMIP_TAG_IV_COUNTER_NONCE, iv, sizeof(iv));
	ttlv_put_bytes(e, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, tag,
		       sizeof(tag));
}

static void encrypt_payload_no_iv(struct ttlv_enc *e)
{
	ttlv_put_text(e, KMIP_TAG_UNIQUE_IDENTIFIER, "7");
	ttlv_put_bytes(e, KMIP_TAG_DATA, ciphertext, sizeof(ciphertext));
	ttlv_put_bytes(e, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, tag,
		       sizeof(tag));
}

static uint8_t plaintext[DK_LEN];

static void decrypt_payload(struct ttlv_enc *e)
{
	ttlv_put_text(e, KMIP_TAG_UNIQUE_IDENTIFIER, "7");
	ttlv_put_bytes(e, KMIP_TAG_DATA, plaintext, sizeof(plaintext));
}

static void decrypt_payload_short(struct ttlv_enc *e)
{
	ttlv_put_text(e, KMIP_TAG_UNIQUE_IDENTIFIER, "7");
	ttlv_put_bytes(e, KMIP_TAG_DATA, plaintext, 32);
}

static uint32_t attr_state = KMIP_STATE_ACTIVE;

static void attributes_payload(struct ttlv_enc *e)
{
	ttlv_put_text(e, KMIP_TAG_UNIQUE_IDENTIFIER, "7");
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(e, KMIP_TAG_ATTRIBUTE_NAME, "State");
	ttlv_put_enum(e, KMIP_TAG_ATTRIBUTE_VALUE, attr_state);
	ttlv_end(e);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(e, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_put_integer(e, KMIP_TAG_ATTRIBUTE_INDEX, 0);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_put_text(e, KMIP_TAG_NAME_VALUE, "something else");
	ttlv_put_enum(e, KMIP_TAG_NAME_TYPE, 1);
	ttlv_end(e);
	ttlv_end(e);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(e, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_put_integer(e, KMIP_TAG_ATTRIBUTE_INDEX, 1);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_put_text(e, KMIP_TAG_NAME_VALUE, "alias/db");
	ttlv_put_enum(e, KMIP_TAG_NAME_TYPE, 1);
	ttlv_end(e);
	ttlv_end(e);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(e, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Algorithm");
	ttlv_put_enum(e, KMIP_TAG_ATTRIBUTE_VALUE, KMIP_ALGORITHM_AES);
	ttlv_end(e);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(e, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Length");
	ttlv_put_integer(e, KMIP_TAG_ATTRIBUTE_VALUE, 256);
	ttlv_end(e);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(e, KMIP_TAG_ATTRIBUTE_NAME, "Initial Date");
	ttlv_put_date_time(e, KMIP_TAG_ATTRIBUTE_VALUE, 1700000000);
	ttlv_end(e);
}

static void locate_payload_7(struct ttlv_enc *e)
{
	ttlv_put_text(e, KMIP_TAG_UNIQUE_IDENTIFIER, "7");
}

static void locate_payload_two(struct ttlv_enc *e)
{
	ttlv_put_text(e, KMIP_TAG_UNIQUE_IDENTIFIER, "7");
	ttlv_put_text(e, KMIP_TAG_UNIQUE_IDENTIFIER, "8");
}

static void empty_payload(struct ttlv_enc *e)
{
	(void)e;
}

/* ---- fixtures ------------------------------------------------------------ */

static char *state_dir;

static int setup(void **state)
{
	(void)state;
	memset(answers, 0, sizeof(answers));
	nanswers = next_answer = 0;
	connects = closes = connect_error = requests = 0;
	drop_next_read = false;
	request_len = 0;
	attr_state = KMIP_STATE_ACTIVE;
	memset(ciphertext, 0xc1, sizeof(ciphertext));
	memset(iv, 0x1f, sizeof(iv));
	memset(tag, 0x7a, sizeof(tag));
	memset(plaintext, 0x5d, sizeof(plaintext));
	state_dir = scratch_dir();
	setenv("ENVCRYPT_KMIP_STATE_DIR", state_dir, 1);
	ec_err_clear();
	return 0;
}

static int teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < nanswers; i++)
		free(answers[i].buf);
	rm_tree(state_dir);
	free(state_dir);
	return 0;
}

#define URI	"kmip://127.0.0.1:5696?ca=/etc/ca.pem&cert=/etc/c.pem&key=/etc/c.key"

static struct ec_kms *open_kms(void)
{
	struct ec_kms *kms;

	assert_int_equal(ec_kms_open(URI, &kms), 0);
	return kms;
}

/* The last request's payload, decoded into @msg. */
static const struct ttlv_item *request_payload(struct ttlv_msg *msg,
					       uint32_t op)
{
	const struct ttlv_item *item, *payload;
	uint32_t got;

	assert_int_equal(ttlv_decode(request, request_len, msg), 0);
	assert_int_equal(ttlv_need(ttlv_root(msg), KMIP_TAG_BATCH_ITEM, &item),
			 0);
	assert_int_equal(ttlv_get_enum(ttlv_find(item, KMIP_TAG_OPERATION),
				       &got), 0);
	assert_int_equal(got, op);
	assert_int_equal(ttlv_need(item, KMIP_TAG_REQUEST_PAYLOAD, &payload),
			 0);
	return payload;
}

static void assert_bytes_item(const struct ttlv_item *parent, uint32_t tag_,
			      const void *want, size_t len)
{
	const uint8_t *p;
	size_t got;

	assert_int_equal(ttlv_get_bytes(ttlv_find(parent, tag_), &p, &got), 0);
	assert_int_equal(got, len);
	assert_memory_equal(p, want, len);
}

/* ---- URIs ------------------------------------------------------------- */

static void test_open_canonical(void **state)
{
	struct ec_kms *kms;
	char cwd[1024], want[4096];

	(void)state;
	kms = open_kms();
	assert_string_equal(kms->uri, URI);
	assert_string_equal(kms->name, "KMIP KMS 127.0.0.1:5696");
	ec_kms_close(kms);
	/* open connects nowhere */
	assert_int_equal(connects, 0);

	/* default port, relative paths made absolute, a trailing '/' */
	assert_int_equal(ec_kms_open("kmip://kms.example/?key=k%20ey.pem&cert=c.pem&ca=ca.pem&timeout=30",
				     &kms), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want),
		 "kmip://kms.example:5696?ca=%s/ca.pem&cert=%s/c.pem&key=%s/k%%20ey.pem&timeout=30",
		 cwd, cwd, cwd);
	assert_string_equal(kms->uri, want);
	assert_string_equal(kms->name, "KMIP KMS kms.example:5696");
	ec_kms_close(kms);

	/* IPv6; the default timeout is not written */
	assert_int_equal(ec_kms_open("kmip://[::1]:05696?ca=/a&cert=/b&key=/c&timeout=5",
				     &kms), 0);
	assert_string_equal(kms->uri, "kmip://[::1]:5696?ca=/a&cert=/b&key=/c");
	assert_string_equal(kms->name, "KMIP KMS [::1]:5696");
	ec_kms_close(kms);
	assert_int_equal(connects, 0);
}

static void test_open_bad_uris(void **state)
{
	static const struct {
		const char *uri, *msg;
	} bad[] = {
		{ "kmip:host?ca=/a&cert=/b&key=/c",
		  "KMS URI 'kmip:host?ca=/a&cert=/b&key=/c': a KMIP URI is kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE" },
		{ "kmip://?ca=/a&cert=/b&key=/c",
		  "KMS URI 'kmip://?ca=/a&cert=/b&key=/c' names no KMIP server host (or a name longer than 127 characters); use kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE" },
		{ "kmip://h:0?ca=/a&cert=/b&key=/c",
		  "KMS URI 'kmip://h:0?ca=/a&cert=/b&key=/c': port '0' is not a number from 1 to 65535" },
		{ "kmip://h:5696x?ca=/a&cert=/b&key=/c",
		  "KMS URI 'kmip://h:5696x?ca=/a&cert=/b&key=/c': port '5696x' is not a number from 1 to 65535" },
		{ "kmip://::1?ca=/a&cert=/b&key=/c",
		  "KMS URI 'kmip://::1?ca=/a&cert=/b&key=/c': write an IPv6 address in brackets: kmip://[ADDRESS]:PORT?..." },
		{ "kmip://[::1?ca=/a&cert=/b&key=/c",
		  "KMS URI 'kmip://[::1?ca=/a&cert=/b&key=/c': an IPv6 address has no closing ']'" },
		{ "kmip://h_x?ca=/a&cert=/b&key=/c",
		  "KMS URI 'kmip://h_x?ca=/a&cert=/b&key=/c': 'h_x' is not a host name or address" },
		{ "kmip://h/path?ca=/a&cert=/b&key=/c",
		  "KMS URI 'kmip://h/path?ca=/a&cert=/b&key=/c': a KMIP URI has no path, user or fragment: kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE" },
		{ "kmip://h?ca=/a&key=/c",
		  "KMS URI 'kmip://h?ca=/a&key=/c' has no cert=FILE (this host's client certificate); a KMIP URI is kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE" },
		{ "kmip://h?ca=/a&cert=/b&key=/c&pin=1",
		  "KMS URI 'kmip://h?ca=/a&cert=/b&key=/c&pin=1': unknown parameter 'pin'; known: ca, cert, key, timeout" },
		{ "kmip://h?ca=/a&cert=/b&key=/c&timeout=301",
		  "KMS URI 'kmip://h?ca=/a&cert=/b&key=/c&timeout=301': timeout '301' is not a number of seconds from 1 to 300" },
	};
	struct ec_kms *kms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ec_kms_open(bad[i].uri, &kms), -EINVAL);
		assert_null(kms);
		assert_string_equal(ec_err_msg(), bad[i].msg);
	}
}

/* ---- wrap and unwrap ---------------------------------------------------- */

static void test_wrap(void **state)
{
	const struct ttlv_item *payload, *params;
	struct ec_wrapped w;
	struct ttlv_msg msg;
	struct ec_kms *kms;
	uint8_t dk[DK_LEN];
	uint32_t v;
	bool b;
	int32_t i32;

	(void)state;
	memset(dk, 0x42, sizeof(dk));
	kms = open_kms();
	queue_response(KMIP_OP_ENCRYPT, KMIP_STATUS_SUCCESS, 0, NULL,
		       encrypt_payload);
	assert_int_equal(ec_kms_wrap(kms, "7", dk, sizeof(dk), CTX, &w), 0);
	/* version 1, IV length, IV, ciphertext, tag */
	assert_int_equal(w.len, 2 + 16 + DK_LEN + 16);
	assert_int_equal(w.cmk_version, 1);
	assert_int_equal(w.data[0], 1);
	assert_int_equal(w.data[1], 16);
	assert_memory_equal(w.data + 2, iv, 16);
	assert_memory_equal(w.data + 18, ciphertext, DK_LEN);
	assert_memory_equal(w.data + 18 + DK_LEN, tag, 16);

	/* the request: the key, AES-GCM with a server IV, dk, the context */
	payload = request_payload(&msg, KMIP_OP_ENCRYPT);
	params = ttlv_find(payload, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
	assert_int_equal(ttlv_get_enum(ttlv_find(params,
						 KMIP_TAG_BLOCK_CIPHER_MODE),
				       &v), 0);
	assert_int_equal(v, KMIP_MODE_GCM);
	assert_int_equal(ttlv_get_bool(ttlv_find(params, KMIP_TAG_RANDOM_IV),
				       &b), 0);
	assert_true(b);
	assert_int_equal(ttlv_get_integer(ttlv_find(params,
						    KMIP_TAG_TAG_LENGTH),
					  &i32), 0);
	assert_int_equal(i32, 16);
	assert_null(ttlv_find(payload, KMIP_TAG_IV_COUNTER_NONCE));
	assert_bytes_item(payload, KMIP_TAG_DATA, dk, sizeof(dk));
	assert_bytes_item(payload,
			  KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
			  CTX, strlen(CTX));
	ttlv_msg_free(&msg);
	assert_int_equal(connects, 1);
	ec_kms_close(kms);
	assert_int_equal(closes, 1);
}

static void test_wrap_needs_iv_and_tag(void **state)
{
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[DK_LEN] = { 0 };

	(void)state;
	kms = open_kms();
	queue_response(KMIP_OP_ENCRYPT, KMIP_STATUS_SUCCESS, 0, NULL,
		       encrypt_payload_no_iv);
	assert_int_equal(ec_kms_wrap(kms, "7", dk, sizeof(dk), CTX, &w),
			 -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 answered an AES-GCM Encrypt with CMK 7 without the IV it generated: envcrypt needs a KMIP 1.4 server that makes a random IV and returns the tag");
	ec_kms_close(kms);
}

/* A blob as test_wrap makes it. */
static void make_blob(struct ec_wrapped *w)
{
	memset(w, 0, sizeof(*w));
	w->data[0] = 1;
	w->data[1] = 16;
	memcpy(w->data + 2, iv, 16);
	memcpy(w->data + 18, ciphertext, DK_LEN);
	memcpy(w->data + 18 + DK_LEN, tag, 16);
	w->len = 2 + 16 + DK_LEN + 16;
	w->cmk_version = 1;
}

static void test_unwrap(void **state)
{
	const struct ttlv_item *payload;
	struct ec_wrapped w;
	struct ttlv_msg msg;
	struct ec_kms *kms;
	uint8_t dk[DK_LEN];

	(void)state;
	make_blob(&w);
	kms = open_kms();
	queue_response(KMIP_OP_DECRYPT, KMIP_STATUS_SUCCESS, 0, NULL,
		       decrypt_payload);
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)), 0);
	assert_memory_equal(dk, plaintext, DK_LEN);
	payload = request_payload(&msg, KMIP_OP_DECRYPT);
	assert_bytes_item(payload, KMIP_TAG_DATA, ciphertext, DK_LEN);
	assert_bytes_item(payload, KMIP_TAG_IV_COUNTER_NONCE, iv, 16);
	assert_bytes_item(payload,
			  KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
			  CTX, strlen(CTX));
	assert_bytes_item(payload, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, tag,
			  16);
	ttlv_msg_free(&msg);

	/* a second operation reuses the connection */
	queue_response(KMIP_OP_DECRYPT, KMIP_STATUS_SUCCESS, 0, NULL,
		       decrypt_payload);
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)), 0);
	assert_int_equal(connects, 1);
	assert_int_equal(requests, 2);

	/* a plaintext of the wrong size */
	queue_response(KMIP_OP_DECRYPT, KMIP_STATUS_SUCCESS, 0, NULL,
		       decrypt_payload_short);
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 answered a Decrypt with 32 bytes, the data key is 64");
	ec_kms_close(kms);
}

static void test_unwrap_damaged_blob(void **state)
{
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[DK_LEN];

	(void)state;
	kms = open_kms();
	make_blob(&w);
	w.data[0] = 2;
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EBADMSG);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696: the wrapped key is not in KMIP wrap format 1: the header is damaged");
	make_blob(&w);
	w.len--;
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EBADMSG);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696: the wrapped key is 97 bytes with a 16-byte IV, a wrapped 64-byte data key would be 98: the header is damaged");
	make_blob(&w);
	w.cmk_version = 2;
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EBADMSG);
	/* none of it reached the server */
	assert_int_equal(connects, 0);
	ec_kms_close(kms);
}

/* ---- results ------------------------------------------------------------ */

static void test_unwrap_does_not_authenticate(void **state)
{
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[DK_LEN];

	(void)state;
	make_blob(&w);
	kms = open_kms();
	queue_failure(KMIP_OP_DECRYPT, KMIP_REASON_CRYPTOGRAPHIC_FAILURE,
		      "bad tag");
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EBADMSG);
	assert_string_equal(ec_err_msg(),
			    "the data key wrapped by CMK 7 in KMIP KMS 127.0.0.1:5696 does not authenticate: the header was changed, or the wrapped key belongs to another volume (the server said 'bad tag')");
	/* pykmip 0.10 says General Failure */
	queue_failure(KMIP_OP_DECRYPT, KMIP_REASON_GENERAL_FAILURE,
		      "Operation failed. See the server logs for more information.");
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EBADMSG);
	/* a failed operation is not a broken connection */
	assert_int_equal(connects, 1);
	ec_kms_close(kms);
}

static void test_key_states_on_permission_denied(void **state)
{
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[DK_LEN];
	FILE *f;
	char *path;

	(void)state;
	make_blob(&w);
	kms = open_kms();

	/* revoked: Disabled */
	queue_failure(KMIP_OP_DECRYPT, KMIP_REASON_PERMISSION_DENIED,
		      "The decryption key must be in the Active state");
	attr_state = KMIP_STATE_DEACTIVATED;
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EKEYREVOKED);
	assert_string_equal(ec_err_msg(),
			    "CMK 7 (alias/db) is Disabled in KMIP KMS 127.0.0.1:5696 (KMIP state Deactivated); KMIP cannot reactivate a revoked key: open the volume through another wrap slot");

	/* Active, yet denied: the server's policy */
	queue_failure(KMIP_OP_DECRYPT, KMIP_REASON_PERMISSION_DENIED,
		      "Could not locate object: 7");
	attr_state = KMIP_STATE_ACTIVE;
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EKEYREJECTED);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 denied the Decrypt with CMK 7 (alias/db) ('Could not locate object: 7'); check the server's operation policy for this host's client certificate and the key's Cryptographic Usage Mask (Encrypt and Decrypt)");

	/* recorded for deletion: PendingDeletion */
	path = path_in(state_dir, "127.0.0.1_5696.pending");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("envcrypt-kmip-pending 1\nkey 7 4102444800\nend\n", f);
	fclose(f);
	queue_failure(KMIP_OP_DECRYPT, KMIP_REASON_PERMISSION_DENIED, "no");
	attr_state = KMIP_STATE_DEACTIVATED;
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EKEYEXPIRED);
	assert_string_equal(ec_err_msg(),
			    "CMK 7 (alias/db) is PendingDeletion in KMIP KMS 127.0.0.1:5696, deleted on 2100-01-01 00:00:00 UTC; it was revoked when its deletion was scheduled, and KMIP cannot reactivate a revoked key: open the volume through another wrap slot");

	/* ... past its date: destroyed, the record dropped */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("envcrypt-kmip-pending 1\nkey 7 1000000000\nend\n", f);
	fclose(f);
	queue_failure(KMIP_OP_DECRYPT, KMIP_REASON_PERMISSION_DENIED, "no");
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	queue_response(KMIP_OP_DESTROY, KMIP_STATUS_SUCCESS, 0, NULL,
		       locate_payload_7);
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -ENOKEY);
	assert_string_equal(ec_err_msg(),
			    "CMK 7 (alias/db) was deleted from KMIP KMS 127.0.0.1:5696 on its deletion date 2001-09-09 01:46:40 UTC");
	f = fopen(path, "r");
	assert_non_null(f);
	{
		char text[128] = "";

		assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
		assert_string_equal(text, "envcrypt-kmip-pending 1\nend\n");
	}
	fclose(f);
	free(path);
	assert_int_equal(connects, 1);
	ec_kms_close(kms);
}

static void test_other_results(void **state)
{
	struct ec_key_info info;
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[DK_LEN];

	(void)state;
	make_blob(&w);
	kms = open_kms();
	queue_failure(KMIP_OP_DECRYPT, KMIP_REASON_ITEM_NOT_FOUND,
		      "Could not locate object: 7");
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -ENOKEY);
	assert_string_equal(ec_err_msg(),
			    "CMK 7 not found in KMIP KMS 127.0.0.1:5696");
	queue_failure(KMIP_OP_DECRYPT,
		      KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL, "who?");
	assert_int_equal(ec_kms_unwrap(kms, "7", &w, CTX, dk, sizeof(dk)),
			 -EACCES);
	assert_string_equal(ec_err_msg(),
			    "Decrypt with CMK 7: KMIP KMS 127.0.0.1:5696 did not accept this host's client certificate /etc/c.pem ('who?'); give a certificate the server trusts, with extended key usage clientAuth");
	/* anything else: quoted, control characters replaced */
	queue_failure(KMIP_OP_GET_ATTRIBUTES, KMIP_REASON_INVALID_FIELD,
		      "bad\n\033[31mfield");
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "CMK 7: KMIP KMS 127.0.0.1:5696 failed it: Invalid Field: 'bad??[31mfield'");
	queue_failure(KMIP_OP_GET_ATTRIBUTES, 0x1234, NULL);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "CMK 7: KMIP KMS 127.0.0.1:5696 failed it: reason 0x1234: ''");
	ec_kms_close(kms);
}

/* ---- framing ------------------------------------------------------------ */

static void test_framing(void **state)
{
	static const uint8_t not_kmip[] = {
		0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28, 0x00,
	};
	static const uint8_t huge[] = {
		0x42, 0x00, 0x7b, 0x01, 0x00, 0x10, 0x00, 0x00,
	};
	static const uint8_t bad_body[] = {
		0x42, 0x00, 0x7b, 0x01, 0x00, 0x00, 0x00, 0x10,
		0x42, 0x00, 0x7a, 0x01, 0x00, 0x00, 0x00, 0x10,
		0x42, 0x00, 0x0d, 0x02, 0x00, 0x00, 0x00, 0x04,
	};
	struct ec_key_info info;
	struct ec_kms *kms;

	(void)state;
	kms = open_kms();
	queue_bytes(not_kmip, sizeof(not_kmip));
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 answered with something that is not a KMIP Response Message (it starts with 15 03 03 00 02 02 28 00); check that the URI names a KMIP server");
	assert_int_equal(closes, 1);

	queue_bytes(huge, sizeof(huge));
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 answered with a KMIP message of 1048584 bytes, more than the 65536 bytes envcrypt accepts");

	queue_bytes(bad_body, sizeof(bad_body));
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 answered with a malformed KMIP message; check that the URI names a KMIP server: Response Header (0x42007a) at offset 8: its length 16 goes beyond the end of the enclosing Response Message (0x42007b) (8 bytes left)");

	/* the answer of another operation */
	queue_response(KMIP_OP_LOCATE, KMIP_STATUS_SUCCESS, 0, NULL,
		       empty_payload);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 answered a Get Attributes request with the result of operation 0x8");
	/* success without a payload */
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       NULL);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 answered a Get Attributes request with success but no Response Payload");
	/* each failure dropped the connection; each call connected anew */
	assert_int_equal(connects, 5);
	assert_int_equal(closes, 5);

	/*
	 * A connection closed before a whole answer, even a fresh one: the
	 * KMS went away mid-request, which is transient (tried 3 times).
	 */
	queue_bytes(huge, 4);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -ECONNRESET);
	assert_string_equal(ec_err_msg(),
			    "peer closed the connection (tried 3 times)");
	assert_int_equal(connects, 8);
	ec_kms_close(kms);
}

static void test_reused_connection_closed(void **state)
{
	struct ec_key_info info;
	struct ec_kms *kms;

	(void)state;
	kms = open_kms();
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), 0);
	assert_string_equal(info.id, "7");
	assert_string_equal(info.alias, "alias/db");
	assert_int_equal(info.state, EC_KEY_ENABLED);
	assert_int_equal(info.created, 1700000000);
	assert_int_equal(info.versions, 1);
	/* the server closed the idle connection: retry (the provider) */
	drop_next_read = true;
	assert_int_equal(kms->ops->describe_key(kms, "7", &info), -EAGAIN);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696 closed the connection before answering; try again");
	assert_int_equal(closes, 1);
	/* the retry connects again */
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), 0);
	assert_int_equal(connects, 2);
	/* through ec_kms_*(), the generic layer retries by itself */
	drop_next_read = true;
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), 0);
	assert_int_equal(connects, 3);
	ec_kms_close(kms);

	/* unreachable: the transport's errno as it is */
	kms = open_kms();
	connect_error = -ECONNREFUSED;
	connects = 0;
	assert_int_equal(kms->ops->describe_key(kms, "7", &info),
			 -ECONNREFUSED);
	assert_string_equal(ec_err_msg(),
			    "KMIP KMS 127.0.0.1:5696: connection refused");
	assert_int_equal(connects, 1);
	ec_kms_close(kms);
}

/* ---- aliases and administration ------------------------------------------ */

static void test_alias_resolution(void **state)
{
	const struct ttlv_item *payload, *attr, *value;
	struct ec_key_info info;
	struct ttlv_msg msg;
	struct ec_kms *kms;
	const char *s;
	size_t len;

	(void)state;
	kms = open_kms();
	queue_response(KMIP_OP_LOCATE, KMIP_STATUS_SUCCESS, 0, NULL,
		       locate_payload_7);
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_describe_key(kms, "alias/db", &info), 0);
	assert_string_equal(info.id, "7");
	assert_int_equal(requests, 2);

	queue_response(KMIP_OP_LOCATE, KMIP_STATUS_SUCCESS, 0, NULL,
		       empty_payload);
	assert_int_equal(ec_kms_describe_key(kms, "alias/nope", &info),
			 -ENOKEY);
	assert_string_equal(ec_err_msg(),
			    "CMK alias/nope not found in KMIP KMS 127.0.0.1:5696");
	/* the Locate asked for the name */
	payload = request_payload(&msg, KMIP_OP_LOCATE);
	for (attr = ttlv_find(payload, KMIP_TAG_ATTRIBUTE); attr;
	     attr = ttlv_find_next(attr)) {
		assert_int_equal(ttlv_get_text(ttlv_find(attr,
							 KMIP_TAG_ATTRIBUTE_NAME),
					       &s, &len), 0);
		if (len == 4 && !memcmp(s, "Name", 4))
			break;
	}
	assert_non_null(attr);
	value = ttlv_find(attr, KMIP_TAG_ATTRIBUTE_VALUE);
	assert_int_equal(ttlv_get_text(ttlv_find(value, KMIP_TAG_NAME_VALUE),
				       &s, &len), 0);
	assert_int_equal(len, strlen("alias/nope"));
	assert_memory_equal(s, "alias/nope", len);
	ttlv_msg_free(&msg);

	queue_response(KMIP_OP_LOCATE, KMIP_STATUS_SUCCESS, 0, NULL,
		       locate_payload_two);
	assert_int_equal(ec_kms_describe_key(kms, "alias/db", &info), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "2 keys are named alias/db in KMIP KMS 127.0.0.1:5696 (7, 8): an alias must name one key; remove the name from all but one with the server's tools");

	assert_int_equal(ec_kms_describe_key(kms, "bad id", &info), -ENOKEY);
	ec_kms_close(kms);
}

static void test_unsupported(void **state)
{
	struct ec_key_info info;
	struct ec_kms *kms;

	(void)state;
	kms = open_kms();
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_SM4, "x", &info),
			 -EOPNOTSUPP);
	assert_int_equal(ec_kms_rotate_key(kms, "7", &info), -EOPNOTSUPP);
	attr_state = KMIP_STATE_DEACTIVATED;
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_enable_key(kms, "7", &info), -EOPNOTSUPP);
	assert_string_equal(ec_err_msg(),
			    "CMK 7 (alias/db) is Disabled in KMIP KMS 127.0.0.1:5696 (KMIP state Deactivated): KMIP has no way back from a Revoke, so a disabled key can never be enabled again; create a new key with 'kms create-key' and format or rewrap the volumes with it");
	ec_kms_close(kms);
}

static void write_records(const char *text)
{
	char *path = path_in(state_dir, "127.0.0.1_5696.pending");
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static void assert_records(const char *want)
{
	char *path = path_in(state_dir, "127.0.0.1_5696.pending");
	char text[256] = "";
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	free(path);
	assert_string_equal(text, want);
}

/*
 * A deletion record past its date is of the key this host revoked: a key
 * under the same id that is Active, or made at another time (a server
 * reinstalled, its ids numbered again), is never destroyed.
 */
static void test_stale_record_destroys_nothing(void **state)
{
	struct ec_key_info info;
	struct ec_kms *kms;

	(void)state;
	kms = open_kms();

	/* Active: the key was never revoked by us */
	write_records("envcrypt-kmip-pending 1\nkey 7 1000000000\nend\n");
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), 0);
	assert_int_equal(info.state, EC_KEY_ENABLED);
	assert_int_equal(info.deletion_date, 0);
	assert_int_equal(requests, 1);

	/* revoked, but made at another time than the recorded key */
	write_records("envcrypt-kmip-pending 1\nkey 7 1000000000 1600000000\nend\n");
	attr_state = KMIP_STATE_DEACTIVATED;
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), 0);
	assert_int_equal(info.state, EC_KEY_DISABLED);
	assert_int_equal(info.deletion_date, 0);
	assert_int_equal(requests, 2);

	/* the recorded key itself: destroyed */
	write_records("envcrypt-kmip-pending 1\nkey 7 1000000000 1700000000\nend\n");
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	queue_response(KMIP_OP_DESTROY, KMIP_STATUS_SUCCESS, 0, NULL,
		       locate_payload_7);
	assert_int_equal(ec_kms_describe_key(kms, "7", &info), -ENOKEY);
	assert_int_equal(requests, 4);
	assert_records("envcrypt-kmip-pending 1\nend\n");

	/* schedule-deletion records the Initial Date of the key */
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload);
	assert_int_equal(ec_kms_schedule_deletion(kms, "7", 7, &info), 0);
	assert_int_equal(info.state, EC_KEY_PENDING_DELETION);
	{
		char want[128];

		snprintf(want, sizeof(want),
			 "envcrypt-kmip-pending 1\nkey 7 %lld 1700000000\nend\n",
			 (long long)info.deletion_date);
		assert_records(want);
	}
	ec_kms_close(kms);
}

static void attributes_payload_service_second(struct ttlv_enc *e)
{
	attributes_payload(e);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(e, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_put_integer(e, KMIP_TAG_ATTRIBUTE_INDEX, 2);
	ttlv_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_put_text(e, KMIP_TAG_NAME_VALUE, EC_SERVICE_KEY_ALIAS);
	ttlv_put_enum(e, KMIP_TAG_NAME_TYPE, 1);
	ttlv_end(e);
	ttlv_end(e);
}

/* The service key is refused whatever other names it has. */
static void test_service_key_with_other_names(void **state)
{
	struct ec_key_info info;
	struct ec_kms *kms;

	(void)state;
	kms = open_kms();
	queue_response(KMIP_OP_GET_ATTRIBUTES, KMIP_STATUS_SUCCESS, 0, NULL,
		       attributes_payload_service_second);
	assert_int_equal(ec_kms_disable_key(kms, "7", &info), -EPERM);
	assert_string_equal(ec_err_msg(),
			    "CMK 7 (" EC_SERVICE_KEY_ALIAS ") is the service key of KMIP KMS 127.0.0.1:5696: it can never be disabled or deleted (refused to disable it)");
	assert_int_equal(requests, 1);
	ec_kms_close(kms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_canonical, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_bad_uris, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_needs_iv_and_tag,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwrap_damaged_blob,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwrap_does_not_authenticate,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_states_on_permission_denied,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_results, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_connection_closed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_resolution, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsupported, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_record_destroys_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_key_with_other_names,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
