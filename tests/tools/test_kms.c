// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/kms.c, the provider-independent KMS layer: key spec
 * and state names, opening by URI scheme, -EOPNOTSUPP for operations a
 * provider lacks (a fake provider), generate-data-key (RAND_priv_bytes
 * wrapped to fake a failure), rewrap between two local keystores, and
 * the retries of transient failures (a flaky fake provider).
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
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "kms.h"
#include "tools-util.h"

#define DK_LEN		64
#define CONTEXT_A	"volume=a cipher=aes-xts-plain64"
#define CONTEXT_B	"volume=b cipher=sm4-xts-plain64"

/* ---- fake: the random generator failing -------------------------------- */

static bool fail_rand;

int __real_RAND_priv_bytes(unsigned char *buf, int num);
int __wrap_RAND_priv_bytes(unsigned char *buf, int num);

int __wrap_RAND_priv_bytes(unsigned char *buf, int num)
{
	if (fail_rand) {
		memset(buf, 0x33, (size_t)num);	/* a half-made key */
		return 0;
	}
	return __real_RAND_priv_bytes(buf, num);
}

/* ---- a provider with only the mandatory operations -------------------- */

static int fake_describe(struct ec_kms *kms, const char *key,
			 struct ec_key_info *info)
{
	(void)kms;
	(void)key;
	(void)info;
	return -ENOKEY;
}

static int fake_wrap(struct ec_kms *kms, const char *key_id,
		     const uint8_t *dk, size_t dk_len, const char *context,
		     struct ec_wrapped *out)
{
	(void)kms;
	(void)key_id;
	(void)dk;
	(void)dk_len;
	(void)context;
	(void)out;
	return -EHOSTUNREACH;
}

static int fake_unwrap(struct ec_kms *kms, const char *key_id,
		       const struct ec_wrapped *in, const char *context,
		       uint8_t *dk, size_t dk_len)
{
	(void)kms;
	(void)key_id;
	(void)in;
	(void)context;
	(void)dk;
	(void)dk_len;
	return -EHOSTUNREACH;
}

static const struct ec_kms_ops fake_ops = {
	.scheme		= "fake",
	.describe_key	= fake_describe,
	.wrap		= fake_wrap,
	.unwrap		= fake_unwrap,
};

/* ---- a provider that fails a given number of times, then works -------- */

static int flaky_failures;	/* calls left that fail */
static int flaky_error;		/* with this error */
static int flaky_calls;

static int flaky_result(struct ec_kms *kms)
{
	flaky_calls++;
	if (flaky_failures > 0) {
		flaky_failures--;
		return ec_err_set(flaky_error, "%s said no", kms->name);
	}
	return 0;
}

static int flaky_unwrap(struct ec_kms *kms, const char *key_id,
			const struct ec_wrapped *in, const char *context,
			uint8_t *dk, size_t dk_len)
{
	(void)key_id;
	(void)in;
	(void)context;
	memset(dk, 0x5a, dk_len);
	return flaky_result(kms);
}

static int flaky_create(struct ec_kms *kms, enum ec_key_spec spec,
			const char *alias, struct ec_key_info *info)
{
	(void)spec;
	(void)alias;
	(void)info;
	return flaky_result(kms);
}

static const struct ec_kms_ops flaky_ops = {
	.scheme		= "flaky",
	.describe_key	= fake_describe,
	.wrap		= fake_wrap,
	.unwrap		= flaky_unwrap,
	.create_key	= flaky_create,
};

/* ---- fixture: two local keystores -------------------------------------- */

struct fixture {
	char *base;
	struct ec_kms *a, *b;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char uri[EC_KMS_URI_MAX];

	assert_non_null(f);
	f->base = scratch_dir();
	snprintf(uri, sizeof(uri), "local:%s/a", f->base);
	assert_int_equal(ec_kms_open(uri, &f->a), 0);
	snprintf(uri, sizeof(uri), "local:%s/b", f->base);
	assert_int_equal(ec_kms_open(uri, &f->b), 0);
	fail_rand = false;
	ec_err_clear();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ec_kms_close(f->a);
	ec_kms_close(f->b);
	rm_tree(f->base);
	free(f->base);
	free(f);
	fail_rand = false;
	unsetenv("ENVCRYPT_KMS_DIR");
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* ---- names --------------------------------------------------------------- */

static void test_key_spec_names_round_trip(void **state)
{
	enum ec_key_spec spec;

	(void)state;
	assert_string_equal(ec_key_spec_name(EC_SPEC_AES_256), "AES_256");
	assert_string_equal(ec_key_spec_name(EC_SPEC_SM4), "SM4");
	assert_int_equal(ec_key_spec_parse("AES_256", &spec), 0);
	assert_int_equal(spec, EC_SPEC_AES_256);
	assert_int_equal(ec_key_spec_parse("SM4", &spec), 0);
	assert_int_equal(spec, EC_SPEC_SM4);
	assert_int_equal(ec_key_spec_parse("sm4", &spec), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "unknown key spec 'sm4'; use AES_256 or SM4");
	assert_int_equal(ec_key_spec_parse("AES_128", &spec), -EINVAL);
}

static void test_key_state_names(void **state)
{
	(void)state;
	assert_string_equal(ec_key_state_name(EC_KEY_ENABLED), "Enabled");
	assert_string_equal(ec_key_state_name(EC_KEY_DISABLED), "Disabled");
	assert_string_equal(ec_key_state_name(EC_KEY_PENDING_DELETION),
			    "PendingDeletion");
}

/* ---- open ---------------------------------------------------------------- */

static void test_open_fails_for_unknown_scheme_listing_known_ones(
	void **state)
{
	struct ec_kms *kms = (void *)1;

	(void)state;
	assert_int_equal(ec_kms_open("kmipx://kms.example:5696", &kms),
			 -EINVAL);
	assert_null(kms);
	assert_string_equal(ec_err_msg(),
			    "KMS URI 'kmipx://kms.example:5696' has an unknown scheme 'kmipx'; known schemes: local:, kmip:, pkcs11:, exec:");
	assert_int_equal(ec_kms_open("/var/lib/envcrypt/kms", &kms), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "KMS URI '/var/lib/envcrypt/kms' has no scheme; known schemes: local:, kmip:, pkcs11:, exec:");
	/* a scheme is matched whole, not by prefix */
	assert_int_equal(ec_kms_open("loc:/x", &kms), -EINVAL);
	assert_int_equal(ec_kms_open("localx:/x", &kms), -EINVAL);
}

static void test_open_without_uri_is_local(void **state)
{
	struct fixture *f = *state;
	char dir[512], name[600];
	struct ec_kms *kms;

	snprintf(dir, sizeof(dir), "%s/env", f->base);
	snprintf(name, sizeof(name), "local KMS %s", dir);
	setenv("ENVCRYPT_KMS_DIR", dir, 1);
	assert_int_equal(ec_kms_open(NULL, &kms), 0);
	assert_ptr_equal(kms->ops, &ec_kms_local_ops);
	assert_string_equal(kms->name, name);
	ec_kms_close(kms);
	assert_int_equal(ec_kms_open("", &kms), 0);
	/* the canonical URI names the directory */
	snprintf(name, sizeof(name), "local:%s", dir);
	assert_string_equal(kms->uri, name);
	ec_kms_close(kms);
}

static void test_open_refuses_too_long_uri(void **state)
{
	char uri[EC_KMS_URI_MAX + 10];
	struct ec_kms *kms;

	(void)state;
	memset(uri, 'x', sizeof(uri) - 1);
	memcpy(uri, "local:/", 7);
	uri[sizeof(uri) - 1] = '\0';
	assert_int_equal(ec_kms_open(uri, &kms), -EINVAL);
}

/* ---- optional operations ----------------------------------------------- */

static void test_missing_optional_operations_fail_with_eopnotsupp(
	void **state)
{
	struct ec_kms kms = { .ops = &fake_ops, .uri = "fake:",
			      .name = "fake KMS x" };
	struct ec_key_info info, *keys;
	size_t n;

	(void)state;
	assert_int_equal(ec_kms_service_key(&kms, &info), -EOPNOTSUPP);
	assert_string_equal(ec_err_msg(),
			    "fake KMS x has no service_key operation");
	assert_int_equal(ec_kms_create_key(&kms, EC_SPEC_SM4, "db", &info),
			 -EOPNOTSUPP);
	assert_string_equal(ec_err_msg(),
			    "fake KMS x has no create_key operation");
	assert_int_equal(ec_kms_list_keys(&kms, &keys, &n), -EOPNOTSUPP);
	assert_string_equal(ec_err_msg(),
			    "fake KMS x has no list_keys operation");
	assert_int_equal(ec_kms_enable_key(&kms, "k", &info), -EOPNOTSUPP);
	assert_string_equal(ec_err_msg(),
			    "fake KMS x has no enable_key operation");
	assert_int_equal(ec_kms_disable_key(&kms, "k", &info), -EOPNOTSUPP);
	assert_int_equal(ec_kms_rotate_key(&kms, "k", &info), -EOPNOTSUPP);
	assert_int_equal(ec_kms_schedule_deletion(&kms, "k", 7, &info),
			 -EOPNOTSUPP);
	assert_int_equal(ec_kms_cancel_deletion(&kms, "k", &info),
			 -EOPNOTSUPP);
	assert_string_equal(ec_err_msg(),
			    "fake KMS x has no cancel_deletion operation");

	/* the mandatory ones reach the provider */
	assert_int_equal(ec_kms_describe_key(&kms, "k", &info), -ENOKEY);
}

/* ---- generate data key --------------------------------------------------- */

static void test_generate_data_key_wraps_a_fresh_random_key(void **state)
{
	struct fixture *f = *state;
	uint8_t dk1[DK_LEN], dk2[DK_LEN], back[DK_LEN];
	struct ec_key_info cmk;
	struct ec_wrapped w1, w2;

	assert_int_equal(ec_kms_create_key(f->a, EC_SPEC_AES_256, NULL, &cmk),
			 0);
	memset(dk1, 0, sizeof(dk1));
	assert_int_equal(ec_kms_generate_data_key(f->a, cmk.id, dk1, DK_LEN,
						  CONTEXT_A, &w1), 0);
	assert_false(all_zero(dk1, DK_LEN));
	assert_int_equal(w1.cmk_version, 1);
	assert_int_equal(ec_kms_unwrap(f->a, cmk.id, &w1, CONTEXT_A, back,
				       DK_LEN), 0);
	assert_memory_equal(back, dk1, DK_LEN);

	assert_int_equal(ec_kms_generate_data_key(f->a, cmk.id, dk2, DK_LEN,
						  CONTEXT_A, &w2), 0);
	assert_memory_not_equal(dk1, dk2, DK_LEN);
}

static void test_generate_data_key_wipes_key_when_wrap_fails(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info cmk;
	uint8_t dk[DK_LEN];
	struct ec_wrapped w;

	assert_int_equal(ec_kms_create_key(f->a, EC_SPEC_SM4, NULL, &cmk), 0);
	assert_int_equal(ec_kms_disable_key(f->a, cmk.id, NULL), 0);
	memset(dk, 0x11, sizeof(dk));
	assert_int_equal(ec_kms_generate_data_key(f->a, cmk.id, dk, DK_LEN,
						  CONTEXT_A, &w),
			 -EKEYREVOKED);
	assert_true(all_zero(dk, DK_LEN));
}

static void test_generate_data_key_fails_when_random_fails(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info cmk;
	uint8_t dk[DK_LEN];
	struct ec_wrapped w;

	assert_int_equal(ec_kms_create_key(f->a, EC_SPEC_AES_256, NULL, &cmk),
			 0);
	fail_rand = true;
	assert_int_equal(ec_kms_generate_data_key(f->a, cmk.id, dk, DK_LEN,
						  CONTEXT_A, &w), -EIO);
	assert_string_equal(ec_err_msg(),
			    "OpenSSL's random generator failed to make a data key; check that the system has entropy (getrandom)");
	assert_true(all_zero(dk, DK_LEN));
}

static void test_generate_data_key_refuses_bad_length(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN];
	struct ec_wrapped w;

	assert_int_equal(ec_kms_generate_data_key(f->a, "x", dk, 0, CONTEXT_A,
						  &w), -EINVAL);
}

/* ---- rewrap -------------------------------------------------------------- */

static void test_rewrap_moves_a_data_key_between_keystores(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info ka, kb;
	struct ec_wrapped wa, wb;

	assert_int_equal(ec_kms_create_key(f->a, EC_SPEC_AES_256, "src", &ka),
			 0);
	assert_int_equal(ec_kms_create_key(f->b, EC_SPEC_SM4, "dst", &kb), 0);
	assert_int_equal(ec_kms_generate_data_key(f->a, ka.id, dk, DK_LEN,
						  CONTEXT_A, &wa), 0);

	assert_int_equal(ec_kms_rewrap(f->a, ka.id, &wa, CONTEXT_A, f->b,
				       kb.id, CONTEXT_B, DK_LEN, &wb), 0);
	assert_int_equal(ec_kms_unwrap(f->b, kb.id, &wb, CONTEXT_B, back,
				       DK_LEN), 0);
	assert_memory_equal(back, dk, DK_LEN);

	/* bound to the new context and keystore, not the old ones */
	assert_int_equal(ec_kms_unwrap(f->b, kb.id, &wb, CONTEXT_A, back,
				       DK_LEN), -EBADMSG);
	assert_int_equal(ec_kms_unwrap(f->a, ka.id, &wb, CONTEXT_B, back,
				       DK_LEN), -EBADMSG);
	/* the source still unwraps */
	assert_int_equal(ec_kms_unwrap(f->a, ka.id, &wa, CONTEXT_A, back,
				       DK_LEN), 0);
	assert_memory_equal(back, dk, DK_LEN);
}

static void test_rewrap_fails_when_source_cmk_disabled(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info ka, kb;
	struct ec_wrapped wa, wb;
	uint8_t dk[DK_LEN];
	char expected[1024];

	assert_int_equal(ec_kms_create_key(f->a, EC_SPEC_AES_256, NULL, &ka),
			 0);
	assert_int_equal(ec_kms_create_key(f->b, EC_SPEC_AES_256, NULL, &kb),
			 0);
	assert_int_equal(ec_kms_generate_data_key(f->a, ka.id, dk, DK_LEN,
						  CONTEXT_A, &wa), 0);
	assert_int_equal(ec_kms_disable_key(f->a, ka.id, NULL), 0);
	assert_int_equal(ec_kms_rewrap(f->a, ka.id, &wa, CONTEXT_A, f->b,
				       kb.id, CONTEXT_B, DK_LEN, &wb),
			 -EKEYREVOKED);
	snprintf(expected, sizeof(expected),
		 "CMK %s is Disabled in %s", ka.id,
		 f->a->name);
	assert_string_equal(ec_err_msg(), expected);
}

/* flaky KMS: unwrap with @failures failures of @error; returns the result */
static int flaky_unwrap_once(int failures, int error)
{
	struct ec_kms kms = { .ops = &flaky_ops, .uri = "flaky:",
			      .name = "flaky KMS" };
	struct ec_wrapped in = { .len = 1 };
	uint8_t dk[DK_LEN];

	flaky_failures = failures;
	flaky_error = error;
	flaky_calls = 0;
	ec_err_clear();
	return ec_kms_unwrap(&kms, "k", &in, CONTEXT_A, dk, sizeof(dk));
}

static void test_transient_failures_are_retried(void **state)
{
	struct timespec t0, t1;
	long ms;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(flaky_unwrap_once(2, -ECONNREFUSED), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(flaky_calls, 3);
	/* backoff 100 ms, then 400 ms */
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 500 && ms < 2000);

	assert_int_equal(flaky_unwrap_once(1, -EHOSTUNREACH), 0);
	assert_int_equal(flaky_calls, 2);
	assert_int_equal(flaky_unwrap_once(1, -EAGAIN), 0);
	assert_int_equal(flaky_calls, 2);
}

static void test_retries_are_bounded(void **state)
{
	(void)state;
	assert_int_equal(flaky_unwrap_once(5, -ECONNREFUSED), -ECONNREFUSED);
	assert_int_equal(flaky_calls, 3);
	assert_string_equal(ec_err_msg(), "flaky KMS said no (tried 3 times)");
}

static void test_final_failures_are_not_retried(void **state)
{
	static const int finals[] = {
		-EKEYREVOKED, -EKEYEXPIRED, -ENOKEY, -EKEYREJECTED, -EBADMSG,
		-EACCES, -EPROTO, -ETIMEDOUT,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
		assert_int_equal(flaky_unwrap_once(1, finals[i]), finals[i]);
		assert_int_equal(flaky_calls, 1);
		assert_string_equal(ec_err_msg(), "flaky KMS said no");
	}
}

static void test_key_changes_are_not_retried(void **state)
{
	struct ec_kms kms = { .ops = &flaky_ops, .uri = "flaky:",
			      .name = "flaky KMS" };
	struct ec_key_info info;

	(void)state;
	flaky_failures = 1;
	flaky_error = -ECONNREFUSED;
	flaky_calls = 0;
	assert_int_equal(ec_kms_create_key(&kms, EC_SPEC_AES_256, NULL, &info),
			 -ECONNREFUSED);
	assert_int_equal(flaky_calls, 1);
}

#define TEST(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_key_spec_names_round_trip),
		TEST(test_key_state_names),
		TEST(test_open_fails_for_unknown_scheme_listing_known_ones),
		TEST(test_open_without_uri_is_local),
		TEST(test_open_refuses_too_long_uri),
		TEST(test_missing_optional_operations_fail_with_eopnotsupp),
		TEST(test_generate_data_key_wraps_a_fresh_random_key),
		TEST(test_generate_data_key_wipes_key_when_wrap_fails),
		TEST(test_generate_data_key_fails_when_random_fails),
		TEST(test_generate_data_key_refuses_bad_length),
		TEST(test_rewrap_moves_a_data_key_between_keystores),
		TEST(test_rewrap_fails_when_source_cmk_disabled),
		cmocka_unit_test(test_transient_failures_are_retried),
		cmocka_unit_test(test_retries_are_bounded),
		cmocka_unit_test(test_final_failures_are_not_retried),
		cmocka_unit_test(test_key_changes_are_not_retried),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
