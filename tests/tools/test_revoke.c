// SPDX-License-Identifier: GPL-2.0
/*
 * revoke, open --refresh and watch on image files with a local keystore,
 * against a fake kernel: device-mapper (info, list, suspend, resume,
 * messages) and the keyring are faked through -Wl,--wrap with a model of
 * the envcrypt target's key states, so that each step's effect, each
 * refusal and each failure can be checked.  The real target is exercised
 * by tests/vm/guest/t_revoke.sh.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <keyutils.h>

#include "blockdev.h"
#include "cli.h"
#include "dm.h"
#include "error.h"
#include "fake-kernel.h"
#include "keyring.h"
#include "kms.h"
#include "revoke.h"
#include "tools-util.h"
#include "volume.h"

#define NDEV	3

/* One envcrypt device of the fake kernel. */
struct fake_dev {
	bool exists;
	char name[64];
	char dm_uuid[128];
	char cipher[32];
	char image[4096];		/* what 7:<index> resolves to */
	bool error_mode;
	bool suspended;
	bool key;
	uint8_t kcv[3];
	char key_ref[128];
};

static struct {
	struct fake_dev dev[NDEV];
	/* counts and forced failures */
	int suspends, resumes, messages;
	int wipe_result;		/* "key wipe" fails with this */
	bool kcv_corrupt;		/* "key set" loads a different key */
	char last_msg[256];
	/* ec_kms_describe_key fails with this for cmk describe_fail_id */
	char describe_fail_id[128];
	int describe_fail;
	/* for the table open writes */
	char params[512];
} fake;

static struct fake_dev *dev_by_name(const char *name)
{
	int i;

	for (i = 0; i < NDEV; i++)
		if (fake.dev[i].exists && !strcmp(fake.dev[i].name, name))
			return &fake.dev[i];
	return NULL;
}

int __wrap_ec_dm_info(const char *name, struct ec_dm_info *info);
int __wrap_ec_dm_info(const char *name, struct ec_dm_info *info)
{
	struct fake_dev *d = dev_by_name(name);
	char kcv[8] = "-";

	memset(info, 0, sizeof(*info));
	if (!d)
		return 0;
	info->exists = true;
	info->suspended = d->suspended;
	snprintf(info->uuid, sizeof(info->uuid), "%s", d->dm_uuid);
	snprintf(info->target, sizeof(info->target), "envcrypt");
	info->length = 8 * 2048;
	snprintf(info->table, sizeof(info->table), "%s %s 0 7:%d 2048%s",
		 d->cipher, d->key_ref, (int)(d - fake.dev),
		 d->error_mode ? " 1 on_key_wipe:error" : "");
	if (d->key)
		snprintf(kcv, sizeof(kcv), "%02x%02x%02x", d->kcv[0],
			 d->kcv[1], d->kcv[2]);
	snprintf(info->status, sizeof(info->status),
		 "cipher:%s sector_size:512 driver:x key:%s kcv:%s",
		 d->cipher, d->key ? "loaded" : "none", kcv);
	return 0;
}

int __wrap_ec_dm_list(char ***names, size_t *n);
int __wrap_ec_dm_list(char ***names, size_t *n)
{
	int i;

	*names = calloc(NDEV, sizeof(char *));
	*n = 0;
	for (i = 0; i < NDEV; i++)
		if (fake.dev[i].exists &&
		    !strncmp(fake.dev[i].dm_uuid, "ENVCRYPT-", 9))
			(*names)[(*n)++] = strdup(fake.dev[i].name);
	return 0;
}

/* a signal raised by the next suspend, and when it was taken */
static int suspend_raises;
static volatile sig_atomic_t resumes_at_signal = -1;

int __wrap_ec_dm_suspend(const char *name);
int __wrap_ec_dm_suspend(const char *name)
{
	struct fake_dev *d = dev_by_name(name);

	assert_non_null(d);
	fake.suspends++;
	d->suspended = true;
	if (suspend_raises)
		raise(suspend_raises);
	return 0;
}

int __wrap_ec_dm_resume(const char *name);
int __wrap_ec_dm_resume(const char *name)
{
	struct fake_dev *d = dev_by_name(name);

	assert_non_null(d);
	fake.resumes++;
	if (!d->key && !d->error_mode)
		return ec_err_set(-ENOKEY, "device-mapper resume of '%s' failed: Required key not available",
				  name);
	d->suspended = false;
	return 0;
}

int __wrap_ec_dm_message(const char *name, const char *msg);
int __wrap_ec_dm_message(const char *name, const char *msg)
{
	struct fake_dev *d = dev_by_name(name);
	uint8_t kcv[EC_HDR_KCV_SIZE];
	char want[160];

	assert_non_null(d);
	fake.messages++;
	snprintf(fake.last_msg, sizeof(fake.last_msg), "%s", msg);
	if (!d->suspended)
		return ec_err_set(-EBUSY, "device-mapper message of '%s' failed: Device or resource busy",
				  name);
	if (!strcmp(msg, "key wipe")) {
		if (fake.wipe_result)
			return ec_err_set(fake.wipe_result, "device-mapper message of '%s' failed: Input/output error",
					  name);
		d->key = false;
		return 0;
	}
	/* key set :<size>:logon:<desc>, the same reference as the table */
	snprintf(want, sizeof(want), "key set %s", d->key_ref);
	assert_string_equal(msg, want);
	assert_true(fake_kernel.key_present);
	assert_string_equal(d->key_ref + strlen(d->key_ref) -
			    strlen(fake_kernel.key_desc), fake_kernel.key_desc);
	ec_kcv(fake_kernel.key, fake_kernel.key_len, kcv);
	if (fake.kcv_corrupt)
		kcv[0] ^= 1;
	memcpy(d->kcv, kcv, sizeof(d->kcv));
	d->key = true;
	return 0;
}

int __wrap_ec_blockdev_path(uint32_t major_nr, uint32_t minor_nr,
			    char *path, size_t size);
int __wrap_ec_blockdev_path(uint32_t major_nr, uint32_t minor_nr,
			    char *path, size_t size)
{
	assert_int_equal(major_nr, 7);
	assert_true(minor_nr < NDEV);
	snprintf(path, size, "%s", fake.dev[minor_nr].image);
	return 0;
}

int __real_ec_kms_describe_key(struct ec_kms *kms, const char *key,
			       struct ec_key_info *info);
int __wrap_ec_kms_describe_key(struct ec_kms *kms, const char *key,
			       struct ec_key_info *info);
int __wrap_ec_kms_describe_key(struct ec_kms *kms, const char *key,
			       struct ec_key_info *info)
{
	if (fake.describe_fail && !strcmp(key, fake.describe_fail_id))
		return ec_err_set(fake.describe_fail, "KMS at %s: connection refused",
				  kms->uri);
	return __real_ec_kms_describe_key(kms, key, info);
}

int __wrap_ec_dm_create(const char *name, const char *dm_uuid,
			uint64_t sectors, const char *params, bool readonly);
int __wrap_ec_dm_create(const char *name, const char *dm_uuid,
			uint64_t sectors, const char *params, bool readonly)
{
	(void)name;
	(void)dm_uuid;
	(void)sectors;
	(void)readonly;
	snprintf(fake.params, sizeof(fake.params), "%s", params);
	return 0;
}

struct fixture {
	char *dir;
	char *kms;
	char *audit;
	char *image[NDEV];
	struct ec_header hdr[NDEV];
	char cmk[NDEV][EC_CMK_ID_MAX];
	char uuid[NDEV][37];
	char *out, *err;
};

static void make_cmk(struct fixture *f, const char *alias, char *id)
{
	struct ec_key_info info;
	struct ec_kms *kms;

	assert_int_equal(ec_kms_open(f->kms, &kms), 0);
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_AES_256, alias,
					   &info), 0);
	snprintf(id, EC_CMK_ID_MAX, "%s", info.id);
	ec_kms_close(kms);
}

static void set_cmk(struct fixture *f, const char *id, bool enabled)
{
	struct ec_key_info info;
	struct ec_kms *kms;

	assert_int_equal(ec_kms_open(f->kms, &kms), 0);
	if (enabled)
		assert_int_equal(ec_kms_enable_key(kms, id, &info), 0);
	else
		assert_int_equal(ec_kms_disable_key(kms, id, &info), 0);
	ec_kms_close(kms);
}

/*
 * Volume @i: an image formatted under its own CMK, "open" in the fake
 * kernel as "vol<i>" with its data key loaded.
 */
static void open_volume(struct fixture *f, int i, bool error_mode)
{
	struct ec_format_params p = { .kms_uri = f->kms };
	struct fake_dev *d = &fake.dev[i];
	char alias[16];

	snprintf(alias, sizeof(alias), "cmk%d", i);
	make_cmk(f, alias, f->cmk[i]);
	p.cmk = f->cmk[i];
	assert_int_equal(ec_volume_format(f->image[i], &p, &f->hdr[i]), 0);
	ec_uuid_format(f->hdr[i].uuid, f->uuid[i]);
	d->exists = true;
	snprintf(d->name, sizeof(d->name), "vol%d", i);
	snprintf(d->dm_uuid, sizeof(d->dm_uuid), "ENVCRYPT-%s", f->uuid[i]);
	snprintf(d->cipher, sizeof(d->cipher), "%s", f->hdr[i].cipher);
	snprintf(d->key_ref, sizeof(d->key_ref), ":64:logon:envcrypt:%s",
		 f->uuid[i]);
	snprintf(d->image, sizeof(d->image), "%s", f->image[i]);
	d->error_mode = error_mode;
	d->key = true;
	memcpy(d->kcv, f->hdr[i].kcv, sizeof(d->kcv));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char name[16];
	int i;

	memset(&fake, 0, sizeof(fake));
	memset(&fake_kernel, 0, sizeof(fake_kernel));
	f->dir = scratch_dir();
	assert_true(asprintf(&f->kms, "local:%s/kms", f->dir) > 0);
	for (i = 0; i < NDEV; i++) {
		snprintf(name, sizeof(name), "disk%d.img", i);
		f->image[i] = path_in(f->dir, name);
		make_file(f->image[i], 9 << 20);
	}
	f->audit = path_in(f->dir, "audit.log");
	setenv("ENVCRYPT_AUDIT_LOG", f->audit, 1);
	assert_non_null(freopen("/dev/null", "r", stdin));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	rm_tree(f->dir);
	free(f->dir);
	free(f->kms);
	free(f->audit);
	for (i = 0; i < NDEV; i++)
		free(f->image[i]);
	free(f->out);
	free(f->err);
	free(f);
	return 0;
}

/* The audit log's text ("" when none). */
static char *audit_text(struct fixture *f)
{
	static char buf[65536];
	FILE *a = fopen(f->audit, "r");
	size_t n = 0;

	if (a) {
		n = fread(buf, 1, sizeof(buf) - 1, a);
		fclose(a);
	}
	buf[n] = '\0';
	return buf;
}

/* run(f, "arg", ..., NULL): cli_main on those arguments; output kept */
#define run(f, ...) run_cli(&(f)->out, &(f)->err, __VA_ARGS__)

static void ignore_event(const struct ec_watch_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
}

/* ---- open --on-revoke ---------------------------------------------- */

static void test_open_on_revoke_error_is_in_the_table(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { .on_revoke_error = true };
	struct ec_format_params fp = { .kms_uri = f->kms,
				       .sector_size = 4096 };
	struct ec_open_result res;
	struct ec_header hdr;
	char want[512], uuid[37];

	assert_int_equal(ec_volume_format(f->image[0], &fp, &hdr), 0);
	ec_uuid_format(hdr.uuid, uuid);
	assert_int_equal(ec_volume_open(f->image[0], "v", &p, &res), 0);
	snprintf(want, sizeof(want), "%s :64:logon:envcrypt:%s 0 7:0 2048 2 sector_size:4096 on_key_wipe:error",
		 hdr.cipher, uuid);
	assert_string_equal(fake.params, want);

	/* queue, the target's default, writes no option */
	p.on_revoke_error = false;
	fp.sector_size = 512;
	assert_int_equal(ec_volume_format(f->image[0], &fp, &hdr), 0);
	ec_uuid_format(hdr.uuid, uuid);
	assert_int_equal(ec_volume_open(f->image[0], "v", &p, &res), 0);
	snprintf(want, sizeof(want), "%s :64:logon:envcrypt:%s 0 7:0 2048",
		 hdr.cipher, uuid);
	assert_string_equal(fake.params, want);

	p.on_revoke_error = true;
	assert_int_equal(ec_volume_open(f->image[0], "v", &p, &res), 0);
	assert_int_equal(strlen(fake.params), strlen(want) +
			 strlen(" 1 on_key_wipe:error"));
	assert_has(fake.params, " 2048 1 on_key_wipe:error");
}

static void test_open_on_revoke_refuses_other_words(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "open", f->image[0], "v", "--on-revoke",
			     "hang", NULL), EC_EXIT_USAGE);
	assert_string_equal(f->err, "envcryptctl: open: --on-revoke takes queue or error, not 'hang'\n");
	assert_string_equal(fake.params, "");
}

/* ---- revoke -------------------------------------------------------- */

static void test_revoke_queue_leaves_it_suspended(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result res;
	struct fake_dev *d = &fake.dev[0];
	char want[512];

	open_volume(f, 0, false);
	assert_int_equal(ec_volume_revoke("vol0", NULL, &res), 0);
	assert_false(d->key);
	assert_true(d->suspended);
	assert_string_equal(fake.last_msg, "key wipe");
	assert_int_equal(fake.suspends, 1);
	assert_int_equal(fake.resumes, 0);
	assert_int_equal(res.mode, EC_ON_REVOKE_QUEUE);
	assert_false(res.already);
	assert_true(res.suspended);
	assert_string_equal(res.volume_uuid, f->uuid[0]);
	snprintf(want, sizeof(want), "\"op\":\"revoke\",\"volume\":\"%s\",\"device\":\"vol0\",\"cmk\":\"%s\"",
		 f->uuid[0], f->cmk[0]);
	assert_has(audit_text(f), want);
	assert_has(audit_text(f), "\"detail\":\"envcryptctl revoke\",\"result\":\"ok\"");
}

static void test_revoke_error_mode_resumes_without_key(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result res;
	struct fake_dev *d = &fake.dev[0];

	open_volume(f, 0, true);
	assert_int_equal(ec_volume_revoke("vol0", "test", &res), 0);
	assert_false(d->key);
	assert_false(d->suspended);
	assert_int_equal(fake.suspends, 1);
	assert_int_equal(fake.resumes, 1);
	assert_int_equal(res.mode, EC_ON_REVOKE_ERROR);
	assert_false(res.suspended);
}

static void test_revoke_twice_does_nothing_the_second_time(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result res;

	open_volume(f, 0, false);
	assert_int_equal(run(f, "revoke", "vol0", NULL), 0);
	assert_int_equal(fake.messages, 1);
	assert_int_equal(run(f, "revoke", "vol0", NULL), 0);
	assert_int_equal(fake.messages, 1);
	assert_int_equal(fake.suspends, 1);
	assert_int_equal(fake.resumes, 0);
	assert_has(f->out, "vol0: already revoked: the kernel holds no data key of volume ");
	assert_has(f->out, "; the device stays suspended and I/O waits (on_key_wipe:queue) until 'envcryptctl open --refresh vol0'\n");
	assert_int_equal(ec_volume_revoke("vol0", NULL, &res), 0);
	assert_true(res.already);
}

static void test_status_shows_the_revoke_mode_and_state(void **state)
{
	struct fixture *f = *state;

	open_volume(f, 0, true);
	assert_int_equal(run(f, "status", "vol0", NULL), 0);
	assert_has(f->out, "\non revoke:    error (I/O fails with EIO)\n");
	assert_has(f->out, "\nkey:          loaded, kcv ");
	assert_int_equal(run(f, "revoke", "vol0", NULL), 0);
	assert_int_equal(run(f, "status", "vol0", NULL), 0);
	assert_has(f->out, "\nkey:          none (revoked: 'envcryptctl open --refresh vol0' loads it again)\n");
	fake.dev[0].error_mode = false;
	assert_int_equal(run(f, "status", "vol0", NULL), 0);
	assert_has(f->out, "\non revoke:    queue (I/O waits)\n");
}

static void test_revoke_finishes_an_interrupted_error_revoke(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result res;

	open_volume(f, 0, true);
	/* wiped, but the resume never came */
	fake.dev[0].suspended = true;
	fake.dev[0].key = false;
	assert_int_equal(ec_volume_revoke("vol0", NULL, &res), 0);
	assert_true(res.already);
	assert_false(fake.dev[0].suspended);
	assert_int_equal(fake.messages, 0);
}

static void test_revoke_prints_what_io_does(void **state)
{
	struct fixture *f = *state;
	char want[512];

	open_volume(f, 0, true);
	assert_int_equal(run(f, "revoke", "vol0", NULL), 0);
	snprintf(want, sizeof(want), "vol0: revoked: the kernel holds no data key of volume %s; every I/O fails with EIO (on_key_wipe:error) until 'envcryptctl open --refresh vol0'\n",
		 f->uuid[0]);
	assert_string_equal(f->out, want);
	assert_string_equal(f->err, "");
}

static void test_revoke_refuses_what_is_not_an_envcrypt_volume(void **state)
{
	struct fixture *f = *state;

	open_volume(f, 0, false);
	assert_int_equal(run(f, "revoke", "nope", NULL), EC_EXIT_NOT_FOUND);
	assert_string_equal(f->err, "envcryptctl: no open envcrypt volume 'nope'; see 'envcryptctl list'\n");
	/* another target's device */
	snprintf(fake.dev[1].name, sizeof(fake.dev[1].name), "crypt");
	snprintf(fake.dev[1].dm_uuid, sizeof(fake.dev[1].dm_uuid),
		 "CRYPT-LUKS2-x");
	fake.dev[1].exists = true;
	assert_int_equal(run(f, "revoke", "crypt", NULL), EC_EXIT_NOT_FOUND);
	assert_string_equal(f->err, "envcryptctl: no open envcrypt volume 'crypt'; see 'envcryptctl list'\n");
	assert_int_equal(fake.suspends, 0);
	assert_int_equal(fake.messages, 0);
	assert_int_equal(run(f, "revoke", NULL), EC_EXIT_USAGE);
}

static void test_revoke_failed_wipe_resumes_with_key(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result res;

	open_volume(f, 0, false);
	fake.wipe_result = -EIO;
	assert_int_equal(ec_volume_revoke("vol0", NULL, &res), -EIO);
	assert_string_equal(ec_err_msg(), "vol0: the kernel did not wipe the data key (device-mapper message of 'vol0' failed: Input/output error); see dmesg");
	assert_true(fake.dev[0].key);
	assert_false(fake.dev[0].suspended);
	assert_int_equal(fake.resumes, 1);
	assert_has(audit_text(f), "\"op\":\"revoke\"");
	assert_has(audit_text(f), "\"result\":\"error\",\"error\":\"EIO\"");
}

/* ---- refresh ------------------------------------------------------- */

static void test_refresh_loads_the_key_and_resumes(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result rres;
	struct fake_dev *d = &fake.dev[0];
	char want[512];

	open_volume(f, 0, false);
	assert_int_equal(ec_volume_revoke("vol0", NULL, &rres), 0);
	set_cmk(f, f->cmk[0], false);
	set_cmk(f, f->cmk[0], true);
	assert_int_equal(run(f, "open", "--refresh", "vol0", NULL), 0);
	snprintf(want, sizeof(want), "vol0: refreshed: the data key of volume %s unwrapped through wrap slot 0 of %s, matches the header and the kernel's key check value; the device is resumed\n",
		 f->uuid[0], f->image[0]);
	assert_string_equal(f->out, want);
	assert_true(d->key);
	assert_false(d->suspended);
	assert_memory_equal(d->kcv, f->hdr[0].kcv, 3);
	/* through the keyring, under the table's description, then gone */
	snprintf(want, sizeof(want), "key set :64:logon:envcrypt:%s",
		 f->uuid[0]);
	assert_string_equal(fake.last_msg, want);
	assert_false(fake_kernel.key_present);
	assert_int_equal(fake_kernel.dropped, 4242);
	snprintf(want, sizeof(want), "\"op\":\"refresh\",\"volume\":\"%s\",\"device\":\"vol0\",\"cmk\":\"%s\"",
		 f->uuid[0], f->cmk[0]);
	assert_has(audit_text(f), want);
	assert_has(audit_text(f), "\"detail\":\"wrap slot 0\",\"result\":\"ok\"");
}

static void test_refresh_error_mode_suspends_first(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result rres;
	struct ec_refresh_result res;

	open_volume(f, 0, true);
	assert_int_equal(ec_volume_revoke("vol0", NULL, &rres), 0);
	assert_false(fake.dev[0].suspended);
	assert_int_equal(ec_volume_refresh("vol0", &res), 0);
	assert_int_equal(fake.suspends, 2);
	assert_int_equal(fake.resumes, 2);
	assert_true(fake.dev[0].key);
	assert_false(fake.dev[0].suspended);
	assert_int_equal(res.mode, EC_ON_REVOKE_ERROR);
	assert_int_equal(res.slot, 0);
}

static void test_refresh_refuses_a_volume_not_revoked(void **state)
{
	struct fixture *f = *state;
	char want[512];

	open_volume(f, 0, false);
	assert_int_equal(run(f, "open", "--refresh", "vol0", NULL),
			 EC_EXIT_USAGE);
	snprintf(want, sizeof(want), "envcryptctl: 'vol0' is not revoked: the kernel holds the data key of volume %s; nothing to refresh\n",
		 f->uuid[0]);
	assert_string_equal(f->err, want);
	assert_int_equal(fake.messages + fake.suspends + fake.resumes, 0);
	assert_int_equal(run(f, "open", "--refresh", "nope", NULL),
			 EC_EXIT_NOT_FOUND);
	assert_string_equal(f->err, "envcryptctl: no open envcrypt volume 'nope'; see 'envcryptctl list'\n");
}

static void test_refresh_usage(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "open", "--refresh", "/dev/vdb", "vol0", NULL),
			 EC_EXIT_USAGE);
	assert_string_equal(f->err, "envcryptctl: open --refresh takes the NAME of an open volume only, not '/dev/vdb vol0'\n");
	assert_int_equal(run(f, "open", "--refresh", "vol0", "--on-revoke",
			     "error", NULL), EC_EXIT_USAGE);
	assert_string_equal(f->err, "envcryptctl: open --refresh: --readonly, --verify-only and --on-revoke do not apply; 'vol0' stays as it was opened\n");
}

static void test_refresh_refused_while_cmk_disabled(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result rres;

	open_volume(f, 0, false);
	assert_int_equal(ec_volume_revoke("vol0", NULL, &rres), 0);
	set_cmk(f, f->cmk[0], false);
	assert_int_equal(run(f, "open", "--refresh", "vol0", NULL),
			 EC_EXIT_KEY_UNUSABLE);
	assert_has(f->err, "envcryptctl: ");
	assert_has(f->err, f->image[0]);
	assert_has(f->err, "(alias/cmk0) is Disabled in local KMS");
	assert_has(f->err, "enable it to open this volume\n");
	/* nothing reached the kernel: still revoked and suspended */
	assert_false(fake.dev[0].key);
	assert_true(fake.dev[0].suspended);
	assert_int_equal(fake.messages, 1);
	assert_false(fake_kernel.key_present);
	assert_has(audit_text(f), "\"op\":\"refresh\"");
	assert_has(audit_text(f), "\"error\":\"EKEYREVOKED\"");
}

static void test_refresh_refuses_a_key_the_header_does_not_match(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result rres;
	struct ec_refresh_result res;
	struct ec_header hdr;
	int fd;

	open_volume(f, 0, false);
	assert_int_equal(ec_volume_revoke("vol0", NULL, &rres), 0);
	fd = open(f->image[0], O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ec_header_read(fd, &hdr, NULL), 0);
	hdr.kcv[0] ^= 1;
	assert_int_equal(ec_header_write(fd, &hdr), 0);
	close(fd);
	assert_int_equal(ec_volume_refresh("vol0", &res), -EBADMSG);
	assert_has(ec_err_msg(), "the unwrapped data key does not match the header's key check value");
	assert_false(fake.dev[0].key);
	assert_true(fake.dev[0].suspended);
	assert_int_equal(fake.messages, 1);
}

static void test_refresh_refuses_a_kernel_kcv_that_differs(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result rres;
	struct ec_refresh_result res;
	char want[512], kcv[8];

	open_volume(f, 0, true);
	assert_int_equal(ec_volume_revoke("vol0", NULL, &rres), 0);
	fake.kcv_corrupt = true;
	assert_int_equal(ec_volume_refresh("vol0", &res), -EBADMSG);
	snprintf(kcv, sizeof(kcv), "%02x%02x%02x", f->hdr[0].kcv[0] ^ 1,
		 f->hdr[0].kcv[1], f->hdr[0].kcv[2]);
	snprintf(want, sizeof(want), "vol0: the kernel's key check value '%s' differs from the header's '%02x%02x%02x' after key set; the key was wiped again and the volume stays revoked",
		 kcv, f->hdr[0].kcv[0], f->hdr[0].kcv[1], f->hdr[0].kcv[2]);
	assert_string_equal(ec_err_msg(), want);
	/* wiped again, and back to running keyless (error mode) */
	assert_string_equal(fake.last_msg, "key wipe");
	assert_false(fake.dev[0].key);
	assert_false(fake.dev[0].suspended);
	assert_false(fake_kernel.key_present);
}

static void test_refresh_refuses_a_header_of_another_volume(void **state)
{
	struct fixture *f = *state;
	struct ec_format_params p = { .kms_uri = f->kms };
	struct ec_revoke_result rres;
	struct ec_refresh_result res;
	struct ec_header hdr;

	open_volume(f, 0, false);
	assert_int_equal(ec_volume_revoke("vol0", NULL, &rres), 0);
	/* the device under it was formatted again while revoked */
	assert_int_equal(ec_volume_format(f->image[0], &p, &hdr), 0);
	assert_int_equal(ec_volume_refresh("vol0", &res), -EUCLEAN);
	assert_has(ec_err_msg(), ": the header belongs to volume ");
	assert_has(ec_err_msg(), "not to 'vol0' (volume ");
	assert_false(fake.dev[0].key);
	assert_int_equal(fake.messages, 1);
}

/* ---- watch --------------------------------------------------------- */

static void test_watch_revokes_only_volumes_whose_cmk_is_unusable(void **state)
{
	struct fixture *f = *state;
	char want[1024];

	open_volume(f, 0, false);
	open_volume(f, 1, true);
	open_volume(f, 2, false);
	set_cmk(f, f->cmk[1], false);
	assert_int_equal(run(f, "watch", "--once", NULL), 0);
	assert_true(fake.dev[0].key);
	assert_false(fake.dev[1].key);
	assert_false(fake.dev[1].suspended);
	assert_true(fake.dev[2].key);
	snprintf(want, sizeof(want), "envcryptctl: watch: vol1: volume %s: CMK %s is Disabled in %s: revoked; every I/O fails with EIO (on_key_wipe:error) until 'envcryptctl open --refresh vol1'\n",
		 f->uuid[1], f->cmk[1], f->kms);
	assert_string_equal(f->err, want);
	snprintf(want, sizeof(want), "vol0: volume %s: CMK %s is Enabled: kept open\n",
		 f->uuid[0], f->cmk[0]);
	assert_has(f->out, want);
	snprintf(want, sizeof(want), "\"op\":\"watch-revoke\",\"volume\":\"%s\",\"device\":\"vol1\",\"cmk\":\"%s\",\"kms\":\"%s\",\"detail\":\"CMK %s is Disabled in %s\",\"result\":\"ok\"",
		 f->uuid[1], f->cmk[1], f->kms, f->cmk[1], f->kms);
	assert_has(audit_text(f), want);
	assert_lacks(audit_text(f), "\"device\":\"vol0\"");

	/* revoked volumes are not checked again */
	assert_int_equal(run(f, "watch", "--once", NULL), 0);
	assert_string_equal(f->err, "");
	assert_has(f->out, "vol1: volume ");
	assert_has(f->out, ": the kernel holds no data key: already revoked\n");
	assert_int_equal(fake.messages, 1);
}

/* PendingDeletion revokes; a CMK the KMS does not know is not revoked */
static void test_watch_revokes_pending_deletion_not_unknown_cmks(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info info;
	struct ec_kms *kms;
	unsigned int revoked, failed;
	int fd;

	open_volume(f, 0, false);
	open_volume(f, 1, false);
	assert_int_equal(ec_kms_open(f->kms, &kms), 0);
	assert_int_equal(ec_kms_schedule_deletion(kms, f->cmk[0], 7, &info),
			 0);
	ec_kms_close(kms);
	/* volume 1's slot names a CMK the KMS does not have */
	fd = open(f->image[1], O_RDWR);
	assert_int_equal(ec_header_read(fd, &f->hdr[1], NULL), 0);
	snprintf(f->hdr[1].slots[0].cmk_id, sizeof(f->hdr[1].slots[0].cmk_id),
		 "no-such-key");
	assert_int_equal(ec_header_write(fd, &f->hdr[1]), 0);
	close(fd);
	capture_begin();
	assert_int_equal(cmd_watch(&(struct cli_opts){ .once = true }, 0,
				   NULL), 0);
	capture_end(&f->out, &f->err);
	assert_has(f->err, "is PendingDeletion in ");
	assert_has(f->err, "vol1: volume ");
	assert_has(f->err, ": not checked: CMK no-such-key not found in local KMS ");
	assert_has(f->err, "; not revoked\n");
	assert_false(fake.dev[0].key);
	assert_true(fake.dev[1].key);
	assert_int_equal(ec_volume_watch_once(ignore_event, NULL,
					      &revoked, &failed), 0);
	assert_int_equal(revoked, 0);
	assert_int_equal(failed, 0);
}

static void test_watch_keeps_volumes_it_cannot_check(void **state)
{
	struct fixture *f = *state;
	char want[1024];

	open_volume(f, 0, false);
	set_cmk(f, f->cmk[0], false);
	snprintf(fake.describe_fail_id, sizeof(fake.describe_fail_id), "%s",
		 f->cmk[0]);
	fake.describe_fail = -ECONNREFUSED;
	assert_int_equal(run(f, "watch", "--once", NULL), 0);
	snprintf(want, sizeof(want), "envcryptctl: watch: vol0: volume %s: not checked: KMS at %s: connection refused; not revoked\n",
		 f->uuid[0], f->kms);
	assert_string_equal(f->err, want);
	assert_true(fake.dev[0].key);
	assert_int_equal(fake.suspends, 0);
	/* access denied is no reason either */
	fake.describe_fail = -EKEYREJECTED;
	assert_int_equal(run(f, "watch", "--once", NULL), 0);
	assert_true(fake.dev[0].key);
	assert_lacks(audit_text(f), "watch-revoke");
}

static void test_watch_keeps_a_volume_with_one_usable_slot(void **state)
{
	struct fixture *f = *state;
	unsigned int revoked, failed;
	int fd;

	open_volume(f, 0, false);
	make_cmk(f, "other", f->cmk[1]);
	/* slot 1 under another CMK (only described, never unwrapped) */
	fd = open(f->image[0], O_RDWR);
	assert_int_equal(ec_header_read(fd, &f->hdr[0], NULL), 0);
	f->hdr[0].slots[1] = f->hdr[0].slots[0];
	snprintf(f->hdr[0].slots[1].cmk_id, sizeof(f->hdr[0].slots[1].cmk_id),
		 "%s", f->cmk[1]);
	assert_int_equal(ec_header_write(fd, &f->hdr[0]), 0);
	close(fd);
	set_cmk(f, f->cmk[0], false);
	capture_begin();
	assert_int_equal(ec_volume_watch_once(ignore_event, NULL,
					      &revoked, &failed), 0);
	capture_end(&f->out, &f->err);
	assert_int_equal(revoked, 0);
	assert_true(fake.dev[0].key);
	/* both unusable: revoked, the first slot's CMK named */
	set_cmk(f, f->cmk[1], false);
	assert_int_equal(run(f, "watch", "--once", NULL), 0);
	assert_false(fake.dev[0].key);
	assert_has(f->err, f->cmk[0]);
}

static void test_watch_reports_a_failed_revoke(void **state)
{
	struct fixture *f = *state;

	open_volume(f, 0, false);
	set_cmk(f, f->cmk[0], false);
	fake.wipe_result = -EIO;
	assert_int_equal(run(f, "watch", "--once", NULL), EC_EXIT_FAILED);
	assert_has(f->err, "is Disabled in ");
	assert_has(f->err, "; revoke failed: vol0: the kernel did not wipe the data key");
	assert_true(fake.dev[0].key);
	assert_has(audit_text(f), "\"op\":\"watch-revoke\"");
	assert_has(audit_text(f), "\"result\":\"error\"");
}

static void test_watch_interval_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "watch", "--interval", "0", NULL),
			 EC_EXIT_USAGE);
	assert_string_equal(f->err, "envcryptctl: watch: --interval 0 is out of range; use 1 to 86400 seconds\n");
	assert_int_equal(run(f, "watch", "--interval", "86401", NULL),
			 EC_EXIT_USAGE);
	assert_string_equal(f->err, "envcryptctl: watch: --interval 86401 is out of range; use 1 to 86400 seconds\n");
	assert_int_equal(run(f, "watch", "--interval", "x", NULL),
			 EC_EXIT_USAGE);
	assert_has(f->err, "'x' is not a number");
}

/* A signal during suspend ... resume is only taken after the resume. */
static void note_signal(int sig)
{
	(void)sig;
	resumes_at_signal = fake.resumes;
}

static void test_signals_wait_for_the_resume(void **state)
{
	struct fixture *f = *state;
	struct sigaction sa = { .sa_handler = note_signal }, old_int, old_term;
	struct ec_revoke_result rres;
	struct ec_refresh_result res;

	assert_int_equal(sigaction(SIGINT, &sa, &old_int), 0);
	assert_int_equal(sigaction(SIGTERM, &sa, &old_term), 0);
	open_volume(f, 0, true);
	resumes_at_signal = -1;
	suspend_raises = SIGINT;
	assert_int_equal(ec_volume_revoke("vol0", NULL, &rres), 0);
	assert_int_equal(resumes_at_signal, 1);
	resumes_at_signal = -1;
	suspend_raises = SIGTERM;
	assert_int_equal(ec_volume_refresh("vol0", &res), 0);
	suspend_raises = 0;
	assert_int_equal(resumes_at_signal, 2);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
}

/* A wrong key that cannot be wiped again is never resumed. */
static void test_refresh_keeps_a_wrong_key_suspended(void **state)
{
	struct fixture *f = *state;
	struct ec_revoke_result rres;
	struct ec_refresh_result res;
	char want[512], kcv[8];

	open_volume(f, 0, true);
	assert_int_equal(ec_volume_revoke("vol0", NULL, &rres), 0);
	fake.kcv_corrupt = true;
	fake.wipe_result = -EIO;
	assert_int_equal(ec_volume_refresh("vol0", &res), -EBADMSG);
	snprintf(kcv, sizeof(kcv), "%02x%02x%02x", f->hdr[0].kcv[0] ^ 1,
		 f->hdr[0].kcv[1], f->hdr[0].kcv[2]);
	snprintf(want, sizeof(want), "vol0: the kernel's key check value '%s' differs from the header's '%02x%02x%02x' after key set; wiping the key again failed too (device-mapper message of 'vol0' failed: Input/output error), so the device stays suspended: close the volume",
		 kcv, f->hdr[0].kcv[0], f->hdr[0].kcv[1], f->hdr[0].kcv[2]);
	assert_string_equal(ec_err_msg(), want);
	assert_true(fake.dev[0].suspended);
	assert_int_equal(fake.resumes, 1);	/* the revoke's only */
	assert_false(fake_kernel.key_present);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_open_on_revoke_error_is_in_the_table),
		T(test_open_on_revoke_refuses_other_words),
		T(test_revoke_queue_leaves_it_suspended),
		T(test_revoke_error_mode_resumes_without_key),
		T(test_revoke_twice_does_nothing_the_second_time),
		T(test_status_shows_the_revoke_mode_and_state),
		T(test_revoke_finishes_an_interrupted_error_revoke),
		T(test_revoke_prints_what_io_does),
		T(test_revoke_refuses_what_is_not_an_envcrypt_volume),
		T(test_revoke_failed_wipe_resumes_with_key),
		T(test_refresh_loads_the_key_and_resumes),
		T(test_refresh_error_mode_suspends_first),
		T(test_refresh_refuses_a_volume_not_revoked),
		T(test_refresh_usage),
		T(test_refresh_refused_while_cmk_disabled),
		T(test_refresh_refuses_a_key_the_header_does_not_match),
		T(test_refresh_refuses_a_kernel_kcv_that_differs),
		T(test_refresh_refuses_a_header_of_another_volume),
		T(test_signals_wait_for_the_resume),
		T(test_refresh_keeps_a_wrong_key_suspended),
		T(test_watch_revokes_only_volumes_whose_cmk_is_unusable),
		T(test_watch_revokes_pending_deletion_not_unknown_cmks),
		T(test_watch_keeps_volumes_it_cannot_check),
		T(test_watch_keeps_a_volume_with_one_usable_slot),
		T(test_watch_reports_a_failed_revoke),
		T(test_watch_interval_range),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
