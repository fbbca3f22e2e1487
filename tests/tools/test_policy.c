// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/policy.c: no file allows everything, each rule's
 * refusal message, malformed files, URI prefixes; and the KMS layer
 * obeying allowed-kms and key-changes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "kms.h"
#include "policy.h"
#include "tools-util.h"

struct fixture {
	char *dir;
	char *path;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = scratch_dir();
	f->path = path_in(f->dir, "policy.conf");
	setenv("ENVCRYPT_POLICY", f->path, 1);
	ec_policy_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	unsetenv("ENVCRYPT_POLICY");
	ec_policy_reset();
	return 0;
}

static void write_policy(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	ec_policy_reset();
}

/* The expected refusal: "<what> is refused by the host policy (P:L: R)" */
static void assert_refused(struct fixture *f, int r, const char *what,
			   int line, const char *rule)
{
	char want[1024];

	snprintf(want, sizeof(want),
		 "%s is refused by the host policy (%s:%d: %s)", what,
		 f->path, line, rule);
	assert_int_equal(r, -EPERM);
	assert_string_equal(ec_err_msg(), want);
}

static void test_no_file_allows_everything(void **state)
{
	(void)state;
	assert_int_equal(ec_policy_load(), 0);
	assert_int_equal(ec_policy_check_cipher("sm4-xts-plain64", "img"), 0);
	assert_int_equal(ec_policy_check_kms("exec:/x"), 0);
	assert_int_equal(ec_policy_check_service_key("img"), 0);
	assert_int_equal(ec_policy_check_convert("raw.img"), 0);
	assert_int_equal(ec_policy_check_key_change("disable-key", "k"), 0);
}

static void test_each_rule_refuses_with_its_line(void **state)
{
	struct fixture *f = *state;

	write_policy(f, "# fleet policy\n"
		     "allowed-ciphers = aes-xts-plain64\n"
		     "\n"
		     "allowed-kms = local: kmip://kms.example:5696 # prod\n"
		     "require-cmk = yes\n"
		     "convert = refuse\n"
		     "key-changes = deny\n");
	assert_int_equal(ec_policy_check_cipher("aes-xts-plain64", "img"), 0);
	assert_refused(f, ec_policy_check_cipher("sm4-xts-plain64", "img"),
		       "img: cipher sm4-xts-plain64", 2,
		       "allowed-ciphers = aes-xts-plain64");
	assert_int_equal(ec_policy_check_kms("local:/var/lib/envcrypt/kms"),
			 0);
	assert_int_equal(ec_policy_check_kms("kmip://kms.example:5696?ca=/c"),
			 0);
	assert_refused(f, ec_policy_check_kms("kmip://kms.example:56961?ca=/c"),
		       "KMS kmip://kms.example:56961?ca=/c", 4,
		       "allowed-kms = local: kmip://kms.example:5696");
	assert_refused(f, ec_policy_check_kms("exec:/usr/bin/x"),
		       "KMS exec:/usr/bin/x", 4,
		       "allowed-kms = local: kmip://kms.example:5696");
	assert_refused(f, ec_policy_check_service_key("img"),
		       "img: wrapping with the service key (give --key CMK)",
		       5, "require-cmk = yes");
	assert_refused(f, ec_policy_check_convert("raw.img"),
		       "raw.img: converting an unencrypted image", 6,
		       "convert = refuse");
	assert_refused(f, ec_policy_check_key_change("disable-key", "alias/db"),
		       "disable-key of CMK alias/db", 7, "key-changes = deny");
}

static void test_permissive_values(void **state)
{
	struct fixture *f = *state;

	write_policy(f, "require-cmk = no\nconvert = allow\nkey-changes = allow\n");
	assert_int_equal(ec_policy_check_service_key("img"), 0);
	assert_int_equal(ec_policy_check_convert("raw.img"), 0);
	assert_int_equal(ec_policy_check_key_change("rotate-key", "k"), 0);
}

static void test_malformed_files_fail_closed(void **state)
{
	static const struct {
		const char *text;
		const char *msg;	/* after "PATH:" */
	} cases[] = {
		{ "allowed-ciphers aes\n",
		  "1: 'allowed-ciphers aes' is not 'name = value'; fix the host policy" },
		{ "\nallow-everything = yes\n",
		  "2: unknown rule 'allow-everything'; the rules are allowed-ciphers, allowed-kms, require-cmk, convert, key-changes" },
		{ "convert = refuse\nconvert = allow\n",
		  "2: rule 'convert' is set twice (first on line 1)" },
		{ "require-cmk = true\n",
		  "1: rule 'require-cmk' must be 'yes' or 'no', not 'true'" },
		{ "key-changes = deny deny\n",
		  "1: rule 'key-changes' must be 'allow' or 'deny', not 'deny deny'" },
	};
	struct fixture *f = *state;
	char want[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_policy(f, cases[i].text);
		snprintf(want, sizeof(want), "%s:%s", f->path, cases[i].msg);
		assert_int_equal(ec_policy_load(), -EINVAL);
		assert_string_equal(ec_err_msg(), want);
		/* every check fails while the file is broken */
		assert_int_equal(ec_policy_check_kms("local:/x"), -EINVAL);
		assert_int_equal(ec_policy_check_cipher("aes-xts-plain64",
							"img"), -EINVAL);
	}
}

static void test_kms_layer_obeys_policy(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	struct ec_kms *kms;
	char uri[512], text[1024], want[1024];

	snprintf(uri, sizeof(uri), "local:%s/kms", f->dir);
	snprintf(text, sizeof(text), "allowed-kms = local:%s/other\n", f->dir);
	write_policy(f, text);
	assert_int_equal(ec_kms_open(uri, &kms), -EPERM);
	assert_null(kms);
	snprintf(want, sizeof(want),
		 "KMS %s is refused by the host policy (%s:1: allowed-kms = local:%s/other)",
		 uri, f->path, f->dir);
	assert_string_equal(ec_err_msg(), want);

	write_policy(f, "key-changes = deny\n");
	assert_int_equal(ec_kms_open(uri, &kms), 0);
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_AES_256, "db", &info),
			 -EPERM);
	write_policy(f, "");
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_AES_256, "db", &info),
			 0);
	write_policy(f, "key-changes = deny\n");
	assert_int_equal(ec_kms_disable_key(kms, "alias/db", &info), -EPERM);
	snprintf(want, sizeof(want),
		 "disable-key of CMK alias/db is refused by the host policy (%s:1: key-changes = deny)",
		 f->path);
	assert_string_equal(ec_err_msg(), want);
	assert_int_equal(ec_kms_describe_key(kms, "alias/db", &info), 0);
	assert_int_equal(info.state, EC_KEY_ENABLED);
	ec_kms_close(kms);
}

#define TEST(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_no_file_allows_everything),
		TEST(test_each_rule_refuses_with_its_line),
		TEST(test_permissive_values),
		TEST(test_malformed_files_fail_closed),
		TEST(test_kms_layer_obeys_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
