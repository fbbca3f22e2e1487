/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal to aead.c and its tests: GCM (NIST SP 800-38D) over any
 * 128-bit block cipher given as an OpenSSL ECB cipher.  aead.c runs it
 * over SM4-ECB for SM4-GCM; the tests also run it over AES-256-ECB and
 * compare with OpenSSL's own AES-256-GCM.  96-bit IV, 128-bit tag.
 */
#ifndef ENVCRYPT_AEAD_GCM_H
#define ENVCRYPT_AEAD_GCM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "aead.h"

/*
 * @ecb: the block cipher in ECB mode, e.g. EVP_sm4_ecb(); @key is its key.
 * @name names the AEAD in messages ("SM4-GCM").  Same arguments and
 * returns as ec_aead_seal() / ec_aead_open().
 */
int ec_gcm_seal(const EVP_CIPHER *ecb, const char *name, const uint8_t *key,
		const uint8_t iv[EC_AEAD_IV_SIZE],
		const uint8_t *aad, size_t aad_len,
		const uint8_t *in, size_t len, uint8_t *out,
		uint8_t tag[EC_AEAD_TAG_SIZE]);
int ec_gcm_open(const EVP_CIPHER *ecb, const char *name, const uint8_t *key,
		const uint8_t iv[EC_AEAD_IV_SIZE],
		const uint8_t *aad, size_t aad_len,
		const uint8_t *in, size_t len, uint8_t *out,
		const uint8_t tag[EC_AEAD_TAG_SIZE]);

#endif /* ENVCRYPT_AEAD_GCM_H */
