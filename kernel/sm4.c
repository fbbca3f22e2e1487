// SPDX-License-Identifier: GPL-2.0
/*
 * SM4 (GB/T 32907-2016), the portable block cipher, for dm-envcrypt.
 *
 * A block is four big-endian 32-bit words X0..X3.  Each of the 32 rounds
 * computes X(i+4) = X(i) ^ T(X(i+1) ^ X(i+2) ^ X(i+3) ^ rk(i)), where T
 * applies the S-box to each byte of its argument (tau) and then the linear
 * map L(B) = B ^ (B <<< 2) ^ (B <<< 10) ^ (B <<< 18) ^ (B <<< 24).  The
 * output is X35, X34, X33, X32.  Decryption is the same with the round
 * keys in reverse order.  The key schedule is the same recurrence on
 * MK ^ FK with the constants CK(i) as round keys and L'(B) = B ^ (B <<< 13)
 * ^ (B <<< 23) in place of L.
 *
 * Side channels: the block functions look the S-box up in a 256-byte
 * table, so their timing (cache lines touched) may depend on the key and
 * the data.  They serve the crypto API's plain "sm4" cipher and the
 * generic SM4-XTS fallback; the AES-NI/AVX2 SM4-XTS in sm4-xts.c computes
 * the S-box arithmetically and has no such lookups.  The key expansion,
 * done once per key, reads the whole table for every S-box lookup and so
 * runs in constant time.
 */

#include <linux/string.h>
#include <linux/types.h>

#include "sm4.h"

/* GB/T 32907-2016, 6.2.1: row = high nibble, column = low nibble. */
const u8 envcrypt_sm4_sbox[256] = {
	0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7,
	0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c, 0x05,
	0x2b, 0x67, 0x9a, 0x76, 0x2a, 0xbe, 0x04, 0xc3,
	0xaa, 0x44, 0x13, 0x26, 0x49, 0x86, 0x06, 0x99,
	0x9c, 0x42, 0x50, 0xf4, 0x91, 0xef, 0x98, 0x7a,
	0x33, 0x54, 0x0b, 0x43, 0xed, 0xcf, 0xac, 0x62,
	0xe4, 0xb3, 0x1c, 0xa9, 0xc9, 0x08, 0xe8, 0x95,
	0x80, 0xdf, 0x94, 0xfa, 0x75, 0x8f, 0x3f, 0xa6,
	0x47, 0x07, 0xa7, 0xfc, 0xf3, 0x73, 0x17, 0xba,
	0x83, 0x59, 0x3c, 0x19, 0xe6, 0x85, 0x4f, 0xa8,
	0x68, 0x6b, 0x81, 0xb2, 0x71, 0x64, 0xda, 0x8b,
	0xf8, 0xeb, 0x0f, 0x4b, 0x70, 0x56, 0x9d, 0x35,
	0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58, 0xd1, 0xa2,
	0x25, 0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87,
	0xd4, 0x00, 0x46, 0x57, 0x9f, 0xd3, 0x27, 0x52,
	0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e,
	0xea, 0xbf, 0x8a, 0xd2, 0x40, 0xc7, 0x38, 0xb5,
	0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1,
	0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34, 0x1a, 0x55,
	0xad, 0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3,
	0x1d, 0xf6, 0xe2, 0x2e, 0x82, 0x66, 0xca, 0x60,
	0xc0, 0x29, 0x23, 0xab, 0x0d, 0x53, 0x4e, 0x6f,
	0xd5, 0xdb, 0x37, 0x45, 0xde, 0xfd, 0x8e, 0x2f,
	0x03, 0xff, 0x6a, 0x72, 0x6d, 0x6c, 0x5b, 0x51,
	0x8d, 0x1b, 0xaf, 0x92, 0xbb, 0xdd, 0xbc, 0x7f,
	0x11, 0xd9, 0x5c, 0x41, 0x1f, 0x10, 0x5a, 0xd8,
	0x0a, 0xc1, 0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd,
	0x2d, 0x74, 0xd0, 0x12, 0xb8, 0xe5, 0xb4, 0xb0,
	0x89, 0x69, 0x97, 0x4a, 0x0c, 0x96, 0x77, 0x7e,
	0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e, 0xc6, 0x84,
	0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d, 0x20,
	0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39, 0x48,
};

/* GB/T 32907-2016, 7.3: the system parameter FK. */
static const u32 sm4_fk[4] = {
	0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc,
};

static inline u32 sm4_rol(u32 x, unsigned int n)
{
	return (x << n) | (x >> (32 - n));
}

static inline u32 sm4_load_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static inline void sm4_store_be32(u8 *p, u32 x)
{
	p[0] = x >> 24;
	p[1] = x >> 16;
	p[2] = x >> 8;
	p[3] = x;
}

/*
 * The constant CK(i): byte j (from the most significant) is
 * (4i + j) * 7 mod 256 (GB/T 32907-2016, 7.3).
 */
static inline u32 sm4_ck(unsigned int i)
{
	u32 ck = 0;
	unsigned int j;

	for (j = 0; j < 4; j++)
		ck = ck << 8 | (u8)((4 * i + j) * 7);
	return ck;
}

/* S-box of each byte, by table lookup (not constant time). */
static inline u32 sm4_tau(u32 x)
{
	return (u32)envcrypt_sm4_sbox[x >> 24] << 24 |
	       (u32)envcrypt_sm4_sbox[(x >> 16) & 0xff] << 16 |
	       (u32)envcrypt_sm4_sbox[(x >> 8) & 0xff] << 8 |
	       envcrypt_sm4_sbox[x & 0xff];
}

/*
 * S-box of each byte, reading all of the table for each: the memory
 * accesses and the time do not depend on @x.
 */
static u32 sm4_tau_ct(u32 x)
{
	u32 out = 0;
	unsigned int i, b;

	for (b = 0; b < 32; b += 8) {
		u32 in = (x >> b) & 0xff;
		u32 s = 0;

		for (i = 0; i < 256; i++) {
			/* all ones if i == in, else 0, without a branch */
			u32 mask = ((i ^ in) - 1) >> 8;

			s |= envcrypt_sm4_sbox[i] & mask;
		}
		out |= (s & 0xff) << b;
	}
	return out;
}

void envcrypt_sm4_expand_key(struct envcrypt_sm4_key *k,
			     const u8 key[ENVCRYPT_SM4_KEY_SIZE])
{
	u32 x[4];
	unsigned int i;

	for (i = 0; i < 4; i++)
		x[i] = sm4_load_be32(key + 4 * i) ^ sm4_fk[i];
	for (i = 0; i < ENVCRYPT_SM4_ROUNDS; i++) {
		u32 b = sm4_tau_ct(x[(i + 1) % 4] ^ x[(i + 2) % 4] ^
				   x[(i + 3) % 4] ^ sm4_ck(i));

		x[i % 4] ^= b ^ sm4_rol(b, 13) ^ sm4_rol(b, 23);
		k->rk[i] = x[i % 4];
	}
	memzero_explicit(x, sizeof(x));
}

/* T(x) = L(tau(x)) of the cipher (not of the key schedule). */
static inline u32 sm4_t(u32 x)
{
	u32 b = sm4_tau(x);

	return b ^ sm4_rol(b, 2) ^ sm4_rol(b, 10) ^ sm4_rol(b, 18) ^
	       sm4_rol(b, 24);
}

/*
 * One block with round keys rk[0], rk[step], ... (step +1 or -1); four
 * rounds per iteration, so that the words stay where they are.
 */
static void sm4_crypt(const u32 *rk, int step, u8 *out, const u8 *in)
{
	u32 x0 = sm4_load_be32(in), x1 = sm4_load_be32(in + 4);
	u32 x2 = sm4_load_be32(in + 8), x3 = sm4_load_be32(in + 12);
	unsigned int i;

	for (i = 0; i < ENVCRYPT_SM4_ROUNDS; i += 4, rk += 4 * step) {
		x0 ^= sm4_t(x1 ^ x2 ^ x3 ^ rk[0]);
		x1 ^= sm4_t(x2 ^ x3 ^ x0 ^ rk[step]);
		x2 ^= sm4_t(x3 ^ x0 ^ x1 ^ rk[2 * step]);
		x3 ^= sm4_t(x0 ^ x1 ^ x2 ^ rk[3 * step]);
	}
	sm4_store_be32(out, x3);
	sm4_store_be32(out + 4, x2);
	sm4_store_be32(out + 8, x1);
	sm4_store_be32(out + 12, x0);
}

void envcrypt_sm4_encrypt_block(const struct envcrypt_sm4_key *k,
				u8 out[ENVCRYPT_SM4_BLOCK_SIZE],
				const u8 in[ENVCRYPT_SM4_BLOCK_SIZE])
{
	sm4_crypt(k->rk, 1, out, in);
}

void envcrypt_sm4_decrypt_block(const struct envcrypt_sm4_key *k,
				u8 out[ENVCRYPT_SM4_BLOCK_SIZE],
				const u8 in[ENVCRYPT_SM4_BLOCK_SIZE])
{
	sm4_crypt(k->rk + ENVCRYPT_SM4_ROUNDS - 1, -1, out, in);
}
