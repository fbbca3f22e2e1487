// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/ttlv.c: the encoder against the examples of the KMIP
 * 1.4 specification (section 9.1.2) and a whole request as pykmip 0.10
 * encodes it; the decoder's round trips, getters, and every malformed
 * input it must reject with -EPROTO.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "kms/kmip-client.h"
#include "ttlv.h"

#define TAG		0x420020	/* the spec's examples use this tag */

/* Encode one item with @put into a fresh encoder; compare with @want. */
#define ENCODES(put, ...)						\
	do {								\
		static const uint8_t want[] = { __VA_ARGS__ };		\
		struct ttlv_enc e;					\
									\
		ttlv_enc_init(&e);					\
		put;							\
		assert_int_equal(ttlv_enc_finish(&e), 0);		\
		assert_int_equal(e.len, sizeof(want));			\
		assert_memory_equal(e.buf, want, sizeof(want));		\
		ttlv_enc_free(&e);					\
	} while (0)

/* ---- encoder ------------------------------------------------------------ */

static void test_encode_spec_examples(void **state)
{
	/* 1234567890000000000000000000, big-endian, padded to 16 bytes */
	static const uint8_t big[] = {
		0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x35, 0xeb,
		0x6b, 0xc2, 0xdf, 0x46, 0x18, 0x08, 0x00, 0x00,
	};

	(void)state;
	ENCODES(ttlv_put_integer(&e, TAG, 8),
		0x42, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00);
	ENCODES(ttlv_put_long(&e, TAG, 123456789000000000LL),
		0x42, 0x00, 0x20, 0x03, 0x00, 0x00, 0x00, 0x08,
		0x01, 0xb6, 0x9b, 0x4b, 0xa5, 0x74, 0x92, 0x00);
	ENCODES(ttlv_put_big_integer(&e, TAG, big, sizeof(big)),
		0x42, 0x00, 0x20, 0x04, 0x00, 0x00, 0x00, 0x10,
		0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x35, 0xeb,
		0x6b, 0xc2, 0xdf, 0x46, 0x18, 0x08, 0x00, 0x00);
	ENCODES(ttlv_put_enum(&e, TAG, 255),
		0x42, 0x00, 0x20, 0x05, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00);
	ENCODES(ttlv_put_bool(&e, TAG, true),
		0x42, 0x00, 0x20, 0x06, 0x00, 0x00, 0x00, 0x08,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01);
	ENCODES(ttlv_put_text(&e, TAG, "Hello World"),
		0x42, 0x00, 0x20, 0x07, 0x00, 0x00, 0x00, 0x0b,
		'H', 'e', 'l', 'l', 'o', ' ', 'W', 'o',
		'r', 'l', 'd', 0x00, 0x00, 0x00, 0x00, 0x00);
	ENCODES(ttlv_put_bytes(&e, TAG, "\x01\x02\x03", 3),
		0x42, 0x00, 0x20, 0x08, 0x00, 0x00, 0x00, 0x03,
		0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00);
	/* Friday, March 14, 2008, 11:56:40 GMT */
	ENCODES(ttlv_put_date_time(&e, TAG, 0x47da67f8),
		0x42, 0x00, 0x20, 0x09, 0x00, 0x00, 0x00, 0x08,
		0x00, 0x00, 0x00, 0x00, 0x47, 0xda, 0x67, 0xf8);
	/* 10 days */
	ENCODES(ttlv_put_interval(&e, TAG, 864000),
		0x42, 0x00, 0x20, 0x0a, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x0d, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00);
	/* a Structure of an Enumeration 254 and an Integer 255 */
	ENCODES((ttlv_begin(&e, TAG), ttlv_put_enum(&e, 0x420004, 254),
		 ttlv_put_integer(&e, 0x420005, 255), ttlv_end(&e)),
		0x42, 0x00, 0x20, 0x01, 0x00, 0x00, 0x00, 0x20,
		0x42, 0x00, 0x04, 0x05, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0xfe, 0x00, 0x00, 0x00, 0x00,
		0x42, 0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00);
	/* an empty string and an exact multiple of 8 need no padding */
	ENCODES(ttlv_put_text(&e, TAG, ""),
		0x42, 0x00, 0x20, 0x07, 0x00, 0x00, 0x00, 0x00);
	ENCODES(ttlv_put_bytes(&e, TAG, "12345678", 8),
		0x42, 0x00, 0x20, 0x08, 0x00, 0x00, 0x00, 0x08,
		'1', '2', '3', '4', '5', '6', '7', '8');
	ENCODES(ttlv_put_integer(&e, TAG, -2),
		0x42, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x04,
		0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00);
}

/*
 * An Encrypt request, item by item, as pykmip 0.10 writes it (its
 * RequestMessage.write with KMIP 1.4, the same fields): 248 bytes.
 */
static const uint8_t encrypt_request[] = {
	0x42, 0x00, 0x78, 0x01, 0x00, 0x00, 0x00, 0xf0,	/* Request Message */
	0x42, 0x00, 0x77, 0x01, 0x00, 0x00, 0x00, 0x48,	/*  Request Header */
	0x42, 0x00, 0x69, 0x01, 0x00, 0x00, 0x00, 0x20,	/*   Protocol Version */
	0x42, 0x00, 0x6a, 0x02, 0x00, 0x00, 0x00, 0x04,	/*    Major 1 */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x42, 0x00, 0x6b, 0x02, 0x00, 0x00, 0x00, 0x04,	/*    Minor 4 */
	0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x42, 0x00, 0x50, 0x02, 0x00, 0x00, 0x00, 0x04,	/*   Max Response Size */
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/*    65536 */
	0x42, 0x00, 0x0d, 0x02, 0x00, 0x00, 0x00, 0x04,	/*   Batch Count 1 */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x42, 0x00, 0x0f, 0x01, 0x00, 0x00, 0x00, 0x98,	/*  Batch Item */
	0x42, 0x00, 0x5c, 0x05, 0x00, 0x00, 0x00, 0x04,	/*   Operation Encrypt */
	0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00,
	0x42, 0x00, 0x79, 0x01, 0x00, 0x00, 0x00, 0x80,	/*   Request Payload */
	0x42, 0x00, 0x94, 0x07, 0x00, 0x00, 0x00, 0x01,	/*    Unique Id "1" */
	0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x42, 0x00, 0x2b, 0x01, 0x00, 0x00, 0x00, 0x40,	/*    Crypto Params */
	0x42, 0x00, 0x11, 0x05, 0x00, 0x00, 0x00, 0x04,	/*     Mode GCM */
	0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00,
	0x42, 0x00, 0x28, 0x05, 0x00, 0x00, 0x00, 0x04,	/*     Algorithm AES */
	0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
	0x42, 0x00, 0xc5, 0x06, 0x00, 0x00, 0x00, 0x08,	/*     Random IV true */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x42, 0x00, 0xce, 0x02, 0x00, 0x00, 0x00, 0x04,	/*     Tag Length 16 */
	0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
	0x42, 0x00, 0xc2, 0x08, 0x00, 0x00, 0x00, 0x10,	/*    Data 01..10 */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
	0x42, 0x00, 0xfe, 0x08, 0x00, 0x00, 0x00, 0x03,	/*    AAD "ctx" */
	'c', 't', 'x', 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_encode_request_as_pykmip(void **state)
{
	static const uint8_t data[16] = {
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	};
	struct ttlv_enc e;

	(void)state;
	ttlv_enc_init(&e);
	kmip_request_begin(&e, KMIP_OP_ENCRYPT);
	ttlv_put_text(&e, KMIP_TAG_UNIQUE_IDENTIFIER, "1");
	ttlv_begin(&e, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
	ttlv_put_enum(&e, KMIP_TAG_BLOCK_CIPHER_MODE, KMIP_MODE_GCM);
	ttlv_put_enum(&e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_ALGORITHM_AES);
	ttlv_put_bool(&e, KMIP_TAG_RANDOM_IV, true);
	ttlv_put_integer(&e, KMIP_TAG_TAG_LENGTH, 16);
	ttlv_end(&e);
	ttlv_put_bytes(&e, KMIP_TAG_DATA, data, sizeof(data));
	ttlv_put_bytes(&e, KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
		       "ctx", 3);
	kmip_request_end(&e);
	assert_int_equal(ttlv_enc_finish(&e), 0);
	assert_int_equal(e.len, sizeof(encrypt_request));
	assert_memory_equal(e.buf, encrypt_request, sizeof(encrypt_request));
	ttlv_enc_free(&e);
	assert_null(e.buf);
}

static void test_encode_grows(void **state)
{
	static uint8_t big[5001];
	struct ttlv_enc e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	ttlv_enc_init(&e);
	ttlv_begin(&e, TAG);
	ttlv_put_integer(&e, 0x420001, 1);
	ttlv_put_bytes(&e, 0x420002, big, sizeof(big));
	ttlv_put_integer(&e, 0x420003, 3);
	ttlv_end(&e);
	assert_int_equal(ttlv_enc_finish(&e), 0);
	assert_int_equal(e.len, 8 + 16 + 8 + 5008 + 16);
	/* the Structure's length was patched after the buffer grew */
	assert_int_equal(e.buf[4] << 24 | e.buf[5] << 16 | e.buf[6] << 8 |
			 e.buf[7], 16 + 8 + 5008 + 16);
	assert_memory_equal(e.buf + 32, big, sizeof(big));
	assert_memory_equal(e.buf + 32 + 5001, "\0\0\0\0\0\0\0", 7);
	assert_int_equal(e.buf[32 + 5008], 0x42);	/* the next item */
	ttlv_enc_free(&e);
}

static void test_encode_errors(void **state)
{
	struct ttlv_enc e;
	int i;

	(void)state;
	/* deeper than TTLV_DEPTH_MAX */
	ttlv_enc_init(&e);
	for (i = 0; i <= TTLV_DEPTH_MAX; i++)
		ttlv_begin(&e, TAG);
	assert_int_equal(ttlv_enc_finish(&e), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "KMIP Structures nested more than 16 deep cannot be encoded");
	ttlv_enc_free(&e);

	/* an end without a begin; the first error sticks */
	ttlv_enc_init(&e);
	ttlv_end(&e);
	ttlv_put_integer(&e, TAG, 1);
	assert_int_equal(ttlv_enc_finish(&e), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "a KMIP Structure ended that was never begun");
	ttlv_enc_free(&e);

	/* a Structure left open */
	ttlv_enc_init(&e);
	ttlv_begin(&e, TAG);
	ttlv_begin(&e, TAG);
	ttlv_end(&e);
	assert_int_equal(ttlv_enc_finish(&e), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "a KMIP message with 1 Structure(s) left open cannot be sent");
	ttlv_enc_free(&e);

	/* nothing */
	ttlv_enc_init(&e);
	assert_int_equal(ttlv_enc_finish(&e), -EINVAL);
	ttlv_enc_free(&e);

	/* a Big Integer is a multiple of 8 bytes; a tag is 3 bytes */
	ttlv_enc_init(&e);
	ttlv_put_big_integer(&e, TAG, "1234", 4);
	assert_int_equal(ttlv_enc_finish(&e), -EINVAL);
	ttlv_enc_free(&e);
	ttlv_enc_init(&e);
	ttlv_put_integer(&e, 0x1000000, 1);
	assert_int_equal(ttlv_enc_finish(&e), -EINVAL);
	assert_string_equal(ec_err_msg(), "0x1000000 is not a 3-byte KMIP tag");
	ttlv_enc_free(&e);
}

/* ---- decoder ------------------------------------------------------------ */

static void test_decode_round_trip(void **state)
{
	static const uint8_t big[8] = { 0, 0, 0, 0, 0, 0, 1, 0 };
	const struct ttlv_item *root, *it, *inner;
	const uint8_t *p;
	const char *s;
	struct ttlv_msg msg;
	struct ttlv_enc e;
	int32_t i32;
	int64_t i64;
	uint32_t u32;
	size_t len;
	bool b;
	char text[16];

	(void)state;
	ttlv_enc_init(&e);
	ttlv_begin(&e, 0x420001);
	ttlv_put_integer(&e, 0x420002, -5);
	ttlv_put_long(&e, 0x420003, -1234567890123LL);
	ttlv_put_big_integer(&e, 0x420004, big, sizeof(big));
	ttlv_put_enum(&e, 0x420005, 0xfffffffe);
	ttlv_put_bool(&e, 0x420006, true);
	ttlv_put_text(&e, 0x420007, "héllo");
	ttlv_put_bytes(&e, 0x420008, "\x00\xff", 2);
	ttlv_put_date_time(&e, 0x420009, 1700000000);
	ttlv_put_interval(&e, 0x42000a, 86400);
	ttlv_begin(&e, 0x42000b);
	ttlv_put_integer(&e, 0x420002, 1);
	ttlv_put_integer(&e, 0x420002, 2);
	ttlv_begin(&e, 0x42000c);
	ttlv_end(&e);
	ttlv_end(&e);
	ttlv_end(&e);
	assert_int_equal(ttlv_enc_finish(&e), 0);

	assert_int_equal(ttlv_decode(e.buf, e.len, &msg), 0);
	root = ttlv_root(&msg);
	assert_non_null(root);
	assert_int_equal(root->tag, 0x420001);
	assert_int_equal(root->type, TTLV_STRUCTURE);
	assert_int_equal(msg.n, 14);

	assert_int_equal(ttlv_get_integer(ttlv_find(root, 0x420002), &i32), 0);
	assert_int_equal(i32, -5);
	assert_int_equal(ttlv_get_long(ttlv_find(root, 0x420003), &i64), 0);
	assert_true(i64 == -1234567890123LL);
	assert_int_equal(ttlv_get_big_integer(ttlv_find(root, 0x420004), &p,
					      &len), 0);
	assert_int_equal(len, 8);
	assert_memory_equal(p, big, 8);
	assert_int_equal(ttlv_get_enum(ttlv_find(root, 0x420005), &u32), 0);
	assert_int_equal(u32, 0xfffffffe);
	assert_int_equal(ttlv_get_bool(ttlv_find(root, 0x420006), &b), 0);
	assert_true(b);
	assert_int_equal(ttlv_get_text(ttlv_find(root, 0x420007), &s, &len),
			 0);
	assert_int_equal(len, strlen("héllo"));
	assert_memory_equal(s, "héllo", len);
	assert_int_equal(ttlv_get_text_copy(ttlv_find(root, 0x420007), text,
					    sizeof(text)), 0);
	assert_string_equal(text, "héllo");
	assert_int_equal(ttlv_get_bytes(ttlv_find(root, 0x420008), &p, &len),
			 0);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "\x00\xff", 2);
	assert_int_equal(ttlv_get_date_time(ttlv_find(root, 0x420009), &i64),
			 0);
	assert_true(i64 == 1700000000);
	assert_int_equal(ttlv_get_interval(ttlv_find(root, 0x42000a), &u32),
			 0);
	assert_int_equal(u32, 86400);

	inner = ttlv_find(root, 0x42000b);
	assert_int_equal(ttlv_get_structure(inner), 0);
	assert_ptr_equal(inner->parent, root);
	assert_int_equal(ttlv_count(inner, 0x420002), 2);
	it = ttlv_find(inner, 0x420002);
	assert_int_equal(ttlv_get_integer(it, &i32), 0);
	assert_int_equal(i32, 1);
	it = ttlv_find_next(it);
	assert_int_equal(ttlv_get_integer(it, &i32), 0);
	assert_int_equal(i32, 2);
	assert_null(ttlv_find_next(it));
	/* an empty Structure has no items */
	it = ttlv_find(inner, 0x42000c);
	assert_non_null(it);
	assert_null(it->first);
	assert_null(ttlv_find(it, 0x420002));
	/* find looks at direct children only */
	assert_int_equal(ttlv_count(root, 0x420002), 1);
	assert_null(ttlv_find(root, 0x42000c));
	/* find in a non-Structure finds nothing */
	assert_null(ttlv_find(ttlv_find(root, 0x420002), 0x420002));

	ttlv_msg_free(&msg);
	ttlv_enc_free(&e);
}

/* The pykmip request above decodes, and encodes back the same. */
static void test_decode_pykmip_request(void **state)
{
	const struct ttlv_item *root, *item, *payload, *it;
	const uint8_t *p;
	struct ttlv_msg msg;
	uint32_t op;
	size_t len;

	(void)state;
	assert_int_equal(ttlv_decode(encrypt_request, sizeof(encrypt_request),
				     &msg), 0);
	root = ttlv_root(&msg);
	assert_int_equal(root->tag, KMIP_TAG_REQUEST_MESSAGE);
	assert_int_equal(ttlv_need(root, KMIP_TAG_BATCH_ITEM, &item), 0);
	assert_int_equal(ttlv_get_enum(ttlv_find(item, KMIP_TAG_OPERATION),
				       &op), 0);
	assert_int_equal(op, KMIP_OP_ENCRYPT);
	assert_int_equal(ttlv_need(item, KMIP_TAG_REQUEST_PAYLOAD, &payload),
			 0);
	assert_int_equal(ttlv_need(payload,
				   KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
				   &it), 0);
	assert_int_equal(ttlv_get_bytes(it, &p, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "ctx", 3);
	assert_int_equal(it->offset, 232);
	ttlv_msg_free(&msg);
}

static void test_getters_check_types(void **state)
{
	const struct ttlv_item *root, *it;
	struct ttlv_msg msg;
	struct ttlv_enc e;
	const char *s;
	char small[4];
	size_t len;
	int32_t i32;
	uint32_t u32;
	bool b;

	(void)state;
	ttlv_enc_init(&e);
	ttlv_begin(&e, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_put_bytes(&e, KMIP_TAG_UNIQUE_IDENTIFIER, "1", 1);
	ttlv_put_text_len(&e, KMIP_TAG_NAME_VALUE, "a\0b", 3);
	ttlv_put_text(&e, KMIP_TAG_RESULT_MESSAGE, "long text");
	ttlv_put_integer(&e, KMIP_TAG_STATE, 2);
	ttlv_end(&e);
	assert_int_equal(ttlv_enc_finish(&e), 0);
	assert_int_equal(ttlv_decode(e.buf, e.len, &msg), 0);
	root = ttlv_root(&msg);

	it = ttlv_find(root, KMIP_TAG_UNIQUE_IDENTIFIER);
	assert_int_equal(ttlv_get_text(it, &s, &len), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "Unique Identifier (0x420094) at offset 8: is a Byte String, expected a Text String");
	assert_int_equal(ttlv_get_integer(ttlv_find(root, KMIP_TAG_STATE),
					  &i32), 0);
	assert_int_equal(ttlv_get_enum(ttlv_find(root, KMIP_TAG_STATE), &u32),
			 -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "State (0x42008d) at offset 64: is an Integer, expected an Enumeration");
	assert_int_equal(ttlv_get_bool(NULL, &b), -EPROTO);
	assert_string_equal(ec_err_msg(), "a Boolean is missing");
	assert_int_equal(ttlv_get_structure(it), -EPROTO);

	assert_int_equal(ttlv_get_text_copy(ttlv_find(root, KMIP_TAG_NAME_VALUE),
					    small, sizeof(small)), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "Name Value (0x420055) at offset 24: a Text String with a NUL byte");
	assert_int_equal(ttlv_get_text_copy(ttlv_find(root,
						      KMIP_TAG_RESULT_MESSAGE),
					    small, sizeof(small)), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "Result Message (0x42007d) at offset 40: a Text String of 9 bytes, more than the 3 expected");

	assert_int_equal(ttlv_need(root, KMIP_TAG_DATA, &it), -EPROTO);
	assert_null(it);
	assert_string_equal(ec_err_msg(),
			    "Response Payload (0x42007c) at offset 0: has no Data (0x4200c2)");
	assert_int_equal(ttlv_need(NULL, 0x540001, &it), -EPROTO);
	assert_string_equal(ec_err_msg(), "no 0x540001");
	ttlv_msg_free(&msg);
	ttlv_enc_free(&e);
}

/* ---- the decoder's rejects -------------------------------------------- */

/* @buf must be refused with -EPROTO and exactly @msg. */
static void rejects(const uint8_t *buf, size_t len, const char *msg)
{
	struct ttlv_msg m;

	assert_int_equal(ttlv_decode(buf, len, &m), -EPROTO);
	assert_string_equal(ec_err_msg(), msg);
	assert_null(m.items);
	assert_int_equal(m.n, 0);
}

#define REJECTS(msg, ...)						\
	do {								\
		static const uint8_t in[] = { __VA_ARGS__ };		\
		rejects(in, sizeof(in), msg);				\
	} while (0)

static void test_reject_truncated(void **state)
{
	(void)state;
	rejects((const uint8_t *)"", 0,
		"a TTLV message of 0 bytes is shorter than one item header (8 bytes)");
	REJECTS("a TTLV message of 7 bytes is shorter than one item header (8 bytes)",
		0x42, 0x00, 0x7b, 0x01, 0x00, 0x00, 0x00);
	/* a value cut short */
	REJECTS("Response Message (0x42007b) at offset 0: its length 16 goes beyond the end of the message (8 bytes left): truncated",
		0x42, 0x00, 0x7b, 0x01, 0x00, 0x00, 0x00, 0x10,
		0x42, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x04);
	/* an Integer's padding missing */
	REJECTS("0x420020 at offset 0: its length 4 goes beyond the end of the message (4 bytes left): truncated",
		0x42, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x01);
	/* an item whose value is cut by the end of its Structure */
	REJECTS("0x420020 at offset 8: its length 4 goes beyond the end of the enclosing Response Message (0x42007b) (0 bytes left)",
		0x42, 0x00, 0x7b, 0x01, 0x00, 0x00, 0x00, 0x08,
		0x42, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
}

static void test_reject_lengths(void **state)
{
	(void)state;
	/* 0xffffffff, far beyond the buffer */
	REJECTS("0x420020 at offset 0: its length 4294967295 goes beyond the end of the message (8 bytes left): truncated",
		0x42, 0x00, 0x20, 0x08, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
	/* an item longer than its Structure, though within the buffer */
	REJECTS("0x420021 at offset 8: its length 16 goes beyond the end of the enclosing 0x420020 (8 bytes left)",
		0x42, 0x00, 0x20, 0x01, 0x00, 0x00, 0x00, 0x10,
		0x42, 0x00, 0x21, 0x08, 0x00, 0x00, 0x00, 0x10,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
	/* a Structure whose length is not a multiple of 8 */
	REJECTS("0x420020 at offset 0: a Structure of 12 bytes (a multiple of 8 is needed)",
		0x42, 0x00, 0x20, 0x01, 0x00, 0x00, 0x00, 0x0c,
		0x42, 0x00, 0x21, 0x02, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x01);
	/* bytes after the one root item */
	REJECTS("8 bytes follow the end of the message at offset 16",
		0x42, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x42, 0x00, 0x20, 0x07, 0x00, 0x00, 0x00, 0x00);
}

static void test_reject_fixed_lengths(void **state)
{
	(void)state;
	REJECTS("0x420020 at offset 0: an Integer is 4 bytes long, this one 8",
		0x42, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x08,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01);
	REJECTS("0x420020 at offset 0: an Enumeration is 4 bytes long, this one 0",
		0x42, 0x00, 0x20, 0x05, 0x00, 0x00, 0x00, 0x00);
	REJECTS("0x420020 at offset 0: a Long Integer is 8 bytes long, this one 4",
		0x42, 0x00, 0x20, 0x03, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
	REJECTS("0x420020 at offset 0: a Boolean is 8 bytes long, this one 1",
		0x42, 0x00, 0x20, 0x06, 0x00, 0x00, 0x00, 0x01,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
	REJECTS("0x420020 at offset 0: a Date-Time is 8 bytes long, this one 16",
		0x42, 0x00, 0x20, 0x09, 0x00, 0x00, 0x00, 0x10,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
	REJECTS("0x420020 at offset 0: an Interval is 4 bytes long, this one 2",
		0x42, 0x00, 0x20, 0x0a, 0x00, 0x00, 0x00, 0x02,
		0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
	REJECTS("0x420020 at offset 0: a Big Integer of 4 bytes (a multiple of 8 is needed)",
		0x42, 0x00, 0x20, 0x04, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
	REJECTS("0x420020 at offset 0: a Big Integer of 0 bytes (a multiple of 8 is needed)",
		0x42, 0x00, 0x20, 0x04, 0x00, 0x00, 0x00, 0x00);
}

static void test_reject_padding(void **state)
{
	(void)state;
	REJECTS("0x420020 at offset 0: the padding after its 4 bytes is not zero",
		0x42, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00);
	REJECTS("0x420021 at offset 8: the padding after its 3 bytes is not zero",
		0x42, 0x00, 0x20, 0x01, 0x00, 0x00, 0x00, 0x10,
		0x42, 0x00, 0x21, 0x07, 0x00, 0x00, 0x00, 0x03,
		'a', 'b', 'c', 0x00, 0x00, 0x00, 0x00, 'd');
}

static void test_reject_types(void **state)
{
	const struct ttlv_item *it;
	struct ttlv_msg m;
	static const uint8_t two[] = {
		0x42, 0x00, 0x20, 0x06, 0x00, 0x00, 0x00, 0x08,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	};
	bool b;

	(void)state;
	REJECTS("0x420020 at offset 0: unknown item type 0x0b",
		0x42, 0x00, 0x20, 0x0b, 0x00, 0x00, 0x00, 0x00);
	REJECTS("0x420021 at offset 8: unknown item type 0x00",
		0x42, 0x00, 0x20, 0x01, 0x00, 0x00, 0x00, 0x08,
		0x42, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00);
	REJECTS("0x420020 at offset 0: unknown item type 0xff",
		0x42, 0x00, 0x20, 0xff, 0x00, 0x00, 0x00, 0x08,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
	/* a Boolean is 0 or 1: the getter says so */
	assert_int_equal(ttlv_decode(two, sizeof(two), &m), 0);
	it = ttlv_root(&m);
	assert_int_equal(ttlv_get_bool(it, &b), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "0x420020 at offset 0: a Boolean that is neither 0 nor 1");
	ttlv_msg_free(&m);
}

/* Structures nested @depth deep around one Integer. */
static uint8_t *nested(unsigned int depth, size_t *len)
{
	uint8_t *buf;
	size_t i, rest;

	*len = 8 * depth + 16;
	buf = calloc(1, *len);
	assert_non_null(buf);
	for (i = 0; i < depth; i++) {
		rest = *len - 8 * (i + 1);
		buf[8 * i] = 0x42;
		buf[8 * i + 2] = 0x20;
		buf[8 * i + 3] = TTLV_STRUCTURE;
		buf[8 * i + 4] = (uint8_t)(rest >> 24);
		buf[8 * i + 5] = (uint8_t)(rest >> 16);
		buf[8 * i + 6] = (uint8_t)(rest >> 8);
		buf[8 * i + 7] = (uint8_t)rest;
	}
	memcpy(buf + 8 * depth,
	       "\x42\x00\x21\x02\x00\x00\x00\x04\x00\x00\x00\x07\0\0\0\0", 16);
	return buf;
}

static void test_reject_depth(void **state)
{
	struct ttlv_msg m;
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = nested(TTLV_DEPTH_MAX, &len);
	assert_int_equal(ttlv_decode(buf, len, &m), 0);
	assert_int_equal(m.n, TTLV_DEPTH_MAX + 1);
	ttlv_msg_free(&m);
	free(buf);

	buf = nested(TTLV_DEPTH_MAX + 1, &len);
	rejects(buf, len,
		"0x420020 at offset 128: Structures nested more than 16 deep");
	free(buf);

	/* far deeper: still no recursion, same answer */
	buf = nested(100000, &len);
	rejects(buf, len,
		"0x420020 at offset 128: Structures nested more than 16 deep");
	free(buf);
}

static void test_reject_too_many_items(void **state)
{
	struct ttlv_msg m;
	struct ttlv_enc e;
	int i;

	(void)state;
	/* a root and TTLV_ITEMS_MAX - 1 empty strings: just fits */
	ttlv_enc_init(&e);
	ttlv_begin(&e, TAG);
	for (i = 0; i < TTLV_ITEMS_MAX - 1; i++)
		ttlv_put_text(&e, 0x420021, "");
	ttlv_end(&e);
	assert_int_equal(ttlv_enc_finish(&e), 0);
	assert_int_equal(ttlv_decode(e.buf, e.len, &m), 0);
	assert_int_equal(m.n, TTLV_ITEMS_MAX);
	ttlv_msg_free(&m);
	ttlv_enc_free(&e);

	ttlv_enc_init(&e);
	ttlv_begin(&e, TAG);
	for (i = 0; i < TTLV_ITEMS_MAX; i++)
		ttlv_put_text(&e, 0x420021, "");
	ttlv_end(&e);
	assert_int_equal(ttlv_enc_finish(&e), 0);
	rejects(e.buf, e.len,
		"0x420021 at offset 32768: more than 4096 items in one message");
	ttlv_enc_free(&e);
}

static void test_names(void **state)
{
	char buf[80];

	(void)state;
	assert_string_equal(ttlv_type_name(TTLV_DATE_TIME), "Date-Time");
	assert_string_equal(ttlv_type_name(0), "unknown type");
	assert_string_equal(ttlv_type_name(11), "unknown type");
	assert_string_equal(ttlv_tag_name(KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG),
			    "Authenticated Encryption Tag");
	assert_null(ttlv_tag_name(0x420020));
	assert_string_equal(ttlv_tag_label(KMIP_TAG_DATA, buf, sizeof(buf)),
			    "Data (0x4200c2)");
	assert_string_equal(ttlv_tag_label(0x540001, buf, sizeof(buf)),
			    "0x540001");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_spec_examples),
		cmocka_unit_test(test_encode_request_as_pykmip),
		cmocka_unit_test(test_encode_grows),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_round_trip),
		cmocka_unit_test(test_decode_pykmip_request),
		cmocka_unit_test(test_getters_check_types),
		cmocka_unit_test(test_reject_truncated),
		cmocka_unit_test(test_reject_lengths),
		cmocka_unit_test(test_reject_fixed_lengths),
		cmocka_unit_test(test_reject_padding),
		cmocka_unit_test(test_reject_types),
		cmocka_unit_test(test_reject_depth),
		cmocka_unit_test(test_reject_too_many_items),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
