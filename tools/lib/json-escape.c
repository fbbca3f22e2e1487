// SPDX-License-Identifier: GPL-2.0
/*
 * JSON string escapes (json-escape.h).
 */
#include <stdio.h>

#include "json-escape.h"

void ec_json_escape(const char *s, size_t max, ec_json_put_fn *put,
		    void *out)
{
	const char *p, *run = s;
	char esc[8];

	for (p = s; *p && (size_t)(p - s) < max; p++) {
		unsigned char c = (unsigned char)*p;

		if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f)
			continue;
		if (p > run)
			put(out, run, (size_t)(p - run));
		run = p + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(out, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(out, esc, 6);
		}
	}
	if (p > run)
		put(out, run, (size_t)(p - run));
}
