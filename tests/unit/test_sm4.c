// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace tests of kernel/sm4.c (the portable SM4 block cipher) and
 * kernel/sm4-xts.c (SM4-XTS on whole sectors) of dm-envcrypt, against
 * the GB/T 32907-2016 vectors, OpenSSL's SM4 (ECB), an SM4-XTS reference
 * built here from OpenSSL's SM4-ECB and the IEEE 1619 tweak arithmetic
 * (OpenSSL 3.0 has no SM4-XTS), and published SM4-XTS vectors.
 *
 *   ./test_sm4           run the tests (cmocka)
 *   ./test_sm4 --bench   speed and instructions per sector, vs OpenSSL
 *
 * SM4-XTS has two implementations, generic (portable C) and aesni-avx2;
 * each test of the XTS code runs once for each.  Where the CPU lacks
 * AES-NI or AVX2, the aesni-avx2 runs report SKIPPED.  SM4_TEST_SEED
 * picks another seed for the random cases.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sm4.h"
#include "sm4-xts.h"
#include "unit-util.h"

#define KEY_SIZE	ENVCRYPT_SM4_XTS_KEY_SIZE
#define MAX_LEN		4096

static enum envcrypt_sm4_xts_impl probed;

/* What this CPU can do, found out independently of the code under test. */
static bool cpu_avx2;

/* ---- helpers ----------------------------------------------------------- */

/* OpenSSL's SM4-ECB of @len bytes (whole blocks) with a 16-byte key. */
static void ossl_sm4_ecb(const u8 *key, u8 *dst, const u8 *src,
			 unsigned int len, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, EVP_sm4_ecb(), NULL, key, NULL,
					   enc), 1);
	assert_int_equal(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
	assert_int_equal(EVP_CipherUpdate(ctx, dst, &outl, src, (int)len), 1);
	assert_int_equal(outl, (int)len);
	EVP_CIPHER_CTX_free(ctx);
}

/*
 * The reference SM4-XTS: T = SM4-ECB_K2(@iv), then per block
 * C = SM4-ECB_K1(P ^ T) ^ T and T = T * x, the multiplication done on two
 * little-endian 64-bit halves (unlike the code under test, which works
 * on bytes or vector registers).
 */
static void ref_xts_iv(const u8 *key, const u8 iv[16], u8 *dst, const u8 *src,
		       unsigned int len, int enc)
{
	u8 t[16], x[16];
	u64 lo, hi;
	unsigned int i, j;

	ossl_sm4_ecb(key + 16, t, iv, 16, 1);
	memcpy(&lo, t, 8);	/* x86: little-endian */
	memcpy(&hi, t + 8, 8);
	for (i = 0; i < len; i += 16) {
		memcpy(t, &lo, 8);
		memcpy(t + 8, &hi, 8);
		for (j = 0; j < 16; j++)
			x[j] = src[i + j] ^ t[j];
		ossl_sm4_ecb(key, x, x, 16, enc);
		for (j = 0; j < 16; j++)
			dst[i + j] = x[j] ^ t[j];
		{
			u64 carry = hi >> 63;

			hi = hi << 1 | lo >> 63;
			lo = lo << 1 ^ (carry ? 0x87 : 0);
		}
	}
}

static void ref_xts(const u8 *key, u8 *dst, const u8 *src, unsigned int len,
		    u64 sector, int enc)
{
	u8 iv[16];

	plain64_iv(iv, sector);
	ref_xts_iv(key, iv, dst, src, len, enc);
}

/*
 * Make the implementation a test was registered for (its state) the one
 * in use; false, with a SKIP message, if this CPU cannot run it.  That
 * the CPU can but the code refuses is a failure.
 */
static bool use_impl(void **state)
{
	enum envcrypt_sm4_xts_impl impl =
		*(enum envcrypt_sm4_xts_impl *)*state;

	if (impl == ENVCRYPT_SM4_XTS_AESNI_AVX2 && !cpu_avx2) {
		print_message("SKIP: %s not tested: the CPU has no AES-NI or no AVX2\n",
			      envcrypt_sm4_xts_impl_name(impl));
		return false;
	}
	assert_int_equal(envcrypt_sm4_xts_select(impl), 0);
	return true;
}

/*
 * Encrypt @pt with our code and the reference, out of place and in
 * place; decrypt back both ways.  Guard bytes around outputs must survive.
 */
static void check_one(const struct envcrypt_sm4_xts_key *k, const u8 *key,
		      const u8 *pt, unsigned int len, u64 sector,
		      unsigned int misalign)
{
	static u8 ref[MAX_LEN], buf[MAX_LEN + 64], inplace[MAX_LEN + 64];
	u8 *out = buf + 16 + misalign, *io = inplace + 16 + misalign;

	ref_xts(key, ref, pt, len, sector, 1);

	memset(buf, 0xa5, sizeof(buf));
	envcrypt_sm4_xts_encrypt(k, out, pt, len, sector);
	assert_memory_equal(out, ref, len);
	assert_int_equal(out[-1], 0xa5);
	assert_int_equal(out[len], 0xa5);

	memset(inplace, 0x3c, sizeof(inplace));
	memcpy(io, pt, len);
	envcrypt_sm4_xts_encrypt(k, io, io, len, sector);
	assert_memory_equal(io, ref, len);
	assert_int_equal(io[-1], 0x3c);
	assert_int_equal(io[len], 0x3c);

	envcrypt_sm4_xts_decrypt(k, io, io, len, sector);
	assert_memory_equal(io, pt, len);

	memset(buf, 0x5a, sizeof(buf));
	envcrypt_sm4_xts_decrypt(k, out, ref, len, sector);
	assert_memory_equal(out, pt, len);
	assert_int_equal(out[-1], 0x5a);
	assert_int_equal(out[len], 0x5a);
}

/* ---- the S-box --------------------------------------------------------- */

static u8 gf_mul(u8 a, u8 b, unsigned int poly)
{
	unsigned int x = a, r = 0;

	for (; b; b >>= 1) {
		if (b & 1)
			r ^= x;
		x <<= 1;
		if (x & 0x100)
			x ^= poly;
	}
	return (u8)r;
}

static u8 rol8(u8 x, int n)
{
	return (u8)(x << n | x >> ((8 - n) & 7));
}

/*
 * The S-box from its algebraic definition, independently of any table:
 * S(x) = A * inv(A * x + 0xd3) + 0xd3 in GF(2^8) modulo
 * x^8+x^7+x^6+x^5+x^4+x^2+1 (0x1f5), A * x the XOR of x rotated left by
 * 0, 1, 3, 6 and 7 bits (Liu et al., "Structural properties of the SM4
 * S-box").  Checked here against the standard's vectors via the cipher.
 */
static void sbox_from_algebra(u8 sbox[256])
{
	u8 inv[256] = { 0 };
	unsigned int x, y;

	for (x = 1; x < 256; x++)
		for (y = 1; y < 256; y++)
			if (gf_mul((u8)x, (u8)y, 0x1f5) == 1)
				inv[x] = (u8)y;
	for (x = 0; x < 256; x++) {
		u8 a = (u8)x;

		a = a ^ rol8(a, 1) ^ rol8(a, 3) ^ rol8(a, 6) ^ rol8(a, 7);
		a = inv[a ^ 0xd3];
		a = a ^ rol8(a, 1) ^ rol8(a, 3) ^ rol8(a, 6) ^ rol8(a, 7);
		sbox[x] = a ^ 0xd3;
	}
}

static void test_sbox_table(void **state)
{
	u8 sbox[256];

	(void)state;
	sbox_from_algebra(sbox);
	assert_memory_equal(envcrypt_sm4_sbox, sbox, 256);
}

/* The AESENCLAST S-box of the vector code, for all 256 inputs. */
static void test_sbox_vector(void **state)
{
	u8 sbox[256], vec[256];
	unsigned int x;

	(void)state;
	if (!cpu_avx2) {
		assert_int_equal(envcrypt_sm4_xts_vec_sbox(vec), -EOPNOTSUPP);
		print_message("SKIP: the vector S-box not tested: the CPU has no AES-NI or no AVX2\n");
		skip();
		return;
	}
	sbox_from_algebra(sbox);
	memset(vec, 0, sizeof(vec));
	assert_int_equal(envcrypt_sm4_xts_vec_sbox(vec), 0);
	for (x = 0; x < 256; x++)
		if (vec[x] != sbox[x])
			fail_msg("vector S-box(%#04x) = %#04x, want %#04x", x,
				 vec[x], sbox[x]);
}

/* ---- the block cipher ---------------------------------------------------- */

/*
 * GB/T 32907-2016, Appendix A: key = plaintext = 0123...3210; once, and
 * 1,000,000 times (the ciphertext encrypted again with the same key).
 */
static void test_gbt32907(void **state)
{
	struct envcrypt_sm4_key k;
	u8 key[16], ct[16], want[16], back[16];
	long i;

	(void)state;
	hex_to_bytes("0123456789abcdeffedcba9876543210", key, 16);
	envcrypt_sm4_expand_key(&k, key);

	hex_to_bytes("681edf34d206965e86b3e94f536e4246", want, 16);
	envcrypt_sm4_encrypt_block(&k, ct, key);
	assert_memory_equal(ct, want, 16);
	envcrypt_sm4_decrypt_block(&k, back, ct);
	assert_memory_equal(back, key, 16);

	hex_to_bytes("595298c7c6fd271f0402f804c33d3f66", want, 16);
	memcpy(ct, key, 16);
	for (i = 0; i < 1000000; i++)
		envcrypt_sm4_encrypt_block(&k, ct, ct);
	assert_memory_equal(ct, want, 16);
	for (i = 0; i < 1000000; i++)
		envcrypt_sm4_decrypt_block(&k, ct, ct);
	assert_memory_equal(ct, key, 16);
}

/* Random keys and blocks against OpenSSL's SM4-ECB, both ways. */
static void test_block_openssl(void **state)
{
	struct envcrypt_sm4_key k;
	u8 key[16], pt[64], ct[64], ours[64];
	unsigned int n, b;

	(void)state;
	for (n = 0; n < 2000; n++) {
		rnd_bytes(key, sizeof(key));
		rnd_bytes(pt, sizeof(pt));
		envcrypt_sm4_expand_key(&k, key);
		ossl_sm4_ecb(key, ct, pt, sizeof(pt), 1);
		for (b = 0; b < sizeof(pt); b += 16) {
			envcrypt_sm4_encrypt_block(&k, ours + b, pt + b);
			assert_memory_equal(ours + b, ct + b, 16);
			envcrypt_sm4_decrypt_block(&k, ours + b, ct + b);
			assert_memory_equal(ours + b, pt + b, 16);
		}
	}
}

/* ---- published SM4-XTS vectors (IEEE 1619 tweak) ---------------------- */

/*
 * OpenSSL 3.2's test/recipes/30-test_evp_data/evpciph_sm4.txt, "SM4 XTS
 * test vectors, while the XTS mode is standardized in IEEE Std
 * 1619-2007" (the key, IV and plaintext of GB/T 17964-2021's example).
 * 56 bytes, so the last block and a half use ciphertext stealing, which
 * dm-crypt never does: blocks 0 and 1 are plain XTS, and the last 8
 * bytes are the first 8 of block 2's plain XTS ciphertext.  The IV is not
 * a plain64 sector number, so this checks the reference only.
 */
static void test_openssl_ieee_vector(void **state)
{
	u8 key[32], iv[16], pt[56], ct[56], out[48];

	(void)state;
	hex_to_bytes("2b7e151628aed2a6abf7158809cf4f3c"
		     "000102030405060708090a0b0c0d0e0f", key, 32);
	hex_to_bytes("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv, 16);
	hex_to_bytes("6bc1bee22e409f96e93d7e117393172a"
		     "ae2d8a571e03ac9c9eb76fac45af8e51"
		     "30c81c46a35ce411e5fbc1191a0a52ef"
		     "f69f2445df4f9b17", pt, 56);
	hex_to_bytes("e9538251c71d7b80bbe4483fef497bd1"
		     "b3db1a3e60408c575d63ff7db39f8326"
		     "0869f9e2585fec9f0b863bf8fd784b86"
		     "27d16c0db6d2cfc7", ct, 56);
	ref_xts_iv(key, iv, out, pt, 48, 1);
	assert_memory_equal(out, ct, 32);
	assert_memory_equal(out + 32, ct + 48, 8);
}

/*
 * xts(sm4) vector proposed for Linux's crypto/testmgr.h (HiSilicon SEC
 * driver series, linux-crypto, December 2020; the kernel 6.1 here has no
 * sm4_xts_tv_template): IV 0x3333333333 as plain64, i.e. sector number
 * 0x3333333333.
 */
static const char hisi_key[] =
	"1111111111111111111111111111111122222222222222222222222222222222";
static const char hisi_ct[] =
	"a74d726c11196a32be04e001ff29d0c7932f9f3ec29bfcb64dd17f63cbd3ea31";

static void test_hisi_vector_ref(void **state)
{
	u8 key[32], pt[32], ct[32], out[32];

	(void)state;
	hex_to_bytes(hisi_key, key, 32);
	hex_to_bytes(hisi_ct, ct, 32);
	memset(pt, 0x44, sizeof(pt));
	ref_xts(key, out, pt, 32, 0x3333333333ULL, 1);
	assert_memory_equal(out, ct, 32);
}

static void test_hisi_vector(void **state)
{
	struct envcrypt_sm4_xts_key k;
	u8 key[32], pt[32], ct[32], out[32];

	if (!use_impl(state)) {
		skip();
		return;
	}
	hex_to_bytes(hisi_key, key, 32);
	hex_to_bytes(hisi_ct, ct, 32);
	memset(pt, 0x44, sizeof(pt));
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), 0);
	envcrypt_sm4_xts_encrypt(&k, out, pt, 32, 0x3333333333ULL);
	assert_memory_equal(out, ct, 32);
	envcrypt_sm4_xts_decrypt(&k, out, out, 32, 0x3333333333ULL);
	assert_memory_equal(out, pt, 32);
	envcrypt_sm4_xts_wipe(&k);
}

/* ---- against the reference ----------------------------------------------- */

/* Many keys, sectors, 512- and 4096-byte units, in and out of place. */
static void test_random_sectors(void **state)
{
	static u8 pt[MAX_LEN];
	struct envcrypt_sm4_xts_key k;
	u8 key[KEY_SIZE];
	unsigned int n, i, checks = 0;

	if (!use_impl(state)) {
		skip();
		return;
	}
	for (n = 0; n < 40; n++) {
		rnd_key(key, KEY_SIZE);
		assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), 0);
		for (i = 0; i < 12; i++) {
			unsigned int len = (i & 1) ? 4096 : 512;

			rnd_bytes(pt, len);
			check_one(&k, key, pt, len, pick_sector(i), 0);
			checks++;
		}
	}
	envcrypt_sm4_xts_wipe(&k);
	print_message("%u random keys x 12 sectors, 512 and 4096 bytes: %u checks\n",
		      n, checks);
}

/*
 * Every multiple of 16 up to 4096: whole groups of 16 blocks, and a
 * partial last group of every size, of one set of 8 blocks or two.
 */
static void test_all_lengths(void **state)
{
	static u8 pt[MAX_LEN];
	struct envcrypt_sm4_xts_key k;
	u8 key[KEY_SIZE];
	unsigned int len;

	if (!use_impl(state)) {
		skip();
		return;
	}
	for (len = 16; len <= MAX_LEN; len += 16) {
		rnd_key(key, KEY_SIZE);
		assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), 0);
		rnd_bytes(pt, len);
		check_one(&k, key, pt, len, pick_sector(len / 16), 0);
	}
	envcrypt_sm4_xts_wipe(&k);
}

/*
 * ECB (for the crypto API's ecb(sm4)) against OpenSSL's SM4-ECB: every
 * length up to 4096 bytes, in place and out of place, and back.
 */
static void test_ecb_matches_openssl(void **state)
{
	static u8 pt[MAX_LEN], ct[MAX_LEN], ref[MAX_LEN], back[MAX_LEN];
	struct envcrypt_sm4_key k;
	u8 key[16];
	unsigned int len;

	if (!use_impl(state)) {
		skip();
		return;
	}
	for (len = 16; len <= MAX_LEN; len += 16) {
		rnd_key(key, sizeof(key));
		envcrypt_sm4_expand_key(&k, key);
		rnd_bytes(pt, len);
		ossl_sm4_ecb(key, ref, pt, len, 1);
		envcrypt_sm4_ecb_crypt(&k, ct, pt, len, true);
		assert_memory_equal(ct, ref, len);
		envcrypt_sm4_ecb_crypt(&k, back, ct, len, false);
		assert_memory_equal(back, pt, len);
		memcpy(back, pt, len);
		envcrypt_sm4_ecb_crypt(&k, back, back, len, true);
		assert_memory_equal(back, ref, len);
	}
}

/* Buffers at every misalignment; plaintext too. */
static void test_unaligned(void **state)
{
	static u8 pt_buf[MAX_LEN + 32];
	struct envcrypt_sm4_xts_key k;
	u8 key[KEY_SIZE];
	unsigned int off;

	if (!use_impl(state)) {
		skip();
		return;
	}
	rnd_key(key, KEY_SIZE);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), 0);
	for (off = 0; off < 32; off++) {
		u8 *pt = pt_buf + (31 - off);

		rnd_bytes(pt, MAX_LEN);
		check_one(&k, key, pt, 512, rnd64(), off);
		check_one(&k, key, pt, 4096, rnd64(), off);
		check_one(&k, key, pt, 16 * (1 + off), rnd64(), off);
	}
	envcrypt_sm4_xts_wipe(&k);
}

/*
 * decrypt(encrypt(x)) == x without the reference, for random lengths and
 * sectors; the ciphertext differs from the plaintext and between sectors.
 */
static void test_roundtrip(void **state)
{
	static u8 pt[MAX_LEN], a[MAX_LEN], b[MAX_LEN];
	struct envcrypt_sm4_xts_key k;
	u8 key[KEY_SIZE];
	unsigned int n;

	if (!use_impl(state)) {
		skip();
		return;
	}
	rnd_key(key, KEY_SIZE);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), 0);
	for (n = 0; n < 200; n++) {
		u64 sector = rnd64();
		unsigned int len = 16 * (1 + rnd64() % 256);

		rnd_bytes(pt, len);
		envcrypt_sm4_xts_encrypt(&k, a, pt, len, sector);
		envcrypt_sm4_xts_encrypt(&k, b, pt, len, sector + 1);
		assert_memory_not_equal(a, pt, len);
		assert_memory_not_equal(a, b, len);
		envcrypt_sm4_xts_decrypt(&k, a, a, len, sector);
		assert_memory_equal(a, pt, len);
	}
	envcrypt_sm4_xts_wipe(&k);
}

/* A length of 0 writes nothing. */
static void test_zero_length(void **state)
{
	struct envcrypt_sm4_xts_key k;
	u8 key[KEY_SIZE], buf[32];
	unsigned int i;

	if (!use_impl(state)) {
		skip();
		return;
	}
	rnd_key(key, KEY_SIZE);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), 0);
	memset(buf, 0x77, sizeof(buf));
	envcrypt_sm4_xts_encrypt(&k, buf, buf, 0, 42);
	envcrypt_sm4_xts_decrypt(&k, buf, buf, 0, 42);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x77);
	envcrypt_sm4_xts_wipe(&k);
}

/* The probe picks aesni-avx2 exactly where the CPU has AES-NI and AVX2. */
static void test_probe(void **state)
{
	enum envcrypt_sm4_xts_impl want;

	(void)state;
	want = cpu_avx2 ? ENVCRYPT_SM4_XTS_AESNI_AVX2 :
	       ENVCRYPT_SM4_XTS_GENERIC;
	print_message("probe picked %s\n", envcrypt_sm4_xts_impl_name(probed));
	assert_int_equal(probed, want);
	assert_int_equal(envcrypt_sm4_xts_probe(), probed);
	assert_int_equal(envcrypt_sm4_xts_select(ENVCRYPT_SM4_XTS_GENERIC), 0);
	assert_int_equal(envcrypt_sm4_xts_select(ENVCRYPT_SM4_XTS_AESNI_AVX2),
			 cpu_avx2 ? 0 : -EOPNOTSUPP);
	assert_int_equal(envcrypt_sm4_xts_select((enum envcrypt_sm4_xts_impl)7),
			 -EOPNOTSUPP);
	assert_string_equal(envcrypt_sm4_xts_impl_name(ENVCRYPT_SM4_XTS_GENERIC),
			    "generic");
	assert_string_equal(envcrypt_sm4_xts_impl_name(ENVCRYPT_SM4_XTS_AESNI_AVX2),
			    "aesni-avx2");
}

/* ---- key handling ---------------------------------------------------------- */

static void test_setkey_rejects(void **state)
{
	struct envcrypt_sm4_xts_key k;
	u8 key[KEY_SIZE + 1];

	(void)state;
	rnd_key(key, KEY_SIZE);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, 0), -EINVAL);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, 16), -EINVAL);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, 31), -EINVAL);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, 33), -EINVAL);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, 64), -EINVAL);
	/* Equal data and tweak keys, as the xts template refuses in FIPS. */
	memcpy(key + KEY_SIZE / 2, key, KEY_SIZE / 2);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), -EINVAL);
	/* One bit apart is fine. */
	key[KEY_SIZE - 1] ^= 1;
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), 0);
	envcrypt_sm4_xts_wipe(&k);
}

static void test_wipe(void **state)
{
	static const struct envcrypt_sm4_xts_key zero;
	struct envcrypt_sm4_xts_key k;

	(void)state;
	memset(&k, 0xff, sizeof(k));
	envcrypt_sm4_xts_wipe(&k);
	assert_memory_equal(&k, &zero, sizeof(k));
}

/* The halves of the XTS key go to the data and the tweak schedules. */
static void test_setkey_halves(void **state)
{
	struct envcrypt_sm4_xts_key k;
	struct envcrypt_sm4_key d, t;
	u8 key[KEY_SIZE];

	(void)state;
	rnd_key(key, KEY_SIZE);
	assert_int_equal(envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE), 0);
	envcrypt_sm4_expand_key(&d, key);
	envcrypt_sm4_expand_key(&t, key + 16);
	assert_memory_equal(&k.data, &d, sizeof(d));
	assert_memory_equal(&k.tweak, &t, sizeof(t));
	envcrypt_sm4_xts_wipe(&k);
}

/* ---- benchmark --------------------------------------------------------- */

struct bench_arg {
	struct bench_sector s;
	const struct envcrypt_sm4_xts_key *k;
	EVP_CIPHER_CTX *ecb_ctx;
};

static struct bench_arg *arg_of(struct bench_sector *s)
{
	return container_of(s, struct bench_arg, s);
}

static void run_enc(struct bench_sector *s)
{
	envcrypt_sm4_xts_encrypt(arg_of(s)->k, s->buf, s->buf, s->len,
				 s->sector);
}

static void run_dec(struct bench_sector *s)
{
	envcrypt_sm4_xts_decrypt(arg_of(s)->k, s->buf, s->buf, s->len,
				 s->sector);
}

/* OpenSSL's SM4-ECB over the sector: one EVP update, key already set. */
static void run_ossl_ecb(struct bench_sector *s)
{
	int outl;

	if (EVP_CipherUpdate(arg_of(s)->ecb_ctx, s->buf, &outl, s->buf,
			     (int)s->len) != 1)
		abort();
}

static int bench(void)
{
	static const enum envcrypt_sm4_xts_impl impls[] = {
		ENVCRYPT_SM4_XTS_AESNI_AVX2, ENVCRYPT_SM4_XTS_GENERIC,
	};
	static u8 buf[MAX_LEN] __attribute__((aligned(64)));
	struct envcrypt_sm4_xts_key k __attribute__((aligned(64)));
	struct bench_arg a = {
		.s = { .buf = buf, .sector = 1ULL << 33 }, .k = &k,
	};
	double ossl, vec = 0;
	u8 key[KEY_SIZE];
	char name[64];
	size_t i;

	rnd_key(key, KEY_SIZE);
	rnd_bytes(buf, sizeof(buf));
	a.ecb_ctx = EVP_CIPHER_CTX_new();
	if (!a.ecb_ctx ||
	    EVP_CipherInit_ex(a.ecb_ctx, EVP_sm4_ecb(), NULL, key, NULL,
			      1) != 1 ||
	    EVP_CIPHER_CTX_set_padding(a.ecb_ctx, 0) != 1)
		return 1;
	if (envcrypt_sm4_xts_setkey(&k, key, KEY_SIZE))
		return 1;

	printf("Instructions per sector (user space, single-stepped):\n");
	for (i = 0; i < ARRAY_SIZE(impls); i++) {
		if (envcrypt_sm4_xts_select(impls[i])) {
			printf("  SKIP: %s not usable here\n",
			       envcrypt_sm4_xts_impl_name(impls[i]));
			continue;
		}
		snprintf(name, sizeof(name), "%s encrypt",
			 envcrypt_sm4_xts_impl_name(impls[i]));
		bench_counts(name, run_enc, &a.s, 7, 5);
		snprintf(name, sizeof(name), "%s decrypt",
			 envcrypt_sm4_xts_impl_name(impls[i]));
		bench_counts(name, run_dec, &a.s, 7, 5);
	}
	bench_counts("OpenSSL SM4-ECB encrypt", run_ossl_ecb, &a.s, 7, 5);

	printf("Speed on this CPU, single core, 4096-byte sectors in place:\n");
	a.s.len = 4096;
	ossl = time_one("OpenSSL SM4-ECB encrypt (EVP)", 34, run_ossl_ecb, &a.s,
			20000);
	for (i = 0; i < ARRAY_SIZE(impls); i++) {
		double e;

		if (envcrypt_sm4_xts_select(impls[i]))
			continue;
		snprintf(name, sizeof(name), "SM4-XTS %s encrypt",
			 envcrypt_sm4_xts_impl_name(impls[i]));
		e = time_one(name, 34, run_enc, &a.s, 20000);
		snprintf(name, sizeof(name), "SM4-XTS %s decrypt",
			 envcrypt_sm4_xts_impl_name(impls[i]));
		time_one(name, 34, run_dec, &a.s, 20000);
		if (impls[i] == ENVCRYPT_SM4_XTS_AESNI_AVX2)
			vec = e;
	}
	if (vec > 0)
		printf("aesni-avx2 SM4-XTS encrypt / OpenSSL SM4-ECB: %.2fx (target >= 3x)\n",
		       vec / ossl);
	EVP_CIPHER_CTX_free(a.ecb_ctx);
	envcrypt_sm4_xts_wipe(&k);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static enum envcrypt_sm4_xts_impl impl_generic = ENVCRYPT_SM4_XTS_GENERIC;
static enum envcrypt_sm4_xts_impl impl_avx2 = ENVCRYPT_SM4_XTS_AESNI_AVX2;

#define BOTH(f)								\
	{ #f "/generic", f, NULL, NULL, &impl_generic },		\
	{ #f "/aesni-avx2", f, NULL, NULL, &impl_avx2 }

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sbox_table),
		cmocka_unit_test(test_gbt32907),
		cmocka_unit_test(test_block_openssl),
		cmocka_unit_test(test_setkey_rejects),
		cmocka_unit_test(test_setkey_halves),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_openssl_ieee_vector),
		cmocka_unit_test(test_hisi_vector_ref),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_sbox_vector),
		BOTH(test_hisi_vector),
		BOTH(test_random_sectors),
		BOTH(test_all_lengths),
		BOTH(test_ecb_matches_openssl),
		BOTH(test_unaligned),
		BOTH(test_roundtrip),
		BOTH(test_zero_length),
	};
	u64 seed = rnd_seed("SM4_TEST_SEED", 0x736d342d787473ULL);

	probed = envcrypt_sm4_xts_probe();
	__builtin_cpu_init();
	cpu_avx2 = __builtin_cpu_supports("aes") &&
		   __builtin_cpu_supports("avx2");

	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return bench();
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--bench]\n", argv[0]);
		return 2;
	}

	printf("probe: %s; seed %#llx\n", envcrypt_sm4_xts_impl_name(probed),
	       seed);
	if (!cpu_avx2)
		printf("SKIP: the aesni-avx2 implementation is not tested here: %s\n",
		       "the CPU has no AES-NI or no AVX2");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
