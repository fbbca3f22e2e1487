// SPDX-License-Identifier: GPL-2.0
/*
 * verify-at-rest's evidence: the statistics of a sector against random
 * data (ciphertext passes, text, patterns, repeated blocks and too-uniform
 * histograms fail, zeros are unwritten), where samples are taken, and the
 * plaintext search (any alignment, across read chunks, the shortest run,
 * low-information blocks left out).
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
#include <openssl/rand.h>

#include "error.h"
#include "tools-util.h"
#include "verify.h"

static const char text[] =
	"It was the best of times, it was the worst of times, it was the age "
	"of wisdom, it was the age of foolishness, it was the epoch of belief, "
	"it was the epoch of incredulity, it was the season of Light, it was "
	"the season of Darkness, it was the spring of hope, it was the winter "
	"of despair.\n";

static uint8_t *random_buf(size_t len)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	assert_int_equal(RAND_bytes(b, len), 1);
	return b;
}

/* @len bytes of the text above, repeated */
static uint8_t *text_buf(size_t len)
{
	uint8_t *b = malloc(len);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < len; i++)
		b[i] = text[i % (sizeof(text) - 1)];
	return b;
}

/*
 * @len bytes of @file from @src at @dev + @off, with the bytes around
 * them made to differ from the file's, so that the run is exactly @len.
 */
static void plant(uint8_t *dev, size_t dev_len, size_t off,
		  const uint8_t *file, size_t file_len, size_t src,
		  size_t len)
{
	memcpy(dev + off, file + src, len);
	if (off && src)
		dev[off - 1] = file[src - 1] ^ 0xff;
	if (off + len < dev_len && src + len < file_len)
		dev[off + len] = file[src + len] ^ 0xff;
}

static void test_chi2_tails(void **state)
{
	(void)state;
	/* the mean of chi-square(255) sits near the median */
	assert_true(ec_chi2_p(255, 255) > 0.4 && ec_chi2_p(255, 255) < 0.6);
	assert_true(ec_chi2_p(300, 255) > 0.02 && ec_chi2_p(300, 255) < 0.03);
	/* outside the pass band on both sides */
	assert_true(ec_chi2_p(460, 255) < EC_VERIFY_P_BAND);
	assert_true(1.0 - ec_chi2_p(120, 255) < 1e-9);
	assert_true(ec_chi2_p(0, 255) == 1.0);
}

static void test_random_sectors_pass(void **state)
{
	struct ec_sector_stats st;
	uint8_t *b = random_buf(20000 * 512);
	int i;

	(void)state;
	/* no false alarm over 20000 sectors of 512 and 2500 of 4096 */
	for (i = 0; i < 20000; i++) {
		ec_sector_stats(b + i * 512, 512, &st);
		assert_false(st.zero);
		assert_int_equal(st.dup_blocks, 0);
		if (!st.random)
			fail_msg("random sector %d failed: chi2 %f", i, st.chi2);
		assert_true(st.entropy > 7.3);
	}
	for (i = 0; i < 2500; i++) {
		ec_sector_stats(b + i * 4096, 4096, &st);
		assert_true(st.random);
		assert_true(st.entropy > 7.9);
	}
	free(b);
}

static void test_zeros_are_unwritten(void **state)
{
	struct ec_sector_stats st;
	uint8_t b[4096] = { 0 };

	(void)state;
	ec_sector_stats(b, 512, &st);
	assert_true(st.zero);
	ec_sector_stats(b, 4096, &st);
	assert_true(st.zero);
	/* one byte is enough to make it written, and not random */
	b[100] = 1;
	ec_sector_stats(b, 512, &st);
	assert_false(st.zero);
	assert_false(st.random);
}

static void test_text_and_patterns_fail(void **state)
{
	struct ec_sector_stats st;
	uint8_t *t = text_buf(4096), *r = random_buf(512);
	uint8_t count[512];
	int i;

	(void)state;
	ec_sector_stats(t, 512, &st);
	assert_false(st.random);
	assert_true(st.chi2 > 5000);
	assert_true(st.entropy < 5);
	ec_sector_stats(t, 4096, &st);
	assert_false(st.random);

	/* every byte value equally often: chi-square 0, too uniform */
	for (i = 0; i < 512; i++)
		count[i] = (uint8_t)i;
	ec_sector_stats(count, 512, &st);
	assert_true(st.chi2 == 0);
	assert_false(st.random);

	/* random but for one repeated 16-byte block (ECB-like) */
	ec_sector_stats(r, 512, &st);
	assert_true(st.random);
	memcpy(r + 256, r + 32, 16);
	ec_sector_stats(r, 512, &st);
	assert_int_equal(st.dup_blocks, 1);
	assert_false(st.random);
	free(t);
	free(r);
}

static void test_positions(void **state)
{
	uint64_t pos[256], again[256], spaced;
	size_t n, m, i;

	(void)state;
	/* a small device: every sector, once */
	n = ec_verify_positions(10, 256, 1, pos, &spaced);
	assert_int_equal(n, 10);
	assert_int_equal(spaced, 10);
	for (i = 0; i < n; i++)
		assert_int_equal(pos[i], i);

	n = ec_verify_positions(1000000, 256, 42, pos, &spaced);
	assert_int_equal(spaced, 192);
	assert_int_equal(n, 256);
	assert_int_equal(pos[0], 0);
	assert_int_equal(pos[n - 1], 999999);
	for (i = 1; i < n; i++)
		assert_true(pos[i] > pos[i - 1]);
	/* the same seed, the same positions; another, other random ones */
	m = ec_verify_positions(1000000, 256, 42, again, &spaced);
	assert_int_equal(m, n);
	assert_memory_equal(pos, again, n * sizeof(*pos));
	m = ec_verify_positions(1000000, 256, 43, again, &spaced);
	assert_true(m != n || memcmp(pos, again, n * sizeof(*pos)));

	/* few more sectors than samples: random picks hit spaced ones, and
	 * are drawn again until all 256 differ */
	for (i = 0; i < 50; i++) {
		n = ec_verify_positions(300, 256, i + 1, pos, &spaced);
		assert_int_equal(n, 256);
		for (m = 1; m < n; m++)
			assert_true(pos[m] > pos[m - 1]);
	}

	n = ec_verify_positions(1000000, 1, 7, pos, &spaced);
	assert_int_equal(n, 1);
	assert_int_equal(pos[0], 0);
}

static void search(const uint8_t *dev, size_t dev_len, const uint8_t *file,
		   size_t file_len, struct ec_verify_plain *p, int want_r)
{
	memset(p, 0, sizeof(*p));
	p->path = "file";
	assert_int_equal(ec_verify_plaintext_buf(dev, dev_len, file, file_len,
						 p), want_r);
}

static void test_plaintext_found_at_any_alignment(void **state)
{
	struct ec_verify_plain p;
	uint8_t *dev = random_buf(1 << 20), *file = text_buf(5000);
	size_t off;

	(void)state;
	search(dev, 1 << 20, file, 5000, &p, 0);
	assert_int_equal(p.found, 0);
	assert_int_equal(p.min_run, 64);
	assert_true(p.blocks > 0 && p.blocks <= 5000 / 16);

	for (off = 12345; off < 12345 + 17; off += 3) {
		assert_int_equal(RAND_bytes(dev, 1 << 20), 1);
		/* 1000 bytes from file offset 100 + k, at an odd offset */
		plant(dev, 1 << 20, off, file, 5000, 100 + (off - 12345),
		      1000);
		search(dev, 1 << 20, file, 5000, &p, 0);
		assert_int_equal(p.found, 1);
		assert_int_equal(p.match[0].dev_off, off);
		assert_int_equal(p.match[0].len, 1000);
		/* the text repeats: any file offset of the same bytes */
		assert_int_equal(memcmp(file + p.match[0].file_off, dev + off,
					1000), 0);
	}
	/* twice more, one at the very end of the device */
	plant(dev, 1 << 20, 500000, file, 5000, 0, 300);
	plant(dev, 1 << 20, (1 << 20) - 200, file, 5000, 7, 200);
	search(dev, 1 << 20, file, 5000, &p, 0);
	assert_int_equal(p.found, 3);
	assert_int_equal(p.match[1].dev_off, 500000);
	assert_int_equal(p.match[1].len, 300);
	assert_int_equal(p.match[2].dev_off, (1 << 20) - 200);
	assert_int_equal(p.match[2].len, 200);
	free(dev);
	free(file);
}

static void test_shortest_run_is_64_bytes(void **state)
{
	struct ec_verify_plain p;
	uint8_t *dev = random_buf(65536), *file = random_buf(4096);

	(void)state;
	plant(dev, 65536, 1001, file, 4096, 333, 63);
	search(dev, 65536, file, 4096, &p, 0);
	assert_int_equal(p.found, 0);
	plant(dev, 65536, 1001, file, 4096, 333, 64);
	search(dev, 65536, file, 4096, &p, 0);
	assert_int_equal(p.found, 1);
	assert_int_equal(p.match[0].dev_off, 1001);
	assert_int_equal(p.match[0].file_off, 333);
	assert_int_equal(p.match[0].len, 64);
	free(dev);
	free(file);
}

static void test_run_across_read_chunks(void **state)
{
	size_t len = (4 << 20) + 100000;
	struct ec_verify_plain p;
	uint8_t *dev = random_buf(len), *file = text_buf(8192);

	(void)state;
	/* the scan reads 4 MiB at a time */
	plant(dev, len, (4 << 20) - 3000, file, 8192, 5, 6000);
	search(dev, len, file, 8192, &p, 0);
	assert_int_equal(p.found, 1);
	assert_int_equal(p.match[0].dev_off, (4 << 20) - 3000);
	assert_int_equal(p.match[0].len, 6000);
	free(dev);
	free(file);
}

static void test_low_information_blocks_are_left_out(void **state)
{
	struct ec_verify_plain p;
	uint8_t *dev = calloc(1, 1 << 20), *file = text_buf(16384);
	uint8_t zeros[4096] = { 0 };

	(void)state;
	/* a file with a hole of zeros, a device of zeros: no match */
	memset(file + 4096, 0, 8192);
	search(dev, 1 << 20, file, 16384, &p, 0);
	assert_int_equal(p.found, 0);
	/* a file with nothing but zeros: nothing to search for */
	search(dev, 1 << 20, zeros, sizeof(zeros), &p, -EINVAL);
	assert_non_null(strstr(ec_err_msg(), "file: nothing to search for: every 16-byte block has fewer than 4 distinct byte values"));
	/* too short */
	search(dev, 1 << 20, file, 63, &p, -EINVAL);
	assert_string_equal(ec_err_msg(), "file: 63 bytes is too short to search for; give at least 64 bytes");
	free(dev);
	free(file);
}

static void test_sample_a_device(void **state)
{
	struct ec_verify_stats st;
	char *dir = scratch_dir(), *img = path_in(dir, "img");
	uint8_t *data = random_buf(64 * 512), *t = text_buf(512);
	int fd;

	(void)state;
	/* 64 sectors after a 4096-byte "header": 10 zeros, one of text */
	memset(data + 5 * 512, 0, 10 * 512);
	memcpy(data + 40 * 512, t, 512);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, 64 * 512, 4096), 64 * 512);
	assert_int_equal(ec_verify_sample(fd, img, 4096, 64, 512, 256, &st),
			 0);
	assert_int_equal(st.sampled, 64);
	assert_int_equal(st.zero, 10);
	assert_int_equal(st.written, 54);
	assert_int_equal(st.nonrandom, 1);
	assert_int_equal(st.nonrandom_off[0], 4096 + 40 * 512);

	/* ciphertext only */
	assert_int_equal(RAND_bytes(data + 40 * 512, 512), 1);
	assert_int_equal(pwrite(fd, data, 64 * 512, 4096), 64 * 512);
	assert_int_equal(ec_verify_sample(fd, img, 4096, 64, 512, 256, &st),
			 0);
	assert_int_equal(st.nonrandom, 0);
	assert_true(st.aggregate_random);
	assert_true(st.entropy > 7.9);

	/* a short device: the read error names it */
	assert_int_equal(ec_verify_sample(fd, img, 4096, 65, 512, 256, &st),
			 -EIO);
	assert_non_null(strstr(ec_err_msg(), "cannot read the sector at byte 36864"));
	close(fd);
	rm_tree(dir);
	free(dir);
	free(img);
	free(data);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chi2_tails),
		cmocka_unit_test(test_random_sectors_pass),
		cmocka_unit_test(test_zeros_are_unwritten),
		cmocka_unit_test(test_text_and_patterns_fail),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_plaintext_found_at_any_alignment),
		cmocka_unit_test(test_shortest_run_is_64_bytes),
		cmocka_unit_test(test_run_across_read_chunks),
		cmocka_unit_test(test_low_information_blocks_are_left_out),
		cmocka_unit_test(test_sample_a_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
