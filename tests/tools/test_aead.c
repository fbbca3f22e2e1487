// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/aead.c: SM4-GCM against the test vector of RFC 8998
 * (appendix A.1), our GCM mode over AES-256-ECB against OpenSSL's own
 * AES-256-GCM on random inputs, both AEADs against each other, tampering
 * (ciphertext, tag, AAD, IV, key) refused with -EBADMSG and the output
 * wiped, and OpenSSL failures faked with -Wl,--wrap to prove the error
 * paths.  AEAD_TEST_SEED picks another seed for the random cases.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "aead-gcm.h"
#include "aead.h"
#include "error.h"

/* ---- fakes: OpenSSL failing ---------------------------------------------- */

static bool fail_ctx_new;
static bool fail_encrypt_init;

EVP_CIPHER_CTX *__real_EVP_CIPHER_CTX_new(void);
EVP_CIPHER_CTX *__wrap_EVP_CIPHER_CTX_new(void);
int __real_EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
			      ENGINE *impl, const unsigned char *key,
			      const unsigned char *iv);
int __wrap_EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
			      ENGINE *impl, const unsigned char *key,
			      const unsigned char *iv);

EVP_CIPHER_CTX *__wrap_EVP_CIPHER_CTX_new(void)
{
	return fail_ctx_new ? NULL : __real_EVP_CIPHER_CTX_new();
}

int __wrap_EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
			      ENGINE *impl, const unsigned char *key,
			      const unsigned char *iv)
{
	if (fail_encrypt_init)
		return 0;
	return __real_EVP_EncryptInit_ex(ctx, cipher, impl, key, iv);
}

static int reset(void **state)
{
	(void)state;
	fail_ctx_new = false;
	fail_encrypt_init = false;
	ec_err_clear();
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static size_t unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = 0;
	unsigned int byte;

	while (hex[0] && hex[1]) {
		assert_true(n < size);
		assert_int_equal(sscanf(hex, "%2x", &byte), 1);
		out[n++] = (uint8_t)byte;
		hex += 2;
	}
	return n;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* xorshift64*, seeded from AEAD_TEST_SEED or a constant. */
static uint64_t rng_state;

static void rng_seed(void)
{
	const char *seed = getenv("AEAD_TEST_SEED");

	rng_state = seed ? strtoull(seed, NULL, 0) : 0x9e3779b97f4a7c15ULL;
	if (!rng_state)
		rng_state = 1;
}

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rng_fill(uint8_t *p, size_t len)
{
	while (len--)
		*p++ = (uint8_t)rng();
}

/* OpenSSL's AES-256-GCM, the reference for our GCM mode. */
static void openssl_aes_gcm_seal(const uint8_t *key, const uint8_t *iv,
				 const uint8_t *aad, size_t aad_len,
				 const uint8_t *in, size_t len, uint8_t *out,
				 uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t final[16];
	int outl;

	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
					    iv), 1);
	if (aad_len)
		assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &outl, aad,
						   (int)aad_len), 1);
	if (len)
		assert_int_equal(EVP_EncryptUpdate(ctx, out, &outl, in,
						   (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, final, &outl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
					     tag), 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* ---- RFC 8998, appendix A.1: SM4-GCM ----------------------------------- */

#define RFC8998_KEY	"0123456789abcdeffedcba9876543210"
#define RFC8998_IV	"00001234567800000000abcd"
#define RFC8998_AAD	"feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define RFC8998_PT	"aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb" \
			"ccccccccccccccccdddddddddddddddd" \
			"eeeeeeeeeeeeeeeeffffffffffffffff" \
			"eeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa"
#define RFC8998_CT	"17f399f08c67d5ee19d0dc9969c4bb7d" \
			"5fd46fd3756489069157b282bb200735" \
			"d82710ca5c22f0ccfa7cbf93d496ac15" \
			"a56834cbcf98c397b4024a2691233b8d"
#define RFC8998_TAG	"83de3541e4c2b58177e065a9bf7b62ec"

struct vector {
	uint8_t key[16], iv[12], aad[20], pt[64], ct[64], tag[16];
};

static void rfc8998_vector(struct vector *v)
{
	assert_int_equal(unhex(RFC8998_KEY, v->key, sizeof(v->key)), 16);
	assert_int_equal(unhex(RFC8998_IV, v->iv, sizeof(v->iv)), 12);
	assert_int_equal(unhex(RFC8998_AAD, v->aad, sizeof(v->aad)), 20);
	assert_int_equal(unhex(RFC8998_PT, v->pt, sizeof(v->pt)), 64);
	assert_int_equal(unhex(RFC8998_CT, v->ct, sizeof(v->ct)), 64);
	assert_int_equal(unhex(RFC8998_TAG, v->tag, sizeof(v->tag)), 16);
}

static void test_sm4_gcm_seal_matches_rfc8998(void **state)
{
	uint8_t out[64], tag[16];
	struct vector v;

	(void)state;
	rfc8998_vector(&v);
	assert_int_equal(ec_aead_seal(EC_AEAD_SM4_GCM, v.key, v.iv, v.aad,
				      sizeof(v.aad), v.pt, sizeof(v.pt), out,
				      tag), 0);
	assert_memory_equal(out, v.ct, sizeof(v.ct));
	assert_memory_equal(tag, v.tag, sizeof(v.tag));
}

static void test_sm4_gcm_open_matches_rfc8998(void **state)
{
	struct vector v;
	uint8_t out[64];

	(void)state;
	rfc8998_vector(&v);
	assert_int_equal(ec_aead_open(EC_AEAD_SM4_GCM, v.key, v.iv, v.aad,
				      sizeof(v.aad), v.ct, sizeof(v.ct), out,
				      v.tag), 0);
	assert_memory_equal(out, v.pt, sizeof(v.pt));
}

static void test_sm4_gcm_works_in_place(void **state)
{
	uint8_t buf[64], tag[16];
	struct vector v;

	(void)state;
	rfc8998_vector(&v);
	memcpy(buf, v.pt, sizeof(buf));
	assert_int_equal(ec_aead_seal(EC_AEAD_SM4_GCM, v.key, v.iv, v.aad,
				      sizeof(v.aad), buf, sizeof(buf), buf,
				      tag), 0);
	assert_memory_equal(buf, v.ct, sizeof(buf));
	assert_memory_equal(tag, v.tag, sizeof(tag));
	assert_int_equal(ec_aead_open(EC_AEAD_SM4_GCM, v.key, v.iv, v.aad,
				      sizeof(v.aad), buf, sizeof(buf), buf,
				      tag), 0);
	assert_memory_equal(buf, v.pt, sizeof(buf));
}

/* ---- our GCM mode over AES-256-ECB vs OpenSSL's AES-256-GCM ------------ */

static void test_gcm_mode_over_aes_matches_openssl_aes_gcm(void **state)
{
	uint8_t key[32], iv[12], aad[200], pt[100], ours[100], ref[100];
	uint8_t back[100], tag[16], ref_tag[16];
	size_t aad_len, len;
	int i;

	(void)state;
	rng_seed();
	for (i = 0; i < 300; i++) {
		/* every length 0..99 (partial blocks), AAD 0..199 */
		len = (size_t)i % 100;
		aad_len = rng() % 200;
		rng_fill(key, sizeof(key));
		rng_fill(iv, sizeof(iv));
		rng_fill(aad, aad_len);
		rng_fill(pt, len);

		openssl_aes_gcm_seal(key, iv, aad, aad_len, pt, len, ref,
				     ref_tag);
		assert_int_equal(ec_gcm_seal(EVP_aes_256_ecb(), "AES-GCM-test",
					     key, iv, aad, aad_len, pt, len,
					     ours, tag), 0);
		assert_memory_equal(ours, ref, len);
		assert_memory_equal(tag, ref_tag, 16);
		assert_int_equal(ec_gcm_open(EVP_aes_256_ecb(), "AES-GCM-test",
					     key, iv, aad, aad_len, ref, len,
					     back, ref_tag), 0);
		assert_memory_equal(back, pt, len);
	}
}

static void test_aes_256_gcm_matches_our_gcm_mode(void **state)
{
	uint8_t key[32], iv[12], aad[150], dk[64], a[64], b[64], ta[16];
	uint8_t tb[16];

	(void)state;
	rng_seed();
	rng_fill(key, sizeof(key));
	rng_fill(iv, sizeof(iv));
	rng_fill(aad, sizeof(aad));
	rng_fill(dk, sizeof(dk));
	assert_int_equal(ec_aead_seal(EC_AEAD_AES_256_GCM, key, iv, aad,
				      sizeof(aad), dk, sizeof(dk), a, ta), 0);
	assert_int_equal(ec_gcm_seal(EVP_aes_256_ecb(), "AES-GCM-test", key,
				     iv, aad, sizeof(aad), dk, sizeof(dk), b,
				     tb), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_equal(ta, tb, sizeof(ta));
}

static void test_empty_plaintext_still_authenticates_aad(void **state)
{
	static const enum ec_aead algs[] = {
		EC_AEAD_AES_256_GCM, EC_AEAD_SM4_GCM,
	};
	uint8_t key[32] = { 1 }, iv[12] = { 2 }, aad[5] = "ctx-1", tag[16];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(ec_aead_seal(algs[i], key, iv, aad,
					      sizeof(aad), NULL, 0, NULL, tag),
				 0);
		assert_int_equal(ec_aead_open(algs[i], key, iv, aad,
					      sizeof(aad), NULL, 0, NULL, tag),
				 0);
		aad[4] = '2';
		assert_int_equal(ec_aead_open(algs[i], key, iv, aad,
					      sizeof(aad), NULL, 0, NULL, tag),
				 -EBADMSG);
		aad[4] = '1';
	}
}

/* ---- tampering ----------------------------------------------------------- */

enum tamper { TAMPER_CT, TAMPER_TAG, TAMPER_AAD, TAMPER_IV, TAMPER_KEY };

/* Seal a data key, change one thing, open: -EBADMSG and @out wiped. */
static void open_tampered(enum ec_aead alg, enum tamper what)
{
	uint8_t key[32], iv[12], aad[150], dk[64], ct[64], tag[16], out[64];
	size_t key_size = ec_aead_key_size(alg);

	rng_seed();
	rng_fill(key, sizeof(key));
	rng_fill(iv, sizeof(iv));
	rng_fill(aad, sizeof(aad));
	rng_fill(dk, sizeof(dk));
	assert_int_equal(ec_aead_seal(alg, key, iv, aad, sizeof(aad), dk,
				      sizeof(dk), ct, tag), 0);

	switch (what) {
	case TAMPER_CT:
		ct[17] ^= 0x01;
		break;
	case TAMPER_TAG:
		tag[15] ^= 0x80;
		break;
	case TAMPER_AAD:
		aad[149] ^= 0x01;
		break;
	case TAMPER_IV:
		iv[0] ^= 0x01;
		break;
	case TAMPER_KEY:
		key[key_size - 1] ^= 0x01;
		break;
	}
	memset(out, 0xaa, sizeof(out));
	ec_err_clear();
	assert_int_equal(ec_aead_open(alg, key, iv, aad, sizeof(aad), ct,
				      sizeof(ct), out, tag), -EBADMSG);
	assert_true(all_zero(out, sizeof(out)));
	assert_non_null(strstr(ec_err_msg(), "the tag does not match"));
}

static void test_open_fails_when_ciphertext_changed(void **state)
{
	(void)state;
	open_tampered(EC_AEAD_SM4_GCM, TAMPER_CT);
	open_tampered(EC_AEAD_AES_256_GCM, TAMPER_CT);
}

static void test_open_fails_when_tag_changed(void **state)
{
	(void)state;
	open_tampered(EC_AEAD_SM4_GCM, TAMPER_TAG);
	open_tampered(EC_AEAD_AES_256_GCM, TAMPER_TAG);
}

static void test_open_fails_when_aad_changed(void **state)
{
	(void)state;
	open_tampered(EC_AEAD_SM4_GCM, TAMPER_AAD);
	open_tampered(EC_AEAD_AES_256_GCM, TAMPER_AAD);
}

static void test_open_fails_when_iv_changed(void **state)
{
	(void)state;
	open_tampered(EC_AEAD_SM4_GCM, TAMPER_IV);
	open_tampered(EC_AEAD_AES_256_GCM, TAMPER_IV);
}

static void test_open_fails_with_another_key(void **state)
{
	(void)state;
	open_tampered(EC_AEAD_SM4_GCM, TAMPER_KEY);
	open_tampered(EC_AEAD_AES_256_GCM, TAMPER_KEY);
}

static void test_open_message_names_the_aead(void **state)
{
	struct vector v;
	uint8_t out[64];

	(void)state;
	rfc8998_vector(&v);
	v.tag[0] ^= 1;
	assert_int_equal(ec_aead_open(EC_AEAD_SM4_GCM, v.key, v.iv, v.aad,
				      sizeof(v.aad), v.ct, sizeof(v.ct), out,
				      v.tag), -EBADMSG);
	assert_string_equal(ec_err_msg(),
			    "SM4-GCM: the tag does not match: wrong key, IV or associated data, or the ciphertext was changed");
}

/* ---- arguments and OpenSSL failures ---------------------------------- */

static void test_key_sizes(void **state)
{
	(void)state;
	assert_int_equal(ec_aead_key_size(EC_AEAD_AES_256_GCM), 32);
	assert_int_equal(ec_aead_key_size(EC_AEAD_SM4_GCM), 16);
	assert_int_equal(ec_aead_key_size((enum ec_aead)7), 0);
}

static void test_seal_refuses_missing_arguments(void **state)
{
	uint8_t key[32] = { 0 }, iv[12] = { 0 }, buf[16] = { 0 }, tag[16];

	(void)state;
	assert_int_equal(ec_aead_seal(EC_AEAD_SM4_GCM, NULL, iv, NULL, 0, buf,
				      16, buf, tag), -EINVAL);
	assert_int_equal(ec_aead_seal(EC_AEAD_AES_256_GCM, key, NULL, NULL, 0,
				      buf, 16, buf, tag), -EINVAL);
	assert_int_equal(ec_aead_seal(EC_AEAD_SM4_GCM, key, iv, NULL, 5, buf,
				      16, buf, tag), -EINVAL);
	assert_int_equal(ec_aead_open(EC_AEAD_AES_256_GCM, key, iv, NULL, 0,
				      buf, 16, NULL, tag), -EINVAL);
	assert_int_equal(ec_aead_seal((enum ec_aead)7, key, iv, NULL, 0, buf,
				      16, buf, tag), -EINVAL);
	assert_string_equal(ec_err_msg(), "unknown AEAD 7");
}

static void test_seal_fails_with_enomem_when_no_cipher_context(void **state)
{
	uint8_t key[32] = { 0 }, iv[12] = { 0 }, buf[16] = { 0 }, tag[16];

	(void)state;
	fail_ctx_new = true;
	assert_int_equal(ec_aead_seal(EC_AEAD_SM4_GCM, key, iv, NULL, 0, buf,
				      16, buf, tag), -ENOMEM);
	assert_string_equal(ec_err_msg(),
			    "SM4-GCM: out of memory for a cipher context");
	assert_int_equal(ec_aead_open(EC_AEAD_AES_256_GCM, key, iv, NULL, 0,
				      buf, 16, buf, tag), -ENOMEM);
	assert_string_equal(ec_err_msg(),
			    "AES-256-GCM: out of memory for a cipher context");
}

static void test_seal_fails_with_eio_when_openssl_init_fails(void **state)
{
	uint8_t key[32] = { 0 }, iv[12] = { 0 }, buf[16], tag[16];

	(void)state;
	fail_encrypt_init = true;
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(ec_aead_seal(EC_AEAD_SM4_GCM, key, iv, NULL, 0, buf,
				      16, buf, tag), -EIO);
	assert_string_equal(ec_err_msg(),
			    "SM4-GCM: OpenSSL failed in EVP_EncryptInit_ex (no reason given); check the OpenSSL installation (libcrypto 3.0 or newer with SM4)");
	assert_true(all_zero(buf, sizeof(buf)));	/* nothing half-done */

	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(ec_aead_seal(EC_AEAD_AES_256_GCM, key, iv, NULL, 0,
				      buf, 16, buf, tag), -EIO);
	assert_string_equal(ec_err_msg(),
			    "AES-256-GCM: OpenSSL failed in EVP_EncryptInit_ex (no reason given); check the OpenSSL installation (libcrypto 3.0 or newer with SM4)");
	/* SM4-GCM decryption runs the block cipher forwards too. */
	assert_int_equal(ec_aead_open(EC_AEAD_SM4_GCM, key, iv, NULL, 0, buf,
				      16, buf, tag), -EIO);
	assert_true(all_zero(buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sm4_gcm_seal_matches_rfc8998, reset),
		cmocka_unit_test_setup(test_sm4_gcm_open_matches_rfc8998, reset),
		cmocka_unit_test_setup(test_sm4_gcm_works_in_place, reset),
		cmocka_unit_test_setup(test_gcm_mode_over_aes_matches_openssl_aes_gcm,
				       reset),
		cmocka_unit_test_setup(test_aes_256_gcm_matches_our_gcm_mode,
				       reset),
		cmocka_unit_test_setup(test_empty_plaintext_still_authenticates_aad,
				       reset),
		cmocka_unit_test_setup(test_open_fails_when_ciphertext_changed,
				       reset),
		cmocka_unit_test_setup(test_open_fails_when_tag_changed, reset),
		cmocka_unit_test_setup(test_open_fails_when_aad_changed, reset),
		cmocka_unit_test_setup(test_open_fails_when_iv_changed, reset),
		cmocka_unit_test_setup(test_open_fails_with_another_key, reset),
		cmocka_unit_test_setup(test_open_message_names_the_aead, reset),
		cmocka_unit_test_setup(test_key_sizes, reset),
		cmocka_unit_test_setup(test_seal_refuses_missing_arguments,
				       reset),
		cmocka_unit_test_setup(test_seal_fails_with_enomem_when_no_cipher_context,
				       reset),
		cmocka_unit_test_setup(test_seal_fails_with_eio_when_openssl_init_fails,
				       reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
