// SPDX-License-Identifier: GPL-2.0
/*
 * The AEADs that wrap data keys.  AES-256-GCM is OpenSSL's.  SM4-GCM is
 * GCM as NIST SP 800-38D defines it (RFC 8998 for SM4), written here over
 * OpenSSL's SM4-ECB, because OpenSSL 3.0 has SM4 but no SM4-GCM:
 *
 *   H  = E(K, 0^128)                    the hash subkey
 *   J0 = IV || 0^31 || 1                96-bit IV only
 *   C  = P xor E(K, inc32(J0)), E(K, inc32(inc32(J0))), ...
 *   S  = GHASH_H(A || 0^v || C || 0^u || [len(A)]64 || [len(C)]64)
 *   T  = E(K, J0) xor S
 *
 * The inputs are small (a data key and an encryption context), so GHASH
 * multiplies bit by bit, with masks instead of branches on secret bits.
 * Every copy of H, the counter blocks and the key stream is wiped, and the
 * OpenSSL contexts that hold the key schedule are freed (which cleanses
 * them) before returning.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "aead-gcm.h"
#include "aead.h"
#include "error.h"
#include "secmem.h"

#define GCM_BLOCK_SIZE		16
/* SP 800-38D: at most 2^32 - 2 blocks of plaintext with a 96-bit IV. */
#define GCM_MAX_LEN		((((uint64_t)1 << 32) - 2) * GCM_BLOCK_SIZE)

static const char *aead_name(enum ec_aead alg)
{
	switch (alg) {
	case EC_AEAD_AES_256_GCM:
		return "AES-256-GCM";
	case EC_AEAD_SM4_GCM:
		return "SM4-GCM";
	}
	return "unknown AEAD";
}

size_t ec_aead_key_size(enum ec_aead alg)
{
	switch (alg) {
	case EC_AEAD_AES_256_GCM:
		return 32;
	case EC_AEAD_SM4_GCM:
		return 16;
	}
	return 0;
}

/* An OpenSSL call failed: -EIO, with OpenSSL's reason when it gave one. */
static int openssl_failed(const char *name, const char *call)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return ec_err_set(-EIO,
			  "%s: OpenSSL failed in %s (%s); check the OpenSSL installation (libcrypto 3.0 or newer with SM4)",
			  name, call, reason ? reason : "no reason given");
}

static int no_context(const char *name)
{
	return ec_err_set(-ENOMEM, "%s: out of memory for a cipher context",
			  name);
}

static int check_args(const char *name, const uint8_t *key,
		      const uint8_t *iv, const uint8_t *aad, size_t aad_len,
		      const uint8_t *in, size_t len, const uint8_t *out,
		      const uint8_t *tag)
{
	if (!key || !iv || !tag || (aad_len && !aad) ||
	    (len && (!in || !out)))
		return ec_err_set(-EINVAL, "%s: missing key, IV, tag or data",
				  name);
	if ((uint64_t)len > GCM_MAX_LEN)
		return ec_err_set(-EINVAL, "%s: %zu bytes is too long to seal",
				  name, len);
	return 0;
}

static int bad_tag(const char *name, uint8_t *out, size_t len)
{
	ec_wipe(out, len);
	return ec_err_set(-EBADMSG,
			  "%s: the tag does not match: wrong key, IV or associated data, or the ciphertext was changed",
			  name);
}

/* ---- GCM over a block cipher in ECB mode ------------------------------- */

struct gcm {
	const char *name;
	EVP_CIPHER_CTX *ecb;		/* holds the key schedule */
	uint8_t h[GCM_BLOCK_SIZE];	/* hash subkey */
	uint8_t j0[GCM_BLOCK_SIZE];	/* pre-counter block */
	uint8_t s[GCM_BLOCK_SIZE];	/* GHASH state */
};

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/*
 * @x = @x * @y in GF(2^128) with GCM's bit order (SP 800-38D, algorithm
 * 1): bit 0 is the most significant bit of byte 0, and the reduction
 * polynomial is x^128 + x^7 + x^2 + x + 1 (R = 0xe1 || 0^120).  No branch
 * and no memory access depends on a bit of @x or @y.
 */
static void gf128_mul(uint8_t x[GCM_BLOCK_SIZE],
		      const uint8_t y[GCM_BLOCK_SIZE])
{
	uint64_t z_hi = 0, z_lo = 0;
	uint64_t v_hi = load_be64(y), v_lo = load_be64(y + 8);
	uint64_t mask, carry;
	int i;

	for (i = 0; i < 128; i++) {
		mask = 0 - (uint64_t)((x[i / 8] >> (7 - i % 8)) & 1);
		z_hi ^= v_hi & mask;
		z_lo ^= v_lo & mask;
		carry = 0 - (v_lo & 1);
		v_lo = v_lo >> 1 | v_hi << 63;
		v_hi = v_hi >> 1 ^ (0xe100000000000000ULL & carry);
	}
	store_be64(x, z_hi);
	store_be64(x + 8, z_lo);
}

/* Feed @len bytes into GHASH, the last block padded with zeros. */
static void ghash_update(struct gcm *g, const uint8_t *data, size_t len)
{
	size_t i, n;

	while (len) {
		n = len < GCM_BLOCK_SIZE ? len : GCM_BLOCK_SIZE;
		for (i = 0; i < n; i++)
			g->s[i] ^= data[i];
		gf128_mul(g->s, g->h);
		data += n;
		len -= n;
	}
}

/* One block through the block cipher. */
static int gcm_encrypt_block(struct gcm *g, const uint8_t in[GCM_BLOCK_SIZE],
			     uint8_t out[GCM_BLOCK_SIZE])
{
	int outl = 0;

	if (EVP_EncryptUpdate(g->ecb, out, &outl, in, GCM_BLOCK_SIZE) != 1 ||
	    outl != GCM_BLOCK_SIZE)
		return openssl_failed(g->name, "EVP_EncryptUpdate");
	return 0;
}

static void gcm_done(struct gcm *g)
{
	EVP_CIPHER_CTX_free(g->ecb);
	ec_wipe(g, sizeof(*g));
}

/* Key the block cipher, H = E(K, 0), J0 = IV || 0^31 || 1, S = 0. */
static int gcm_start(struct gcm *g, const EVP_CIPHER *ecb, const char *name,
		     const uint8_t *key, const uint8_t iv[EC_AEAD_IV_SIZE])
{
	static const uint8_t zero[GCM_BLOCK_SIZE];
	int r;

	memset(g, 0, sizeof(*g));
	g->name = name;
	if (!ecb || EVP_CIPHER_get_block_size(ecb) != GCM_BLOCK_SIZE)
		return ec_err_set(-EINVAL,
				  "%s: GCM needs a 128-bit block cipher", name);
	g->ecb = EVP_CIPHER_CTX_new();
	if (!g->ecb)
		return no_context(name);
	if (EVP_EncryptInit_ex(g->ecb, ecb, NULL, key, NULL) != 1)
		return openssl_failed(name, "EVP_EncryptInit_ex");
	if (EVP_CIPHER_CTX_set_padding(g->ecb, 0) != 1)
		return openssl_failed(name, "EVP_CIPHER_CTX_set_padding");
	r = gcm_encrypt_block(g, zero, g->h);
	if (r)
		return r;
	memcpy(g->j0, iv, EC_AEAD_IV_SIZE);
	g->j0[GCM_BLOCK_SIZE - 1] = 1;
	return 0;
}

/* GCTR from inc32(J0): @out = @in xor key stream; @in may be @out. */
static int gcm_ctr(struct gcm *g, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t counter[GCM_BLOCK_SIZE], stream[GCM_BLOCK_SIZE];
	uint32_t ctr32;
	size_t i, n;
	int r = 0;

	memcpy(counter, g->j0, sizeof(counter));
	while (len) {
		/* inc32: the low 32 bits, big endian, modulo 2^32 */
		ctr32 = (uint32_t)counter[12] << 24 |
			(uint32_t)counter[13] << 16 |
			(uint32_t)counter[14] << 8 | counter[15];
		ctr32++;
		counter[12] = (uint8_t)(ctr32 >> 24);
		counter[13] = (uint8_t)(ctr32 >> 16);
		counter[14] = (uint8_t)(ctr32 >> 8);
		counter[15] = (uint8_t)ctr32;

		r = gcm_encrypt_block(g, counter, stream);
		if (r)
			break;
		n = len < GCM_BLOCK_SIZE ? len : GCM_BLOCK_SIZE;
		for (i = 0; i < n; i++)
			out[i] = in[i] ^ stream[i];
		in += n;
		out += n;
		len -= n;
	}
	ec_wipe(counter, sizeof(counter));
	ec_wipe(stream, sizeof(stream));
	return r;
}

/* After the AAD and the ciphertext went through GHASH: the tag. */
static int gcm_tag(struct gcm *g, size_t aad_len, size_t len,
		   uint8_t tag[EC_AEAD_TAG_SIZE])
{
	uint8_t lengths[GCM_BLOCK_SIZE], mask[GCM_BLOCK_SIZE];
	int i, r;

	store_be64(lengths, (uint64_t)aad_len * 8);
	store_be64(lengths + 8, (uint64_t)len * 8);
	ghash_update(g, lengths, sizeof(lengths));
	r = gcm_encrypt_block(g, g->j0, mask);
	if (!r)
		for (i = 0; i < EC_AEAD_TAG_SIZE; i++)
			tag[i] = g->s[i] ^ mask[i];
	ec_wipe(mask, sizeof(mask));
	return r;
}

int ec_gcm_seal(const EVP_CIPHER *ecb, const char *name, const uint8_t *key,
		const uint8_t iv[EC_AEAD_IV_SIZE],
		const uint8_t *aad, size_t aad_len,
		const uint8_t *in, size_t len, uint8_t *out,
		uint8_t tag[EC_AEAD_TAG_SIZE])
{
	struct gcm g;
	int r;

	r = check_args(name, key, iv, aad, aad_len, in, len, out, tag);
	if (r)
		return r;
	r = gcm_start(&g, ecb, name, key, iv);
	if (r)
		goto out;
	ghash_update(&g, aad, aad_len);
	r = gcm_ctr(&g, in, len, out);
	if (r)
		goto out;
	ghash_update(&g, out, len);
	r = gcm_tag(&g, aad_len, len, tag);
out:
	if (r && len)
		ec_wipe(out, len);
	gcm_done(&g);
	return r;
}

int ec_gcm_open(const EVP_CIPHER *ecb, const char *name, const uint8_t *key,
		const uint8_t iv[EC_AEAD_IV_SIZE],
		const uint8_t *aad, size_t aad_len,
		const uint8_t *in, size_t len, uint8_t *out,
		const uint8_t tag[EC_AEAD_TAG_SIZE])
{
	uint8_t expected[EC_AEAD_TAG_SIZE];
	struct gcm g;
	int r;

	r = check_args(name, key, iv, aad, aad_len, in, len, out, tag);
	if (r)
		return r;
	r = gcm_start(&g, ecb, name, key, iv);
	if (r)
		goto out;
	/* Authenticate first: nothing is decrypted from a forgery. */
	ghash_update(&g, aad, aad_len);
	ghash_update(&g, in, len);
	r = gcm_tag(&g, aad_len, len, expected);
	if (r)
		goto out;
	if (CRYPTO_memcmp(expected, tag, EC_AEAD_TAG_SIZE)) {
		r = bad_tag(name, out, len);
		goto out;
	}
	r = gcm_ctr(&g, in, len, out);
out:
	if (r && len)
		ec_wipe(out, len);
	ec_wipe(expected, sizeof(expected));
	gcm_done(&g);
	return r;
}

/* ---- AES-256-GCM: OpenSSL's ------------------------------------------ */

static int aes_gcm_seal(const uint8_t *key, const uint8_t *iv,
			const uint8_t *aad, size_t aad_len,
			const uint8_t *in, size_t len, uint8_t *out,
			uint8_t *tag)
{
	const char *name = aead_name(EC_AEAD_AES_256_GCM);
	uint8_t final[GCM_BLOCK_SIZE];	/* GCM's final writes nothing */
	EVP_CIPHER_CTX *ctx;
	int outl, r = 0;

	if (len > INT_MAX || aad_len > INT_MAX)
		return ec_err_set(-EINVAL, "%s: too long to seal", name);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return no_context(name);
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, EC_AEAD_IV_SIZE,
				NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) != 1) {
		r = openssl_failed(name, "EVP_EncryptInit_ex");
		goto out;
	}
	if ((aad_len &&
	     EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1) ||
	    (len && EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) != 1)) {
		r = openssl_failed(name, "EVP_EncryptUpdate");
		goto out;
	}
	if (EVP_EncryptFinal_ex(ctx, final, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, EC_AEAD_TAG_SIZE,
				tag) != 1)
		r = openssl_failed(name, "EVP_EncryptFinal_ex");
out:
	if (r && len)
		ec_wipe(out, len);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static int aes_gcm_open(const uint8_t *key, const uint8_t *iv,
			const uint8_t *aad, size_t aad_len,
			const uint8_t *in, size_t len, uint8_t *out,
			const uint8_t *tag)
{
	const char *name = aead_name(EC_AEAD_AES_256_GCM);
	uint8_t tag_copy[EC_AEAD_TAG_SIZE];
	uint8_t final[GCM_BLOCK_SIZE];	/* GCM's final writes nothing */
	EVP_CIPHER_CTX *ctx;
	int outl, r = 0;

	if (len > INT_MAX || aad_len > INT_MAX)
		return ec_err_set(-EINVAL, "%s: too long to open", name);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return no_context(name);
	memcpy(tag_copy, tag, sizeof(tag_copy));
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, EC_AEAD_IV_SIZE,
				NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) != 1) {
		r = openssl_failed(name, "EVP_DecryptInit_ex");
		goto out;
	}
	if ((aad_len &&
	     EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1) ||
	    (len && EVP_DecryptUpdate(ctx, out, &outl, in, (int)len) != 1)) {
		r = openssl_failed(name, "EVP_DecryptUpdate");
		goto out;
	}
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, EC_AEAD_TAG_SIZE,
				tag_copy) != 1) {
		r = openssl_failed(name, "EVP_CIPHER_CTX_ctrl");
		goto out;
	}
	/* The only failure of the final step of GCM decryption is the tag. */
	if (EVP_DecryptFinal_ex(ctx, final, &outl) != 1) {
		ERR_clear_error();
		r = bad_tag(name, out, len);
	}
out:
	if (r && len)
		ec_wipe(out, len);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* ---- the interface ----------------------------------------------------- */

int ec_aead_seal(enum ec_aead alg, const uint8_t *key,
		 const uint8_t iv[EC_AEAD_IV_SIZE],
		 const uint8_t *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *out,
		 uint8_t tag[EC_AEAD_TAG_SIZE])
{
	const char *name = aead_name(alg);
	int r;

	switch (alg) {
	case EC_AEAD_AES_256_GCM:
		r = check_args(name, key, iv, aad, aad_len, in, len, out, tag);
		if (r)
			return r;
		return aes_gcm_seal(key, iv, aad, aad_len, in, len, out, tag);
	case EC_AEAD_SM4_GCM:
		return ec_gcm_seal(EVP_sm4_ecb(), name, key, iv, aad, aad_len,
				   in, len, out, tag);
	}
	return ec_err_set(-EINVAL, "unknown AEAD %d", (int)alg);
}

int ec_aead_open(enum ec_aead alg, const uint8_t *key,
		 const uint8_t iv[EC_AEAD_IV_SIZE],
		 const uint8_t *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *out,
		 const uint8_t tag[EC_AEAD_TAG_SIZE])
{
	const char *name = aead_name(alg);
	int r;

	switch (alg) {
	case EC_AEAD_AES_256_GCM:
		r = check_args(name, key, iv, aad, aad_len, in, len, out, tag);
		if (r)
			return r;
		return aes_gcm_open(key, iv, aad, aad_len, in, len, out, tag);
	case EC_AEAD_SM4_GCM:
		return ec_gcm_open(EVP_sm4_ecb(), name, key, iv, aad, aad_len,
				   in, len, out, tag);
	}
	return ec_err_set(-EINVAL, "unknown AEAD %d", (int)alg);
}
