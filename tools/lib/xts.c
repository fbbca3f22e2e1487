// SPDX-License-Identifier: GPL-2.0
/*
 * XTS in userspace (xts.h): AES-XTS through OpenSSL, SM4-XTS composed
 * over OpenSSL's SM4-ECB.
 *
 * SM4-XTS: block j of a sector is C_j = E_K1(P_j ^ T_j) ^ T_j, with
 * T_0 = E_K2(IV) and T_j = T_0 * x^j in GF(2^128) modulo
 * x^128 + x^7 + x^2 + x + 1, a 16-byte value being a little-endian
 * polynomial (IEEE 1619; Linux's gf128mul_x_ble).  A batch of up to
 * BATCH bytes of sectors is done in four passes: the IVs of all its
 * sectors through one ECB call with K2, the tweaks of all its blocks,
 * P ^ T, one ECB call with K1 over the whole batch, and ^ T again.
 */
#include <endian.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dm-envcrypt.h"
#include "error.h"
#include "secmem.h"
#include "xts.h"

#define BLOCK		16
#define BATCH		(64 * 1024)	/* bytes of tweaks kept at once */

struct ec_xts {
	bool sm4;
	uint32_t sector_size;
	uint32_t iv_step;		/* sector_size / 512 */
	/* AES: aes-256-xts; SM4: sm4-ecb with K1 */
	EVP_CIPHER_CTX *enc, *dec;
	EVP_CIPHER_CTX *tweak;		/* SM4: sm4-ecb with K2, encrypt */
	uint8_t *tw;			/* SM4: BATCH bytes of tweaks */
};

static int ossl_error(const char *what)
{
	return ec_err_set(-EIO, "OpenSSL %s failed", what);
}

static EVP_CIPHER_CTX *cipher_ctx(const EVP_CIPHER *c, const uint8_t *key,
				  int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx)
		return NULL;
	if (!EVP_CipherInit_ex(ctx, c, NULL, key, NULL, enc) ||
	    !EVP_CIPHER_CTX_set_padding(ctx, 0)) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int ec_xts_new(const char *cipher, const uint8_t *dk, size_t dk_len,
	       uint32_t sector_size, struct ec_xts **xp)
{
	struct ec_xts *x;
	bool sm4;

	*xp = NULL;
	if (!strcmp(cipher, ENVCRYPT_CIPHER_AES_XTS))
		sm4 = false;
	else if (!strcmp(cipher, ENVCRYPT_CIPHER_SM4_XTS))
		sm4 = true;
	else
		return ec_err_set(-EINVAL, "unknown cipher '%s'; use %s or %s",
				  cipher, ENVCRYPT_CIPHER_AES_XTS,
				  ENVCRYPT_CIPHER_SM4_XTS);
	if (dk_len != (sm4 ? ENVCRYPT_SM4_XTS_KEY_SIZE :
			     ENVCRYPT_AES_XTS_KEY_SIZE))
		return ec_err_set(-EINVAL, "%s needs a %d-byte data key, not %zu",
				  cipher, sm4 ? ENVCRYPT_SM4_XTS_KEY_SIZE :
						ENVCRYPT_AES_XTS_KEY_SIZE,
				  dk_len);
	if (sector_size != 512 && sector_size != 4096)
		return ec_err_set(-EINVAL, "sector size %u is not supported; use 512 or 4096",
				  sector_size);
	x = calloc(1, sizeof(*x));
	if (!x)
		return ec_err_set(-ENOMEM, "out of memory");
	x->sm4 = sm4;
	x->sector_size = sector_size;
	x->iv_step = sector_size / 512;
	if (!sm4) {
		x->enc = cipher_ctx(EVP_aes_256_xts(), dk, 1);
		x->dec = cipher_ctx(EVP_aes_256_xts(), dk, 0);
	} else {
		x->enc = cipher_ctx(EVP_sm4_ecb(), dk, 1);
		x->dec = cipher_ctx(EVP_sm4_ecb(), dk, 0);
		x->tweak = cipher_ctx(EVP_sm4_ecb(), dk + dk_len / 2, 1);
		x->tw = aligned_alloc(64, BATCH);
	}
	if (!x->enc || !x->dec || (sm4 && (!x->tweak || !x->tw))) {
		ec_xts_free(x);
		return ossl_error(sm4 ? "SM4-ECB key setup" :
					"AES-256-XTS key setup");
	}
	*xp = x;
	return 0;
}

void ec_xts_free(struct ec_xts *x)
{
	if (!x)
		return;
	EVP_CIPHER_CTX_free(x->enc);
	EVP_CIPHER_CTX_free(x->dec);
	EVP_CIPHER_CTX_free(x->tweak);
	if (x->tw) {
		ec_wipe(x->tw, BATCH);
		free(x->tw);
	}
	free(x);
}

static void plain64(uint8_t iv[BLOCK], uint64_t n)
{
	uint64_t le = htole64(n);

	memcpy(iv, &le, 8);
	memset(iv + 8, 0, 8);
}

static int aes_xts(struct ec_xts *x, bool enc, uint8_t *dst,
		   const uint8_t *src, size_t len, uint64_t sector)
{
	EVP_CIPHER_CTX *ctx = enc ? x->enc : x->dec;
	uint8_t iv[BLOCK];
	size_t off;
	int outl;

	for (off = 0; off < len; off += x->sector_size, sector++) {
		plain64(iv, sector * x->iv_step);
		if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1) ||
		    !EVP_CipherUpdate(ctx, dst + off, &outl, src + off,
				      (int)x->sector_size) ||
		    outl != (int)x->sector_size)
			return ossl_error("AES-256-XTS");
	}
	return 0;
}

/* dst = a ^ b, @len a multiple of 16 */
static void xor_blocks(uint8_t *dst, const uint8_t *a, const uint8_t *b,
		       size_t len)
{
	uint64_t u, v;
	size_t i;

	for (i = 0; i < len; i += 8) {
		memcpy(&u, a + i, 8);
		memcpy(&v, b + i, 8);
		u ^= v;
		memcpy(dst + i, &u, 8);
	}
}

static int ecb(EVP_CIPHER_CTX *ctx, uint8_t *dst, const uint8_t *src,
	       size_t len)
{
	int outl;

	if (!EVP_CipherUpdate(ctx, dst, &outl, src, (int)len) ||
	    outl != (int)len)
		return ossl_error("SM4-ECB");
	return 0;
}

/* One batch of whole sectors, @len <= BATCH. */
static int sm4_xts_batch(struct ec_xts *x, bool enc, uint8_t *dst,
			 const uint8_t *src, size_t len, uint64_t sector)
{
	size_t sectors = len / x->sector_size, blocks = x->sector_size / BLOCK;
	size_t s, j;
	uint8_t *t;
	int r;

	uint8_t t0[BATCH / 512 * BLOCK];

	/* T_0 of every sector through one ECB call */
	for (s = 0; s < sectors; s++)
		plain64(t0 + s * BLOCK, (sector + s) * x->iv_step);
	r = ecb(x->tweak, t0, t0, sectors * BLOCK);
	if (r)
		return r;
	for (s = 0; s < sectors; s++) {
		uint64_t lo, hi, carry;

		t = x->tw + s * x->sector_size;
		memcpy(t, t0 + s * BLOCK, BLOCK);
		memcpy(&lo, t, 8);
		memcpy(&hi, t + 8, 8);
		lo = le64toh(lo);
		hi = le64toh(hi);
		for (j = 1; j < blocks; j++) {
			carry = hi >> 63;
			hi = hi << 1 | lo >> 63;
			lo = lo << 1 ^ (carry ? 0x87 : 0);
			t += BLOCK;
			{
				uint64_t le_lo = htole64(lo),
					 le_hi = htole64(hi);

				memcpy(t, &le_lo, 8);
				memcpy(t + 8, &le_hi, 8);
			}
		}
	}
	xor_blocks(dst, src, x->tw, len);
	r = ecb(enc ? x->enc : x->dec, dst, dst, len);
	if (r)
		return r;
	xor_blocks(dst, dst, x->tw, len);
	ec_wipe(t0, sizeof(t0));
	return 0;
}

int ec_xts_crypt(struct ec_xts *x, bool enc, uint8_t *dst,
		 const uint8_t *src, size_t len, uint64_t sector)
{
	size_t off, n;
	int r;

	if (len % x->sector_size)
		return ec_err_set(-EINVAL, "%zu bytes are not whole %u-byte sectors",
				  len, x->sector_size);
	if (!x->sm4)
		return aes_xts(x, enc, dst, src, len, sector);
	for (off = 0; off < len; off += n) {
		n = len - off < BATCH ? len - off : BATCH;
		r = sm4_xts_batch(x, enc, dst + off, src + off, n,
				  sector + off / x->sector_size);
		if (r)
			return r;
	}
	return 0;
}
