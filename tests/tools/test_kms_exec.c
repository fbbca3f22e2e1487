// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/kms/exec.c, the exec: KMS provider, with a scripted
 * plugin: a shell script in a scratch directory that saves its request
 * and prints a reply chosen by the test.  The URIs and what open accepts,
 * the exact requests, how results are read, every error code's errno, and
 * replies that break the protocol.  (tests/peers/t_exec.sh runs the
 * example plugin and crashing, hanging and garbage-printing ones.)
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "kms.h"
#include "tools-util.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct fixture {
	char *dir;
	char *plugin;
	char uri[EC_KMS_URI_MAX];
	struct ec_kms *kms;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = path_in(dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(path);
}

/* The reply the plugin prints next, and its exit status. */
static void reply(struct fixture *fx, const char *text, int status)
{
	char num[16];

	write_file(fx->dir, "reply", text);
	snprintf(num, sizeof(num), "%d\n", status);
	write_file(fx->dir, "status", num);
}

/* The request the plugin got last. */
static char *request(struct fixture *fx)
{
	char *path = path_in(fx->dir, "request"), *text;
	FILE *f = fopen(path, "r");
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	free(path);
	return text;
}

static void assert_request(struct fixture *fx, const char *want)
{
	char *got = request(fx);

	assert_string_equal(got, want);
	free(got);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char script[1024];

	assert_non_null(fx);
	fx->dir = scratch_dir();
	snprintf(script, sizeof(script),
		 "#!/bin/sh\ncat >'%s/request'\ncat '%s/reply'\nexit $(cat '%s/status')\n",
		 fx->dir, fx->dir, fx->dir);
	write_file(fx->dir, "plugin", script);
	fx->plugin = path_in(fx->dir, "plugin");
	assert_int_equal(chmod(fx->plugin, 0755), 0);
	snprintf(fx->uri, sizeof(fx->uri), "exec:%s", fx->plugin);
	reply(fx, "", 0);
	assert_int_equal(ec_kms_open(fx->uri, &fx->kms), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	ec_kms_close(fx->kms);
	rm_tree(fx->dir);
	free(fx->dir);
	free(fx->plugin);
	free(fx);
	return 0;
}

/* ---- open ------------------------------------------------------------- */

static void test_open_canonical_uri_and_name(void **state)
{
	struct fixture *fx = *state;
	char uri[EC_KMS_URI_MAX + 32], want[EC_KMS_URI_MAX + 32];
	struct ec_kms *kms;

	assert_string_equal(fx->kms->uri, fx->uri);
	snprintf(want, sizeof(want), "KMS plugin %s", fx->plugin);
	assert_string_equal(fx->kms->name, want);

	snprintf(uri, sizeof(uri), "%s?timeout=9", fx->uri);
	assert_int_equal(ec_kms_open(uri, &kms), 0);
	assert_string_equal(kms->uri, uri);
	ec_kms_close(kms);

	/* the default timeout, or an empty query, is not written out */
	snprintf(uri, sizeof(uri), "%s?timeout=5", fx->uri);
	assert_int_equal(ec_kms_open(uri, &kms), 0);
	assert_string_equal(kms->uri, fx->uri);
	ec_kms_close(kms);
	snprintf(uri, sizeof(uri), "%s?", fx->uri);
	assert_int_equal(ec_kms_open(uri, &kms), 0);
	assert_string_equal(kms->uri, fx->uri);
	ec_kms_close(kms);
}

static void test_open_refuses(void **state)
{
	struct fixture *fx = *state;
	char uri[EC_KMS_URI_MAX + 32], want[512];
	struct ec_kms *kms;

	assert_int_equal(ec_kms_open("exec:bin/plugin", &kms), -EINVAL);
	assert_string_equal(ec_err_msg(), "KMS URI 'exec:bin/plugin': the plugin program 'bin/plugin' is not an absolute path");
	assert_int_equal(ec_kms_open("exec:?timeout=3", &kms), -EINVAL);
	assert_string_equal(ec_err_msg(), "KMS URI 'exec:?timeout=3' names no plugin program: use exec:/path/to/program");

	snprintf(uri, sizeof(uri), "exec:%s", fx->dir);
	assert_int_equal(ec_kms_open(uri, &kms), -EINVAL);
	snprintf(want, sizeof(want), "KMS plugin %s is not a regular file; the KMS URI must name the plugin program", fx->dir);
	assert_string_equal(ec_err_msg(), want);

	snprintf(uri, sizeof(uri), "%s?timeout=1&retries=2", fx->uri);
	assert_int_equal(ec_kms_open(uri, &kms), -EINVAL);
	snprintf(want, sizeof(want), "KMS URI '%s': unknown parameter 'retries'; known: timeout", uri);
	assert_string_equal(ec_err_msg(), want);

	assert_int_equal(chmod(fx->plugin, 0644), 0);
	assert_int_equal(ec_kms_open(fx->uri, &kms), -EINVAL);
	/* as root, access(X_OK) still needs an x bit */
	snprintf(want, sizeof(want), "KMS plugin %s is not executable: Permission denied; make it executable (chmod +x)", fx->plugin);
	assert_string_equal(ec_err_msg(), want);
}

/* ---- requests and results ------------------------------------------- */

static void test_describe_key(void **state)
{
	struct fixture *fx = *state;
	struct ec_key_info info;

	reply(fx, "{\"protocol\":1,\"result\":{\"key_id\":\"arn:aws:kms:eu-west-1:1:key/abc\","
		  "\"alias\":\"alias/db\",\"spec\":\"SM4\",\"state\":\"PendingDeletion\","
		  "\"versions\":3,\"created\":1700000000,\"deletion_date\":1800000000,"
		  "\"future\":{\"field\":[1]}}}\n", 0);
	assert_int_equal(ec_kms_describe_key(fx->kms, "alias/db", &info), 0);
	assert_request(fx, "{\"protocol\":1,\"op\":\"describe_key\",\"key\":\"alias/db\"}\n");
	assert_string_equal(info.id, "arn:aws:kms:eu-west-1:1:key/abc");
	assert_string_equal(info.alias, "alias/db");
	assert_int_equal(info.spec, EC_SPEC_SM4);
	assert_int_equal(info.state, EC_KEY_PENDING_DELETION);
	assert_int_equal(info.versions, 3);
	assert_int_equal(info.created, 1700000000);
	assert_int_equal(info.deletion_date, 1800000000);
	assert_false(info.service);

	/* the optional fields default */
	reply(fx, "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"alias\":null,"
		  "\"spec\":\"AES_256\",\"state\":\"Enabled\"}}", 0);
	assert_int_equal(ec_kms_describe_key(fx->kms, "k", &info), 0);
	assert_string_equal(info.alias, "");
	assert_int_equal(info.versions, 1);
	assert_int_equal(info.created, 0);
}

static void test_wrap_request_and_result(void **state)
{
	struct fixture *fx = *state;
	const uint8_t dk[4] = { 0, 1, 2, 3 };
	struct ec_wrapped w;

	reply(fx, "{\"protocol\":1,\"result\":{\"ciphertext\":\"q83v\",\"key_version\":7}}", 0);
	assert_int_equal(ec_kms_wrap(fx->kms, "k", dk, sizeof(dk),
				     "ctx \"q\" \\ cmk=k", &w), 0);
	assert_request(fx, "{\"protocol\":1,\"op\":\"wrap\",\"key\":\"k\",\"plaintext\":\"AAECAw==\",\"context\":\"ctx \\\"q\\\" \\\\ cmk=k\"}\n");
	assert_int_equal(w.len, 4);
	assert_int_equal(w.cmk_version, 7);
	assert_memory_equal(w.data, "\x01\xab\xcd\xef", 4);

	/* a context we cannot send as printable text */
	assert_int_equal(ec_kms_wrap(fx->kms, "k", dk, sizeof(dk), "a\nb", &w),
			 -EINVAL);
	assert_int_equal(ec_kms_wrap(fx->kms, "k y", dk, sizeof(dk), "c", &w),
			 -EINVAL);
}

static void test_wrap_result_too_long(void **state)
{
	struct fixture *fx = *state;
	const uint8_t dk[4] = { 0 };
	char text[1024], want[512];
	struct ec_wrapped w;

	/* 513 bytes of ciphertext: more than a slot holds with our byte */
	snprintf(text, sizeof(text), "{\"protocol\":1,\"result\":{\"ciphertext\":\"%0684d\"}}", 0);
	memset(strstr(text, "000"), 'A', 684);
	reply(fx, text, 0);
	assert_int_equal(ec_kms_wrap(fx->kms, "k", dk, sizeof(dk), "c", &w),
			 -EPROTO);
	snprintf(want, sizeof(want), "KMS plugin %s sent a bad reply to wrap of CMK k: result.ciphertext is longer than 511 bytes (a wrap slot holds 512 with the format byte)", fx->plugin);
	assert_string_equal(ec_err_msg(), want);

	/* 511 bytes (padded base64) just fit */
	memcpy(strstr(text, "AA\"}"), "==", 2);
	reply(fx, text, 0);
	assert_int_equal(ec_kms_wrap(fx->kms, "k", dk, sizeof(dk), "c", &w), 0);
	assert_int_equal(w.len, 512);
	assert_int_equal(w.data[0], 1);
	assert_int_equal(w.data[511], 0);
}

static void test_unwrap(void **state)
{
	struct fixture *fx = *state;
	struct ec_wrapped w = { .cmk_version = 2, .len = 4,
				.data = { 1, 0xab, 0xcd, 0xef } };
	uint8_t dk[4];
	char want[512];

	reply(fx, "{\"protocol\":1,\"result\":{\"plaintext\":\"AAECAw==\"}}", 0);
	assert_int_equal(ec_kms_unwrap(fx->kms, "k", &w, "c", dk, 4), 0);
	assert_request(fx, "{\"protocol\":1,\"op\":\"unwrap\",\"key\":\"k\",\"key_version\":2,\"ciphertext\":\"q83v\",\"context\":\"c\"}\n");
	assert_memory_equal(dk, "\x00\x01\x02\x03", 4);

	/* a data key of another length */
	assert_int_equal(ec_kms_unwrap(fx->kms, "k", &w, "c", dk, 5), -EPROTO);
	snprintf(want, sizeof(want), "KMS plugin %s sent a bad reply to unwrap of CMK k: result.plaintext is 4 bytes, the data key is 5", fx->plugin);
	assert_string_equal(ec_err_msg(), want);

	/* base64 that is not strict */
	reply(fx, "{\"protocol\":1,\"result\":{\"plaintext\":\"AAEC Aw==\"}}", 0);
	assert_int_equal(ec_kms_unwrap(fx->kms, "k", &w, "c", dk, 4), -EPROTO);
	snprintf(want, sizeof(want), "KMS plugin %s sent a bad reply to unwrap of CMK k: result.plaintext is not base64", fx->plugin);
	assert_string_equal(ec_err_msg(), want);
	reply(fx, "{\"protocol\":1,\"result\":{\"plaintext\":\"AA=CAw==\"}}", 0);
	assert_int_equal(ec_kms_unwrap(fx->kms, "k", &w, "c", dk, 4), -EPROTO);
	reply(fx, "{\"protocol\":1,\"result\":{\"plaintext\":\"AAECAw=\"}}", 0);
	assert_int_equal(ec_kms_unwrap(fx->kms, "k", &w, "c", dk, 4), -EPROTO);

	/* not our format: refused before the plugin runs */
	w.data[0] = 2;
	assert_int_equal(ec_kms_unwrap(fx->kms, "k", &w, "c", dk, 4),
			 -EBADMSG);
	snprintf(want, sizeof(want), "KMS plugin %s: the wrapped key of CMK k is not in the exec: format 1 (4 bytes, format byte 2): the header is damaged", fx->plugin);
	assert_string_equal(ec_err_msg(), want);
	w.data[0] = 1;
	w.cmk_version = 0;
	assert_int_equal(ec_kms_unwrap(fx->kms, "k", &w, "c", dk, 4),
			 -EBADMSG);
}

/* ---- errors ------------------------------------------------------------ */

static void test_error_codes(void **state)
{
	static const struct {
		const char *code;
		int r;
		const char *msg;	/* after "KMS plugin PATH" */
	} codes[] = {
		{ "KeyDisabled", -EKEYREVOKED, ": CMK k is Disabled (KeyDisabled: \"m\")" },
		{ "KeyPendingDeletion", -EKEYEXPIRED, ": CMK k is PendingDeletion (KeyPendingDeletion: \"m\")" },
		{ "KeyNotFound", -ENOKEY, ": CMK k not found (KeyNotFound: \"m\")" },
		{ "AccessDenied", -EKEYREJECTED, ": access to CMK k denied (AccessDenied: \"m\")" },
		{ "InvalidCiphertext", -EBADMSG, ": the data key wrapped by CMK k does not authenticate with this encryption context (InvalidCiphertext: \"m\")" },
		{ "Unavailable", -EAGAIN, ": the KMS is unavailable for describe_key of CMK k (Unavailable: \"m\") (tried 3 times)" },
		{ "Unsupported", -EOPNOTSUPP, " does not support describe_key of CMK k (Unsupported: \"m\")" },
		{ "InvalidRequest", -EINVAL, " refused describe_key of CMK k as invalid (InvalidRequest: \"m\")" },
		{ "AlreadyExists", -EEXIST, " refused describe_key of CMK k: already exists (AlreadyExists: \"m\")" },
		{ "Refused", -EPERM, " refused describe_key of CMK k (Refused: \"m\")" },
		{ "UnsupportedProtocol", -EPROTO, " does not speak version 1 of the KMS plugin protocol (UnsupportedProtocol: \"m\"); update the plugin" },
		{ "Throttled", -EPROTO, " failed describe_key of CMK k with error Throttled: \"m\"" },
	};
	struct fixture *fx = *state;
	struct ec_key_info info;
	char text[256], want[512];
	size_t i;
	int r;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(text, sizeof(text), "{\"protocol\":1,\"error\":{\"code\":\"%s\",\"message\":\"m\"}}", codes[i].code);
		/* an error reply counts whatever the exit status */
		reply(fx, text, (int)i % 2);
		r = ec_kms_describe_key(fx->kms, "k", &info);
		snprintf(want, sizeof(want), "KMS plugin %s%s", fx->plugin,
			 codes[i].msg);
		if (r != codes[i].r || strcmp(ec_err_msg(), want))
			fail_msg("%s: r=%d '%s', expected %d '%s'",
				 codes[i].code, r, ec_err_msg(), codes[i].r,
				 want);
	}
}

static void test_plugin_text_is_quoted_safely(void **state)
{
	struct fixture *fx = *state;
	struct ec_key_info info;
	char text[1024], want[1024], a300[301];

	/* control characters dropped, non-ASCII as '?', first line only */
	reply(fx, "{\"protocol\":1,\"error\":{\"code\":\"KeyDisabled\",\"message\":\"a\\u001b[31mb\\u00e9c\\nsecond\"}}", 0);
	assert_int_equal(ec_kms_describe_key(fx->kms, "k", &info),
			 -EKEYREVOKED);
	snprintf(want, sizeof(want), "KMS plugin %s: CMK k is Disabled (KeyDisabled: \"a[31mb??c\")", fx->plugin);
	assert_string_equal(ec_err_msg(), want);

	/* at most 200 characters of it */
	memset(a300, 'a', 300);
	a300[300] = '\0';
	snprintf(text, sizeof(text), "{\"protocol\":1,\"error\":{\"code\":\"Unavailable\",\"message\":\"%s\"}}", a300);
	reply(fx, text, 0);
	assert_int_equal(ec_kms_describe_key(fx->kms, "k", &info), -EAGAIN);
	snprintf(want, sizeof(want), "KMS plugin %s: the KMS is unavailable for describe_key of CMK k (Unavailable: \"%.200s...\") (tried 3 times)", fx->plugin, a300);
	assert_string_equal(ec_err_msg(), want);

	/* no message */
	reply(fx, "{\"protocol\":1,\"error\":{\"code\":\"KeyNotFound\"}}", 0);
	assert_int_equal(ec_kms_describe_key(fx->kms, "k", &info), -ENOKEY);
	snprintf(want, sizeof(want), "KMS plugin %s: CMK k not found (KeyNotFound)", fx->plugin);
	assert_string_equal(ec_err_msg(), want);
}

static void test_replies_that_break_the_protocol(void **state)
{
	static const struct {
		const char *reply;
		int status;
		const char *msg;	/* after "KMS plugin PATH" */
	} cases[] = {
		{ "{\"result\":{}}", 0, " sent a bad reply to describe_key of CMK k: \"protocol\" is missing, not an integer" },
		{ "{\"protocol\":\"1\",\"result\":{}}", 0, " sent a bad reply to describe_key of CMK k: \"protocol\" is a string, not an integer" },
		{ "{\"protocol\":1}", 0, " sent a bad reply to describe_key of CMK k: it has neither \"result\" nor \"error\"" },
		{ "{\"protocol\":1,\"result\":{},\"error\":{}}", 0, " sent a bad reply to describe_key of CMK k: it has both \"result\" and \"error\"" },
		{ "{\"protocol\":1,\"result\":[]}", 0, " sent a bad reply to describe_key of CMK k: \"result\" is not an object" },
		{ "{\"protocol\":1,\"error\":\"KeyDisabled\"}", 0, " sent a bad reply to describe_key of CMK k: \"error\" is not an object" },
		{ "{\"protocol\":1,\"error\":{\"code\":\"Key Disabled\"}}", 0, " sent a bad reply to describe_key of CMK k: error.code is not a word" },
		{ "{\"protocol\":1,\"error\":{\"message\":\"m\"}}", 0, " sent a bad reply to describe_key of CMK k: error.code is missing, not a string" },
		{ "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"spec\":\"AES_256\",\"state\":\"Enabled\"}}", 3, " failed describe_key of CMK k: it exited with status 3 after a result" },
		{ "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"spec\":\"AES_128\",\"state\":\"Enabled\"}}", 0, " sent a bad reply to describe_key of CMK k: result.spec is not AES_256 or SM4" },
		{ "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"spec\":\"AES_256\",\"state\":\"enabled\"}}", 0, " sent a bad reply to describe_key of CMK k: result.state is not Enabled, Disabled or PendingDeletion" },
		{ "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"spec\":\"AES_256\"}}", 0, " sent a bad reply to describe_key of CMK k: it has no result.state" },
		{ "{\"protocol\":1,\"result\":{\"key_id\":\"a b\",\"spec\":\"AES_256\",\"state\":\"Enabled\"}}", 0, " sent a bad reply to describe_key of CMK k: result.key_id is not printable ASCII without spaces" },
		{ "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"spec\":\"AES_256\",\"state\":\"Enabled\",\"versions\":0}}", 0, " sent a bad reply to describe_key of CMK k: result.versions is 0, not an integer from 1 to 4294967295" },
		{ "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"spec\":\"AES_256\",\"state\":\"Enabled\",\"created\":-1}}", 0, " sent a bad reply to describe_key of CMK k: result.created is -1, not an integer from 0 to 9223372036854775807" },
		{ "{\"protocol\":1,\"result\":{}} trailing", 0, " failed describe_key of CMK k: its reply is not JSON (JSON byte 27: 't' after the top-level object (trailing garbage))" },
		{ "{\"protocol\":1,\"result\":{}}", 7, " failed describe_key of CMK k: it exited with status 7 after a result" },
		{ "", 7, " failed describe_key of CMK k: it exited with status 7 and no reply" },
		{ "oops", 7, " failed describe_key of CMK k: it exited with status 7; its reply is not JSON (JSON byte 0: 'o' where the top-level object must start)" },
	};
	struct fixture *fx = *state;
	struct ec_key_info info;
	char want[512];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reply(fx, cases[i].reply, cases[i].status);
		r = ec_kms_describe_key(fx->kms, "k", &info);
		snprintf(want, sizeof(want), "KMS plugin %s%s", fx->plugin,
			 cases[i].msg);
		if (r != -EPROTO || strcmp(ec_err_msg(), want))
			fail_msg("case %zu: r=%d '%s', expected '%s'", i, r,
				 ec_err_msg(), want);
	}
}

/* ---- optional operations ------------------------------------------------ */

static void test_optional_operations_need_hello(void **state)
{
	struct fixture *fx = *state;
	struct ec_key_info info, *keys;
	char want[512];
	size_t n;

	reply(fx, "{\"protocol\":1,\"result\":{\"protocols\":[1,2],\"operations\":[\"hello\",\"describe_key\",\"wrap\",\"unwrap\",\"schedule_deletion\",\"list_keys\",\"teleport\"]}}", 0);
	assert_int_equal(ec_kms_create_key(fx->kms, EC_SPEC_AES_256, "x",
					   &info), -EOPNOTSUPP);
	assert_request(fx, "{\"protocol\":1,\"op\":\"hello\"}\n");
	snprintf(want, sizeof(want), "KMS plugin %s does not offer create_key (it offers: hello, describe_key, wrap, unwrap, list_keys, schedule_deletion)", fx->plugin);
	assert_string_equal(ec_err_msg(), want);

	/* hello is asked once per connection */
	reply(fx, "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"spec\":\"AES_256\",\"state\":\"PendingDeletion\",\"deletion_date\":99}}", 0);
	assert_int_equal(ec_kms_schedule_deletion(fx->kms, "k", 9, &info), 0);
	assert_request(fx, "{\"protocol\":1,\"op\":\"schedule_deletion\",\"key\":\"k\",\"days\":9}\n");
	assert_int_equal(info.deletion_date, 99);

	reply(fx, "{\"protocol\":1,\"result\":{\"keys\":["
		  "{\"key_id\":\"new\",\"spec\":\"AES_256\",\"state\":\"Enabled\",\"created\":20},"
		  "{\"key_id\":\"old\",\"spec\":\"SM4\",\"state\":\"Disabled\",\"created\":10}]}}", 0);
	assert_int_equal(ec_kms_list_keys(fx->kms, &keys, &n), 0);
	assert_request(fx, "{\"protocol\":1,\"op\":\"list_keys\"}\n");
	assert_int_equal(n, 2);
	assert_string_equal(keys[0].id, "old");	/* by creation time */
	assert_string_equal(keys[1].id, "new");
	free(keys);
}

static void test_hello_without_version_1(void **state)
{
	struct fixture *fx = *state;
	struct ec_key_info info;
	char want[512];

	reply(fx, "{\"protocol\":1,\"result\":{\"protocols\":[2],\"operations\":[]}}", 0);
	assert_int_equal(ec_kms_disable_key(fx->kms, "k", &info), -EPROTO);
	snprintf(want, sizeof(want), "KMS plugin %s sent a bad reply to hello: result.protocols does not list version 1", fx->plugin);
	assert_string_equal(ec_err_msg(), want);
}

#define KEY_REPLY "{\"protocol\":1,\"result\":{\"key_id\":\"k\",\"spec\":\"AES_256\",\"state\":\"Enabled\"}}\n"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is process @pid gone (or a zombie nobody reaps)? */
static bool process_gone(pid_t pid)
{
	char path[64], stat[256];
	FILE *f;
	char *p;
	bool gone;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	gone = !fgets(stat, sizeof(stat), f) ||
	       ((p = strrchr(stat, ')')) && p[1] == ' ' && p[2] == 'Z');
	fclose(f);
	return gone;
}

/*
 * A plugin that answers and exits, leaving a process behind that holds
 * its stdout and stderr: in its process group (killed with it), or in a
 * session of its own (left alone): the reply counts at once.
 */
static void test_plugin_leaves_a_process_holding_its_pipes(void **state)
{
	static const char *const starts[] = { "", "setsid " };
	struct fixture *fx = *state;
	struct ec_key_info info;
	char script[1024], *pid_file, *path;
	struct ec_kms *kms;
	int64_t t0;
	size_t i;
	FILE *f;
	int pid;

	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		pid_file = path_in(fx->dir, "bg.pid");
		snprintf(script, sizeof(script),
			 "#!/bin/sh\ncat >/dev/null\nprintf '%%s' '%s'\n"
			 "%ssleep 30 &\necho $! >'%s'\nexit 0\n",
			 KEY_REPLY, starts[i], pid_file);
		write_file(fx->dir, "bg-plugin", script);
		path = path_in(fx->dir, "bg-plugin");
		assert_int_equal(chmod(path, 0755), 0);
		snprintf(script, sizeof(script), "exec:%s?timeout=3", path);
		assert_int_equal(ec_kms_open(script, &kms), 0);
		t0 = mono_ms();
		assert_int_equal(ec_kms_describe_key(kms, "k", &info), 0);
		if (mono_ms() - t0 > 1500)
			fail_msg("the reply took %lld ms: the plugin's leftover was waited for",
				 (long long)(mono_ms() - t0));
		assert_string_equal(info.id, "k");
		ec_kms_close(kms);
		f = fopen(pid_file, "r");
		assert_non_null(f);
		assert_int_equal(fscanf(f, "%d", &pid), 1);
		fclose(f);
		if (!starts[i][0]) {
			/* SIGKILL was sent: give it a moment to land */
			for (t0 = 0; t0 < 100 && !process_gone(pid); t0++)
				usleep(10000);
			assert_true(process_gone(pid));
		} else {
			kill(pid, SIGKILL);
		}
		free(pid_file);
		free(path);
	}
}

/* An inherited SIGCHLD SIG_IGN must not make a failed plugin succeed. */
static void test_sigchld_ignored(void **state)
{
	struct fixture *fx = *state;
	struct ec_key_info info;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	char want[512];
	int r;

	reply(fx, KEY_REPLY, 3);
	sigaction(SIGCHLD, &ign, &old);
	r = ec_kms_describe_key(fx->kms, "k", &info);
	sigaction(SIGCHLD, &old, NULL);
	assert_int_equal(r, -EPROTO);
	snprintf(want, sizeof(want), "KMS plugin %s failed describe_key of CMK k: it exited with status 3 after a result", fx->plugin);
	assert_string_equal(ec_err_msg(), want);
}

static void test_create_key_request(void **state)
{
	struct fixture *fx = *state;
	struct ec_key_info info;

	reply(fx, "{\"protocol\":1,\"result\":{\"protocols\":[1],\"operations\":[\"create_key\"]}}", 0);
	assert_int_equal(ec_kms_create_key(fx->kms, EC_SPEC_SM4, "a b", &info),
			 -EINVAL);
	assert_int_equal(ec_kms_create_key(fx->kms, EC_SPEC_SM4, "alias/",
					   &info), -EINVAL);
	assert_int_equal(ec_kms_create_key(fx->kms, EC_SPEC_SM4, NULL, &info),
			 -EPROTO);	/* the hello reply is no key */
	reply(fx, "{\"protocol\":1,\"result\":{\"key_id\":\"n\",\"alias\":\"alias/web\",\"spec\":\"SM4\",\"state\":\"Enabled\"}}", 0);
	assert_int_equal(ec_kms_create_key(fx->kms, EC_SPEC_SM4, "alias/web",
					   &info), 0);
	assert_request(fx, "{\"protocol\":1,\"op\":\"create_key\",\"spec\":\"SM4\",\"alias\":\"web\"}\n");
	assert_string_equal(info.alias, "alias/web");
	/* a plugin without hello: the required operations only */
	reply(fx, "{\"protocol\":1,\"error\":{\"code\":\"Unsupported\"}}", 0);
	ec_kms_close(fx->kms);
	assert_int_equal(ec_kms_open(fx->uri, &fx->kms), 0);
	assert_int_equal(ec_kms_enable_key(fx->kms, "k", &info), -EOPNOTSUPP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_canonical_uri_and_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_request_and_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_result_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_text_is_quoted_safely, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replies_that_break_the_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_optional_operations_need_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello_without_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_key_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_leaves_a_process_holding_its_pipes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigchld_ignored, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
