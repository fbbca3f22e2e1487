// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/uri.c: parameter lists of KMS URIs, percent-decoding,
 * unknown names, timeouts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "kms.h"
#include "uri.h"

#define URI	"kmip://kms:5696?x"

static void test_param_found_and_decoded(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(ec_uri_param(URI, "ca=/etc/a%20b.pem&cert=/c", '&',
				      "ca", v, sizeof(v)), 1);
	assert_string_equal(v, "/etc/a b.pem");
	assert_int_equal(ec_uri_param(URI, "ca=/etc/a&cert=/c", '&', "cert",
				      v, sizeof(v)), 1);
	assert_string_equal(v, "/c");
	assert_int_equal(ec_uri_param(URI, "token=My%3bToken;object=k", ';',
				      "token", v, sizeof(v)), 1);
	assert_string_equal(v, "My;Token");
	/* an empty value is a value */
	assert_int_equal(ec_uri_param(URI, "a=&b=1", '&', "a", v, sizeof(v)),
			 1);
	assert_string_equal(v, "");
}

static void test_param_absent(void **state)
{
	char v[8] = "junk";

	(void)state;
	assert_int_equal(ec_uri_param(URI, "cax=1&xca=2", '&', "ca", v,
				      sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(ec_uri_param(URI, NULL, '&', "ca", v, sizeof(v)), 0);
	assert_int_equal(ec_uri_param(URI, "", '&', "ca", v, sizeof(v)), 0);
	/* the other separator does not split */
	assert_int_equal(ec_uri_param(URI, "a=1;ca=2", '&', "ca", v,
				      sizeof(v)), 0);
}

static void test_param_malformed(void **state)
{
	char v[8];

	(void)state;
	assert_int_equal(ec_uri_param(URI, "ca", '&', "ca", v, sizeof(v)),
			 -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "KMS URI '" URI "': 'ca' is not a name=value parameter");
	assert_int_equal(ec_uri_param(URI, "=x", '&', "ca", v, sizeof(v)),
			 -EINVAL);
	assert_int_equal(ec_uri_param(URI, "ca=%4", '&', "ca", v, sizeof(v)),
			 -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "KMS URI '" URI "': bad percent-encoding '%4'; write a byte as %XX with two hex digits, not %00");
	assert_int_equal(ec_uri_param(URI, "ca=%zz", '&', "ca", v, sizeof(v)),
			 -EINVAL);
	assert_int_equal(ec_uri_param(URI, "ca=a%00b", '&', "ca", v,
				      sizeof(v)), -EINVAL);
	assert_int_equal(ec_uri_param(URI, "ca=12345678", '&', "ca", v,
				      sizeof(v)), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "KMS URI '" URI "': a parameter value is too long (at most 7 bytes)");
	assert_int_equal(ec_uri_param(URI, "ca=1234567", '&', "ca", v,
				      sizeof(v)), 1);
}

static void test_check_params(void **state)
{
	static const char *const known[] = { "ca", "cert", "key", NULL };

	(void)state;
	assert_int_equal(ec_uri_check_params(URI, "ca=1&key=2&cert=3", '&',
					     known), 0);
	assert_int_equal(ec_uri_check_params(URI, NULL, '&', known), 0);
	assert_int_equal(ec_uri_check_params(URI, "ca=1&pin-value=1234", '&',
					     known), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "KMS URI '" URI "': unknown parameter 'pin-value'; known: ca, cert, key");
	assert_int_equal(ec_uri_check_params(URI, "ca=1&&", '&', known), 0);
	assert_int_equal(ec_uri_check_params(URI, "ca=1&junk", '&', known),
			 -EINVAL);
}

static void test_timeout(void **state)
{
	int ms;

	(void)state;
	assert_int_equal(ec_uri_timeout_ms(URI, "ca=1", &ms), 0);
	assert_int_equal(ms, EC_KMS_TIMEOUT_DEFAULT_MS);
	assert_int_equal(ec_uri_timeout_ms(URI, "timeout=2&ca=1", &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(ec_uri_timeout_ms(URI, "timeout=300", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(ec_uri_timeout_ms(URI, "timeout=0", &ms), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "KMS URI '" URI "': timeout '0' is not a number of seconds from 1 to 300");
	assert_int_equal(ec_uri_timeout_ms(URI, "timeout=301", &ms), -EINVAL);
	assert_int_equal(ec_uri_timeout_ms(URI, "timeout=-1", &ms), -EINVAL);
	assert_int_equal(ec_uri_timeout_ms(URI, "timeout=5s", &ms), -EINVAL);
	assert_int_equal(ec_uri_timeout_ms(URI, "timeout=", &ms), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_param_found_and_decoded),
		cmocka_unit_test(test_param_absent),
		cmocka_unit_test(test_param_malformed),
		cmocka_unit_test(test_check_params),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
