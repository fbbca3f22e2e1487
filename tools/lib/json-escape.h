/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing a JSON string's content: the one escaper of the JSON that
 * envcryptctl writes (the volume registry, the audit log, the requests to
 * exec: KMS plugins).  Read it back with json-read.h.
 */
#ifndef ENVCRYPT_JSON_ESCAPE_H
#define ENVCRYPT_JSON_ESCAPE_H

#include <stddef.h>

/* Append @n bytes of @s to the output @out. */
typedef void ec_json_put_fn(void *out, const char *s, size_t n);

/*
 * The first @max bytes of the C string @s (all of it when shorter), as
 * the inside of a JSON string: '"' and '\' get a backslash, control
 * characters and DEL are \u00XX, every other byte is put as it is (UTF-8
 * stays UTF-8).  The quotes are the caller's.
 */
void ec_json_escape(const char *s, size_t max, ec_json_put_fn *put,
		    void *out);

#endif /* ENVCRYPT_JSON_ESCAPE_H */
