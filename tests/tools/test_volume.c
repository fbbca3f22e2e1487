// SPDX-License-Identifier: GPL-2.0
/*
 * Volumes: format and open on image files with a local keystore, with the
 * kernel side (loop device, module, keyring, device-mapper) faked through
 * -Wl,--wrap, so that every step's failure can be forced and what open
 * hands to the kernel can be checked byte for byte.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <keyutils.h>

#include "blockdev.h"
#include "dm.h"
#include "error.h"
#include "fake-kernel.h"
#include "keyring.h"
#include "kms.h"
#include "tools-util.h"
#include "volume.h"

/* What the fakes saw, and what they should do. */
static struct {
	int dm_create_result;
	int rand_fails;
	char dm_name[64], dm_uuid[128], params[512];
	uint64_t sectors;
	bool readonly;
	int creates;
} fake;

int __wrap_ec_dm_create(const char *name, const char *dm_uuid,
			uint64_t sectors, const char *params, bool readonly);
int __wrap_ec_dm_create(const char *name, const char *dm_uuid,
			uint64_t sectors, const char *params, bool readonly)
{
	fake.creates++;
	/* the key is in the keyring exactly while the table is made */
	assert_int_equal(fake_kernel.added, 4242);
	assert_int_equal(fake_kernel.dropped, 0);
	snprintf(fake.dm_name, sizeof(fake.dm_name), "%s", name);
	snprintf(fake.dm_uuid, sizeof(fake.dm_uuid), "%s", dm_uuid);
	snprintf(fake.params, sizeof(fake.params), "%s", params);
	fake.sectors = sectors;
	fake.readonly = readonly;
	if (fake.dm_create_result)
		return ec_err_set(fake.dm_create_result,
				  "device-mapper create of '%s' failed: Invalid argument",
				  name);
	return 0;
}

int __real_RAND_priv_bytes(unsigned char *buf, int num);
int __wrap_RAND_priv_bytes(unsigned char *buf, int num);
int __wrap_RAND_priv_bytes(unsigned char *buf, int num)
{
	if (fake.rand_fails)
		return 0;
	return __real_RAND_priv_bytes(buf, num);
}

struct fixture {
	char *dir;
	char *kms;
	char *image;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	memset(&fake, 0, sizeof(fake));
	memset(&fake_kernel, 0, sizeof(fake_kernel));
	fake_kernel.loop_minor = 7;
	f->dir = scratch_dir();
	assert_true(asprintf(&f->kms, "local:%s/kms", f->dir) > 0);
	f->image = path_in(f->dir, "disk.img");
	make_file(f->image, 9 << 20);
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
	free(f);
	return 0;
}

static void format(struct fixture *f, const char *cipher, uint32_t ss,
		   struct ec_header *hdr)
{
	struct ec_format_params p = {
		.kms_uri = f->kms,
		.cipher = cipher,
		.sector_size = ss,
	};

	assert_int_equal(ec_volume_format(f->image, &p, hdr), 0);
}

static void expect_table(struct fixture *f, const struct ec_header *hdr,
			 const char *suffix)
{
	char uuid[37], want[512];
	uint8_t kcv[EC_HDR_KCV_SIZE];
	size_t ks = ec_cipher_key_size(hdr->cipher);

	(void)f;
	ec_uuid_format(hdr->uuid, uuid);
	snprintf(want, sizeof(want), "%s :%zu:logon:envcrypt:%s 0 7:7 2048%s",
		 hdr->cipher, ks, uuid, suffix);
	assert_string_equal(fake.params, want);
	snprintf(want, sizeof(want), "ENVCRYPT-%s", uuid);
	assert_string_equal(fake.dm_uuid, want);
	snprintf(want, sizeof(want), "envcrypt:%s", uuid);
	assert_string_equal(fake_kernel.key_desc, want);
	/* the key handed to the kernel is the data key of the header */
	assert_int_equal(fake_kernel.key_len, ks);
	ec_kcv(fake_kernel.key, fake_kernel.key_len, kcv);
	assert_memory_equal(kcv, hdr->kcv, sizeof(kcv));
	assert_int_equal(fake_kernel.dropped, 4242);
}

static void test_open_hands_the_data_key_to_the_table(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { 0 };
	struct ec_open_result res;
	struct ec_header hdr;

	format(f, NULL, 0, &hdr);
	assert_int_equal(ec_volume_open(f->image, "vol", &p, &res), 0);
	assert_string_equal(fake.dm_name, "vol");
	/* 9 MiB file, 1 MiB header */
	assert_int_equal(fake.sectors, 8 * 2048);
	assert_false(fake.readonly);
	expect_table(f, &hdr, "");
	assert_int_equal(res.slot, 0);
	assert_false(res.repaired);
}

static void test_open_sm4_4096_table_and_readonly(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { .readonly = true };
	struct ec_open_result res;
	struct ec_header hdr;

	format(f, "sm4-xts-plain64", 4096, &hdr);
	assert_int_equal(ec_volume_open(f->image, "vol", &p, &res), 0);
	assert_true(fake.readonly);
	expect_table(f, &hdr, " 1 sector_size:4096");
}

static void test_open_drops_key_when_dm_create_fails(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { 0 };
	struct ec_open_result res;
	struct ec_header hdr;
	char want[512];

	format(f, NULL, 0, &hdr);
	fake.dm_create_result = -EINVAL;
	assert_int_equal(ec_volume_open(f->image, "vol", &p, &res), -EINVAL);
	assert_int_equal(fake_kernel.dropped, 4242);
	snprintf(want, sizeof(want), "%s: device-mapper create of 'vol' failed: Invalid argument",
		 f->image);
	assert_string_equal(ec_err_msg(), want);
}

static void test_open_stops_when_keyring_refuses(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { 0 };
	struct ec_open_result res;
	struct ec_header hdr;

	format(f, NULL, 0, &hdr);
	fake_kernel.add_key_errno = EDQUOT;
	assert_int_equal(ec_volume_open(f->image, "vol", &p, &res), -EDQUOT);
	assert_int_equal(fake.creates, 0);
	assert_non_null(strstr(ec_err_msg(),
			       "cannot add the data key to the kernel keyring"));
}

static void test_verify_only_creates_nothing(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { .verify_only = true };
	struct ec_open_result res;
	struct ec_header hdr;

	format(f, NULL, 0, &hdr);
	assert_int_equal(ec_volume_open(f->image, NULL, &p, &res), 0);
	assert_int_equal(fake.creates, 0);
	assert_int_equal(fake_kernel.added, 0);
}

static void test_invalid_names_are_refused(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { 0 };
	struct ec_open_result res;
	struct ec_header hdr;

	format(f, NULL, 0, &hdr);
	assert_int_equal(ec_volume_open(f->image, "a/b", &p, &res), -EINVAL);
	assert_string_equal(ec_err_msg(),
		"'a/b' is not a valid volume name: use up to 127 characters, no '/'");
	assert_int_equal(ec_volume_open(f->image, "", &p, &res), -EINVAL);
	assert_int_equal(fake.creates, 0);
}

static void test_format_writes_nothing_when_rng_fails(void **state)
{
	struct fixture *f = *state;
	struct ec_format_params p = { .kms_uri = f->kms };
	struct ec_header hdr;
	uint8_t buf[65536], zero[65536] = { 0 };
	int fd;

	/* the keystore and its service key first, with a working RNG */
	assert_int_equal(ec_volume_format(f->image, &p, &hdr), 0);
	make_file(f->image, 9 << 20);
	fake.rand_fails = 1;
	assert_true(ec_volume_format(f->image, &p, &hdr) < 0);
	fd = open(f->image, O_RDONLY);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	close(fd);
	assert_memory_equal(buf, zero, sizeof(buf));
}

static void test_open_uses_next_slot_when_first_cmk_disabled(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { .verify_only = true };
	struct ec_open_result res;
	struct ec_header hdr;
	struct ec_key_info first, second;
	struct ec_kms *kms;
	char from[512], to[512];
	int fd;

	assert_int_equal(ec_kms_open(f->kms, &kms), 0);
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_AES_256, "first",
					   &first), 0);
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_SM4, "second",
					   &second), 0);
	{
		struct ec_format_params fp = { .kms_uri = f->kms,
					       .cmk = "alias/first" };

		assert_int_equal(ec_volume_format(f->image, &fp, &hdr), 0);
	}
	/* slot 1: the same data key under the second CMK */
	hdr.slots[1] = hdr.slots[0];
	snprintf(hdr.slots[1].cmk_id, sizeof(hdr.slots[1].cmk_id), "%s",
		 second.id);
	snprintf(hdr.slots[1].cmk_alias, sizeof(hdr.slots[1].cmk_alias),
		 "%s", second.alias);
	assert_true(ec_header_context(&hdr, &hdr.slots[0], from,
				      sizeof(from)) > 0);
	assert_true(ec_header_context(&hdr, &hdr.slots[1], to,
				      sizeof(to)) > 0);
	assert_int_equal(ec_kms_rewrap(kms, first.id, &hdr.slots[0].wrapped,
				       from, kms, second.id, to, 64,
				       &hdr.slots[1].wrapped), 0);
	hdr.slots[1].cmk_version = hdr.slots[1].wrapped.cmk_version;
	fd = open(f->image, O_RDWR);
	assert_int_equal(ec_header_write(fd, &hdr), 0);
	close(fd);

	assert_int_equal(ec_kms_disable_key(kms, "alias/first", &first), 0);
	assert_int_equal(ec_volume_open(f->image, NULL, &p, &res), 0);
	assert_int_equal(res.slot, 1);
	/* both disabled: the first slot's error */
	assert_int_equal(ec_kms_disable_key(kms, "alias/second", &second), 0);
	assert_int_equal(ec_volume_open(f->image, NULL, &p, &res),
			 -EKEYREVOKED);
	assert_non_null(strstr(ec_err_msg(), first.id));
	ec_kms_close(kms);
}

/*
 * A forged copy 0 that wins on its sequence number (valid checksum, edited
 * cipher) is refused, and the good copy 1 is not "repaired" from it.
 */
static void test_forged_copy_never_overwrites_the_good_one(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { .verify_only = true };
	struct ec_open_result res;
	struct ec_header hdr, forged, copy1;
	uint8_t buf[EC_HDR_COPY_SIZE];
	int fd;

	format(f, NULL, 0, &hdr);
	forged = hdr;
	forged.seq = hdr.seq + 1;
	snprintf(forged.cipher, sizeof(forged.cipher), "sm4-xts-plain64");
	assert_int_equal(ec_header_encode(&forged, 0, buf), 0);
	fd = open(f->image, O_RDWR);
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf));
	close(fd);

	assert_int_equal(ec_volume_open(f->image, NULL, &p, &res), -EBADMSG);
	assert_false(res.repaired);
	fd = open(f->image, O_RDONLY);
	assert_int_equal(pread(fd, buf, sizeof(buf), EC_HDR_COPY_SIZE),
			 sizeof(buf));
	close(fd);
	assert_int_equal(ec_header_decode(buf, 1, &copy1), 0);
	assert_int_equal(copy1.seq, hdr.seq);
	assert_string_equal(copy1.cipher, "aes-xts-plain64");
}

/* A damaged copy is repaired once the key has checked out. */
static void test_damaged_copy_is_repaired_after_the_key_checks(void **state)
{
	struct fixture *f = *state;
	struct ec_open_params p = { .verify_only = true };
	struct ec_open_result res;
	struct ec_header hdr;
	struct ec_header_load load;
	int fd;

	format(f, NULL, 0, &hdr);
	fd = open(f->image, O_RDWR);
	assert_int_equal(pwrite(fd, "junk", 4, EC_HDR_COPY_SIZE + 100), 4);
	assert_int_equal(ec_header_read(fd, &hdr, &load), 0);
	assert_int_equal(load.copy[1], EC_COPY_DAMAGED);
	p.readonly = true;
	assert_int_equal(ec_volume_open(f->image, NULL, &p, &res), 0);
	assert_false(res.repaired);
	p.readonly = false;
	assert_int_equal(ec_volume_open(f->image, NULL, &p, &res), 0);
	assert_true(res.repaired);
	assert_int_equal(ec_header_read(fd, &hdr, &load), 0);
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_OK);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_open_hands_the_data_key_to_the_table),
		T(test_open_sm4_4096_table_and_readonly),
		T(test_open_drops_key_when_dm_create_fails),
		T(test_open_stops_when_keyring_refuses),
		T(test_verify_only_creates_nothing),
		T(test_invalid_names_are_refused),
		T(test_format_writes_nothing_when_rng_fails),
		T(test_open_uses_next_slot_when_first_cmk_disabled),
		T(test_forged_copy_never_overwrites_the_good_one),
		T(test_damaged_copy_is_repaired_after_the_key_checks),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
