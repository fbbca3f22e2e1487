// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace XTS engine (tools/lib/xts.c) against OpenSSL's own
 * AES-256-XTS, the IEEE 1619-2007 vector 10, the xts(sm4) vector the
 * kernel tests use (tests/unit/test_sm4.c), and an SM4-XTS reference
 * written here block by block over SM4-ECB; with the plain64 IV of the
 * kernel target: crypto sector k gets k * sector_size / 512.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dm-envcrypt.h"
#include "error.h"
#include "xts.h"

static void hex(const char *h, uint8_t *out, size_t n)
{
	size_t i;

	assert_int_equal(strlen(h), 2 * n);
	for (i = 0; i < n; i++)
		assert_int_equal(sscanf(h + 2 * i, "%2hhx", &out[i]), 1);
}

static void rnd(void *p, size_t n)
{
	assert_int_equal(RAND_bytes(p, (int)n), 1);
}

static void iv64(uint8_t iv[16], uint64_t n)
{
	int i;

	memset(iv, 0, 16);
	for (i = 0; i < 8; i++)
		iv[i] = (uint8_t)(n >> (8 * i));
}

/* OpenSSL's AES-256-XTS of one data unit with the plain64 IV @n. */
static void ossl_aes_xts(const uint8_t *key, uint8_t *out, const uint8_t *in,
			 size_t len, uint64_t n, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t iv[16];
	int outl;

	iv64(iv, n);
	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), NULL, key,
					   iv, enc), 1);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &outl, in, (int)len), 1);
	assert_int_equal(outl, (int)len);
	EVP_CIPHER_CTX_free(ctx);
}

/* SM4-ECB of one block. */
static void sm4_block(const uint8_t *key, uint8_t *out, const uint8_t *in,
		      int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl;

	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, EVP_sm4_ecb(), NULL, key,
					   NULL, enc), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &outl, in, 16), 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* The reference: IEEE 1619 block by block, the tweak doubled bytewise. */
static void ref_sm4_xts(const uint8_t *key, uint8_t *out, const uint8_t *in,
			size_t len, uint64_t n, int enc)
{
	uint8_t t[16], b[16], carry;
	size_t i, j;

	iv64(t, n);
	sm4_block(key + 16, t, t, 1);
	for (i = 0; i < len; i += 16) {
		for (j = 0; j < 16; j++)
			b[j] = in[i + j] ^ t[j];
		sm4_block(key, b, b, enc);
		for (j = 0; j < 16; j++)
			out[i + j] = b[j] ^ t[j];
		carry = t[15] >> 7;
		for (j = 15; j > 0; j--)
			t[j] = (uint8_t)(t[j] << 1 | t[j - 1] >> 7);
		t[0] = (uint8_t)(t[0] << 1) ^ (carry ? 0x87 : 0);
	}
}

static void ref(const char *cipher, const uint8_t *key, uint8_t *out,
		const uint8_t *in, size_t len, uint64_t n, int enc)
{
	if (!strcmp(cipher, ENVCRYPT_CIPHER_AES_XTS))
		ossl_aes_xts(key, out, in, len, n, enc);
	else
		ref_sm4_xts(key, out, in, len, n, enc);
}

/*
 * Many sectors in one call, starting at @first, against the reference
 * sector by sector with the IV first + k scaled by sector_size / 512;
 * out of place and in place, and back.
 */
static void check_cipher(const char *cipher, uint32_t ss, size_t len,
			 uint64_t first)
{
	size_t klen = strcmp(cipher, ENVCRYPT_CIPHER_AES_XTS) ? 32 : 64;
	uint8_t key[64], *pt = malloc(len), *ct = malloc(len),
		*want = malloc(len);
	struct ec_xts *x;
	size_t off;

	assert_non_null(pt);
	assert_non_null(ct);
	assert_non_null(want);
	rnd(key, klen);
	rnd(pt, len);
	for (off = 0; off < len; off += ss)
		ref(cipher, key, want + off, pt + off, ss,
		    (first + off / ss) * (ss / 512), 1);
	assert_int_equal(ec_xts_new(cipher, key, klen, ss, &x), 0);
	assert_int_equal(ec_xts_crypt(x, true, ct, pt, len, first), 0);
	assert_memory_equal(ct, want, len);
	assert_int_equal(ec_xts_crypt(x, false, ct, ct, len, first), 0);
	assert_memory_equal(ct, pt, len);
	memcpy(ct, pt, len);
	assert_int_equal(ec_xts_crypt(x, true, ct, ct, len, first), 0);
	assert_memory_equal(ct, want, len);
	ec_xts_free(x);
	free(pt);
	free(ct);
	free(want);
}

static void test_aes_matches_openssl(void **state)
{
	(void)state;
	check_cipher(ENVCRYPT_CIPHER_AES_XTS, 512, 512, 0);
	check_cipher(ENVCRYPT_CIPHER_AES_XTS, 512, 64 * 512, 12345);
	check_cipher(ENVCRYPT_CIPHER_AES_XTS, 4096, 4096, 0);
	check_cipher(ENVCRYPT_CIPHER_AES_XTS, 4096, 40 * 4096,
		     0x1ffffffffULL);
}

/* Sizes across the 64 KiB batches, and sector numbers past 2^32. */
static void test_sm4_matches_reference(void **state)
{
	(void)state;
	check_cipher(ENVCRYPT_CIPHER_SM4_XTS, 512, 512, 0);
	check_cipher(ENVCRYPT_CIPHER_SM4_XTS, 512, 300 * 512, 77);
	check_cipher(ENVCRYPT_CIPHER_SM4_XTS, 4096, 4096, 3);
	check_cipher(ENVCRYPT_CIPHER_SM4_XTS, 4096, 50 * 4096,
		     0x123456789ULL);
}

/* The same bytes whether done in one call or sector by sector. */
static void test_split_calls_agree(void **state)
{
	static uint8_t pt[256 * 1024], a[sizeof(pt)], b[sizeof(pt)];
	static const char *const ciphers[] = { ENVCRYPT_CIPHER_AES_XTS,
					       ENVCRYPT_CIPHER_SM4_XTS };
	uint8_t key[64];
	struct ec_xts *x;
	size_t off, c;

	(void)state;
	rnd(pt, sizeof(pt));
	for (c = 0; c < 2; c++) {
		size_t klen = c ? 32 : 64;

		rnd(key, klen);
		assert_int_equal(ec_xts_new(ciphers[c], key, klen, 4096, &x),
				 0);
		assert_int_equal(ec_xts_crypt(x, true, a, pt, sizeof(pt), 9),
				 0);
		for (off = 0; off < sizeof(pt); off += 4096)
			assert_int_equal(ec_xts_crypt(x, true, b + off,
						      pt + off, 4096,
						      9 + off / 4096), 0);
		assert_memory_equal(a, b, sizeof(pt));
		ec_xts_free(x);
	}
}

/* IEEE 1619-2007 Annex B vector 10: data unit 0xff, 512 bytes. */
static void test_ieee1619_vector10(void **state)
{
	static const char key_hex[] =
		"2718281828459045235360287471352662497757247093699959574966967627"
		"3141592653589793238462643383279502884197169399375105820974944592";
	static const char ct_head[] =
		"1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b";
	static const char ct_tail[] =
		"773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151";
	uint8_t key[64], pt[512], ct[512], head[32], tail[32];
	struct ec_xts *x;
	int i;

	(void)state;
	hex(key_hex, key, 64);
	hex(ct_head, head, 32);
	hex(ct_tail, tail, 32);
	for (i = 0; i < 512; i++)
		pt[i] = (uint8_t)i;
	assert_int_equal(ec_xts_new(ENVCRYPT_CIPHER_AES_XTS, key, 64, 512, &x),
			 0);
	/* 512-byte sectors: sector 0xff has the IV 0xff */
	assert_int_equal(ec_xts_crypt(x, true, ct, pt, 512, 0xff), 0);
	assert_memory_equal(ct, head, 32);
	assert_memory_equal(ct + 480, tail, 32);
	ec_xts_free(x);
}

/*
 * xts(sm4), key 11..11 22..22, plain64 IV 0x3333333333, plaintext 0x44:
 * the first 32 bytes of a sector (XTS without stealing is blockwise).
 */
static void test_sm4_published_vector(void **state)
{
	uint8_t key[32], pt[512], ct[512], want[32];
	struct ec_xts *x;

	(void)state;
	hex("1111111111111111111111111111111122222222222222222222222222222222",
	    key, 32);
	hex("a74d726c11196a32be04e001ff29d0c7932f9f3ec29bfcb64dd17f63cbd3ea31",
	    want, 32);
	memset(pt, 0x44, sizeof(pt));
	assert_int_equal(ec_xts_new(ENVCRYPT_CIPHER_SM4_XTS, key, 32, 512, &x),
			 0);
	assert_int_equal(ec_xts_crypt(x, true, ct, pt, 512, 0x3333333333ULL),
			 0);
	assert_memory_equal(ct, want, 32);
	ec_xts_free(x);
}

/* 4096-byte sectors count the IV in 512-byte units: sector k has 8k. */
static void test_4096_iv_is_512_byte_units(void **state)
{
	uint8_t key[64], pt[4096], ct[4096], want[4096];
	struct ec_xts *x;

	(void)state;
	rnd(key, 64);
	rnd(pt, sizeof(pt));
	ossl_aes_xts(key, want, pt, 4096, 5 * 8, 1);
	assert_int_equal(ec_xts_new(ENVCRYPT_CIPHER_AES_XTS, key, 64, 4096, &x),
			 0);
	assert_int_equal(ec_xts_crypt(x, true, ct, pt, 4096, 5), 0);
	assert_memory_equal(ct, want, 4096);
	ec_xts_free(x);
}

static void test_refusals(void **state)
{
	uint8_t key[64] = { 1 }, buf[1024] = { 0 };
	struct ec_xts *x;

	(void)state;
	assert_int_equal(ec_xts_new("aes-cbc-essiv", key, 64, 512, &x),
			 -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "unknown cipher 'aes-cbc-essiv'; use aes-xts-plain64 or sm4-xts-plain64");
	assert_null(x);
	assert_int_equal(ec_xts_new(ENVCRYPT_CIPHER_SM4_XTS, key, 64, 512, &x),
			 -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "sm4-xts-plain64 needs a 32-byte data key, not 64");
	assert_int_equal(ec_xts_new(ENVCRYPT_CIPHER_AES_XTS, key, 64, 1024,
				    &x), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "sector size 1024 is not supported; use 512 or 4096");
	key[40] = 2;
	assert_int_equal(ec_xts_new(ENVCRYPT_CIPHER_AES_XTS, key, 64, 4096,
				    &x), 0);
	assert_int_equal(ec_xts_crypt(x, true, buf, buf, 1024, 0), -EINVAL);
	assert_string_equal(ec_err_msg(),
			    "1024 bytes are not whole 4096-byte sectors");
	ec_xts_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aes_matches_openssl),
		cmocka_unit_test(test_sm4_matches_reference),
		cmocka_unit_test(test_split_calls_agree),
		cmocka_unit_test(test_ieee1619_vector10),
		cmocka_unit_test(test_sm4_published_vector),
		cmocka_unit_test(test_4096_iv_is_512_byte_units),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
