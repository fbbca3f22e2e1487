// SPDX-License-Identifier: GPL-2.0
/*
 * envcryptctl's command line: parsing, generated help, exit codes and
 * messages, run through cli_main() as the program runs it, on image files
 * and a local keystore in a scratch directory (no kernel needed: format,
 * dump, open --verify-only and the kms commands).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "error.h"
#include "tools-util.h"

struct fixture {
	char *dir;
	char *kms;		/* "local:<dir>/kms" */
	char *image;		/* <dir>/disk.img, 8 MiB */
	char *out, *err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = scratch_dir();
	assert_true(asprintf(&f->kms, "local:%s/kms", f->dir) > 0);
	f->image = path_in(f->dir, "disk.img");
	make_file(f->image, 8 << 20);
	/* no terminal: commands that overwrite must refuse without --yes */
	assert_non_null(freopen("/dev/null", "r", stdin));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	free(f->dir);
	free(f->kms);
	free(f->image);
	free(f->out);
	free(f->err);
	free(f);
	return 0;
}

/* run(f, "arg", ..., NULL): cli_main on those arguments; output kept */
#define run(f, ...) run_cli(&(f)->out, &(f)->err, __VA_ARGS__)

static void test_no_arguments_is_usage_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, NULL), EC_EXIT_USAGE);
	assert_has(f->err, "usage: envcryptctl COMMAND");
}

static void test_unknown_command_is_usage_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "frob", NULL), EC_EXIT_USAGE);
	assert_string_equal(f->err,
		"envcryptctl: no command 'frob'; see 'envcryptctl help'\n");
}

static void test_help_lists_every_command_and_exit_code(void **state)
{
	struct fixture *f = *state;
	const struct cli_command *c;
	char line[128];

	assert_int_equal(run(f, "help", NULL), 0);
	for (c = cli_commands; c->name; c++) {
		snprintf(line, sizeof(line), "  %s", c->name);
		assert_has(f->out, line);
		assert_has(f->out, c->summary);
	}
	for (c = cli_kms_commands; c->name; c++) {
		snprintf(line, sizeof(line), "  kms %s", c->name);
		assert_has(f->out, line);
	}
	assert_has(f->out, "  3  the CMK is not usable");
	assert_has(f->out, "  4  the KMS is unreachable");
	assert_has(f->out, "  5  the volume header is invalid");
	assert_has(f->out, "  6  the device or name is busy");
}

static void test_command_help_comes_from_the_table(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "format", "--help", NULL), 0);
	assert_has(f->out, "usage: envcryptctl format DEVICE [--kms URI] [--key CMK] [--cipher CIPHER] [--sector-size BYTES] [--label TEXT] [--yes]\n");
	assert_has(f->out, "  --sector-size BYTES");
	assert_int_equal(run(f, "help", "open", NULL), 0);
	assert_has(f->out, "[--readonly] [--verify-only]");
	assert_int_equal(run(f, "kms", "schedule-deletion", "--help", NULL), 0);
	assert_has(f->out, "usage: envcryptctl kms schedule-deletion KEY [--kms URI] [--json] [--days DAYS]");
	assert_int_equal(run(f, "help", "kms", "rotate-key", NULL), 0);
	assert_has(f->out, "usage: envcryptctl kms rotate-key KEY");
}

static void test_argument_errors_are_usage_errors(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "format", NULL), EC_EXIT_USAGE);
	assert_has(f->err, "envcryptctl: format: missing arguments\n");
	assert_int_equal(run(f, "close", "a", "b", NULL), EC_EXIT_USAGE);
	assert_has(f->err, "envcryptctl: unexpected argument 'b'\n");
	assert_int_equal(run(f, "format", "x", "--bogus", NULL),
			 EC_EXIT_USAGE);
	assert_has(f->err, "envcryptctl: unknown option '--bogus'\n");
	assert_int_equal(run(f, "format", "x", "--kms", NULL), EC_EXIT_USAGE);
	assert_has(f->err, "envcryptctl: option --kms needs an argument\n");
	assert_int_equal(run(f, "format", "x", "--sector-size", "4k", NULL),
			 EC_EXIT_USAGE);
	assert_has(f->err, "envcryptctl: '4k' is not a number\n");
	/* an option of another command */
	assert_int_equal(run(f, "close", "x", "--yes", NULL), EC_EXIT_USAGE);
	assert_has(f->err, "unknown option '--yes'");
	assert_int_equal(run(f, "kms", "frob", NULL), EC_EXIT_USAGE);
	assert_has(f->err, "no kms command 'frob'");
	assert_int_equal(run(f, "open", f->image, NULL), EC_EXIT_USAGE);
	assert_has(f->err, "give a NAME for the device (or --verify-only)");
}

static void test_format_refuses_without_terminal_or_yes(void **state)
{
	struct fixture *f = *state;
	char *msg;

	assert_int_equal(run(f, "format", f->image, "--kms", f->kms, NULL),
			 EC_EXIT_USAGE);
	assert_true(asprintf(&msg, "envcryptctl: %s: refusing to format it as an encrypted volume without confirmation: give --yes\n",
			     f->image) > 0);
	assert_string_equal(f->err, msg);
	free(msg);
	/* nothing was written */
	assert_int_equal(run(f, "dump", f->image, NULL), EC_EXIT_HEADER);
	assert_has(f->err, "not an envcrypt volume (no header)");
}

static void test_format_checks_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "format", f->image, "--kms", f->kms,
			     "--sector-size", "1024", "--yes", NULL),
			 EC_EXIT_USAGE);
	assert_has(f->err, "sector size 1024 is not supported; use 512 or 4096");
	assert_int_equal(run(f, "format", f->image, "--kms", f->kms,
			     "--cipher", "rot13", "--yes", NULL),
			 EC_EXIT_USAGE);
	assert_has(f->err, "unknown cipher 'rot13'; use aes-xts-plain64 or sm4-xts-plain64");
	assert_int_equal(run(f, "format", f->image, "--kms", "vault://x",
			     "--yes", NULL), EC_EXIT_USAGE);
	assert_has(f->err, "vault://x");
	assert_int_equal(run(f, "format", "/nonexistent/disk", "--kms",
			     f->kms, "--yes", NULL), EC_EXIT_NOT_FOUND);
	assert_has(f->err, "/nonexistent/disk: No such file or directory");
}

static void test_format_with_sm4_cmk_picks_sm4(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "kms", "create-key", "--spec", "SM4",
			     "--alias", "cn", "--kms", f->kms, NULL), 0);
	assert_has(f->out, "spec:          SM4\n");
	assert_int_equal(run(f, "format", f->image, "--kms", f->kms, "--key",
			     "alias/cn", "--yes", NULL), 0);
	assert_has(f->out, "sm4-xts-plain64, sector size 512, CMK ");
	assert_has(f->out, "(alias/cn)");
	assert_int_equal(run(f, "dump", f->image, "--json", NULL), 0);
	assert_has(f->out, "\"cipher\":\"sm4-xts-plain64\"");
	assert_has(f->out, "\"cmk_alias\":\"alias/cn\"");
	{
		/* the slot names the keystore's directory, not "local:" */
		char *kms;

		assert_true(asprintf(&kms, "\"kms\":\"%s\"", f->kms) > 0);
		assert_has(f->out, kms);
		free(kms);
	}
	/* options may come before the arguments too */
	assert_int_equal(run(f, "open", "--verify-only", f->image, NULL), 0);
	assert_has(f->out, "key check value matches");
}

static void test_service_key_is_default_and_protected(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "format", f->image, "--kms", f->kms, "--yes",
			     NULL), 0);
	assert_has(f->out, "aes-xts-plain64, sector size 512, CMK ");
	assert_has(f->out, "(alias/envcrypt/service)");
	assert_int_equal(run(f, "kms", "disable-key", "alias/envcrypt/service",
			     "--kms", f->kms, NULL), EC_EXIT_FAILED);
	assert_has(f->err, "alias/envcrypt/service");
	assert_int_equal(run(f, "kms", "schedule-deletion",
			     "alias/envcrypt/service", "--days", "7", "--kms",
			     f->kms, NULL), EC_EXIT_FAILED);
	assert_int_equal(run(f, "open", f->image, "--verify-only", NULL), 0);
}

static void test_open_exit_codes_follow_cmk_state(void **state)
{
	struct fixture *f = *state;
	char *want;

	assert_int_equal(run(f, "kms", "create-key", "--spec", "AES_256",
			     "--alias", "db", "--kms", f->kms, "--json", NULL),
			 0);
	assert_has(f->out, "\"state\":\"Enabled\"");
	assert_int_equal(run(f, "format", f->image, "--kms", f->kms, "--key",
			     "alias/db", "--yes", NULL), 0);
	assert_int_equal(run(f, "kms", "disable-key", "alias/db", "--kms",
			     f->kms, NULL), 0);
	assert_has(f->out, "state:         Disabled\n");
	assert_int_equal(run(f, "open", f->image, "--verify-only", NULL),
			 EC_EXIT_KEY_UNUSABLE);
	assert_true(asprintf(&want, "envcryptctl: %s: CMK ", f->image) > 0);
	assert_has(f->err, want);
	free(want);
	assert_true(asprintf(&want, "(alias/db) is Disabled in local KMS %s/kms; enable it to open this volume\n",
			     f->dir) > 0);
	assert_has(f->err, want);
	free(want);
	assert_int_equal(run(f, "kms", "enable-key", "alias/db", "--kms",
			     f->kms, NULL), 0);
	assert_int_equal(run(f, "kms", "schedule-deletion", "alias/db",
			     "--days", "6", "--kms", f->kms, NULL),
			 EC_EXIT_USAGE);
	assert_int_equal(run(f, "kms", "schedule-deletion", "alias/db",
			     "--days", "7", "--kms", f->kms, NULL), 0);
	assert_has(f->out, "state:         PendingDeletion\n");
	assert_int_equal(run(f, "open", f->image, "--verify-only", NULL),
			 EC_EXIT_KEY_UNUSABLE);
	assert_has(f->err, "PendingDeletion");
	assert_int_equal(run(f, "kms", "describe-key", "alias/nope", "--kms",
			     f->kms, NULL), EC_EXIT_KEY_UNUSABLE);
	assert_has(f->err, "alias/nope");
}

static void test_garbage_header_exit_code(void **state)
{
	struct fixture *f = *state;
	FILE *img = fopen(f->image, "r+");
	char junk[4096];

	memset(junk, 0x5a, sizeof(junk));
	memcpy(junk, "ENVCRYPT", 8);	/* the magic, nothing valid after */
	fwrite(junk, 1, sizeof(junk), img);
	fclose(img);
	assert_int_equal(run(f, "open", f->image, "--verify-only", NULL),
			 EC_EXIT_HEADER);
	assert_has(f->err, "no valid header copy: copy 0: ");
}

static void test_list_keys_json_and_text(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "kms", "create-key", "--spec", "SM4",
			     "--alias", "a", "--kms", f->kms, NULL), 0);
	assert_int_equal(run(f, "kms", "create-key", "--spec", "AES_256",
			     "--kms", f->kms, NULL), 0);
	assert_int_equal(run(f, "kms", "list-keys", "--kms", f->kms, NULL), 0);
	assert_has(f->out, "alias/a");
	assert_has(f->out, "SM4");
	assert_has(f->out, "AES_256");
	assert_int_equal(run(f, "kms", "list-keys", "--kms", f->kms, "--json",
			     NULL), 0);
	assert_true(f->out[0] == '[');
	assert_has(f->out, "\"alias\":\"alias/a\"");
}

static void test_exit_code_of_each_errno(void **state)
{
	(void)state;
	assert_int_equal(ec_exit_code(0), EC_EXIT_OK);
	assert_int_equal(ec_exit_code(-EINVAL), EC_EXIT_USAGE);
	assert_int_equal(ec_exit_code(-EIO), EC_EXIT_FAILED);
	assert_int_equal(ec_exit_code(-ENOMEM), EC_EXIT_FAILED);
	assert_int_equal(ec_exit_code(-EPERM), EC_EXIT_FAILED);
	assert_int_equal(ec_exit_code(-EKEYREVOKED), EC_EXIT_KEY_UNUSABLE);
	assert_int_equal(ec_exit_code(-EKEYEXPIRED), EC_EXIT_KEY_UNUSABLE);
	assert_int_equal(ec_exit_code(-ENOKEY), EC_EXIT_KEY_UNUSABLE);
	assert_int_equal(ec_exit_code(-EKEYREJECTED), EC_EXIT_KEY_UNUSABLE);
	assert_int_equal(ec_exit_code(-EHOSTUNREACH),
			 EC_EXIT_KMS_UNREACHABLE);
	assert_int_equal(ec_exit_code(-ECONNREFUSED),
			 EC_EXIT_KMS_UNREACHABLE);
	assert_int_equal(ec_exit_code(-ETIMEDOUT), EC_EXIT_KMS_UNREACHABLE);
	assert_int_equal(ec_exit_code(-EAGAIN), EC_EXIT_KMS_UNREACHABLE);
	assert_int_equal(ec_exit_code(-EUCLEAN), EC_EXIT_HEADER);
	assert_int_equal(ec_exit_code(-EBADMSG), EC_EXIT_HEADER);
	assert_int_equal(ec_exit_code(-ENODATA), EC_EXIT_HEADER);
	assert_int_equal(ec_exit_code(-EBUSY), EC_EXIT_BUSY);
	assert_int_equal(ec_exit_code(-EEXIST), EC_EXIT_BUSY);
	assert_int_equal(ec_exit_code(-ENOENT), EC_EXIT_NOT_FOUND);
	assert_int_equal(ec_exit_code(-ENODEV), EC_EXIT_NOT_FOUND);
	assert_int_equal(ec_exit_code(-ENXIO), EC_EXIT_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_no_arguments_is_usage_error),
		T(test_unknown_command_is_usage_error),
		T(test_help_lists_every_command_and_exit_code),
		T(test_command_help_comes_from_the_table),
		T(test_argument_errors_are_usage_errors),
		T(test_format_refuses_without_terminal_or_yes),
		T(test_format_checks_values),
		T(test_format_with_sm4_cmk_picks_sm4),
		T(test_service_key_is_default_and_protected),
		T(test_open_exit_codes_follow_cmk_state),
		T(test_garbage_header_exit_code),
		T(test_list_keys_json_and_text),
		T(test_exit_code_of_each_errno),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
