/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SM4 (GB/T 32907-2016), the portable block cipher, for dm-envcrypt.
 *
 * Plain C, no FPU: usable in any context.  The key expansion is constant
 * time; the block functions look up a table and are not (see sm4.c).
 * kernel/sm4-xts.c has the vectorised SM4-XTS for whole sectors.
 *
 * The source builds both as part of the kernel module and in userspace
 * (tests/unit/ supplies the few <linux/...> headers it needs there).
 */
#ifndef DM_ENVCRYPT_SM4_H
#define DM_ENVCRYPT_SM4_H

#include <linux/types.h>

#define ENVCRYPT_SM4_KEY_SIZE		16
#define ENVCRYPT_SM4_BLOCK_SIZE		16
#define ENVCRYPT_SM4_ROUNDS		32

/*
 * The 32 round keys in encryption order; decryption uses them in reverse.
 * Wipe it with memzero_explicit() when done.
 */
struct envcrypt_sm4_key {
	u32 rk[ENVCRYPT_SM4_ROUNDS];
};

/* The S-box (GB/T 32907-2016, 6.2.1), for sm4-xts.c's self-test. */
extern const u8 envcrypt_sm4_sbox[256];

/* Expand a 16-byte key, in constant time. */
void envcrypt_sm4_expand_key(struct envcrypt_sm4_key *k,
			     const u8 key[ENVCRYPT_SM4_KEY_SIZE]);

/*
 * Encrypt or decrypt one 16-byte block.  @out may equal @in.  Table
 * lookups: the timing may depend on the key and the data.
 */
void envcrypt_sm4_encrypt_block(const struct envcrypt_sm4_key *k,
				u8 out[ENVCRYPT_SM4_BLOCK_SIZE],
				const u8 in[ENVCRYPT_SM4_BLOCK_SIZE]);
void envcrypt_sm4_decrypt_block(const struct envcrypt_sm4_key *k,
				u8 out[ENVCRYPT_SM4_BLOCK_SIZE],
				const u8 in[ENVCRYPT_SM4_BLOCK_SIZE]);

#endif /* DM_ENVCRYPT_SM4_H */
