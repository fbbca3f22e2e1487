// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/audit.c: the exact JSON line of a record, errors with
 * their errno name and message, escaping, "off", an unwritable log (a
 * warning, once), and the records the KMS layer writes for every wrap,
 * unwrap and key change, with the volume taken from the context and no
 * key material (and the new CMK's id when the caller wants no key info).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "error.h"
#include "kms.h"
#include "secmem.h"
#include "tools-util.h"

struct fixture {
	char *dir;
	char *log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = scratch_dir();
	f->log = path_in(f->dir, "audit.log");
	setenv("ENVCRYPT_AUDIT_LOG", f->log, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	free(f->dir);
	free(f->log);
	free(f);
	unsetenv("ENVCRYPT_AUDIT_LOG");
	return 0;
}

/* The log's whole text, "" when there is none. */
static char *read_log(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (fp) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

/* The part of a line after "time","host" and "uid", which vary. */
static const char *after_uid(const char *line)
{
	const char *p = strstr(line, "\",\"op\":");

	assert_non_null(p);
	return p + 2;
}

static void test_record_is_one_exact_json_line(void **state)
{
	struct fixture *f = *state;
	const struct ec_audit a = {
		.op = "rewrap", .volume = "0f3c", .device = "/dev/vdb",
		.cmk = "alias/db", .kms = "local:/var/lib/envcrypt/kms",
		.detail = "slot 0 to slot 1",
	};
	char host[256], *log;

	assert_int_equal(ec_audit_log(&a, 0), 0);
	log = read_log(f->log);
	assert_memory_equal(log, "{\"time\":\"20", 11);
	assert_int_equal(log[strlen(log) - 1], '\n');
	/* one line */
	assert_ptr_equal(strchr(log, '\n') + 1, log + strlen(log));
	gethostname(host, sizeof(host));
	assert_non_null(strstr(log, host));
	assert_string_equal(after_uid(log),
			    "\"op\":\"rewrap\",\"volume\":\"0f3c\",\"device\":\"/dev/vdb\",\"cmk\":\"alias/db\",\"kms\":\"local:/var/lib/envcrypt/kms\",\"detail\":\"slot 0 to slot 1\",\"result\":\"ok\"}\n");
	/* appended, not replaced */
	assert_int_equal(ec_audit_log(&a, 0), 0);
	log = read_log(f->log);
	assert_non_null(strchr(strchr(log, '\n') + 1, '\n'));
}

static void test_error_has_errno_name_and_message(void **state)
{
	struct fixture *f = *state;
	const struct ec_audit a = { .op = "unwrap", .cmk = "k" };

	ec_err_set(-EKEYREVOKED, "CMK k is \"Disabled\"\tin\nlocal KMS \\d");
	assert_int_equal(ec_audit_log(&a, -EKEYREVOKED), 0);
	assert_string_equal(after_uid(read_log(f->log)),
			    "\"op\":\"unwrap\",\"cmk\":\"k\",\"result\":\"error\",\"error\":\"EKEYREVOKED\",\"message\":\"CMK k is \\\"Disabled\\\"\\u0009in\\u000alocal KMS \\\\d\"}\n");
}

static void test_off_writes_nothing(void **state)
{
	struct fixture *f = *state;
	const struct ec_audit a = { .op = "share" };

	setenv("ENVCRYPT_AUDIT_LOG", "off", 1);
	assert_int_equal(ec_audit_log(&a, 0), 0);
	assert_int_equal(access(f->log, F_OK), -1);
}

static void test_missing_directory_is_made(void **state)
{
	struct fixture *f = *state;
	const struct ec_audit a = { .op = "revoke" };
	char *log = path_in(f->dir, "sub/audit.log");

	setenv("ENVCRYPT_AUDIT_LOG", log, 1);
	assert_int_equal(ec_audit_log(&a, 0), 0);
	assert_non_null(strstr(read_log(log), "\"op\":\"revoke\""));
	free(log);
}

static void test_unwritable_log_warns_once(void **state)
{
	struct fixture *f = *state;
	const struct ec_audit a = { .op = "share" };
	char *log = path_in(f->dir, "file/audit.log");
	char *file = path_in(f->dir, "file");
	char *out, *err, want[1024];

	make_file(file, 1);	/* a file where the directory should be */
	setenv("ENVCRYPT_AUDIT_LOG", log, 1);
	capture_begin();
	assert_int_equal(ec_audit_log(&a, 0), -ENOTDIR);
	assert_int_equal(ec_audit_log(&a, 0), -ENOTDIR);
	capture_end(&out, &err);
	assert_string_equal(out, "");
	/* one warning for both failures */
	snprintf(want, sizeof(want),
		 "envcryptctl: warning: cannot write the audit log %s: Not a directory; set ENVCRYPT_AUDIT_LOG to a writable file (or off)\n",
		 log);
	assert_string_equal(err, want);
	free(out);
	free(err);
	free(log);
	free(file);
}

static void test_kms_layer_logs_wrap_unwrap_and_key_changes(void **state)
{
	struct fixture *f = *state;
	const char *ctx = "envcrypt-context-v1 volume=8d2e cipher=x cmk=y";
	struct ec_key_info info;
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t *dk, *dk2;
	char uri[512], hex[129], *log;
	int i;

	snprintf(uri, sizeof(uri), "local:%s/kms", f->dir);
	assert_int_equal(ec_kms_open(uri, &kms), 0);
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_AES_256, "db", &info),
			 0);
	dk = ec_secure_alloc(64);
	dk2 = ec_secure_alloc(64);
	assert_int_equal(ec_kms_generate_data_key(kms, info.id, dk, 64, ctx,
						  &w), 0);
	assert_int_equal(ec_kms_unwrap(kms, info.id, &w, ctx, dk2, 64), 0);
	assert_int_equal(ec_kms_disable_key(kms, "alias/db", &info), 0);
	assert_int_equal(ec_kms_unwrap(kms, info.id, &w, ctx, dk2, 64),
			 -EKEYREVOKED);
	log = read_log(f->log);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", dk[i]);
	assert_null(strstr(log, hex));
	assert_null(strstr(log, hex + 16));

	assert_non_null(strstr(log, "\"op\":\"create-key\",\"cmk\":\""));
	assert_non_null(strstr(log, "\"detail\":\"AES_256\",\"result\":\"ok\"}"));
	assert_non_null(strstr(log, "\"op\":\"wrap\",\"volume\":\"8d2e\",\"cmk\":\""));
	assert_non_null(strstr(log, "\"op\":\"unwrap\",\"volume\":\"8d2e\""));
	assert_non_null(strstr(log, "\"op\":\"disable-key\",\"cmk\":\"alias/db\""));
	assert_non_null(strstr(log, "\"result\":\"error\",\"error\":\"EKEYREVOKED\",\"message\":\"CMK "));
	/* five records, one per line */
	for (i = 0; *log; log = strchr(log, '\n') + 1)
		i++;
	assert_int_equal(i, 5);
	ec_secure_free(dk);
	ec_secure_free(dk2);
	ec_kms_close(kms);
}

/*
 * ec_kms_create_key() without an @info (the providers all allow that) still
 * logs the new CMK's id; it used to read it through the NULL pointer.
 */
static void test_create_key_without_info_logs_the_new_cmk(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	char uri[512], want[256];
	struct ec_kms *kms;

	snprintf(uri, sizeof(uri), "local:%s/kms", f->dir);
	assert_int_equal(ec_kms_open(uri, &kms), 0);
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_SM4, "db", NULL), 0);
	assert_int_equal(ec_kms_describe_key(kms, "alias/db", &info), 0);
	snprintf(want, sizeof(want),
		 "\"op\":\"create-key\",\"cmk\":\"%s\",\"kms\":", info.id);
	assert_non_null(strstr(read_log(f->log), want));
	ec_kms_close(kms);
}

#define TEST(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_record_is_one_exact_json_line),
		TEST(test_error_has_errno_name_and_message),
		TEST(test_off_writes_nothing),
		TEST(test_missing_directory_is_made),
		TEST(test_unwritable_log_warns_once),
		TEST(test_kms_layer_logs_wrap_unwrap_and_key_changes),
		TEST(test_create_key_without_info_logs_the_new_cmk),
	};

	ec_secmem_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
