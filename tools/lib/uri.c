// SPDX-License-Identifier: GPL-2.0
/*
 * KMS URI parameter lists: split on a separator, names matched exactly,
 * values percent-decoded (RFC 3986).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hex.h"
#include "kms.h"
#include "uri.h"

#define PARAM_NAME_MAX	32

/* Percent-decode @in[0..len) into @out (@size with the NUL). */
static int decode(const char *uri, const char *in, size_t len, char *out,
		  size_t size)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '%') {
			hi = i + 2 < len ? ec_hex_value(in[i + 1]) : -1;
			lo = i + 2 < len ? ec_hex_value(in[i + 2]) : -1;
			/* a NUL would cut the value short */
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return ec_err_set(-EINVAL,
						  "KMS URI '%s': bad percent-encoding '%.*s'; write a byte as %%XX with two hex digits, not %%00",
						  uri, (int)(len - i < 3 ? len - i : 3),
						  in + i);
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (n + 1 >= size)
			return ec_err_set(-EINVAL,
					  "KMS URI '%s': a parameter value is too long (at most %zu bytes)",
					  uri, size - 1);
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/*
 * The next "name=value" item of @*list: its name and value spans; moves
 * @*list past it.  0 at the end, 1 for an item, -EINVAL when malformed.
 */
static int next_item(const char *uri, const char **list, char sep,
		     const char **name, size_t *name_len,
		     const char **value, size_t *value_len)
{
	const char *s = *list, *end, *eq;

	while (*s == sep)
		s++;
	if (!*s)
		return 0;
	end = strchr(s, sep);
	if (!end)
		end = s + strlen(s);
	eq = memchr(s, '=', end - s);
	if (!eq || eq == s)
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': '%.*s' is not a name=value parameter",
				  uri, (int)(end - s), s);
	*name = s;
	*name_len = eq - s;
	*value = eq + 1;
	*value_len = end - eq - 1;
	*list = end;
	return 1;
}

int ec_uri_param(const char *uri, const char *list, char sep,
		 const char *name, char *value, size_t size)
{
	const char *n, *v;
	size_t nl, vl;
	int r;

	value[0] = '\0';
	while (list && (r = next_item(uri, &list, sep, &n, &nl, &v, &vl))) {
		if (r < 0)
			return r;
		if (nl == strlen(name) && !memcmp(n, name, nl)) {
			r = decode(uri, v, vl, value, size);
			return r ? r : 1;
		}
	}
	return 0;
}

int ec_uri_check_params(const char *uri, const char *list, char sep,
			const char *const known[])
{
	char names[256];
	const char *n, *v;
	size_t nl, vl, i, used;
	int r;

	while (list && (r = next_item(uri, &list, sep, &n, &nl, &v, &vl))) {
		if (r < 0)
			return r;
		for (i = 0; known[i]; i++)
			if (nl == strlen(known[i]) && !memcmp(n, known[i], nl))
				break;
		if (known[i])
			continue;
		names[0] = '\0';
		for (i = 0, used = 0; known[i] && used < sizeof(names); i++)
			used += snprintf(names + used, sizeof(names) - used,
					 "%s%s", i ? ", " : "", known[i]);
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': unknown parameter '%.*s'; known: %s",
				  uri, (int)(nl < PARAM_NAME_MAX ? nl : PARAM_NAME_MAX),
				  n, names);
	}
	return 0;
}

int ec_uri_timeout_ms(const char *uri, const char *query, int *ms)
{
	char value[16], *end;
	unsigned long s;
	int r;

	*ms = EC_KMS_TIMEOUT_DEFAULT_MS;
	r = ec_uri_param(uri, query, '&', "timeout", value, sizeof(value));
	if (r <= 0)
		return r;
	errno = 0;
	s = strtoul(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || s < 1 ||
	    s > EC_KMS_TIMEOUT_MAX_S)
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': timeout '%s' is not a number of seconds from 1 to %d",
				  uri, value, EC_KMS_TIMEOUT_MAX_S);
	*ms = (int)s * 1000;
	return 0;
}
