// SPDX-License-Identifier: GPL-2.0
/*
 * KMIP TTLV: the encoder into locked memory and the checking decoder
 * (ttlv.h).  No recursion: the encoder keeps the offsets of its open
 * Structures, the decoder a stack of the ends of the Structures it is in,
 * both at most TTLV_DEPTH_MAX deep.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "secmem.h"
#include "ttlv.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define ENC_INITIAL_SIZE	1024
/* A value longer than this is a bug of the caller, not a message. */
#define ENC_VALUE_MAX		(1u << 24)
#define LABEL_MAX		80

static const struct {
	uint32_t tag;
	const char *name;
} tag_names[] = {
	{ KMIP_TAG_ATTRIBUTE, "Attribute" },
	{ KMIP_TAG_ATTRIBUTE_INDEX, "Attribute Index" },
	{ KMIP_TAG_ATTRIBUTE_NAME, "Attribute Name" },
	{ KMIP_TAG_ATTRIBUTE_VALUE, "Attribute Value" },
	{ KMIP_TAG_BATCH_COUNT, "Batch Count" },
	{ KMIP_TAG_BATCH_ITEM, "Batch Item" },
	{ KMIP_TAG_BLOCK_CIPHER_MODE, "Block Cipher Mode" },
	{ KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, "Cryptographic Algorithm" },
	{ KMIP_TAG_CRYPTOGRAPHIC_LENGTH, "Cryptographic Length" },
	{ KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS, "Cryptographic Parameters" },
	{ KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, "Cryptographic Usage Mask" },
	{ KMIP_TAG_INITIAL_DATE, "Initial Date" },
	{ KMIP_TAG_IV_COUNTER_NONCE, "IV/Counter/Nonce" },
	{ KMIP_TAG_MAXIMUM_RESPONSE_SIZE, "Maximum Response Size" },
	{ KMIP_TAG_NAME, "Name" },
	{ KMIP_TAG_NAME_TYPE, "Name Type" },
	{ KMIP_TAG_NAME_VALUE, "Name Value" },
	{ KMIP_TAG_OBJECT_TYPE, "Object Type" },
	{ KMIP_TAG_OPERATION, "Operation" },
	{ KMIP_TAG_PROTOCOL_VERSION, "Protocol Version" },
	{ KMIP_TAG_PROTOCOL_VERSION_MAJOR, "Protocol Version Major" },
	{ KMIP_TAG_PROTOCOL_VERSION_MINOR, "Protocol Version Minor" },
	{ KMIP_TAG_REQUEST_HEADER, "Request Header" },
	{ KMIP_TAG_REQUEST_MESSAGE, "Request Message" },
	{ KMIP_TAG_REQUEST_PAYLOAD, "Request Payload" },
	{ KMIP_TAG_RESPONSE_HEADER, "Response Header" },
	{ KMIP_TAG_RESPONSE_MESSAGE, "Response Message" },
	{ KMIP_TAG_RESPONSE_PAYLOAD, "Response Payload" },
	{ KMIP_TAG_RESULT_MESSAGE, "Result Message" },
	{ KMIP_TAG_RESULT_REASON, "Result Reason" },
	{ KMIP_TAG_RESULT_STATUS, "Result Status" },
	{ KMIP_TAG_REVOCATION_MESSAGE, "Revocation Message" },
	{ KMIP_TAG_REVOCATION_REASON, "Revocation Reason" },
	{ KMIP_TAG_REVOCATION_REASON_CODE, "Revocation Reason Code" },
	{ KMIP_TAG_STATE, "State" },
	{ KMIP_TAG_TEMPLATE_ATTRIBUTE, "Template-Attribute" },
	{ KMIP_TAG_TIME_STAMP, "Time Stamp" },
	{ KMIP_TAG_UNIQUE_BATCH_ITEM_ID, "Unique Batch Item ID" },
	{ KMIP_TAG_UNIQUE_IDENTIFIER, "Unique Identifier" },
	{ KMIP_TAG_DATA, "Data" },
	{ KMIP_TAG_RANDOM_IV, "Random IV" },
	{ KMIP_TAG_IV_LENGTH, "IV Length" },
	{ KMIP_TAG_TAG_LENGTH, "Tag Length" },
	{ KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
	  "Authenticated Encryption Additional Data" },
	{ KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG,
	  "Authenticated Encryption Tag" },
};

const char *ttlv_type_name(uint8_t type)
{
	static const char *const names[] = {
		[TTLV_STRUCTURE]	= "Structure",
		[TTLV_INTEGER]		= "Integer",
		[TTLV_LONG_INTEGER]	= "Long Integer",
		[TTLV_BIG_INTEGER]	= "Big Integer",
		[TTLV_ENUMERATION]	= "Enumeration",
		[TTLV_BOOLEAN]		= "Boolean",
		[TTLV_TEXT_STRING]	= "Text String",
		[TTLV_BYTE_STRING]	= "Byte String",
		[TTLV_DATE_TIME]	= "Date-Time",
		[TTLV_INTERVAL]		= "Interval",
	};

	if (type < ARRAY_SIZE(names) && names[type])
		return names[type];
	return "unknown type";
}

const char *ttlv_tag_name(uint32_t tag)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tag_names); i++)
		if (tag_names[i].tag == tag)
			return tag_names[i].name;
	return NULL;
}

const char *ttlv_tag_label(uint32_t tag, char *buf, size_t size)
{
	const char *name = ttlv_tag_name(tag);

	if (name)
		snprintf(buf, size, "%s (0x%06x)", name, tag);
	else
		snprintf(buf, size, "0x%06x", tag);
	return buf;
}

/* The fixed value length of @type, 0 for a variable one, -1 unknown. */
static int fixed_length(uint8_t type)
{
	switch (type) {
	case TTLV_INTEGER:
	case TTLV_ENUMERATION:
	case TTLV_INTERVAL:
		return 4;
	case TTLV_LONG_INTEGER:
	case TTLV_BOOLEAN:
	case TTLV_DATE_TIME:
		return 8;
	case TTLV_STRUCTURE:
	case TTLV_BIG_INTEGER:
	case TTLV_TEXT_STRING:
	case TTLV_BYTE_STRING:
		return 0;
	}
	return -1;
}

/* "a" or "an" before a type name */
static const char *article(const char *name)
{
	return strchr("AEIOU", name[0]) ? "an" : "a";
}

static size_t padded(size_t len)
{
	return (len + 7) & ~(size_t)7;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ---- encoder ------------------------------------------------------------ */

void ttlv_enc_init(struct ttlv_enc *e)
{
	memset(e, 0, sizeof(*e));
}

void ttlv_enc_free(struct ttlv_enc *e)
{
	ec_secure_free(e->buf);		/* wipes */
	memset(e, 0, sizeof(*e));
}

static void enc_fail(struct ttlv_enc *e, int r)
{
	if (!e->err)
		e->err = r;
}

/* Room for @more bytes; a bigger buffer is a new locked one, the old one
 * is wiped and freed (never realloc: it would leave a copy behind). */
static bool enc_reserve(struct ttlv_enc *e, size_t more)
{
	size_t cap = e->cap ? e->cap : ENC_INITIAL_SIZE;
	uint8_t *buf;

	if (e->err)
		return false;
	if (more > ENC_VALUE_MAX + TTLV_HEADER_SIZE + 8 ||
	    e->len > ENC_VALUE_MAX * 4) {
		enc_fail(e, ec_err_set(-EINVAL,
				       "a KMIP message of more than %u bytes cannot be encoded",
				       ENC_VALUE_MAX * 4));
		return false;
	}
	if (e->buf && e->cap - e->len >= more)
		return true;
	while (cap - e->len < more)
		cap *= 2;
	buf = ec_secure_alloc(cap);
	if (!buf) {
		enc_fail(e, -ENOMEM);
		return false;
	}
	if (e->buf) {
		memcpy(buf, e->buf, e->len);
		ec_secure_free(e->buf);
	}
	e->buf = buf;
	e->cap = cap;
	return true;
}

/* The header and the padded room of one item; its value area or NULL. */
static uint8_t *enc_item(struct ttlv_enc *e, uint32_t tag, uint8_t type,
			 size_t len)
{
	uint8_t *p;

	if (len > ENC_VALUE_MAX) {
		enc_fail(e, ec_err_set(-EINVAL,
				       "a KMIP item of %zu bytes cannot be encoded (at most %u)",
				       len, ENC_VALUE_MAX));
		return NULL;
	}
	if (tag > 0xffffff) {
		enc_fail(e, ec_err_set(-EINVAL,
				       "0x%x is not a 3-byte KMIP tag", tag));
		return NULL;
	}
	if (!enc_reserve(e, TTLV_HEADER_SIZE + padded(len)))
		return NULL;
	p = e->buf + e->len;
	p[0] = (uint8_t)(tag >> 16);
	p[1] = (uint8_t)(tag >> 8);
	p[2] = (uint8_t)tag;
	p[3] = type;
	put_be32(p + 4, (uint32_t)len);
	/* padding is zero: the buffer may hold wiped bytes of a grow */
	memset(p + TTLV_HEADER_SIZE, 0, padded(len));
	e->len += TTLV_HEADER_SIZE + padded(len);
	return p + TTLV_HEADER_SIZE;
}

void ttlv_begin(struct ttlv_enc *e, uint32_t tag)
{
	size_t start = e->len;

	if (e->err)
		return;
	if (e->depth == TTLV_DEPTH_MAX) {
		enc_fail(e, ec_err_set(-EINVAL,
				       "KMIP Structures nested more than %d deep cannot be encoded",
				       TTLV_DEPTH_MAX));
		return;
	}
	if (!enc_item(e, tag, TTLV_STRUCTURE, 0))
		return;
	e->open[e->depth++] = start;
}

void ttlv_end(struct ttlv_enc *e)
{
	size_t start, len;

	if (e->err)
		return;
	if (!e->depth) {
		enc_fail(e, ec_err_set(-EINVAL,
				       "a KMIP Structure ended that was never begun"));
		return;
	}
	start = e->open[--e->depth];
	len = e->len - start - TTLV_HEADER_SIZE;
	if (len > ENC_VALUE_MAX) {
		enc_fail(e, ec_err_set(-EINVAL,
				       "a KMIP Structure of %zu bytes cannot be encoded (at most %u)",
				       len, ENC_VALUE_MAX));
		return;
	}
	put_be32(e->buf + start + 4, (uint32_t)len);
}

void ttlv_put_integer(struct ttlv_enc *e, uint32_t tag, int32_t v)
{
	uint8_t *p = enc_item(e, tag, TTLV_INTEGER, 4);

	if (p)
		put_be32(p, (uint32_t)v);
}

void ttlv_put_long(struct ttlv_enc *e, uint32_t tag, int64_t v)
{
	uint8_t *p = enc_item(e, tag, TTLV_LONG_INTEGER, 8);

	if (p)
		put_be64(p, (uint64_t)v);
}

void ttlv_put_big_integer(struct ttlv_enc *e, uint32_t tag, const void *v,
			  size_t len)
{
	uint8_t *p;

	if (!len || len % 8) {
		enc_fail(e, ec_err_set(-EINVAL,
				       "a KMIP Big Integer of %zu bytes cannot be encoded: its length must be a multiple of 8",
				       len));
		return;
	}
	p = enc_item(e, tag, TTLV_BIG_INTEGER, len);
	if (p)
		memcpy(p, v, len);
}

void ttlv_put_enum(struct ttlv_enc *e, uint32_t tag, uint32_t v)
{
	uint8_t *p = enc_item(e, tag, TTLV_ENUMERATION, 4);

	if (p)
		put_be32(p, v);
}

void ttlv_put_bool(struct ttlv_enc *e, uint32_t tag, bool v)
{
	uint8_t *p = enc_item(e, tag, TTLV_BOOLEAN, 8);

	if (p)
		put_be64(p, v ? 1 : 0);
}

void ttlv_put_text_len(struct ttlv_enc *e, uint32_t tag, const char *s,
		       size_t len)
{
	uint8_t *p = enc_item(e, tag, TTLV_TEXT_STRING, len);

	if (p && len)
		memcpy(p, s, len);
}

void ttlv_put_text(struct ttlv_enc *e, uint32_t tag, const char *s)
{
	ttlv_put_text_len(e, tag, s, strlen(s));
}

void ttlv_put_bytes(struct ttlv_enc *e, uint32_t tag, const void *v,
		    size_t len)
{
	uint8_t *p = enc_item(e, tag, TTLV_BYTE_STRING, len);

	if (p && len)
		memcpy(p, v, len);
}

void ttlv_put_date_time(struct ttlv_enc *e, uint32_t tag, int64_t t)
{
	uint8_t *p = enc_item(e, tag, TTLV_DATE_TIME, 8);

	if (p)
		put_be64(p, (uint64_t)t);
}

void ttlv_put_interval(struct ttlv_enc *e, uint32_t tag, uint32_t seconds)
{
	uint8_t *p = enc_item(e, tag, TTLV_INTERVAL, 4);

	if (p)
		put_be32(p, seconds);
}

int ttlv_enc_finish(struct ttlv_enc *e)
{
	if (e->err)
		return e->err;
	if (e->depth)
		return ec_err_set(-EINVAL,
				  "a KMIP message with %u Structure(s) left open cannot be sent",
				  e->depth);
	if (!e->len)
		return ec_err_set(-EINVAL, "an empty KMIP message cannot be sent");
	return 0;
}

/* ---- decoder ------------------------------------------------------------ */

static int malformed(uint32_t tag, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "-EPROTO: <tag label> at offset N: <what>" */
static int malformed(uint32_t tag, size_t offset, const char *fmt, ...)
{
	char label[LABEL_MAX], what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ec_err_set(-EPROTO, "%s at offset %zu: %s",
			  ttlv_tag_label(tag, label, sizeof(label)), offset,
			  what);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Check the value of one item that is not a Structure. */
static int check_value(uint32_t tag, uint8_t type, size_t offset,
		       const uint8_t *value, uint32_t len)
{
	int fixed = fixed_length(type);

	if (fixed < 0)
		return malformed(tag, offset, "unknown item type 0x%02x",
				 type);
	if (fixed && len != (uint32_t)fixed)
		return malformed(tag, offset,
				 "%s %s is %d bytes long, this one %u",
				 article(ttlv_type_name(type)),
				 ttlv_type_name(type), fixed, len);
	if (type == TTLV_BIG_INTEGER && (!len || len % 8))
		return malformed(tag, offset,
				 "a Big Integer of %u bytes (a multiple of 8 is needed)",
				 len);
	if (type == TTLV_STRUCTURE && len % 8)
		return malformed(tag, offset,
				 "a Structure of %u bytes (a multiple of 8 is needed)",
				 len);
	if (type != TTLV_STRUCTURE &&
	    !all_zero(value + len, padded(len) - len))
		return malformed(tag, offset,
				 "the padding after its %u bytes is not zero",
				 len);
	return 0;
}

struct open_structure {
	struct ttlv_item *item;
	struct ttlv_item *last;		/* its last item so far */
	size_t end;			/* offset after its value */
};

int ttlv_decode(const uint8_t *buf, size_t len, struct ttlv_msg *msg)
{
	struct open_structure stack[TTLV_DEPTH_MAX];
	struct ttlv_item *it, *parent;
	char plabel[LABEL_MAX];
	unsigned int depth = 0;
	size_t pos = 0, end, max, value_len, room;
	uint32_t tag, vlen;
	uint8_t type;
	int r;

	memset(msg, 0, sizeof(*msg));
	if (len < TTLV_HEADER_SIZE)
		return ec_err_set(-EPROTO,
				  "a TTLV message of %zu bytes is shorter than one item header (8 bytes)",
				  len);
	/* Every item takes at least a header. */
	max = len / TTLV_HEADER_SIZE;
	if (max > TTLV_ITEMS_MAX)
		max = TTLV_ITEMS_MAX;
	msg->items = calloc(max, sizeof(*msg->items));
	if (!msg->items)
		return ec_err_set(-ENOMEM, "out of memory");

	for (;;) {
		/* Leave the Structures that end here. */
		while (depth && pos == stack[depth - 1].end)
			depth--;
		if (!depth && msg->n)
			break;
		end = depth ? stack[depth - 1].end : len;
		parent = depth ? stack[depth - 1].item : NULL;
		if (end - pos < TTLV_HEADER_SIZE) {
			r = parent ?
			    malformed(parent->tag, parent->offset,
				      "its last %zu bytes are not an item (an item header is 8 bytes)",
				      end - pos) :
			    ec_err_set(-EPROTO,
				       "the message is truncated at offset %zu",
				       pos);
			goto fail;
		}
		tag = (uint32_t)buf[pos] << 16 | (uint32_t)buf[pos + 1] << 8 |
		      buf[pos + 2];
		type = buf[pos + 3];
		vlen = get_be32(buf + pos + 4);
		value_len = vlen;
		room = end - pos - TTLV_HEADER_SIZE;
		if ((type == TTLV_STRUCTURE ? value_len : padded(value_len)) >
		    room) {
			if (parent)
				r = malformed(tag, pos,
					      "its length %u goes beyond the end of the enclosing %s (%zu bytes left)",
					      vlen,
					      ttlv_tag_label(parent->tag, plabel,
							     sizeof(plabel)),
					      room);
			else
				r = malformed(tag, pos,
					      "its length %u goes beyond the end of the message (%zu bytes left): truncated",
					      vlen, room);
			goto fail;
		}
		r = check_value(tag, type, pos, buf + pos + TTLV_HEADER_SIZE,
				vlen);
		if (r)
			goto fail;
		if (msg->n == max) {
			r = malformed(tag, pos,
				      "more than %d items in one message",
				      TTLV_ITEMS_MAX);
			goto fail;
		}
		it = &msg->items[msg->n++];
		it->tag = tag;
		it->type = type;
		it->len = vlen;
		it->value = buf + pos + TTLV_HEADER_SIZE;
		it->offset = pos;
		it->parent = parent;
		if (depth) {
			if (stack[depth - 1].last)
				stack[depth - 1].last->next = it;
			else
				parent->first = it;
			stack[depth - 1].last = it;
		}
		if (type == TTLV_STRUCTURE) {
			if (depth == TTLV_DEPTH_MAX) {
				r = malformed(tag, pos,
					      "Structures nested more than %d deep",
					      TTLV_DEPTH_MAX);
				goto fail;
			}
			stack[depth].item = it;
			stack[depth].last = NULL;
			stack[depth].end = pos + TTLV_HEADER_SIZE + value_len;
			depth++;
			pos += TTLV_HEADER_SIZE;
		} else {
			pos += TTLV_HEADER_SIZE + padded(value_len);
		}
	}
	if (pos != len) {
		r = ec_err_set(-EPROTO,
			       "%zu bytes follow the end of the message at offset %zu",
			       len - pos, pos);
		goto fail;
	}
	return 0;
fail:
	ttlv_msg_free(msg);
	return r;
}

void ttlv_msg_free(struct ttlv_msg *msg)
{
	free(msg->items);
	msg->items = NULL;
	msg->n = 0;
}

const struct ttlv_item *ttlv_find(const struct ttlv_item *parent,
				  uint32_t tag)
{
	const struct ttlv_item *it;

	if (!parent || parent->type != TTLV_STRUCTURE)
		return NULL;
	for (it = parent->first; it; it = it->next)
		if (it->tag == tag)
			return it;
	return NULL;
}

const struct ttlv_item *ttlv_find_next(const struct ttlv_item *prev)
{
	const struct ttlv_item *it;

	if (!prev)
		return NULL;
	for (it = prev->next; it; it = it->next)
		if (it->tag == prev->tag)
			return it;
	return NULL;
}

size_t ttlv_count(const struct ttlv_item *parent, uint32_t tag)
{
	const struct ttlv_item *it;
	size_t n = 0;

	for (it = ttlv_find(parent, tag); it; it = ttlv_find_next(it))
		n++;
	return n;
}

int ttlv_need(const struct ttlv_item *parent, uint32_t tag,
	      const struct ttlv_item **it)
{
	char label[LABEL_MAX];

	*it = ttlv_find(parent, tag);
	if (*it)
		return 0;
	if (!parent)
		return ec_err_set(-EPROTO, "no %s",
				  ttlv_tag_label(tag, label, sizeof(label)));
	return malformed(parent->tag, parent->offset, "%s %s",
			 parent->type == TTLV_STRUCTURE ?
			 "has no" : "is not a Structure, expected one with",
			 ttlv_tag_label(tag, label, sizeof(label)));
}

/* 0 when @it is a @type, else -EPROTO naming it. */
static int check_type(const struct ttlv_item *it, uint8_t type)
{
	const char *want = ttlv_type_name(type), *got;

	if (!it)
		return ec_err_set(-EPROTO, "%s %s is missing", article(want),
				  want);
	got = ttlv_type_name(it->type);
	if (it->type != type)
		return malformed(it->tag, it->offset, "is %s %s, expected %s %s",
				 article(got), got, article(want), want);
	return 0;
}

int ttlv_get_integer(const struct ttlv_item *it, int32_t *v)
{
	int r = check_type(it, TTLV_INTEGER);

	if (!r)
		*v = (int32_t)get_be32(it->value);
	return r;
}

int ttlv_get_long(const struct ttlv_item *it, int64_t *v)
{
	int r = check_type(it, TTLV_LONG_INTEGER);

	if (!r)
		*v = (int64_t)get_be64(it->value);
	return r;
}

int ttlv_get_big_integer(const struct ttlv_item *it, const uint8_t **p,
			 size_t *len)
{
	int r = check_type(it, TTLV_BIG_INTEGER);

	if (!r) {
		*p = it->value;
		*len = it->len;
	}
	return r;
}

int ttlv_get_enum(const struct ttlv_item *it, uint32_t *v)
{
	int r = check_type(it, TTLV_ENUMERATION);

	if (!r)
		*v = get_be32(it->value);
	return r;
}

int ttlv_get_bool(const struct ttlv_item *it, bool *v)
{
	uint64_t x;
	int r = check_type(it, TTLV_BOOLEAN);

	if (r)
		return r;
	x = get_be64(it->value);
	if (x > 1)
		return malformed(it->tag, it->offset,
				 "a Boolean that is neither 0 nor 1");
	*v = x == 1;
	return 0;
}

int ttlv_get_text(const struct ttlv_item *it, const char **s, size_t *len)
{
	int r = check_type(it, TTLV_TEXT_STRING);

	if (!r) {
		*s = (const char *)it->value;
		*len = it->len;
	}
	return r;
}

int ttlv_get_bytes(const struct ttlv_item *it, const uint8_t **p,
		   size_t *len)
{
	int r = check_type(it, TTLV_BYTE_STRING);

	if (!r) {
		*p = it->value;
		*len = it->len;
	}
	return r;
}

int ttlv_get_date_time(const struct ttlv_item *it, int64_t *t)
{
	int r = check_type(it, TTLV_DATE_TIME);

	if (!r)
		*t = (int64_t)get_be64(it->value);
	return r;
}

int ttlv_get_interval(const struct ttlv_item *it, uint32_t *seconds)
{
	int r = check_type(it, TTLV_INTERVAL);

	if (!r)
		*seconds = get_be32(it->value);
	return r;
}

int ttlv_get_structure(const struct ttlv_item *it)
{
	return check_type(it, TTLV_STRUCTURE);
}

int ttlv_get_text_copy(const struct ttlv_item *it, char *buf, size_t size)
{
	const char *s;
	size_t len;
	int r;

	r = ttlv_get_text(it, &s, &len);
	if (r)
		return r;
	if (memchr(s, '\0', len))
		return malformed(it->tag, it->offset,
				 "a Text String with a NUL byte");
	if (len >= size)
		return malformed(it->tag, it->offset,
				 "a Text String of %zu bytes, more than the %zu expected",
				 len, size - 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}
