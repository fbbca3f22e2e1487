// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/kms/local.c, the local KMS: CMK creation and
 * aliases, states and the typed errors of wrap and unwrap, deletion with
 * a faked clock (-Wl,--wrap=time), versions, the service key, the
 * encryption context, the keystore file (modes, format, corruption) and
 * concurrent updates from several processes.  Each test has its own
 * keystore directory under a scratch directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aead.h"
#include "error.h"
#include "kms.h"
#include "tools-util.h"

/* 2023-11-14 22:13:20 UTC */
#define T0		((time_t)1700000000)
#define DAY		86400
#define CONTEXT		"envcrypt-context-v1 uuid=0f0e cipher=aes-xts-plain64 sector=4096 offset=1048576"
#define DK_LEN		64

/* ---- fake clock ---------------------------------------------------------- */

static time_t fake_now;

time_t __real_time(time_t *t);
time_t __wrap_time(time_t *t);

time_t __wrap_time(time_t *t)
{
	if (!fake_now)
		return __real_time(t);
	if (t)
		*t = fake_now;
	return fake_now;
}

/* ---- fixture ------------------------------------------------------------- */

struct fixture {
	char *base;		/* scratch directory */
	char *dir;		/* the keystore directory, base/kms */
	char *path;		/* dir/keystore */
	char name[512];		/* "local KMS <dir>" */
	struct ec_kms *kms;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char uri[EC_KMS_URI_MAX];

	assert_non_null(f);
	f->base = scratch_dir();
	f->dir = path_in(f->base, "kms");
	f->path = path_in(f->dir, "keystore");
	snprintf(f->name, sizeof(f->name), "local KMS %s", f->dir);
	snprintf(uri, sizeof(uri), "local:%s", f->dir);
	assert_int_equal(ec_kms_open(uri, &f->kms), 0);
	fake_now = T0;
	ec_err_clear();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ec_kms_close(f->kms);
	rm_tree(f->base);
	free(f->base);
	free(f->dir);
	free(f->path);
	free(f);
	fake_now = 0;
	unsetenv("ENVCRYPT_KMS_DIR");
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static void create(struct fixture *f, enum ec_key_spec spec,
		   const char *alias, struct ec_key_info *info)
{
	int r = ec_kms_create_key(f->kms, spec, alias, info);

	if (r)
		fail_msg("create_key: %d %s", r, ec_err_msg());
}

static void random_dk(uint8_t *dk, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dk[i] = (uint8_t)(rand() | 1);
}

static void wrap(struct fixture *f, const char *key, const uint8_t *dk,
		 struct ec_wrapped *w)
{
	int r = ec_kms_wrap(f->kms, key, dk, DK_LEN, CONTEXT, w);

	if (r)
		fail_msg("wrap: %d %s", r, ec_err_msg());
}

static int unwrap(struct fixture *f, const char *key,
		  const struct ec_wrapped *w, uint8_t *dk)
{
	return ec_kms_unwrap(f->kms, key, w, CONTEXT, dk, DK_LEN);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static char *slurp_file(const char *path)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = fopen(path, "r"), *m;
	int c;

	if (!f)
		return strdup("");
	m = open_memstream(&buf, &size);
	assert_non_null(m);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

static bool file_contains(const char *path, const char *what)
{
	char *text = slurp_file(path);
	bool found = strstr(text, what) != NULL;

	free(text);
	return found;
}

static void write_keystore(struct fixture *f, const char *text)
{
	FILE *out;

	mkdir(f->dir, 0700);
	out = fopen(f->path, "w");
	assert_non_null(out);
	fputs(text, out);
	fclose(out);
}

/* Expect "...line N: WHAT; restore the file from a backup". */
static void assert_corrupt(struct fixture *f, unsigned int line,
			   const char *what)
{
	struct ec_key_info info;
	char expected[1024];

	snprintf(expected, sizeof(expected),
		 "local KMS keystore %s line %u: %s; restore the file from a backup",
		 f->path, line, what);
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/db", &info),
			 -EIO);
	assert_string_equal(ec_err_msg(), expected);
}

/* The key material of @id version @v, as hex, from the keystore file. */
static void material_from_file(struct fixture *f, const char *id,
			       unsigned int v, uint8_t *key, size_t len)
{
	char *text = slurp_file(f->path), *line, *save = NULL, prefix[32];
	bool in_key = false, found = false;
	unsigned int byte;
	size_t i;

	snprintf(prefix, sizeof(prefix), "version %u ", v);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "key ", 4)) {
			in_key = !strncmp(line + 4, id, strlen(id));
		} else if (in_key && !strncmp(line, prefix, strlen(prefix))) {
			const char *hex = strrchr(line, ' ') + 1;

			assert_int_equal(strlen(hex), 2 * len);
			for (i = 0; i < len; i++) {
				assert_int_equal(sscanf(hex + 2 * i, "%2x",
							&byte), 1);
				key[i] = (uint8_t)byte;
			}
			found = true;
		}
	}
	free(text);
	assert_true(found);
}

/* ---- open ---------------------------------------------------------------- */

static void test_open_local_uses_envcrypt_kms_dir(void **state)
{
	struct fixture *f = *state;
	struct ec_kms *kms;
	char uri[EC_KMS_URI_MAX];

	setenv("ENVCRYPT_KMS_DIR", f->dir, 1);
	assert_int_equal(ec_kms_open("local:", &kms), 0);
	assert_string_equal(kms->name, f->name);
	snprintf(uri, sizeof(uri), "local:%s", f->dir);
	assert_string_equal(kms->uri, uri);
	ec_kms_close(kms);
	assert_int_equal(ec_kms_open(NULL, &kms), 0);
	assert_string_equal(kms->name, f->name);
	ec_kms_close(kms);

	/* a trailing slash names the same directory */
	snprintf(uri, sizeof(uri), "local:%s/", f->dir);
	assert_int_equal(ec_kms_open(uri, &kms), 0);
	assert_string_equal(kms->name, f->name);
	ec_kms_close(kms);
}

static void test_open_local_defaults_to_var_lib(void **state)
{
	struct ec_kms *kms;

	(void)state;
	unsetenv("ENVCRYPT_KMS_DIR");
	assert_int_equal(ec_kms_open("local:", &kms), 0);
	assert_string_equal(kms->name, "local KMS /var/lib/envcrypt/kms");
	ec_kms_close(kms);
}

static void test_open_refuses_relative_dir(void **state)
{
	struct ec_kms *kms;

	(void)state;
	assert_int_equal(ec_kms_open("local:rel/dir", &kms), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "local KMS directory 'rel/dir' (from the URI) is not an absolute path");
	setenv("ENVCRYPT_KMS_DIR", "kms", 1);
	assert_int_equal(ec_kms_open("local:", &kms), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "local KMS directory 'kms' (from ENVCRYPT_KMS_DIR) is not an absolute path");
}

/* ---- create, describe, list -------------------------------------------- */

static void test_create_key_then_describe_by_id_and_alias(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info made, by_id, by_alias;
	size_t i;

	create(f, EC_SPEC_SM4, "db", &made);
	assert_int_equal(strlen(made.id), 36);
	for (i = 0; i < 36; i++)
		assert_true(strchr(i == 8 || i == 13 || i == 18 || i == 23 ?
				   "-" : "0123456789abcdef", made.id[i]));
	assert_int_equal(made.id[14], '4');		/* UUID version 4 */
	assert_string_equal(made.alias, "alias/db");
	assert_int_equal(made.spec, EC_SPEC_SM4);
	assert_int_equal(made.state, EC_KEY_ENABLED);
	assert_int_equal(made.versions, 1);
	assert_int_equal(made.created, T0);
	assert_int_equal(made.deletion_date, 0);
	assert_false(made.service);

	assert_int_equal(ec_kms_describe_key(f->kms, made.id, &by_id), 0);
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/db", &by_alias),
			 0);
	assert_memory_equal(&by_id, &made, sizeof(made));
	assert_memory_equal(&by_alias, &made, sizeof(made));
}

static void test_create_key_without_alias(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info made, got;

	create(f, EC_SPEC_AES_256, NULL, &made);
	assert_string_equal(made.alias, "");
	assert_int_equal(ec_kms_describe_key(f->kms, made.id, &got), 0);
	assert_int_equal(got.spec, EC_SPEC_AES_256);
}

static void test_describe_unknown_key_fails_with_enokey(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	char expected[1024];

	create(f, EC_SPEC_AES_256, "db", NULL);
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/nope", &info),
			 -ENOKEY);
	snprintf(expected, sizeof(expected),
		 "CMK alias/nope not found in %s",
		 f->name);
	assert_string_equal(ec_err_msg(), expected);
	assert_int_equal(ec_kms_describe_key(f->kms,
			"00000000-0000-4000-8000-000000000000", &info),
			 -ENOKEY);
}

/*
 * No keystore directory: its storage is not mounted, or it was moved
 * away.  That is a KMS out of reach (retried, exit 4), not an empty
 * keystore whose every CMK is "not found" (final, exit 3); and reading
 * creates nothing.
 */
static void test_missing_keystore_dir_is_unreachable_and_creates_nothing(
	void **state)
{
	struct fixture *f = *state;
	struct ec_key_info *keys = (void *)1, info;
	char expected[1024];
	struct stat st;
	size_t n = 99;

	assert_int_equal(ec_kms_list_keys(f->kms, &keys, &n), -EHOSTUNREACH);
	snprintf(expected, sizeof(expected),
		 "%s: the keystore directory %s is missing (No such file or directory): mount its storage or put it back (tried 3 times)",
		 f->name, f->dir);
	assert_string_equal(ec_err_msg(), expected);
	assert_int_equal(n, 0);
	assert_null(keys);
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/db", &info),
			 -EHOSTUNREACH);
	/* a change is not tried again, and makes no directory either */
	assert_int_equal(ec_kms_disable_key(f->kms, "alias/db", &info),
			 -EHOSTUNREACH);
	snprintf(expected, sizeof(expected),
		 "%s: the keystore directory %s is missing (No such file or directory): mount its storage or put it back",
		 f->name, f->dir);
	assert_string_equal(ec_err_msg(), expected);
	assert_int_equal(ec_exit_code(-EHOSTUNREACH), EC_EXIT_KMS_UNREACHABLE);
	assert_int_equal(stat(f->dir, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* An existing directory without a keystore file is an empty keystore. */
static void test_empty_keystore_dir_reads_empty(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info *keys = (void *)1, info;
	size_t n = 99;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(ec_kms_list_keys(f->kms, &keys, &n), 0);
	assert_int_equal(n, 0);
	assert_null(keys);
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/db", &info),
			 -ENOKEY);
	assert_int_equal(access(f->path, F_OK), -1);
}

/*
 * The directory moved away after the CMK wrapped a key: unwrap and
 * describe cannot reach it (not "not found"), and both work again once
 * it is back.  A key missing from a keystore that is there stays
 * "not found".
 */
static void test_keystore_dir_moved_away_is_unreachable(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info made, info;
	struct ec_wrapped w;
	char *away = path_in(f->base, "kms.away");

	create(f, EC_SPEC_AES_256, "db", &made);
	random_dk(dk, sizeof(dk));
	wrap(f, made.id, dk, &w);
	assert_int_equal(rename(f->dir, away), 0);
	assert_int_equal(unwrap(f, made.id, &w, back), -EHOSTUNREACH);
	assert_non_null(strstr(ec_err_msg(), "is missing (No such file or directory)"));
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/db", &info),
			 -EHOSTUNREACH);
	assert_int_equal(rename(away, f->dir), 0);
	assert_int_equal(unwrap(f, made.id, &w, back), 0);
	assert_memory_equal(back, dk, DK_LEN);
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/other", &info),
			 -ENOKEY);
	free(away);
}

/* Where the keystore directory should be, a file: a configuration error. */
static void test_keystore_dir_that_is_a_file_fails(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	char expected[1024];
	int fd;

	fd = open(f->dir, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/db", &info),
			 -ENOTDIR);
	snprintf(expected, sizeof(expected),
		 "%s: cannot open lock file %s/keystore.lock: Not a directory; run as root or check the directory's owner",
		 f->name, f->dir);
	assert_string_equal(ec_err_msg(), expected);
}

static void test_list_keys_sorted_by_creation_time_then_id(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info a, b, c, d, *keys;
	size_t n;

	fake_now = T0 + 300;
	create(f, EC_SPEC_AES_256, "a", &a);
	fake_now = T0 + 100;
	create(f, EC_SPEC_SM4, "b", &b);
	fake_now = T0 + 200;
	create(f, EC_SPEC_AES_256, "c", &c);
	create(f, EC_SPEC_AES_256, "d", &d);

	assert_int_equal(ec_kms_list_keys(f->kms, &keys, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(keys[0].id, b.id);
	if (strcmp(c.id, d.id) < 0) {
		assert_string_equal(keys[1].id, c.id);
		assert_string_equal(keys[2].id, d.id);
	} else {
		assert_string_equal(keys[1].id, d.id);
		assert_string_equal(keys[2].id, c.id);
	}
	assert_string_equal(keys[3].id, a.id);
	assert_string_equal(keys[0].alias, "alias/b");
	assert_int_equal(keys[0].spec, EC_SPEC_SM4);
	free(keys);
}

/* ---- aliases ------------------------------------------------------------- */

static void test_alias_given_with_prefix_is_the_same_alias(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;

	create(f, EC_SPEC_AES_256, "alias/db", &info);
	assert_string_equal(info.alias, "alias/db");
	assert_int_equal(ec_kms_create_key(f->kms, EC_SPEC_AES_256, "db",
					   NULL), -EEXIST);
}

static void test_create_key_fails_when_alias_taken(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info first, *keys;
	char expected[1024];
	size_t n;

	create(f, EC_SPEC_AES_256, "db", &first);
	assert_int_equal(ec_kms_create_key(f->kms, EC_SPEC_SM4, "db", NULL),
			 -EEXIST);
	snprintf(expected, sizeof(expected),
		 "alias/db is already taken by CMK %s in %s; choose another alias",
		 first.id, f->name);
	assert_string_equal(ec_err_msg(), expected);
	assert_int_equal(ec_kms_list_keys(f->kms, &keys, &n), 0);
	assert_int_equal(n, 1);
	free(keys);
}

static void test_create_key_fails_for_reserved_alias(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ec_kms_create_key(f->kms, EC_SPEC_AES_256,
					   "envcrypt/mine", NULL), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "alias alias/envcrypt/mine is reserved: names under alias/envcrypt/ belong to envcrypt; choose another alias");
	assert_int_equal(ec_kms_create_key(f->kms, EC_SPEC_AES_256,
					   "envcrypt/service", NULL), -EINVAL);
	assert_int_equal(ec_kms_create_key(f->kms, EC_SPEC_AES_256,
					   "alias/envcrypt/service", NULL),
			 -EINVAL);
}

static void test_create_key_fails_for_bad_alias(void **state)
{
	static const char *const bad[] = {
		"my key", "", "a.b", "caf\xc3\xa9", "a:b", "tab\there",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 101 */
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ec_kms_create_key(f->kms, EC_SPEC_AES_256,
						   bad[i], NULL), -EINVAL);
	ec_kms_create_key(f->kms, EC_SPEC_AES_256, "my key", NULL);
	assert_string_equal(ec_err_msg(),
			    "alias 'my key' is not valid: use 1 to 100 of A-Z a-z 0-9 / _ -");
}

static void test_create_key_accepts_alias_of_100_chars(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	char name[101], full[120];

	memset(name, 'x', 100);
	name[100] = '\0';
	name[3] = '/';
	name[4] = '_';
	name[5] = '-';
	name[6] = 'Z';
	name[7] = '9';
	create(f, EC_SPEC_AES_256, name, &info);
	snprintf(full, sizeof(full), "alias/%s", name);
	assert_string_equal(info.alias, full);
	assert_int_equal(ec_kms_describe_key(f->kms, full, &info), 0);
}

/* ---- wrap and unwrap ----------------------------------------------------- */

static void test_wrap_then_unwrap_gives_the_data_key(void **state)
{
	static const enum ec_key_spec specs[] = { EC_SPEC_AES_256,
						   EC_SPEC_SM4 };
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info info;
	struct ec_wrapped w, w2;
	size_t i;

	for (i = 0; i < 2; i++) {
		create(f, specs[i], NULL, &info);
		random_dk(dk, sizeof(dk));
		wrap(f, info.id, dk, &w);
		assert_int_equal(w.len, DK_LEN + 12 + 16);
		assert_int_equal(w.cmk_version, 1);
		memset(back, 0, sizeof(back));
		assert_int_equal(unwrap(f, info.id, &w, back), 0);
		assert_memory_equal(back, dk, DK_LEN);

		/* a fresh IV every time */
		wrap(f, info.id, dk, &w2);
		assert_memory_not_equal(w.data, w2.data, 12);
	}
}

static void test_wrap_and_unwrap_by_alias(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_wrapped w;

	create(f, EC_SPEC_SM4, "db", NULL);
	random_dk(dk, sizeof(dk));
	wrap(f, "alias/db", dk, &w);
	assert_int_equal(unwrap(f, "alias/db", &w, back), 0);
	assert_memory_equal(back, dk, DK_LEN);
}

/* The documented format: IV || ciphertext || tag, AAD label:id:v:context. */
static void test_wrapped_key_follows_documented_format(void **state)
{
	static const enum ec_key_spec specs[] = { EC_SPEC_AES_256,
						   EC_SPEC_SM4 };
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN], material[32];
	struct ec_key_info info;
	struct ec_wrapped w;
	char aad[512];
	enum ec_aead alg;
	size_t i;

	for (i = 0; i < 2; i++) {
		create(f, specs[i], NULL, &info);
		random_dk(dk, sizeof(dk));
		wrap(f, info.id, dk, &w);
		alg = specs[i] == EC_SPEC_SM4 ? EC_AEAD_SM4_GCM :
						EC_AEAD_AES_256_GCM;
		material_from_file(f, info.id, 1, material,
				   ec_aead_key_size(alg));
		snprintf(aad, sizeof(aad), "envcrypt-local-wrap:1:%s:1:%s",
			 info.id, CONTEXT);
		assert_int_equal(ec_aead_open(alg, material, w.data,
					      (uint8_t *)aad, strlen(aad),
					      w.data + 12, DK_LEN, back,
					      w.data + 12 + DK_LEN), 0);
		assert_memory_equal(back, dk, DK_LEN);
	}
}

static void test_unwrap_fails_with_wrong_context(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info info;
	struct ec_wrapped w;
	char expected[1024];

	create(f, EC_SPEC_AES_256, "db", &info);
	random_dk(dk, sizeof(dk));
	wrap(f, info.id, dk, &w);
	memset(back, 0x55, sizeof(back));
	assert_int_equal(ec_kms_unwrap(f->kms, info.id, &w,
				       CONTEXT " changed", back, DK_LEN),
			 -EBADMSG);
	assert_true(all_zero(back, DK_LEN));
	snprintf(expected, sizeof(expected),
		 "the data key wrapped by CMK %s (alias/db) version 1 in %s does not authenticate: the header was changed, or the wrapped key belongs to another volume",
		 info.id, f->name);
	assert_string_equal(ec_err_msg(), expected);
}

static void test_unwrap_fails_with_another_cmk(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info a, b;
	struct ec_wrapped w;

	create(f, EC_SPEC_AES_256, "a", &a);
	create(f, EC_SPEC_AES_256, "b", &b);
	random_dk(dk, sizeof(dk));
	wrap(f, a.id, dk, &w);
	assert_int_equal(unwrap(f, b.id, &w, back), -EBADMSG);
	assert_true(all_zero(back, DK_LEN));
}

static void test_unwrap_fails_when_wrapped_key_changed(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info info;
	struct ec_wrapped w, bad;
	uint32_t i;

	create(f, EC_SPEC_SM4, NULL, &info);
	random_dk(dk, sizeof(dk));
	wrap(f, info.id, dk, &w);
	for (i = 0; i < w.len; i += 7) {
		bad = w;
		bad.data[i] ^= 0x20;
		memset(back, 0x55, sizeof(back));
		assert_int_equal(unwrap(f, info.id, &bad, back), -EBADMSG);
		assert_true(all_zero(back, DK_LEN));
	}
	/* a wrapped key of the wrong length */
	bad = w;
	bad.len--;
	assert_int_equal(unwrap(f, info.id, &bad, back), -EBADMSG);
}

static void test_wrap_fails_when_cmk_disabled(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	uint8_t dk[DK_LEN] = { 1 };
	struct ec_wrapped w;
	char expected[1024];

	create(f, EC_SPEC_AES_256, "db", &info);
	assert_int_equal(ec_kms_disable_key(f->kms, "alias/db", &info), 0);
	assert_int_equal(info.state, EC_KEY_DISABLED);
	assert_int_equal(ec_kms_wrap(f->kms, info.id, dk, DK_LEN, CONTEXT, &w),
			 -EKEYREVOKED);
	snprintf(expected, sizeof(expected),
		 "CMK %s (alias/db) is Disabled in %s",
		 info.id, f->name);
	assert_string_equal(ec_err_msg(), expected);
}

static void test_unwrap_fails_when_cmk_disabled(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info info;
	struct ec_wrapped w;
	char expected[1024];

	create(f, EC_SPEC_SM4, NULL, &info);
	random_dk(dk, sizeof(dk));
	wrap(f, info.id, dk, &w);
	assert_int_equal(ec_kms_disable_key(f->kms, info.id, NULL), 0);
	assert_int_equal(unwrap(f, info.id, &w, back), -EKEYREVOKED);
	snprintf(expected, sizeof(expected),
		 "CMK %s is Disabled in %s", info.id,
		 f->name);
	assert_string_equal(ec_err_msg(), expected);

	/* disabling twice is no error; enabling gives the key back */
	assert_int_equal(ec_kms_disable_key(f->kms, info.id, &info), 0);
	assert_int_equal(ec_kms_enable_key(f->kms, info.id, &info), 0);
	assert_int_equal(info.state, EC_KEY_ENABLED);
	assert_int_equal(unwrap(f, info.id, &w, back), 0);
	assert_memory_equal(back, dk, DK_LEN);
}

static void test_unwrap_fails_when_cmk_pending_deletion(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info info;
	struct ec_wrapped w;
	char expected[1024];

	create(f, EC_SPEC_AES_256, "db", &info);
	random_dk(dk, sizeof(dk));
	wrap(f, info.id, dk, &w);
	assert_int_equal(ec_kms_schedule_deletion(f->kms, info.id, 7, &info),
			 0);
	assert_int_equal(info.state, EC_KEY_PENDING_DELETION);
	assert_int_equal(info.deletion_date, T0 + 7 * DAY);

	assert_int_equal(unwrap(f, info.id, &w, back), -EKEYEXPIRED);
	snprintf(expected, sizeof(expected),
		 "CMK %s (alias/db) is PendingDeletion in %s, deleted on 2023-11-21 22:13:20 UTC",
		 info.id, f->name);
	assert_string_equal(ec_err_msg(), expected);
	assert_int_equal(ec_kms_wrap(f->kms, info.id, dk, DK_LEN, CONTEXT,
				     &w), -EKEYEXPIRED);
	/* no way back to Enabled but through cancel */
	assert_int_equal(ec_kms_enable_key(f->kms, info.id, NULL),
			 -EKEYEXPIRED);
	assert_int_equal(ec_kms_disable_key(f->kms, info.id, NULL),
			 -EKEYEXPIRED);
	assert_int_equal(ec_kms_schedule_deletion(f->kms, info.id, 10, NULL),
			 -EKEYEXPIRED);
}

static void test_cancel_deletion_leaves_key_disabled(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info info;
	struct ec_wrapped w;

	create(f, EC_SPEC_AES_256, "db", &info);
	random_dk(dk, sizeof(dk));
	wrap(f, info.id, dk, &w);
	assert_int_equal(ec_kms_schedule_deletion(f->kms, "alias/db", 30,
						  &info), 0);
	assert_int_equal(info.deletion_date, T0 + 30 * DAY);
	assert_int_equal(ec_kms_cancel_deletion(f->kms, "alias/db", &info), 0);
	assert_int_equal(info.state, EC_KEY_DISABLED);
	assert_int_equal(info.deletion_date, 0);
	assert_int_equal(unwrap(f, info.id, &w, back), -EKEYREVOKED);
	assert_int_equal(ec_kms_enable_key(f->kms, info.id, NULL), 0);
	assert_int_equal(unwrap(f, info.id, &w, back), 0);
	assert_memory_equal(back, dk, DK_LEN);
}

static void test_cancel_deletion_fails_when_not_pending(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	char expected[1024];

	create(f, EC_SPEC_SM4, NULL, &info);
	assert_int_equal(ec_kms_cancel_deletion(f->kms, info.id, NULL),
			 -EINVAL);
	snprintf(expected, sizeof(expected),
		 "CMK %s is Enabled in %s, not PendingDeletion: there is no deletion to cancel",
		 info.id, f->name);
	assert_string_equal(ec_err_msg(), expected);
}

static void test_schedule_deletion_needs_7_to_30_days(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	char expected[1024];

	create(f, EC_SPEC_AES_256, NULL, &info);
	assert_int_equal(ec_kms_schedule_deletion(f->kms, info.id, 6, NULL),
			 -EINVAL);
	snprintf(expected, sizeof(expected),
		 "CMK %s: the waiting period before deletion must be 7 to 30 days, not 6",
		 info.id);
	assert_string_equal(ec_err_msg(), expected);
	assert_int_equal(ec_kms_schedule_deletion(f->kms, info.id, 31, NULL),
			 -EINVAL);
	assert_int_equal(ec_kms_schedule_deletion(f->kms, info.id, 0, NULL),
			 -EINVAL);
	assert_int_equal(ec_kms_describe_key(f->kms, info.id, &info), 0);
	assert_int_equal(info.state, EC_KEY_ENABLED);
}

static void test_key_past_deletion_date_is_gone_and_purged_on_write(
	void **state)
{
	struct fixture *f = *state;
	struct ec_key_info doomed, other, *keys;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_wrapped w;
	char expected[1024];
	size_t n;

	create(f, EC_SPEC_AES_256, "old", &doomed);
	random_dk(dk, sizeof(dk));
	wrap(f, doomed.id, dk, &w);
	assert_int_equal(ec_kms_schedule_deletion(f->kms, doomed.id, 7, NULL),
			 0);

	fake_now = T0 + 7 * DAY - 1;
	assert_int_equal(ec_kms_describe_key(f->kms, doomed.id, &other), 0);
	assert_int_equal(other.state, EC_KEY_PENDING_DELETION);

	fake_now = T0 + 7 * DAY;
	assert_int_equal(ec_kms_describe_key(f->kms, doomed.id, &other),
			 -ENOKEY);
	snprintf(expected, sizeof(expected),
		 "CMK %s not found in %s",
		 doomed.id, f->name);
	assert_string_equal(ec_err_msg(), expected);
	assert_int_equal(unwrap(f, doomed.id, &w, back), -ENOKEY);
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/old", &other),
			 -ENOKEY);
	assert_int_equal(ec_kms_cancel_deletion(f->kms, doomed.id, NULL),
			 -ENOKEY);
	assert_int_equal(ec_kms_list_keys(f->kms, &keys, &n), 0);
	assert_int_equal(n, 0);
	free(keys);

	/* still in the file until something writes it */
	assert_true(file_contains(f->path, doomed.id));
	create(f, EC_SPEC_SM4, "old", &other);	/* the alias is free again */
	assert_false(file_contains(f->path, doomed.id));
	assert_true(file_contains(f->path, other.id));
}

/* ---- versions ------------------------------------------------------------ */

static void test_rotate_adds_version_and_old_wrapped_keys_unwrap(
	void **state)
{
	struct fixture *f = *state;
	uint8_t dk1[DK_LEN], dk2[DK_LEN], back[DK_LEN];
	uint8_t m1[32], m2[32];
	struct ec_key_info info;
	struct ec_wrapped w1, w2;

	create(f, EC_SPEC_SM4, "db", &info);
	random_dk(dk1, sizeof(dk1));
	wrap(f, "alias/db", dk1, &w1);
	assert_int_equal(ec_kms_rotate_key(f->kms, "alias/db", &info), 0);
	assert_int_equal(info.versions, 2);

	random_dk(dk2, sizeof(dk2));
	wrap(f, "alias/db", dk2, &w2);
	assert_int_equal(w1.cmk_version, 1);
	assert_int_equal(w2.cmk_version, 2);
	assert_int_equal(unwrap(f, info.id, &w1, back), 0);
	assert_memory_equal(back, dk1, DK_LEN);
	assert_int_equal(unwrap(f, info.id, &w2, back), 0);
	assert_memory_equal(back, dk2, DK_LEN);

	/* new material, not a copy */
	material_from_file(f, info.id, 1, m1, 16);
	material_from_file(f, info.id, 2, m2, 16);
	assert_memory_not_equal(m1, m2, 16);
}

static void test_rotate_fails_when_cmk_disabled(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;

	create(f, EC_SPEC_AES_256, NULL, &info);
	assert_int_equal(ec_kms_disable_key(f->kms, info.id, NULL), 0);
	assert_int_equal(ec_kms_rotate_key(f->kms, info.id, &info),
			 -EKEYREVOKED);
	assert_int_equal(ec_kms_describe_key(f->kms, info.id, &info), 0);
	assert_int_equal(info.versions, 1);
}

static void test_unwrap_fails_for_unknown_version(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info info;
	struct ec_wrapped w;
	char expected[1024];

	create(f, EC_SPEC_AES_256, NULL, &info);
	random_dk(dk, sizeof(dk));
	wrap(f, info.id, dk, &w);
	w.cmk_version = 3;
	assert_int_equal(unwrap(f, info.id, &w, back), -ENOKEY);
	snprintf(expected, sizeof(expected),
		 "CMK %s has no version 3 in %s (the newest is 1); the keystore is older than the volume: restore a newer keystore",
		 info.id, f->name);
	assert_string_equal(ec_err_msg(), expected);
	w.cmk_version = 0;
	assert_int_equal(unwrap(f, info.id, &w, back), -EBADMSG);
}

static void test_unwrap_fails_when_version_changed(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info info;
	struct ec_wrapped w;

	create(f, EC_SPEC_AES_256, NULL, &info);
	assert_int_equal(ec_kms_rotate_key(f->kms, info.id, NULL), 0);
	random_dk(dk, sizeof(dk));
	wrap(f, info.id, dk, &w);
	assert_int_equal(w.cmk_version, 2);
	w.cmk_version = 1;
	assert_int_equal(unwrap(f, info.id, &w, back), -EBADMSG);
}

/* ---- the service key ----------------------------------------------------- */

static void test_service_key_is_created_once(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info first, again, *keys;
	size_t n;

	assert_int_equal(ec_kms_service_key(f->kms, &first), 0);
	assert_string_equal(first.alias, EC_SERVICE_KEY_ALIAS);
	assert_true(first.service);
	assert_int_equal(first.spec, EC_SPEC_AES_256);
	assert_int_equal(first.state, EC_KEY_ENABLED);

	fake_now = T0 + 50;
	assert_int_equal(ec_kms_service_key(f->kms, &again), 0);
	assert_memory_equal(&again, &first, sizeof(first));
	assert_int_equal(ec_kms_describe_key(f->kms, EC_SERVICE_KEY_ALIAS,
					     &again), 0);
	assert_string_equal(again.id, first.id);
	assert_true(again.service);

	assert_int_equal(ec_kms_list_keys(f->kms, &keys, &n), 0);
	assert_int_equal(n, 1);
	free(keys);
}

static void test_service_key_can_never_be_disabled_or_deleted(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info svc, info;
	char expected[1024];

	assert_int_equal(ec_kms_service_key(f->kms, &svc), 0);
	assert_int_equal(ec_kms_disable_key(f->kms, svc.id, NULL), -EPERM);
	snprintf(expected, sizeof(expected),
		 "CMK %s (alias/envcrypt/service) is the service key of %s: it can never be disabled or deleted (refused to disable it)",
		 svc.id, f->name);
	assert_string_equal(ec_err_msg(), expected);
	assert_int_equal(ec_kms_schedule_deletion(f->kms, EC_SERVICE_KEY_ALIAS,
						  7, NULL), -EPERM);
	snprintf(expected, sizeof(expected),
		 "CMK %s (alias/envcrypt/service) is the service key of %s: it can never be disabled or deleted (refused to delete it)",
		 svc.id, f->name);
	assert_string_equal(ec_err_msg(), expected);

	/* enable and rotate are fine */
	assert_int_equal(ec_kms_enable_key(f->kms, svc.id, &info), 0);
	assert_int_equal(ec_kms_rotate_key(f->kms, svc.id, &info), 0);
	assert_int_equal(info.versions, 2);
	assert_int_equal(info.state, EC_KEY_ENABLED);
}

static void test_service_key_wraps_data_keys(void **state)
{
	struct fixture *f = *state;
	uint8_t dk[DK_LEN], back[DK_LEN];
	struct ec_key_info svc;
	struct ec_wrapped w;

	assert_int_equal(ec_kms_service_key(f->kms, &svc), 0);
	random_dk(dk, sizeof(dk));
	wrap(f, EC_SERVICE_KEY_ALIAS, dk, &w);
	assert_int_equal(unwrap(f, svc.id, &w, back), 0);
	assert_memory_equal(back, dk, DK_LEN);
}

/* ---- the keystore file -------------------------------------------------- */

static void test_keystore_dir_is_0700_and_files_0600(void **state)
{
	struct fixture *f = *state;
	char *lock = path_in(f->dir, "keystore.lock");
	struct dirent *e;
	struct stat st;
	mode_t old;
	DIR *d;
	int files = 0;

	/* the modes must not depend on the umask */
	old = umask(0);
	create(f, EC_SPEC_AES_256, "db", NULL);
	assert_int_equal(ec_kms_rotate_key(f->kms, "alias/db", NULL), 0);
	umask(old);

	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* no temporary file left behind */
	d = opendir(f->dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		assert_true(!strcmp(e->d_name, "keystore") ||
			    !strcmp(e->d_name, "keystore.lock"));
		files++;
	}
	closedir(d);
	assert_int_equal(files, 2);
	free(lock);
}

static void test_parent_directories_are_created(void **state)
{
	struct fixture *f = *state;
	char uri[EC_KMS_URI_MAX], *deep = path_in(f->base, "a/b/c");
	struct ec_kms *kms;
	struct stat st;

	snprintf(uri, sizeof(uri), "local:%s", deep);
	assert_int_equal(ec_kms_open(uri, &kms), 0);
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_SM4, NULL, NULL), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	ec_kms_close(kms);
	free(deep);
}

#define GOOD_ID		"11111111-2222-4333-8444-555555555555"
#define GOOD_HEX	"000102030405060708090a0b0c0d0e0f" \
			"101112131415161718191a1b1c1d1e1f"
#define GOOD_KEY_LINE	"key " GOOD_ID " AES_256 Enabled 1700000000 0 alias/db\n"
#define GOOD_VERSION	"version 1 1700000000 " GOOD_HEX "\n"

static void test_hand_written_keystore_is_read(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;

	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
			  GOOD_VERSION "end\n");
	assert_int_equal(ec_kms_describe_key(f->kms, "alias/db", &info), 0);
	assert_string_equal(info.id, GOOD_ID);
	assert_int_equal(info.created, 1700000000);
	assert_int_equal(info.versions, 1);
}

static void test_corrupt_keystore_fails_with_eio(void **state)
{
	struct fixture *f = *state;

	write_keystore(f, "envcrypt-local-keystore 2\n" GOOD_KEY_LINE
			  GOOD_VERSION "end\n");
	assert_corrupt(f, 1,
		       "not a keystore of format 'envcrypt-local-keystore 1'");

	write_keystore(f, "envcrypt-local-keystore 1\n"
			  "key " GOOD_ID " AES_512 Enabled 1700000000 0 alias/db\n"
			  GOOD_VERSION "end\n");
	assert_corrupt(f, 2, "unknown key spec 'AES_512'");

	write_keystore(f, "envcrypt-local-keystore 1\n"
			  "key " GOOD_ID " AES_256 Gone 1700000000 0 alias/db\n"
			  GOOD_VERSION "end\n");
	assert_corrupt(f, 2, "unknown key state 'Gone'");

	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
			  GOOD_VERSION);
	assert_corrupt(f, 4, "the file ends before its 'end' line");

	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
			  GOOD_VERSION "end");
	assert_corrupt(f, 4, "the last line has no newline");

	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
			  "version 2 1700000000 " GOOD_HEX "\nend\n");
	assert_corrupt(f, 3, "CMK " GOOD_ID ": expected version 1");

	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE "end\n");
	assert_corrupt(f, 3, "CMK " GOOD_ID " has no version");

	write_keystore(f, "envcrypt-local-keystore 1\n"
			  "key " GOOD_ID " AES_256 PendingDeletion 1700000000 0 alias/db\n"
			  GOOD_VERSION "end\n");
	assert_corrupt(f, 2,
		       "deletion date missing for a PendingDeletion key");

	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
			  GOOD_VERSION
			  "key 11111111-2222-4333-8444-666666666666 SM4 Enabled 1700000000 0 alias/db\n"
			  "version 1 1700000000 000102030405060708090a0b0c0d0e0f\n"
			  "end\n");
	assert_corrupt(f, 4, "alias alias/db appears twice");

	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
			  GOOD_VERSION "end\n\n");
	assert_corrupt(f, 5, "a line after 'end'");

	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
			  "version  1 1700000000 " GOOD_HEX "\nend\n");
	assert_corrupt(f, 3, "not one of: key, version, end");

	/* a missing field shifts the material where the time should be:
	 * the message must not show it */
	write_keystore(f, "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
			  "version 1 " GOOD_HEX " x\nend\n");
	assert_corrupt(f, 3, "CMK " GOOD_ID " version 1: bad creation time");
}

static void test_corrupt_key_material_is_never_shown(void **state)
{
	struct fixture *f = *state;
	const char *bad_hex = "000102030405060708090A0B0C0D0E0F"
			      "101112131415161718191a1b1c1d1e1f";
	char text[512];

	snprintf(text, sizeof(text),
		 "envcrypt-local-keystore 1\n" GOOD_KEY_LINE
		 "version 1 1700000000 %s\nend\n", bad_hex);
	write_keystore(f, text);
	assert_corrupt(f, 3,
		       "CMK " GOOD_ID " version 1: key material is not 32 bytes of lowercase hex");
	assert_null(strstr(ec_err_msg(), "0A0B"));
	assert_null(strstr(ec_err_msg(), "0001020304"));
}

static void test_corrupt_keystore_is_not_overwritten(void **state)
{
	struct fixture *f = *state;
	const char *text = "envcrypt-local-keystore 1\n"
			   "key " GOOD_ID " AES_512 Enabled 1700000000 0 -\n"
			   GOOD_VERSION "end\n";
	uint8_t dk[DK_LEN] = { 1 };
	struct ec_wrapped w;
	char *after;

	write_keystore(f, text);
	assert_int_equal(ec_kms_create_key(f->kms, EC_SPEC_SM4, "x", NULL),
			 -EIO);
	assert_int_equal(ec_kms_service_key(f->kms, NULL), -EIO);
	assert_int_equal(ec_kms_wrap(f->kms, GOOD_ID, dk, DK_LEN, CONTEXT,
				     &w), -EIO);
	after = slurp_file(f->path);
	assert_string_equal(after, text);
	free(after);
}

/* ---- several processes at once ---------------------------------------- */

#define CHILDREN	8
#define KEYS_EACH	5

static void test_concurrent_creates_lose_no_update(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info *keys, info;
	pid_t pids[CHILDREN];
	char alias[32];
	int i, k, status;
	size_t n;

	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			for (k = 0; k < KEYS_EACH; k++) {
				snprintf(alias, sizeof(alias), "alias/c%d-%d",
					 i, k);
				if (ec_kms_create_key(f->kms, k % 2 ?
						      EC_SPEC_SM4 :
						      EC_SPEC_AES_256,
						      alias + 6, NULL))
					_exit(1);
				if (ec_kms_rotate_key(f->kms, alias, NULL))
					_exit(2);
			}
			_exit(0);
		}
	}
	for (i = 0; i < CHILDREN; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	assert_int_equal(ec_kms_list_keys(f->kms, &keys, &n), 0);
	assert_int_equal(n, CHILDREN * KEYS_EACH);
	free(keys);
	for (i = 0; i < CHILDREN; i++) {
		for (k = 0; k < KEYS_EACH; k++) {
			snprintf(alias, sizeof(alias), "alias/c%d-%d", i, k);
			assert_int_equal(ec_kms_describe_key(f->kms, alias,
							     &info), 0);
			assert_int_equal(info.versions, 2);
		}
	}
}

static void test_concurrent_service_key_callers_get_one_key(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info, *keys;
	char ids[CHILDREN][EC_CMK_ID_MAX];
	pid_t pids[CHILDREN];
	int fds[2], i, status;
	size_t n;

	assert_int_equal(pipe(fds), 0);
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(fds[0]);
			if (ec_kms_service_key(f->kms, &info))
				_exit(1);
			if (write(fds[1], info.id, EC_CMK_ID_MAX) !=
			    EC_CMK_ID_MAX)
				_exit(2);
			_exit(0);
		}
	}
	close(fds[1]);
	for (i = 0; i < CHILDREN; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(read(fds[0], ids[i], EC_CMK_ID_MAX),
				 EC_CMK_ID_MAX);
	}
	close(fds[0]);
	for (i = 1; i < CHILDREN; i++)
		assert_string_equal(ids[i], ids[0]);
	assert_int_equal(ec_kms_list_keys(f->kms, &keys, &n), 0);
	assert_int_equal(n, 1);
	free(keys);
}

#define TEST(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_open_local_uses_envcrypt_kms_dir),
		TEST(test_open_local_defaults_to_var_lib),
		TEST(test_open_refuses_relative_dir),
		TEST(test_create_key_then_describe_by_id_and_alias),
		TEST(test_create_key_without_alias),
		TEST(test_describe_unknown_key_fails_with_enokey),
		TEST(test_missing_keystore_dir_is_unreachable_and_creates_nothing),
		TEST(test_empty_keystore_dir_reads_empty),
		TEST(test_keystore_dir_moved_away_is_unreachable),
		TEST(test_keystore_dir_that_is_a_file_fails),
		TEST(test_list_keys_sorted_by_creation_time_then_id),
		TEST(test_alias_given_with_prefix_is_the_same_alias),
		TEST(test_create_key_fails_when_alias_taken),
		TEST(test_create_key_fails_for_reserved_alias),
		TEST(test_create_key_fails_for_bad_alias),
		TEST(test_create_key_accepts_alias_of_100_chars),
		TEST(test_wrap_then_unwrap_gives_the_data_key),
		TEST(test_wrap_and_unwrap_by_alias),
		TEST(test_wrapped_key_follows_documented_format),
		TEST(test_unwrap_fails_with_wrong_context),
		TEST(test_unwrap_fails_with_another_cmk),
		TEST(test_unwrap_fails_when_wrapped_key_changed),
		TEST(test_wrap_fails_when_cmk_disabled),
		TEST(test_unwrap_fails_when_cmk_disabled),
		TEST(test_unwrap_fails_when_cmk_pending_deletion),
		TEST(test_cancel_deletion_leaves_key_disabled),
		TEST(test_cancel_deletion_fails_when_not_pending),
		TEST(test_schedule_deletion_needs_7_to_30_days),
		TEST(test_key_past_deletion_date_is_gone_and_purged_on_write),
		TEST(test_rotate_adds_version_and_old_wrapped_keys_unwrap),
		TEST(test_rotate_fails_when_cmk_disabled),
		TEST(test_unwrap_fails_for_unknown_version),
		TEST(test_unwrap_fails_when_version_changed),
		TEST(test_service_key_is_created_once),
		TEST(test_service_key_can_never_be_disabled_or_deleted),
		TEST(test_service_key_wraps_data_keys),
		TEST(test_keystore_dir_is_0700_and_files_0600),
		TEST(test_parent_directories_are_created),
		TEST(test_hand_written_keystore_is_read),
		TEST(test_corrupt_keystore_fails_with_eio),
		TEST(test_corrupt_key_material_is_never_shown),
		TEST(test_corrupt_keystore_is_not_overwritten),
		TEST(test_concurrent_creates_lose_no_update),
		TEST(test_concurrent_service_key_callers_get_one_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
