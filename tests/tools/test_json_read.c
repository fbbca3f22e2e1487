// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/json-read.c, the JSON reader for KMS plugin replies:
 * what it accepts and how it is read, and the exact refusal of truncated,
 * too deep, too long, malformed, duplicate-key, bad-escape, bad-UTF-8 and
 * trailing-garbage texts; integers out of range.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "json-read.h"

/* Parse a C string. */
static int parse(struct ec_json *doc, const char *text)
{
	return ec_json_parse(doc, text, strlen(text));
}

/* ---- accepted ------------------------------------------------------------ */

static void test_reads_every_type(void **state)
{
	const char *text =
		" \t\r\n{\"s\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\","
		" \"n\": -12, \"f\": 1.5e-3, \"t\": true, \"F\": false,"
		" \"z\": null, \"o\": {\"x\": [1, {}, []]}, \"a\": []} \n";
	struct ec_json doc;
	char buf[64];
	size_t len;
	int64_t v;
	bool b;
	int o, arr, e;

	(void)state;
	assert_int_equal(parse(&doc, text), 0);
	assert_int_equal(ec_json_type(&doc, EC_JSON_ROOT), EC_JSON_OBJECT);
	assert_int_equal(doc.nodes[EC_JSON_ROOT].count, 8);

	assert_int_equal(ec_json_string(&doc, ec_json_get(&doc, 0, "s"), "s",
					buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	assert_int_equal(len, strlen(buf));

	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "n"), "n",
				     -100, 100, &v), 0);
	assert_int_equal(v, -12);
	assert_int_equal(ec_json_type(&doc, ec_json_get(&doc, 0, "f")),
			 EC_JSON_NUMBER);
	assert_int_equal(ec_json_bool(&doc, ec_json_get(&doc, 0, "t"), "t",
				      &b), 0);
	assert_true(b);
	assert_int_equal(ec_json_bool(&doc, ec_json_get(&doc, 0, "F"), "F",
				      &b), 0);
	assert_false(b);
	assert_int_equal(ec_json_type(&doc, ec_json_get(&doc, 0, "z")),
			 EC_JSON_NULL);

	o = ec_json_get(&doc, 0, "o");
	arr = ec_json_get(&doc, o, "x");
	assert_int_equal(ec_json_type(&doc, arr), EC_JSON_ARRAY);
	assert_int_equal(doc.nodes[arr].count, 3);
	e = ec_json_first(&doc, arr);
	assert_int_equal(ec_json_int(&doc, e, "x[0]", 0, 9, &v), 0);
	assert_int_equal(v, 1);
	e = ec_json_next(&doc, e);
	assert_int_equal(ec_json_type(&doc, e), EC_JSON_OBJECT);
	assert_int_equal(ec_json_first(&doc, e), -1);
	e = ec_json_next(&doc, e);
	assert_int_equal(ec_json_type(&doc, e), EC_JSON_ARRAY);
	assert_int_equal(ec_json_next(&doc, e), -1);
	assert_int_equal(ec_json_get(&doc, 0, "missing"), -1);
	assert_int_equal(ec_json_get(&doc, arr, "x"), -1);	/* not an object */
	ec_json_free(&doc);
}

static void test_escaped_keys_are_found(void **state)
{
	struct ec_json doc;
	int64_t v;

	(void)state;
	assert_int_equal(parse(&doc, "{\"k\\u0065y\": 7, \"\\u00e9\": 8}"), 0);
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "key"), "key",
				     0, 9, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "\xc3\xa9"),
				     "e", 0, 9, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(ec_json_get(&doc, 0, "ke"), -1);
	assert_int_equal(ec_json_get(&doc, 0, "keyy"), -1);
	ec_json_free(&doc);
}

static void test_same_key_in_different_objects(void **state)
{
	struct ec_json doc;

	(void)state;
	assert_int_equal(parse(&doc, "{\"a\": {\"a\": 1}, \"b\": {\"a\": 2}}"),
			 0);
	ec_json_free(&doc);
}

/* A text of @depth nested objects: {"a":{"a":...{}...}} */
static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 6 + 1);
	int i, n = 0;

	assert_non_null(s);
	for (i = 0; i < depth - 1; i++)
		n += sprintf(s + n, "{\"a\":");
	s[n++] = '{';
	for (i = 0; i < depth; i++)
		s[n++] = '}';
	s[n] = '\0';
	return s;
}

static void test_depth_limit(void **state)
{
	struct ec_json doc;
	char *s;

	(void)state;
	s = nested(EC_JSON_DEPTH_MAX);
	assert_int_equal(parse(&doc, s), 0);
	ec_json_free(&doc);
	free(s);

	s = nested(EC_JSON_DEPTH_MAX + 1);
	assert_int_equal(parse(&doc, s), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "JSON byte 80: nested deeper than 16 levels");
	assert_null(doc.nodes);
	free(s);

	/* arrays count too, and a deep text far beyond the limit */
	s = malloc(100001);
	assert_non_null(s);
	s[0] = '{';
	s[1] = '"';
	s[2] = 'a';
	s[3] = '"';
	s[4] = ':';
	memset(s + 5, '[', 99995);
	s[100000] = '\0';
	assert_int_equal(parse(&doc, s), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "JSON byte 20: nested deeper than 16 levels");
	free(s);
}

static void test_length_limit(void **state)
{
	size_t len = EC_JSON_TEXT_MAX + 1;
	struct ec_json doc;
	char *s = malloc(len);

	(void)state;
	assert_non_null(s);
	memset(s, ' ', len);
	s[0] = '{';
	s[len - 1] = '}';
	assert_int_equal(ec_json_parse(&doc, s, len), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "JSON text of 1048577 bytes is longer than 1048576 bytes");
	assert_int_equal(ec_json_parse(&doc, s + 1, len - 1), -EPROTO);
	s[1] = '{';
	assert_int_equal(ec_json_parse(&doc, s + 1, len - 1), 0);
	ec_json_free(&doc);
	free(s);
}

static void test_member_limit(void **state)
{
	struct ec_json doc;
	char *s = malloc(16 * 300);
	int i, n = 0;

	(void)state;
	assert_non_null(s);
	s[n++] = '{';
	for (i = 0; i < EC_JSON_MEMBERS_MAX; i++)
		n += sprintf(s + n, "%s\"k%d\":%d", i ? "," : "", i, i);
	s[n] = '}';
	s[n + 1] = '\0';
	assert_int_equal(parse(&doc, s), 0);
	assert_int_equal(doc.nodes[0].count, EC_JSON_MEMBERS_MAX);
	ec_json_free(&doc);
	n += sprintf(s + n, ",\"k%d\":0}", i);
	assert_int_equal(parse(&doc, s), -EPROTO);
	assert_string_equal(ec_err_msg(),
			    "JSON byte 2597: more than 256 members in an object");
	free(s);
}

/* ---- refused: each text, its exact message ------------------------------- */

struct refusal {
	const char *text;
	size_t len;			/* 0: strlen */
	const char *msg;
};

static const struct refusal refusals[] = {
	/* empty, not an object */
	{ "", 0, "JSON text is empty" },
	{ " \n\t", 0, "JSON text is empty" },
	{ "[1]", 0, "JSON byte 0: '[' where the top-level object must start" },
	{ "\"s\"", 0, "JSON byte 0: '\"' where the top-level object must start" },
	{ "\xef\xbb\xbf{}", 0, "JSON byte 0: 0xef where the top-level object must start" },
	/* truncated */
	{ "{", 0, "JSON byte 1: the text ends inside an object (truncated)" },
	{ "{\"a\"", 0, "JSON byte 4: the text ends inside an object (truncated)" },
	{ "{\"a\":", 0, "JSON byte 5: the text ends inside an object (truncated)" },
	{ "{\"a\":1", 0, "JSON byte 6: the text ends inside an object (truncated)" },
	{ "{\"a\":[1,", 0, "JSON byte 8: the text ends inside an array (truncated)" },
	{ "{\"a", 0, "JSON byte 3: the text ends inside a key (truncated)" },
	{ "{\"a\":\"xy", 0, "JSON byte 8: the text ends inside a string (truncated)" },
	{ "{\"a\":\"x\\", 0, "JSON byte 8: the text ends inside a string (truncated)" },
	{ "{\"a\":\"\\u00", 0, "JSON byte 10: the text ends inside a string (truncated)" },
	{ "{\"a\":\"\\ud83d", 0, "JSON byte 12: the text ends inside a string (truncated)" },
	{ "{\"a\":\"\\ud83d\\u", 0, "JSON byte 14: the text ends inside a string (truncated)" },
	{ "{\"a\":\"\xe2\x82", 0, "JSON byte 8: the text ends inside a string (truncated)" },
	{ "{\"a\":tru", 0, "JSON byte 8: the text ends inside a literal (truncated)" },
	{ "{\"a\":-", 0, "JSON byte 6: the text ends inside a number (truncated)" },
	{ "{\"a\":1.", 0, "JSON byte 7: the text ends inside a number (truncated)" },
	{ "{\"a\":1e+", 0, "JSON byte 8: the text ends inside a number (truncated)" },
	/* trailing garbage */
	{ "{}x", 0, "JSON byte 2: 'x' after the top-level object (trailing garbage)" },
	{ "{\"a\":1} {}", 0, "JSON byte 8: '{' after the top-level object (trailing garbage)" },
	{ "{}\0", 3, "JSON byte 2: 0x00 after the top-level object (trailing garbage)" },
	{ "{}}", 0, "JSON byte 2: '}' after the top-level object (trailing garbage)" },
	/* structure */
	{ "{\"a\":1,}", 0, "JSON byte 7: unexpected '}' in an object where a key must be" },
	{ "{,}", 0, "JSON byte 1: unexpected ',' in an object where a key must be" },
	{ "{a:1}", 0, "JSON byte 1: unexpected 'a' in an object where a key must be" },
	{ "{\"a\" 1}", 0, "JSON byte 5: unexpected '1' in an object: ':' must follow a key" },
	{ "{\"a\":1 \"b\":2}", 0, "JSON byte 7: unexpected '\"' in an object: ',' or '}' must follow an item" },
	{ "{\"a\":[1 2]}", 0, "JSON byte 8: unexpected '2' in an array: ',' or ']' must follow an item" },
	{ "{\"a\":[1,]}", 0, "JSON byte 8: unexpected ']' where a value must be" },
	{ "{\"a\":[,1]}", 0, "JSON byte 6: unexpected ',' where a value must be" },
	{ "{\"a\":]}", 0, "JSON byte 5: unexpected ']' where a value must be" },
	{ "{\"a\":'x'}", 0, "JSON byte 5: unexpected ''' where a value must be" },
	{ "{\"a\":nul}", 0, "JSON byte 5: unexpected text where a value must be (did you mean null?)" },
	{ "{\"a\":True}", 0, "JSON byte 5: unexpected 'T' where a value must be" },
	{ "{\"a\":1\x0b}", 0, "JSON byte 6: unexpected 0x0b in an object: ',' or '}' must follow an item" },
	/* numbers */
	{ "{\"a\":01}", 0, "JSON byte 5: a number with a leading zero" },
	{ "{\"a\":-01}", 0, "JSON byte 5: a number with a leading zero" },
	{ "{\"a\":+1}", 0, "JSON byte 5: unexpected '+' where a value must be" },
	{ "{\"a\":.5}", 0, "JSON byte 5: unexpected '.' where a value must be" },
	{ "{\"a\":1.}", 0, "JSON byte 7: '}' in a number where a digit must be" },
	{ "{\"a\":1e}", 0, "JSON byte 7: '}' in a number where a digit must be" },
	{ "{\"a\":-x}", 0, "JSON byte 6: 'x' in a number where a digit must be" },
	{ "{\"a\":NaN}", 0, "JSON byte 5: unexpected 'N' where a value must be" },
	{ "{\"a\":12345678901234567890123456789012345678901}", 0,
	  "JSON byte 5: a number longer than 40 characters" },
	/* escapes */
	{ "{\"a\":\"\\x\"}", 0, "JSON byte 6: bad escape '\\x' in a string" },
	{ "{\"a\":\"\\U0041\"}", 0, "JSON byte 6: bad escape '\\U' in a string" },
	{ "{\"a\":\"\\\x01\"}", 0, "JSON byte 6: bad escape: 0x01 after '\\' in a string" },
	{ "{\"a\":\"\\u12G4\"}", 0, "JSON byte 6: bad \\u escape in a string: four hex digits must follow \\u" },
	{ "{\"a\":\"\\u0000\"}", 0, "JSON byte 6: \\u0000 in a string: strings may not hold NUL" },
	{ "{\"\\u0000\":1}", 0, "JSON byte 2: \\u0000 in a key: strings may not hold NUL" },
	{ "{\"a\":\"\\udc00\"}", 0, "JSON byte 6: unpaired surrogate \\udc00 in a string" },
	{ "{\"a\":\"\\ud800\"}", 0, "JSON byte 6: unpaired surrogate \\ud800 in a string" },
	{ "{\"a\":\"\\ud800x\"}", 0, "JSON byte 6: unpaired surrogate \\ud800 in a string" },
	{ "{\"a\":\"\\ud800\\u0041\"}", 0, "JSON byte 6: unpaired surrogate \\ud800 in a string" },
	{ "{\"a\":\"\\ud800\\ud800\"}", 0, "JSON byte 6: unpaired surrogate \\ud800 in a string" },
	/* raw characters in strings */
	{ "{\"a\":\"x\ny\"}", 0, "JSON byte 7: control character 0x0a in a string" },
	{ "{\"a\":\"\x1f\"}", 0, "JSON byte 6: control character 0x1f in a string" },
	{ "{\"a\":\"x\0\"}", 10, "JSON byte 7: control character 0x00 in a string" },
	{ "{\"\t\":1}", 0, "JSON byte 2: control character 0x09 in a key" },
	/* UTF-8 */
	{ "{\"a\":\"\x80\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xc0\x80\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xc1\xbf\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xe0\x9f\xbf\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xed\xa0\x80\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xf0\x8f\xbf\xbf\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xf5\x80\x80\x80\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xff\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"a\":\"\xe2\x28\xa1\"}", 0, "JSON byte 6: invalid UTF-8 in a string" },
	{ "{\"\xc3\":1}", 0, "JSON byte 2: invalid UTF-8 in a key" },
	/* duplicate keys, also when spelled differently */
	{ "{\"a\":1,\"a\":2}", 0, "JSON byte 7: duplicate key \"a\"" },
	{ "{\"a\":1,\"\\u0061\":2}", 0, "JSON byte 7: duplicate key \"\\u0061\"" },
	{ "{\"\\/\":1,\"/\":2}", 0, "JSON byte 8: duplicate key \"/\"" },
	{ "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", 0,
	  "JSON byte 18: duplicate key \"????\"" },
	{ "{\"o\":{\"b\":[],\"b\":{}}}", 0, "JSON byte 13: duplicate key \"b\"" },
};

static void test_refusals(void **state)
{
	const struct refusal *t;
	struct ec_json doc;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		t = &refusals[i];
		ec_err_clear();
		r = ec_json_parse(&doc, t->text,
				  t->len ? t->len : strlen(t->text));
		if (r != -EPROTO || strcmp(ec_err_msg(), t->msg))
			fail_msg("refusal %zu (%s): r=%d, message '%s', expected '%s'",
				 i, t->text, r, ec_err_msg(), t->msg);
		assert_null(doc.nodes);
		assert_int_equal(doc.n, 0);
	}
}

/* ---- reading values ------------------------------------------------------- */

static void test_integers_and_their_range(void **state)
{
	const char *text =
		"{\"max\":9223372036854775807,\"over\":9223372036854775808,"
		"\"min\":-9223372036854775808,\"under\":-9223372036854775809,"
		"\"huge\":99999999999999999999999,\"frac\":1.5,\"exp\":1e3,"
		"\"zero\":-0,\"s\":\"1\",\"small\":5}";
	struct ec_json doc;
	int64_t v = 42;

	(void)state;
	assert_int_equal(parse(&doc, text), 0);
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "max"), "max",
				     INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "min"), "min",
				     INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "zero"),
				     "zero", 0, 1, &v), 0);
	assert_int_equal(v, 0);

	v = 42;
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "over"),
				     "over", INT64_MIN, INT64_MAX, &v),
			 -EPROTO);
	assert_string_equal(ec_err_msg(), "over is 9223372036854775808, not an integer from -9223372036854775808 to 9223372036854775807");
	assert_int_equal(v, 42);		/* untouched */
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "under"),
				     "under", INT64_MIN, INT64_MAX, &v),
			 -EPROTO);
	assert_string_equal(ec_err_msg(), "under is -9223372036854775809, not an integer from -9223372036854775808 to 9223372036854775807");
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "huge"),
				     "huge", 0, INT64_MAX, &v), -EPROTO);
	assert_string_equal(ec_err_msg(), "huge is 99999999999999999999999, not an integer from 0 to 9223372036854775807");
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "small"),
				     "small", 6, 10, &v), -EPROTO);
	assert_string_equal(ec_err_msg(), "small is 5, not an integer from 6 to 10");
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "frac"),
				     "frac", 0, 10, &v), -EPROTO);
	assert_string_equal(ec_err_msg(), "frac is 1.5, not an integer");
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "exp"),
				     "exp", 0, 10000, &v), -EPROTO);
	assert_string_equal(ec_err_msg(), "exp is 1e3, not an integer");
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "s"), "s", 0,
				     10, &v), -EPROTO);
	assert_string_equal(ec_err_msg(), "s is a string, not an integer");
	assert_int_equal(ec_json_int(&doc, ec_json_get(&doc, 0, "nope"),
				     "nope", 0, 10, &v), -EPROTO);
	assert_string_equal(ec_err_msg(), "nope is missing, not an integer");
	assert_int_equal(v, 42);
	ec_json_free(&doc);
}

static void test_strings_that_do_not_fit(void **state)
{
	struct ec_json doc;
	char buf[4] = "zzz";
	size_t len = 99;
	bool b;

	(void)state;
	assert_int_equal(parse(&doc, "{\"s\":\"abc\",\"t\":\"abcd\",\"e\":\"\\u00e9\\u00e9\",\"n\":1}"), 0);
	assert_int_equal(ec_json_string(&doc, ec_json_get(&doc, 0, "s"), "s",
					buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(len, 3);
	assert_int_equal(ec_json_string(&doc, ec_json_get(&doc, 0, "t"), "t",
					buf, sizeof(buf), &len), -ENOSPC);
	assert_string_equal(ec_err_msg(), "t is longer than 3 bytes");
	assert_memory_equal(buf, "\0\0\0", 3);	/* nothing left behind */
	/* two 2-byte characters need 5 bytes with the NUL */
	assert_int_equal(ec_json_string(&doc, ec_json_get(&doc, 0, "e"), "e",
					buf, sizeof(buf), NULL), -ENOSPC);
	assert_int_equal(ec_json_string(&doc, ec_json_get(&doc, 0, "n"), "n",
					buf, sizeof(buf), NULL), -EPROTO);
	assert_string_equal(ec_err_msg(), "n is a number, not a string");
	assert_int_equal(ec_json_bool(&doc, ec_json_get(&doc, 0, "s"), "s",
				      &b), -EPROTO);
	assert_string_equal(ec_err_msg(), "s is a string, not a boolean");
	ec_json_free(&doc);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(ec_json_type_name(EC_JSON_NULL), "null");
	assert_string_equal(ec_json_type_name(EC_JSON_TRUE), "a boolean");
	assert_string_equal(ec_json_type_name(EC_JSON_OBJECT), "an object");
	assert_string_equal(ec_json_type_name(EC_JSON_ARRAY), "an array");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_every_type),
		cmocka_unit_test(test_escaped_keys_are_found),
		cmocka_unit_test(test_same_key_in_different_objects),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_member_limit),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_integers_and_their_range),
		cmocka_unit_test(test_strings_that_do_not_fit),
		cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
