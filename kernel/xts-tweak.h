/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-envcrypt: XTS tweak arithmetic on ymm registers, shared by the cipher
 * cores (xts-aes-vaes.c, sm4-xts.c).
 *
 * A 16-byte tweak is a little-endian polynomial over GF(2) modulo
 * x^128 + x^7 + x^2 + x + 1 (IEEE 1619, Linux's gf128mul_x_ble(), so
 * dm-crypt).  The cores keep the tweaks of 8 consecutive blocks in
 * XTS_TWEAK_LANES registers, two to a register: register l holds those of
 * blocks 2l and 2l + 1.  These helpers are always inlined into functions
 * whose target attribute includes AVX2.
 */
#ifndef DM_ENVCRYPT_XTS_TWEAK_H
#define DM_ENVCRYPT_XTS_TWEAK_H

#include "envcrypt-simd.h"

#define XTS_TWEAK_LANES		4	/* registers of tweaks: 8 blocks */
#define XTS_TWEAK_AVX2		__attribute__((target("avx2")))

/*
 * Multiply both 128-bit halves of @t by x.  Dwords 3 and 1 (with bits
 * 127 and 63) are moved to dwords 0 and 2, their sign bits spread over
 * them, and the masks select 0x87 (the reduction) and 1 (the carry from
 * bit 63 into bit 64); the 64-bit add shifts both words left by one.
 */
static __always_inline XTS_TWEAK_AVX2 __m256i xts_tweak_mul_x(__m256i t)
{
	__m256i m = _mm256_srai_epi32(_mm256_shuffle_epi32(t, 0x13), 31);

	m = _mm256_and_si256(m, _mm256_set_epi32(0, 1, 0, 0x87,
						 0, 1, 0, 0x87));
	return _mm256_xor_si256(_mm256_add_epi64(t, t), m);
}

/*
 * Multiply both halves of all four registers of tweaks by x^8, moving
 * them on by one group of 8 blocks: shift each half left by one byte, and
 * XOR the byte b that left it back in as b * 0x87 = b ^ b << 1 ^ b << 2 ^
 * b << 7.  The four registers' top dwords are gathered into one, so that
 * the products for all eight tweaks take one set of shifts.
 */
static __always_inline XTS_TWEAK_AVX2 void xts_tweak_mul_x8(__m256i *t)
{
	/* dword 3 of t[0], t[1], t[2], t[3] in dwords 0-3 of each half */
	__m256i b = _mm256_unpackhi_epi64(_mm256_unpackhi_epi32(t[0], t[1]),
					  _mm256_unpackhi_epi32(t[2], t[3]));
	__m256i red;
	int l;

	b = _mm256_srli_epi32(b, 24);
	red = _mm256_xor_si256(_mm256_xor_si256(b, _mm256_slli_epi32(b, 1)),
			       _mm256_xor_si256(_mm256_slli_epi32(b, 2),
						_mm256_slli_epi32(b, 7)));
#pragma GCC unroll 8
	for (l = 0; l < XTS_TWEAK_LANES; l++) {
		/* bytes 0 and 1 from dword l of each half, zeroes elsewhere */
		const int sel = 0xffff0000 | 0x0404 * l | 0x0100;
		const __m256i pick = _mm256_set_epi32(-1, -1, -1, sel,
						      -1, -1, -1, sel);

		t[l] = _mm256_xor_si256(_mm256_bslli_epi128(t[l], 1),
					_mm256_shuffle_epi8(red, pick));
	}
}

/* The tweaks of blocks 0 to 7 from T_0, the first block's. */
static __always_inline XTS_TWEAK_AVX2 void xts_tweak_first(__m256i *t,
							   __m128i t0)
{
	__m256i b = _mm256_broadcastsi128_si256(t0);
	int l;

	t[0] = _mm256_blend_epi32(b, xts_tweak_mul_x(b), 0xf0);
#pragma GCC unroll 8
	for (l = 1; l < XTS_TWEAK_LANES; l++)
		t[l] = xts_tweak_mul_x(xts_tweak_mul_x(t[l - 1]));
}

#endif /* DM_ENVCRYPT_XTS_TWEAK_H */
