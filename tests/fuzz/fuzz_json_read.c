// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the JSON reader of KMS plugin replies
 * (tools/lib/json-read.c): any input is parsed; an accepted text is walked
 * whole, every string decoded and every number read, so that the index
 * and the decoders are exercised on what the parser let through.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json-read.h"

/* Decode every value under @node: no recursion, an explicit stack. */
static void walk(const struct ec_json *doc)
{
	int stack[EC_JSON_DEPTH_MAX + 1], depth = 0, node;
	char buf[256];
	int64_t v;
	bool b;
	size_t len;

	stack[depth++] = ec_json_first(doc, EC_JSON_ROOT);
	while (depth) {
		node = stack[depth - 1];
		if (node < 0) {
			depth--;
			if (depth)
				stack[depth - 1] =
					ec_json_next(doc, stack[depth - 1]);
			continue;
		}
		switch (ec_json_type(doc, node)) {
		case EC_JSON_STRING:
			if (!ec_json_string(doc, node, "s", buf, sizeof(buf),
					    &len) &&
			    (len >= sizeof(buf) || strlen(buf) != len))
				abort();	/* no NUL inside, fits */
			break;
		case EC_JSON_NUMBER:
			ec_json_int(doc, node, "n", INT64_MIN, INT64_MAX, &v);
			break;
		case EC_JSON_TRUE:
		case EC_JSON_FALSE:
			if (ec_json_bool(doc, node, "b", &b))
				abort();
			break;
		case EC_JSON_OBJECT:
		case EC_JSON_ARRAY:
			if (depth > EC_JSON_DEPTH_MAX)
				abort();	/* the parser allowed too deep */
			stack[depth++] = ec_json_first(doc, node);
			continue;
		case EC_JSON_NULL:
			break;
		}
		stack[depth - 1] = ec_json_next(doc, node);
	}
	/* lookups by key, as the provider does */
	ec_json_get(doc, EC_JSON_ROOT, "protocol");
	ec_json_get(doc, EC_JSON_ROOT, "result");
	ec_json_get(doc, EC_JSON_ROOT, "error");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ec_json doc;
	char *text;
	int r;

	ec_err_clear();
	/* a copy of exactly @size bytes: reading past it is caught */
	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	r = ec_json_parse(&doc, text, size);
	if (r == 0) {
		if (ec_json_type(&doc, EC_JSON_ROOT) != EC_JSON_OBJECT)
			abort();
		walk(&doc);
		ec_json_free(&doc);
	} else if (r != -EPROTO && r != -ENOMEM) {
		abort();
	} else if (doc.nodes || !ec_err_msg()[0]) {
		abort();		/* a failure frees and says why */
	}
	free(text);
	return 0;
}
