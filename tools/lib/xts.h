/* SPDX-License-Identifier: GPL-2.0 */
/*
 * XTS in userspace, producing exactly the kernel target's ciphertext, for
 * the commands that write whole images (convert, copy --reencrypt).
 *
 * The target encrypts crypto sector k of the data (k counted from the
 * data offset, in units of the sector size) with the plain64 IV of its
 * first 512-byte sector: (k * sector_size / 512) as a little-endian
 * 64-bit number followed by eight zero bytes (docs/TARGET.md; volumes
 * never use iv_offset or iv_large_sectors).  XTS is IEEE 1619 over the
 * whole sector with the first half of the data key as the data key and
 * the second as the tweak key, as Linux's xts template and dm-crypt.
 *
 *   aes-xts-plain64  OpenSSL's EVP aes-256-xts, one call per sector
 *   sm4-xts-plain64  XTS composed here over EVP sm4-ecb (OpenSSL 3.0 has
 *                    no SM4-XTS): the tweaks of many sectors at once, then
 *                    one ECB call over all their blocks
 *
 * A context is used by one thread at a time; each worker makes its own.
 * OpenSSL keeps the expanded key schedules and wipes them when freed.
 */
#ifndef ENVCRYPT_XTS_H
#define ENVCRYPT_XTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ec_xts;

/*
 * A context for @cipher ("aes-xts-plain64" or "sm4-xts-plain64") with
 * the data key @dk (ec_cipher_key_size(cipher) bytes) and crypto sectors
 * of @sector_size bytes (512 or 4096).
 */
int ec_xts_new(const char *cipher, const uint8_t *dk, size_t dk_len,
	       uint32_t sector_size, struct ec_xts **x);
void ec_xts_free(struct ec_xts *x);

/*
 * Encrypt (@enc) or decrypt the @len bytes of @src into @dst (may be the
 * same buffer): whole crypto sectors, the first of them crypto sector
 * @sector of the volume's data.
 */
int ec_xts_crypt(struct ec_xts *x, bool enc, uint8_t *dst,
		 const uint8_t *src, size_t len, uint64_t sector);

#endif /* ENVCRYPT_XTS_H */
