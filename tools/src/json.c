// SPDX-License-Identifier: GPL-2.0
/*
 * The --json writer.
 */
#include <time.h>

#include "json.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
}

static void json_quoted(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* The comma and key before a value. */
static void json_member(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
	if (key) {
		json_quoted(j->f, key);
		fputc(':', j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_member(j, key);
	fputc(c, j->f);
	if (j->depth < JSON_DEPTH_MAX - 1)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void json_close(struct json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0)
		fputc('\n', j->f);
}

void json_object_begin(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_object_end(struct json *j)
{
	json_close(j, '}');
}

void json_array_begin(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_array_end(struct json *j)
{
	json_close(j, ']');
}

void json_string(struct json *j, const char *key, const char *value)
{
	json_member(j, key);
	json_quoted(j->f, value);
}

void json_int(struct json *j, const char *key, int64_t value)
{
	json_member(j, key);
	fprintf(j->f, "%lld", (long long)value);
}

void json_bool(struct json *j, const char *key, bool value)
{
	json_member(j, key);
	fputs(value ? "true" : "false", j->f);
}

void json_double(struct json *j, const char *key, double value,
		 int decimals)
{
	json_member(j, key);
	if (value != value || value - value != 0)	/* NaN, infinite */
		fputs("null", j->f);
	else if (decimals >= 0)
		fprintf(j->f, "%.*f", decimals, value);
	else
		fprintf(j->f, "%.*g", -decimals, value);
}

void json_hex(struct json *j, const char *key, const uint8_t *data,
	      size_t len)
{
	size_t i;

	json_member(j, key);
	fputc('"', j->f);
	for (i = 0; i < len; i++)
		fprintf(j->f, "%02x", data[i]);
	fputc('"', j->f);
}

void json_time(struct json *j, const char *key, int64_t t)
{
	char buf[32];
	time_t tt = t;
	struct tm tm;

	if (!t) {
		json_member(j, key);
		fputs("null", j->f);
		return;
	}
	if (!gmtime_r(&tt, &tm)) {
		json_int(j, key, t);
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_string(j, key, buf);
}
