/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The AEADs that wrap data keys: AES-256-GCM (OpenSSL) and SM4-GCM (GCM of
 * NIST SP 800-38D over the SM4 block cipher, as RFC 8998 defines it; OpenSSL
 * 3.0 has SM4 but no SM4-GCM, so the GCM mode is ours over OpenSSL's
 * SM4-ECB).  96-bit IVs and 128-bit tags only.
 */
#ifndef ENVCRYPT_AEAD_H
#define ENVCRYPT_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define EC_AEAD_IV_SIZE		12
#define EC_AEAD_TAG_SIZE	16

enum ec_aead {
	EC_AEAD_AES_256_GCM,	/* 32-byte key */
	EC_AEAD_SM4_GCM,	/* 16-byte key */
};

/* The key size of @alg in bytes. */
size_t ec_aead_key_size(enum ec_aead alg);

/*
 * Encrypt @len bytes of @in into @out (may be the same buffer) and
 * write the tag.  Returns 0, -EINVAL (bad arguments) or -EIO (the crypto
 * library failed; message set).
 */
int ec_aead_seal(enum ec_aead alg, const uint8_t *key,
		 const uint8_t iv[EC_AEAD_IV_SIZE],
		 const uint8_t *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *out,
		 uint8_t tag[EC_AEAD_TAG_SIZE]);

/*
 * Check the tag and decrypt.  Returns 0, -EBADMSG when the tag does not
 * match (wrong key, IV, AAD or a changed ciphertext; @out is then wiped),
 * -EINVAL or -EIO.
 */
int ec_aead_open(enum ec_aead alg, const uint8_t *key,
		 const uint8_t iv[EC_AEAD_IV_SIZE],
		 const uint8_t *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *out,
		 const uint8_t tag[EC_AEAD_TAG_SIZE]);

#endif /* ENVCRYPT_AEAD_H */
