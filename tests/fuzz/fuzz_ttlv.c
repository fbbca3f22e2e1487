// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the TTLV decoder (tools/lib/ttlv.c) on any bytes, as
 * a KMIP server's answer reaches it, then every getter on every item, as
 * the KMIP provider reads a response.  A decode that fails must leave
 * nothing behind; one that succeeds must give a tree within the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ttlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(const volatile void *p, size_t len)
{
	const volatile uint8_t *b = p;
	uint8_t x = 0;
	size_t i;

	for (i = 0; i < len; i++)
		x ^= b[i];
	(void)x;
}

/* Every getter on @it; only the right one may succeed. */
static void get_all(const uint8_t *buf, size_t size,
		    const struct ttlv_item *it)
{
	const uint8_t *p;
	const char *s;
	char text[64];
	size_t len;
	int32_t i32;
	int64_t i64;
	uint32_t u32;
	bool b;
	int ok = 0;

	if (it->value < buf || it->value + it->len > buf + size)
		abort();
	ok += !ttlv_get_integer(it, &i32);
	ok += !ttlv_get_long(it, &i64);
	ok += !ttlv_get_enum(it, &u32);
	ok += !ttlv_get_interval(it, &u32);
	ok += !ttlv_get_date_time(it, &i64);
	ok += !ttlv_get_structure(it);
	if (!ttlv_get_bool(it, &b))
		ok++;
	if (!ttlv_get_big_integer(it, &p, &len)) {
		use(p, len);
		ok++;
	}
	if (!ttlv_get_bytes(it, &p, &len)) {
		use(p, len);
		ok++;
	}
	if (!ttlv_get_text(it, &s, &len)) {
		use(s, len);
		ok++;
	}
	if (!ttlv_get_text_copy(it, text, sizeof(text)) &&
	    strlen(text) != it->len)
		abort();
	if (ok > 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ttlv_item *it, *found;
	struct ttlv_msg msg;
	size_t i;

	ec_err_clear();
	if (ttlv_decode(data, size, &msg)) {
		if (msg.items || msg.n)
			abort();
		if (!ec_err_msg()[0])
			abort();
		return 0;
	}
	if (!msg.n || msg.n > TTLV_ITEMS_MAX)
		abort();
	for (i = 0; i < msg.n; i++) {
		it = &msg.items[i];
		get_all(data, size, it);
		/* the tree: find, find_next and need agree */
		found = ttlv_find(it->parent, it->tag);
		if (it->parent && !found)
			abort();
		while (found && found != it)
			found = ttlv_find_next(found);
		if (it->parent && found != it)
			abort();
		ttlv_need(it, it->tag, &found);
		ttlv_count(it, KMIP_TAG_UNIQUE_IDENTIFIER);
	}
	ttlv_msg_free(&msg);
	return 0;
}
