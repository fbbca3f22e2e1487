// SPDX-License-Identifier: GPL-2.0
/*
 * dm-envcrypt: the SM4 block cipher (GB/T 32907-2016) for the kernel
 * crypto API, for kernels that have none (Debian 12's 6.1 has no SM4).
 *
 * It is registered as "sm4" at priority 50: below the kernel's own
 * sm4-generic (100) and every architecture implementation, so a kernel's
 * own SM4 wins wherever it exists.  The ecb and xts templates build
 * "xts(sm4)" on top of it, for dm-crypt and for dm-envcrypt's crypto_api
 * option; dm-envcrypt's default path uses its built-in SM4-XTS instead.
 * Where the CPU has AES-NI and AVX2 it also registers "ecb(sm4)" built on
 * the accelerated SM4 of sm4-xts.c, at priority 60: above the portable
 * cipher (and the ecb template over it), below any kernel implementation.
 * The xts template then builds "xts(sm4)" on the accelerated one.
 *
 * The crypto API takes a reference on the module for every user, so
 * unloading is refused while anyone uses it.  MODULE_ALIAS_CRYPTO lets the
 * crypto API load the module when something asks for sm4 (dm-crypt's
 * sm4-xts-plain64, AF_ALG).  In FIPS mode nothing is registered: SM4 is
 * not an approved algorithm there, and registering from an unsigned module
 * would panic the kernel.
 */

#include <asm/fpu/api.h>
#include <asm/simd.h>
#include <crypto/algapi.h>
#include <crypto/internal/simd.h>
#include <crypto/internal/skcipher.h>
#include <linux/crypto.h>
#include <linux/fips.h>
#include <linux/module.h>

#include "sm4.h"
#include "sm4-crypto.h"
#include "sm4-xts.h"

static int envcrypt_sm4_setkey(struct crypto_tfm *tfm, const u8 *key,
			       unsigned int key_len)
{
	if (key_len != ENVCRYPT_SM4_KEY_SIZE)
		return -EINVAL;
	envcrypt_sm4_expand_key(crypto_tfm_ctx(tfm), key);
	return 0;
}

static void envcrypt_sm4_encrypt(struct crypto_tfm *tfm, u8 *out,
				 const u8 *in)
{
	envcrypt_sm4_encrypt_block(crypto_tfm_ctx(tfm), out, in);
}

static void envcrypt_sm4_decrypt(struct crypto_tfm *tfm, u8 *out,
				 const u8 *in)
{
	envcrypt_sm4_decrypt_block(crypto_tfm_ctx(tfm), out, in);
}

static struct crypto_alg envcrypt_sm4_alg = {
	.cra_name		= "sm4",
	.cra_driver_name	= "sm4-envcrypt",
	.cra_priority		= 50,
	.cra_flags		= CRYPTO_ALG_TYPE_CIPHER,
	.cra_blocksize		= ENVCRYPT_SM4_BLOCK_SIZE,
	.cra_ctxsize		= sizeof(struct envcrypt_sm4_key),
	.cra_module		= THIS_MODULE,
	.cra_u.cipher = {
		.cia_min_keysize	= ENVCRYPT_SM4_KEY_SIZE,
		.cia_max_keysize	= ENVCRYPT_SM4_KEY_SIZE,
		.cia_setkey		= envcrypt_sm4_setkey,
		.cia_encrypt		= envcrypt_sm4_encrypt,
		.cia_decrypt		= envcrypt_sm4_decrypt,
	},
};

static int envcrypt_sm4_ecb_setkey(struct crypto_skcipher *tfm,
				   const u8 *key, unsigned int key_len)
{
	if (key_len != ENVCRYPT_SM4_KEY_SIZE)
		return -EINVAL;
	envcrypt_sm4_expand_key(crypto_skcipher_ctx(tfm), key);
	return 0;
}

/* Whole blocks of each step of the walk; the FPU only where usable. */
static int envcrypt_sm4_ecb(struct skcipher_request *req, bool encrypt)
{
	const struct envcrypt_sm4_key *key =
		crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	struct skcipher_walk walk;
	unsigned int n, len, i;
	int r;

	r = skcipher_walk_virt(&walk, req, false);
	while ((n = walk.nbytes)) {
		u8 *dst = walk.dst.virt.addr;
		const u8 *src = walk.src.virt.addr;

		len = n & ~(ENVCRYPT_SM4_BLOCK_SIZE - 1);
		if (crypto_simd_usable()) {
			kernel_fpu_begin();
			envcrypt_sm4_ecb_crypt(key, dst, src, len, encrypt);
			kernel_fpu_end();
		} else {
			for (i = 0; i < len; i += ENVCRYPT_SM4_BLOCK_SIZE) {
				if (encrypt)
					envcrypt_sm4_encrypt_block(key, dst + i,
								   src + i);
				else
					envcrypt_sm4_decrypt_block(key, dst + i,
								   src + i);
			}
		}
		r = skcipher_walk_done(&walk, n - len);
	}
	return r;
}

static int envcrypt_sm4_ecb_encrypt(struct skcipher_request *req)
{
	return envcrypt_sm4_ecb(req, true);
}

static int envcrypt_sm4_ecb_decrypt(struct skcipher_request *req)
{
	return envcrypt_sm4_ecb(req, false);
}

static struct skcipher_alg envcrypt_sm4_ecb_alg = {
	.base.cra_name		= "ecb(sm4)",
	.base.cra_driver_name	= "ecb-sm4-aesni-avx2-envcrypt",
	.base.cra_priority	= 60,
	.base.cra_blocksize	= ENVCRYPT_SM4_BLOCK_SIZE,
	.base.cra_ctxsize	= sizeof(struct envcrypt_sm4_key),
	.base.cra_module	= THIS_MODULE,
	.min_keysize		= ENVCRYPT_SM4_KEY_SIZE,
	.max_keysize		= ENVCRYPT_SM4_KEY_SIZE,
	.setkey			= envcrypt_sm4_ecb_setkey,
	.encrypt		= envcrypt_sm4_ecb_encrypt,
	.decrypt		= envcrypt_sm4_ecb_decrypt,
};

/* GB/T 32907-2016, appendix A.1: key and plaintext are the same. */
static const u8 envcrypt_sm4_kat_key[ENVCRYPT_SM4_KEY_SIZE] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

static const u8 envcrypt_sm4_kat_ciphertext[ENVCRYPT_SM4_BLOCK_SIZE] = {
	0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e,
	0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e, 0x42, 0x46,
};

static bool envcrypt_sm4_kat(void)
{
	struct envcrypt_sm4_key key;
	u8 block[ENVCRYPT_SM4_BLOCK_SIZE];
	bool ok;

	envcrypt_sm4_expand_key(&key, envcrypt_sm4_kat_key);
	envcrypt_sm4_encrypt_block(&key, block, envcrypt_sm4_kat_key);
	ok = !memcmp(block, envcrypt_sm4_kat_ciphertext, sizeof(block));
	envcrypt_sm4_decrypt_block(&key, block, block);
	ok = ok && !memcmp(block, envcrypt_sm4_kat_key, sizeof(block));
	memzero_explicit(&key, sizeof(key));
	return ok;
}

/* What envcrypt_sm4_register() offered. */
static bool envcrypt_sm4_registered __ro_after_init;
static bool envcrypt_sm4_ecb_registered __ro_after_init;

/*
 * Check the cipher against GB/T 32907, then offer it to the crypto API,
 * and the accelerated ecb(sm4) if @accelerated (sm4-xts.c's probe chose
 * AES-NI and AVX2).  Optional: the target works without them (its
 * built-in SM4-XTS does not use the crypto API), so a failure is logged,
 * not returned.
 */
void envcrypt_sm4_register(bool accelerated)
{
	int r;

	if (fips_enabled) {
		pr_info("dm-envcrypt: FIPS mode: sm4 not offered to the crypto API\n");
		return;
	}
	if (!envcrypt_sm4_kat()) {
		pr_err("dm-envcrypt: SM4 known-answer test failed: sm4 not offered to the crypto API\n");
		return;
	}
	r = crypto_register_alg(&envcrypt_sm4_alg);
	if (r) {
		pr_warn("dm-envcrypt: cannot register sm4 with the crypto API: %d\n",
			r);
		return;
	}
	envcrypt_sm4_registered = true;
	if (!accelerated)
		return;

	r = crypto_register_skcipher(&envcrypt_sm4_ecb_alg);
	if (r) {
		pr_warn("dm-envcrypt: cannot register ecb(sm4) with the crypto API: %d\n",
			r);
		return;
	}
	envcrypt_sm4_ecb_registered = true;
}

void envcrypt_sm4_unregister(void)
{
	if (envcrypt_sm4_ecb_registered)
		crypto_unregister_skcipher(&envcrypt_sm4_ecb_alg);
	if (envcrypt_sm4_registered)
		crypto_unregister_alg(&envcrypt_sm4_alg);
}

MODULE_ALIAS_CRYPTO("sm4");
MODULE_ALIAS_CRYPTO("sm4-envcrypt");
