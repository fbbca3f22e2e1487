// SPDX-License-Identifier: GPL-2.0
/*
 * convert's resume (tools/lib/image.c): a write failure injected into
 * the data path through -Wl,--wrap=pwrite stops a convert; the
 * destination then holds no header (it does not open as a volume) but a
 * resume record; the same convert again resumes at the checked
 * watermark, and the result decrypts to the source.  Another source is
 * refused on that destination.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/rand.h>

#include "bulk.h"
#include "dm-envcrypt.h"
#include "error.h"
#include "header.h"
#include "image.h"
#include "kms.h"
#include "secmem.h"
#include "tools-util.h"
#include "volume.h"
#include "xts.h"

#define SRC_SIZE	(5 * EC_BULK_CHUNK + 4096)

static off_t fail_at = -1;	/* pwrite at this offset fails once */

ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (off == fail_at) {
		fail_at = -1;
		errno = EIO;
		return -1;
	}
	return __real_pwrite(fd, buf, n, off);
}

static char *dir;

static int setup(void **state)
{
	struct ec_key_info info;
	struct ec_kms *kms;
	char *kdir;

	*state = dir = scratch_dir();
	kdir = path_in(dir, "kms");
	setenv("ENVCRYPT_KMS_DIR", kdir, 1);
	setenv("ENVCRYPT_AUDIT_LOG", "off", 1);
	setenv("ENVCRYPT_REGISTRY", "off", 1);
	setenv("ENVCRYPT_POLICY", "/nonexistent/policy.conf", 1);
	free(kdir);
	assert_int_equal(ec_kms_open(NULL, &kms), 0);
	assert_int_equal(ec_kms_create_key(kms, EC_SPEC_AES_256, "img",
					   &info), 0);
	ec_kms_close(kms);
	return 0;
}

static uint8_t *random_file(const char *path, size_t size)
{
	uint8_t *data = malloc(size);
	int fd;

	assert_non_null(data);
	assert_int_equal(RAND_bytes(data, (int)size), 1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, size), (ssize_t)size);
	close(fd);
	return data;
}

/* The volume at @path decrypts to @want. */
static void check_plaintext(const char *path, const uint8_t *want,
			    size_t size)
{
	uint8_t *dk = ec_secure_alloc(ENVCRYPT_MAX_KEY_SIZE);
	uint8_t *buf = malloc(SRC_SIZE);
	struct ec_header hdr;
	struct ec_xts *x;
	int fd = open(path, O_RDONLY), slot;

	assert_true(fd >= 0);
	assert_non_null(buf);
	assert_int_equal(ec_header_read(fd, &hdr, NULL), 0);
	assert_int_equal(ec_volume_unwrap(path, &hdr, dk, 64, &slot), 0);
	assert_int_equal(pread(fd, buf, SRC_SIZE, hdr.data_offset), SRC_SIZE);
	assert_int_equal(ec_xts_new(hdr.cipher, dk, 64, hdr.sector_size, &x),
			 0);
	assert_int_equal(ec_xts_crypt(x, false, buf, buf, SRC_SIZE, 0), 0);
	assert_memory_equal(buf, want, size);
	ec_xts_free(x);
	ec_secure_free(dk);
	free(buf);
	close(fd);
}

static void test_convert_resumes(void **state)
{
	struct ec_image_params p = { .fmt = { .cmk = "alias/img" } };
	struct ec_image_result res;
	char *src = path_in(dir, "src"), *other = path_in(dir, "other");
	char *dst = path_in(dir, "dst"), want[256];
	struct ec_header hdr;
	uint8_t *data = random_file(src, SRC_SIZE);
	int fd;

	(void)state;
	free(random_file(other, SRC_SIZE));
	/* the third chunk's write fails */
	fail_at = EC_HDR_DATA_OFFSET + 2 * EC_BULK_CHUNK;
	assert_int_equal(ec_image_convert(src, dst, &p, &res), -EIO);
	snprintf(want, sizeof(want), "%s: write error at byte %u: Input/output error; %u of %u bytes are done: run the same command again to resume",
		 dst, EC_HDR_DATA_OFFSET + 2 * EC_BULK_CHUNK,
		 2 * EC_BULK_CHUNK, SRC_SIZE);
	assert_string_equal(ec_err_msg(), want);

	/* no header yet: the destination is not a volume */
	fd = open(dst, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ec_header_read(fd, &hdr, NULL), -ENODATA);
	close(fd);

	/* another source is refused there */
	assert_int_equal(ec_image_convert(other, dst, &p, &res), -EEXIST);
	snprintf(want, sizeof(want), "%s: holds an interrupted 'convert' from %s; run that command again to finish it, or remove %s",
		 dst, src, dst);
	assert_string_equal(ec_err_msg(), want);

	/* the same convert resumes at the checked watermark */
	assert_int_equal(ec_image_convert(src, dst, &p, &res), 0);
	assert_int_equal(res.resumed_at, 2 * EC_BULK_CHUNK);
	assert_int_equal(res.bytes, SRC_SIZE);
	check_plaintext(dst, data, SRC_SIZE);

	/* once complete, it is a volume, and a file that exists */
	assert_int_equal(ec_image_convert(src, dst, &p, &res), -EEXIST);
	free(data);
	free(src);
	free(other);
	free(dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert_resumes),
	};

	return cmocka_run_group_tests(tests, setup, scratch_teardown);
}
