/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON writer for --json output: objects and arrays nested by
 * calls, strings escaped.  A NULL key means "inside an array".
 */
#ifndef ENVCRYPTCTL_JSON_H
#define ENVCRYPTCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX	8

struct json {
	FILE *f;
	int depth;
	bool need_comma[JSON_DEPTH_MAX];
};

void json_init(struct json *j, FILE *f);
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value);
void json_int(struct json *j, const char *key, int64_t value);
void json_bool(struct json *j, const char *key, bool value);
/* A number with @decimals digits after the point ("%.*g" when < 0). */
void json_double(struct json *j, const char *key, double value,
		 int decimals);
/* Binary as lowercase hex. */
void json_hex(struct json *j, const char *key, const uint8_t *data,
	      size_t len);
/* Unix time as "YYYY-MM-DDTHH:MM:SSZ", or null for 0. */
void json_time(struct json *j, const char *key, int64_t t);

#endif /* ENVCRYPTCTL_JSON_H */
