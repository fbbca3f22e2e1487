/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KMIP's TTLV encoding (KMIP 1.4 spec, section 9.1): every item is a
 * 3-byte tag, a 1-byte type, a 4-byte big-endian length and the value,
 * padded with zeros to a multiple of 8 bytes.  A Structure's value is the
 * encoding of its items.
 *
 * The encoder builds a message in a growing buffer of locked memory (a
 * request may carry a data key), wiped when it grows and when it is freed.
 * Errors are sticky: the put calls return nothing, ttlv_enc_finish()
 * returns the first failure.
 *
 * The decoder checks a whole message before anything reads it: lengths
 * within the buffer and within the enclosing Structure, the fixed lengths
 * of fixed-size types, zero padding, known types, nesting at most
 * TTLV_DEPTH_MAX deep and at most TTLV_ITEMS_MAX items; it fails with
 * -EPROTO and a message that says what is wrong and at which offset.  The
 * result is a tree of items that point into the caller's buffer (nothing
 * is copied: wipe the buffer when it held a secret).  The typed getters
 * check the type and fail with -EPROTO naming the item.
 */
#ifndef ENVCRYPT_TTLV_H
#define ENVCRYPT_TTLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TTLV_HEADER_SIZE	8
#define TTLV_DEPTH_MAX		16	/* nested Structures, the root is 1 */
#define TTLV_ITEMS_MAX		4096	/* items in one message */

enum ttlv_type {
	TTLV_STRUCTURE		= 0x01,
	TTLV_INTEGER		= 0x02,
	TTLV_LONG_INTEGER	= 0x03,
	TTLV_BIG_INTEGER	= 0x04,
	TTLV_ENUMERATION	= 0x05,
	TTLV_BOOLEAN		= 0x06,
	TTLV_TEXT_STRING	= 0x07,
	TTLV_BYTE_STRING	= 0x08,
	TTLV_DATE_TIME		= 0x09,
	TTLV_INTERVAL		= 0x0a,
};

/* The KMIP tags envcrypt uses (KMIP 1.4 spec, section 9.1.3.1). */
enum kmip_tag {
	KMIP_TAG_ATTRIBUTE			= 0x420008,
	KMIP_TAG_ATTRIBUTE_INDEX		= 0x420009,
	KMIP_TAG_ATTRIBUTE_NAME			= 0x42000a,
	KMIP_TAG_ATTRIBUTE_VALUE		= 0x42000b,
	KMIP_TAG_BATCH_COUNT			= 0x42000d,
	KMIP_TAG_BATCH_ITEM			= 0x42000f,
	KMIP_TAG_BLOCK_CIPHER_MODE		= 0x420011,
	KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM	= 0x420028,
	KMIP_TAG_CRYPTOGRAPHIC_LENGTH		= 0x42002a,
	KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS	= 0x42002b,
	KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK	= 0x42002c,
	KMIP_TAG_INITIAL_DATE			= 0x420039,
	KMIP_TAG_IV_COUNTER_NONCE		= 0x42003d,
	KMIP_TAG_MAXIMUM_RESPONSE_SIZE		= 0x420050,
	KMIP_TAG_NAME				= 0x420053,
	KMIP_TAG_NAME_TYPE			= 0x420054,
	KMIP_TAG_NAME_VALUE			= 0x420055,
	KMIP_TAG_OBJECT_TYPE			= 0x420057,
	KMIP_TAG_OPERATION			= 0x42005c,
	KMIP_TAG_PROTOCOL_VERSION		= 0x420069,
	KMIP_TAG_PROTOCOL_VERSION_MAJOR		= 0x42006a,
	KMIP_TAG_PROTOCOL_VERSION_MINOR		= 0x42006b,
	KMIP_TAG_REQUEST_HEADER			= 0x420077,
	KMIP_TAG_REQUEST_MESSAGE		= 0x420078,
	KMIP_TAG_REQUEST_PAYLOAD		= 0x420079,
	KMIP_TAG_RESPONSE_HEADER		= 0x42007a,
	KMIP_TAG_RESPONSE_MESSAGE		= 0x42007b,
	KMIP_TAG_RESPONSE_PAYLOAD		= 0x42007c,
	KMIP_TAG_RESULT_MESSAGE			= 0x42007d,
	KMIP_TAG_RESULT_REASON			= 0x42007e,
	KMIP_TAG_RESULT_STATUS			= 0x42007f,
	KMIP_TAG_REVOCATION_MESSAGE		= 0x420080,
	KMIP_TAG_REVOCATION_REASON		= 0x420081,
	KMIP_TAG_REVOCATION_REASON_CODE		= 0x420082,
	KMIP_TAG_STATE				= 0x42008d,
	KMIP_TAG_TEMPLATE_ATTRIBUTE		= 0x420091,
	KMIP_TAG_TIME_STAMP			= 0x420092,
	KMIP_TAG_UNIQUE_BATCH_ITEM_ID		= 0x420093,
	KMIP_TAG_UNIQUE_IDENTIFIER		= 0x420094,
	KMIP_TAG_DATA				= 0x4200c2,
	KMIP_TAG_RANDOM_IV			= 0x4200c5,
	KMIP_TAG_IV_LENGTH			= 0x4200cd,
	KMIP_TAG_TAG_LENGTH			= 0x4200ce,
	KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA = 0x4200fe,
	KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG	= 0x4200ff,
};

/* "Structure", "Integer", ...; "unknown type" otherwise. */
const char *ttlv_type_name(uint8_t type);
/* "Unique Identifier" for the tags above; NULL for others. */
const char *ttlv_tag_name(uint32_t tag);

/* ---- encoder ------------------------------------------------------------ */

struct ttlv_enc {
	uint8_t *buf;			/* locked memory */
	size_t len, cap;
	size_t open[TTLV_DEPTH_MAX];	/* offsets of open Structures */
	unsigned int depth;
	int err;			/* the first failure, sticky */
};

void ttlv_enc_init(struct ttlv_enc *e);
/* Wipe and free the buffer; @e can be initialised again. */
void ttlv_enc_free(struct ttlv_enc *e);

/* Open a Structure; ttlv_end() closes the innermost open one. */
void ttlv_begin(struct ttlv_enc *e, uint32_t tag);
void ttlv_end(struct ttlv_enc *e);

void ttlv_put_integer(struct ttlv_enc *e, uint32_t tag, int32_t v);
void ttlv_put_long(struct ttlv_enc *e, uint32_t tag, int64_t v);
/* Big-endian two's complement, @len a multiple of 8. */
void ttlv_put_big_integer(struct ttlv_enc *e, uint32_t tag, const void *p,
			  size_t len);
void ttlv_put_enum(struct ttlv_enc *e, uint32_t tag, uint32_t v);
void ttlv_put_bool(struct ttlv_enc *e, uint32_t tag, bool v);
/* @s: UTF-8, without the NUL. */
void ttlv_put_text(struct ttlv_enc *e, uint32_t tag, const char *s);
void ttlv_put_text_len(struct ttlv_enc *e, uint32_t tag, const char *s,
		       size_t len);
void ttlv_put_bytes(struct ttlv_enc *e, uint32_t tag, const void *p,
		    size_t len);
/* Seconds since the Unix epoch. */
void ttlv_put_date_time(struct ttlv_enc *e, uint32_t tag, int64_t t);
void ttlv_put_interval(struct ttlv_enc *e, uint32_t tag, uint32_t seconds);

/*
 * 0 when every item was added and every Structure closed; else the first
 * failure: -ENOMEM, -EINVAL (nesting deeper than TTLV_DEPTH_MAX, an end
 * without a begin, a Structure left open, a value too long, a bad Big
 * Integer length).  The message is set.  The message is e->buf[0..e->len).
 */
int ttlv_enc_finish(struct ttlv_enc *e);

/* ---- decoder ------------------------------------------------------------ */

struct ttlv_item {
	uint32_t tag;
	uint8_t type;			/* enum ttlv_type */
	uint32_t len;			/* of the value, without padding */
	const uint8_t *value;		/* in the caller's buffer */
	size_t offset;			/* of the item's header */
	const struct ttlv_item *parent;
	const struct ttlv_item *first;	/* Structure: its first item */
	const struct ttlv_item *next;	/* the next item of the parent */
};

struct ttlv_msg {
	struct ttlv_item *items;	/* items[0] is the root */
	size_t n;
};

/*
 * Decode the one item (usually a Structure) that is exactly @buf[0..@len).
 * 0, -EPROTO (malformed, the message says what and where) or -ENOMEM.
 * @msg->items point into @buf, which must outlive @msg.
 */
int ttlv_decode(const uint8_t *buf, size_t len, struct ttlv_msg *msg);
void ttlv_msg_free(struct ttlv_msg *msg);

static inline const struct ttlv_item *ttlv_root(const struct ttlv_msg *msg)
{
	return msg->n ? &msg->items[0] : NULL;
}

/* The first item tagged @tag in Structure @parent; NULL if none (or if
 * @parent is NULL or not a Structure). */
const struct ttlv_item *ttlv_find(const struct ttlv_item *parent,
				  uint32_t tag);
/* The next item after @prev in its Structure with @prev's tag, or NULL. */
const struct ttlv_item *ttlv_find_next(const struct ttlv_item *prev);
/* Number of items tagged @tag in @parent. */
size_t ttlv_count(const struct ttlv_item *parent, uint32_t tag);

/*
 * Typed getters: -EPROTO when @it is NULL ("missing") or of another type
 * (the message names the item: "Unique Identifier (0x420094) at offset
 * 48 is a Byte String, expected a Text String").
 */
int ttlv_get_integer(const struct ttlv_item *it, int32_t *v);
int ttlv_get_long(const struct ttlv_item *it, int64_t *v);
int ttlv_get_big_integer(const struct ttlv_item *it, const uint8_t **p,
			 size_t *len);
int ttlv_get_enum(const struct ttlv_item *it, uint32_t *v);
/* -EPROTO as well for a value other than 0 or 1. */
int ttlv_get_bool(const struct ttlv_item *it, bool *v);
/* Not NUL-terminated. */
int ttlv_get_text(const struct ttlv_item *it, const char **s, size_t *len);
int ttlv_get_bytes(const struct ttlv_item *it, const uint8_t **p,
		   size_t *len);
int ttlv_get_date_time(const struct ttlv_item *it, int64_t *t);
int ttlv_get_interval(const struct ttlv_item *it, uint32_t *seconds);
/* A Structure (an item that has items): -EPROTO for another type. */
int ttlv_get_structure(const struct ttlv_item *it);

/*
 * A Text String copied into @buf (@size bytes with the NUL): -EPROTO for
 * a NUL byte in it or when it does not fit.
 */
int ttlv_get_text_copy(const struct ttlv_item *it, char *buf, size_t size);

/*
 * The child of @parent tagged @tag, which must exist: 0 with *it set, or
 * -EPROTO "Response Payload (0x42007c) at offset 40 has no Unique
 * Identifier (0x420094)".
 */
int ttlv_need(const struct ttlv_item *parent, uint32_t tag,
	      const struct ttlv_item **it);

/* "Unique Identifier (0x420094)" or "0x54aa01" into @buf. */
const char *ttlv_tag_label(uint32_t tag, char *buf, size_t size);

#endif /* ENVCRYPT_TTLV_H */
