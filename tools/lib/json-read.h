/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON reader for replies from untrusted peers (the exec: KMS
 * plugins): RFC 8259 text whose top level is one object, checked whole
 * before anything is used.
 *
 * ec_json_parse() validates the text and indexes it: every value is a node
 * that points into the text, nothing is copied, so a reply that holds a
 * secret stays in the caller's (locked) buffer, and strings are decoded on
 * demand into the caller's buffer.  It refuses, with -EPROTO and a message
 * "JSON byte N: what", anything that is not exactly one object followed by
 * whitespace: truncated text, trailing bytes, nesting deeper than
 * EC_JSON_DEPTH_MAX, more than EC_JSON_MEMBERS_MAX members in an object,
 * more than EC_JSON_NODES_MAX values, text longer than EC_JSON_TEXT_MAX,
 * duplicate keys (compared after unescaping), invalid UTF-8 (overlong
 * forms, surrogates, above U+10FFFF), bad escapes, unpaired surrogate
 * escapes, \u0000 (strings are C strings), raw control characters in
 * strings, and number literals longer than EC_JSON_NUMBER_MAX characters.
 * The parser is a loop with an explicit stack: no recursion.
 */
#ifndef ENVCRYPT_JSON_READ_H
#define ENVCRYPT_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EC_JSON_TEXT_MAX	(1024 * 1024)
#define EC_JSON_DEPTH_MAX	16	/* the top-level object is depth 1 */
#define EC_JSON_MEMBERS_MAX	256	/* in one object */
#define EC_JSON_NODES_MAX	65536	/* values in one text */
#define EC_JSON_NUMBER_MAX	40	/* characters of a number literal */

enum ec_json_type {
	EC_JSON_NULL,
	EC_JSON_FALSE,
	EC_JSON_TRUE,
	EC_JSON_NUMBER,
	EC_JSON_STRING,
	EC_JSON_ARRAY,
	EC_JSON_OBJECT,
};

/* A value: its text (a string's without the quotes, still escaped). */
struct ec_json_node {
	enum ec_json_type type;
	uint32_t start, len;
	uint32_t key_start, key_len;	/* a member's key, as text */
	int child;			/* first element or member, or -1 */
	int next;			/* next in the parent, or -1 */
	uint32_t count;			/* elements or members */
	bool escaped;			/* a string with a backslash */
	bool key_escaped;
};

struct ec_json {
	const char *text;
	size_t len;
	struct ec_json_node *nodes;	/* [0] is the top-level object */
	size_t n, cap;
};

/*
 * Parse @text (@len bytes, no NUL needed).  0, or -EPROTO (-ENOMEM) with a
 * message; @doc is then empty.  @doc points into @text: keep the text
 * until ec_json_free().
 */
int ec_json_parse(struct ec_json *doc, const char *text, size_t len);
void ec_json_free(struct ec_json *doc);

#define EC_JSON_ROOT	0

/* The member @key of object @node, or -1 (absent, or not an object). */
int ec_json_get(const struct ec_json *doc, int node, const char *key);
/* Elements of an array or members of an object, in order; -1: no more. */
int ec_json_first(const struct ec_json *doc, int node);
int ec_json_next(const struct ec_json *doc, int node);
enum ec_json_type ec_json_type(const struct ec_json *doc, int node);
/* "a string", "an object", ... for messages */
const char *ec_json_type_name(enum ec_json_type type);

/*
 * The decoded UTF-8 of string @node into @buf (@size bytes with the NUL;
 * @len, if not NULL, gets the length without it).  -EPROTO when @node is
 * not a string, -ENOSPC when it does not fit (nothing is then left in
 * @buf); the message names @what.
 */
int ec_json_string(const struct ec_json *doc, int node, const char *what,
		   char *buf, size_t size, size_t *len);
/* An integer (no fraction, no exponent) from @min to @max; -EPROTO. */
int ec_json_int(const struct ec_json *doc, int node, const char *what,
		int64_t min, int64_t max, int64_t *value);
/* true or false; -EPROTO. */
int ec_json_bool(const struct ec_json *doc, int node, const char *what,
		 bool *value);

#endif /* ENVCRYPT_JSON_READ_H */
