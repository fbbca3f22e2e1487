// SPDX-License-Identifier: GPL-2.0
/*
 * AES-256-XTS on whole sectors, for dm-envcrypt: VAES (two blocks per AES
 * instruction) or AES-NI (one), with AVX2 for everything else.
 *
 * XTS (IEEE 1619, SP 800-38E) encrypts block j (16 bytes) of a data unit
 * as C_j = E_K1(P_j ^ T_j) ^ T_j, with T_0 = E_K2(IV) and T_j = T_0 * x^j
 * in GF(2^128) modulo x^128 + x^7 + x^2 + x + 1.  A 16-byte value is read
 * as a little-endian 128-bit polynomial: bit i of byte b is the
 * coefficient of x^(8b + i) (the convention of IEEE 1619, of Linux's
 * gf128mul_x_ble() and so of dm-crypt).  Multiplying by x is a 128-bit
 * left shift, and the bit that leaves x^127 comes back as 0x87 in byte 0.
 *
 * How this does it in few instructions:
 *
 *  - Blocks go 8 at a time (a "group"), the tweaks of a group in four
 *    256-bit ymm registers, two blocks each.  With VAES, the data also
 *    sits two blocks to a ymm register and each VAESENC/VAESDEC does a
 *    round of two blocks.  With AES-NI alone, each half of a ymm goes
 *    through the rounds in an xmm register of its own.  Either way the
 *    8 blocks share one pass through the 14 rounds, and the CPU can
 *    overlap the rounds of independent registers.
 *
 *  - Round keys are stored twice over (32 bytes each) and are always
 *    memory operands of the AES instructions: no instruction merely
 *    loads a key.  barrier() keeps the compiler from loading a key once
 *    into a register for all blocks, which would cost one more
 *    instruction per round.
 *
 *  - The tweak is folded into the first and last round keys: the state
 *    starts as P ^ (T ^ K_0), and AESENCLAST with T ^ K_14 applies the
 *    last round key and the final XOR with T in one go.
 *
 *  - Register l holds the tweaks of blocks 2l and 2l + 1 of a group, so
 *    from one group to the next every tweak is multiplied by x^8: a
 *    one-byte shift left within each 128-bit half, and the byte b that
 *    leaves x^127 comes back as b * (x^7 + x^2 + x + 1), a carry-less
 *    product of at most 15 bits: b ^ b << 1 ^ b << 2 ^ b << 7.  The eight
 *    bytes of a group are gathered into one register first, so that one
 *    set of shifts and XORs serves all of them: 22 instructions for the
 *    8 tweaks, and no need for VPCLMULQDQ (which QEMU's TCG lacks).
 *
 *  - The first tweaks come from T_0 by multiplications by x: a 64-bit
 *    add doubles both halves, and the sign bits of their top words,
 *    spread into masks, supply the carry into the high word and the
 *    0x87 of the reduction.
 *
 * Decryption is the same with AESDEC and the round keys of the equivalent
 * inverse cipher (FIPS 197, 5.3.5): the encryption keys in reverse order,
 * AESIMC (InvMixColumns) applied to all but the first and the last.  Key
 * expansion uses AESKEYGENASSIST.
 *
 * envcrypt_aes_xts_probe() picks the implementation once, and only after
 * a known-answer test: QEMU 7.2 (Debian 12) advertises VAES but gets
 * 256-bit VAESENC and VAESDEC wrong (the high half uses the low half's
 * state), so there it falls back to AES-NI.
 *
 * Only the functions marked XTS_AVX2 or XTS_VAES use vector registers:
 * in the kernel the file keeps the kernel's -mno-sse -mno-avx, so nothing
 * else in it (the CPU checks, the wrappers that take the FPU) can touch
 * FPU state by accident.  The same file builds in userspace for the tests
 * in tests/unit/.
 */

#ifdef __KERNEL__
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#endif
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/types.h>

#include "envcrypt-simd.h"
#include "xts-tweak.h"

#include "xts-aes-vaes.h"

/*
 * What the vector code may use.  The AES-NI path is XTS_AVX2; the code
 * both paths share is XTS_AVX2 too, and so can be inlined into XTS_VAES
 * functions.  The probe checks the CPU for each.
 */
#define XTS_AVX2 __attribute__((target("aes,avx2")))
#define XTS_VAES __attribute__((target("aes,avx2,vaes")))

#define XTS_LANES	XTS_TWEAK_LANES	/* ymm registers of tweaks */
#define XTS_BLOCKS	(2 * XTS_LANES)		/* blocks in a group */
#define XTS_GROUP	(16 * XTS_BLOCKS)	/* bytes in a group */

#define AES256_LAST	(ENVCRYPT_AES256_NR_KEYS - 1)

/* The implementation in use; set by envcrypt_aes_xts_probe(). */
static enum envcrypt_aes_xts_impl xts_impl;
/* Bit (1 << impl) for each implementation that passed the probe. */
static unsigned int xts_impl_ok;

static __always_inline XTS_AVX2 __m256i xor256(__m256i a, __m256i b)
{
	return _mm256_xor_si256(a, b);
}

static __always_inline XTS_AVX2 __m256i load256(const void *p)
{
	return _mm256_loadu_si256((const __m256i_u *)p);
}

static __always_inline XTS_AVX2 __m128i load128(const void *p)
{
	return _mm_loadu_si128((const __m128i_u *)p);
}

static __always_inline XTS_AVX2 void store128(void *p, __m128i x)
{
	_mm_storeu_si128((__m128i_u *)p, x);
}

/* The low and the high block of a ymm register. */
static __always_inline XTS_AVX2 __m128i lo128(__m256i x)
{
	return _mm256_castsi256_si128(x);
}

static __always_inline XTS_AVX2 __m128i hi128(__m256i x)
{
	return _mm256_extracti128_si256(x, 1);
}

/* ---- tweaks ----------------------------------------------------------- */

/* T_0 = E_K2(le64(sector) || 0^64). */
static __always_inline XTS_AVX2 __m128i
xts_first_tweak(const struct envcrypt_aes_xts_key *k, u64 sector)
{
	__m128i t = _mm_cvtsi64_si128((long long)sector);
	int r;

	t = _mm_xor_si128(t, load128(k->tweak[0]));
#pragma GCC unroll 16
	for (r = 1; r < AES256_LAST; r++)
		t = _mm_aesenc_si128(t, load128(k->tweak[r]));
	return _mm_aesenclast_si128(t, load128(k->tweak[AES256_LAST]));
}

/* ---- AES rounds ------------------------------------------------------- */

static __always_inline XTS_AVX2 __m128i aes_round128(__m128i x, __m128i k,
						     const bool enc)
{
	return enc ? _mm_aesenc_si128(x, k) : _mm_aesdec_si128(x, k);
}

static __always_inline XTS_AVX2 __m128i aes_last128(__m128i x, __m128i k,
						    const bool enc)
{
	return enc ? _mm_aesenclast_si128(x, k) : _mm_aesdeclast_si128(x, k);
}

static __always_inline XTS_VAES __m256i aes_round256(__m256i x, __m256i k,
						     const bool enc)
{
	return enc ? _mm256_aesenc_epi128(x, k) : _mm256_aesdec_epi128(x, k);
}

static __always_inline XTS_VAES __m256i aes_last256(__m256i x, __m256i k,
						    const bool enc)
{
	return enc ? _mm256_aesenclast_epi128(x, k) :
		     _mm256_aesdeclast_epi128(x, k);
}

/* ---- groups of 8 blocks ----------------------------------------------- */

/*
 * The whole groups of a data unit, the @len bytes before @src_end to
 * those before @dst_end, with VAES.  One index serves both buffers,
 * counting up to zero from minus their length: one add and one branch
 * per group.
 */
static __always_inline XTS_VAES void
xts_groups_vaes(const u8 (*rk)[32], u8 *dst_end, const u8 *src_end,
		long len, __m256i *t, const bool enc)
{
	__m256i x[XTS_LANES];
	long i;
	int l, r;

	for (i = -len; i; i += XTS_GROUP) {
#pragma GCC unroll 8
		for (l = 0; l < XTS_LANES; l++) {
			x[l] = xor256(xor256(t[l], load256(rk[0])),
				      load256(src_end + i + 32 * l));
			barrier();
		}
#pragma GCC unroll 16
		for (r = 1; r < AES256_LAST; r++) {
#pragma GCC unroll 8
			for (l = 0; l < XTS_LANES; l++) {
				x[l] = aes_round256(x[l], load256(rk[r]), enc);
				barrier();
			}
		}
#pragma GCC unroll 8
		for (l = 0; l < XTS_LANES; l++) {
			__m256i last = xor256(t[l], load256(rk[AES256_LAST]));

			x[l] = aes_last256(x[l], last, enc);
			_mm256_storeu_si256((__m256i_u *)(dst_end + i + 32 * l),
					    x[l]);
		}
		xts_tweak_mul_x8(t);
	}
}

/*
 * The same with AES-NI: the two blocks of each ymm register of data (and
 * of tweak ^ round key) are split into two xmm registers for the rounds.
 * Half a group (4 blocks) at a time, which leaves the compiler enough
 * registers not to spill any.
 */
static __always_inline XTS_AVX2 void
xts_groups_aesni(const u8 (*rk)[32], u8 *dst_end, const u8 *src_end,
		 long len, __m256i *t, const bool enc)
{
	__m128i x[XTS_BLOCKS / 2];
	long i;
	int h, l, r, b;

	for (i = -len; i; i += XTS_GROUP) {
#pragma GCC unroll 2
		for (h = 0; h < XTS_LANES; h += 2) {
#pragma GCC unroll 2
			for (l = 0; l < 2; l++) {
				__m256i w = xor256(xor256(t[h + l],
							  load256(rk[0])),
						   load256(src_end + i +
							   32 * (h + l)));

				x[2 * l + 1] = hi128(w);
				x[2 * l] = lo128(w);
				barrier();
			}
#pragma GCC unroll 16
			for (r = 1; r < AES256_LAST; r++) {
#pragma GCC unroll 4
				for (b = 0; b < 4; b++) {
					x[b] = aes_round128(x[b],
							    load128(rk[r]), enc);
					barrier();
				}
			}
#pragma GCC unroll 2
			for (l = 0; l < 2; l++) {
				__m256i last = xor256(t[h + l],
						      load256(rk[AES256_LAST]));
				u8 *out = dst_end + i + 32 * (h + l);

				store128(out,
					 aes_last128(x[2 * l], lo128(last), enc));
				store128(out + 16,
					 aes_last128(x[2 * l + 1], hi128(last),
						     enc));
			}
		}
		xts_tweak_mul_x8(t);
	}
}

/*
 * What is left of a data unit after its whole groups: up to 7 blocks,
 * one at a time with AES-NI, taking the halves of t[0], t[1], ... in turn.
 */
static __always_inline XTS_AVX2 void
xts_tail(const u8 (*rk)[32], u8 *dst, const u8 *src, unsigned int len,
	 __m256i *t, const bool enc)
{
	unsigned int half = 0;
	int l, r;

	for (; len >= 16; len -= 16, src += 16, dst += 16, half ^= 1) {
		__m128i tw = half ? hi128(t[0]) : lo128(t[0]);
		__m128i x = _mm_xor_si128(_mm_xor_si128(tw, load128(rk[0])),
					  load128(src));

		for (r = 1; r < AES256_LAST; r++)
			x = aes_round128(x, load128(rk[r]), enc);
		tw = _mm_xor_si128(tw, load128(rk[AES256_LAST]));
		store128(dst, aes_last128(x, tw, enc));
		if (half) {
#pragma GCC unroll 8
			for (l = 1; l < XTS_LANES; l++)
				t[l - 1] = t[l];
		}
	}
}

/*
 * XTS over one data unit with round keys @rk (encryption or equivalent
 * inverse cipher, per @enc), with VAES or AES-NI, per @vaes.
 */
static __always_inline XTS_VAES void
xts_crypt(const struct envcrypt_aes_xts_key *k, const u8 (*rk)[32], u8 *dst,
	  const u8 *src, unsigned int len, u64 sector, const bool enc,
	  const bool vaes)
{
	long whole = len & -XTS_GROUP;
	__m256i t[XTS_LANES];

	xts_tweak_first(t, xts_first_tweak(k, sector));
	src += whole;
	dst += whole;
	if (vaes)
		xts_groups_vaes(rk, dst, src, whole, t, enc);
	else
		xts_groups_aesni(rk, dst, src, whole, t, enc);
	if (len & (XTS_GROUP - 1))
		xts_tail(rk, dst, src, len & (XTS_GROUP - 1), t, enc);

	/* Leave no tweaks or data in the vector registers. */
	_mm256_zeroall();
}

/*
 * The four variants.  The AES-NI ones are compiled with VAES allowed (to
 * inline the code they share with the others) but contain no 256-bit AES
 * instruction: tests/unit/Makefile checks the object code for that.
 */
static noinline XTS_VAES void
xts_encrypt_vaes(const struct envcrypt_aes_xts_key *k, u8 *dst, const u8 *src,
		 unsigned int len, u64 sector)
{
	xts_crypt(k, k->enc, dst, src, len, sector, true, true);
}

static noinline XTS_VAES void
xts_decrypt_vaes(const struct envcrypt_aes_xts_key *k, u8 *dst, const u8 *src,
		 unsigned int len, u64 sector)
{
	xts_crypt(k, k->dec, dst, src, len, sector, false, true);
}

static noinline XTS_VAES void
xts_encrypt_aesni(const struct envcrypt_aes_xts_key *k, u8 *dst,
		  const u8 *src, unsigned int len, u64 sector)
{
	xts_crypt(k, k->enc, dst, src, len, sector, true, false);
}

static noinline XTS_VAES void
xts_decrypt_aesni(const struct envcrypt_aes_xts_key *k, u8 *dst,
		  const u8 *src, unsigned int len, u64 sector)
{
	xts_crypt(k, k->dec, dst, src, len, sector, false, false);
}

void envcrypt_aes_xts_encrypt(const struct envcrypt_aes_xts_key *k, u8 *dst,
			      const u8 *src, unsigned int len, u64 sector)
{
	if (xts_impl == ENVCRYPT_XTS_VAES)
		xts_encrypt_vaes(k, dst, src, len, sector);
	else
		xts_encrypt_aesni(k, dst, src, len, sector);
}

void envcrypt_aes_xts_decrypt(const struct envcrypt_aes_xts_key *k, u8 *dst,
			      const u8 *src, unsigned int len, u64 sector)
{
	if (xts_impl == ENVCRYPT_XTS_VAES)
		xts_decrypt_vaes(k, dst, src, len, sector);
	else
		xts_decrypt_aesni(k, dst, src, len, sector);
}

/* ---- key expansion --------------------------------------------------- */

/*
 * The next AES-256 round key from the one two steps back, @prev, and the
 * AESKEYGENASSIST word broadcast in @w: every word of @prev XORed with
 * all the words below it (a prefix XOR), then with @w (FIPS 197, 5.2).
 */
static __always_inline XTS_AVX2 __m128i aes256_next_key(__m128i prev,
							__m128i w)
{
	prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
	prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 8));
	return _mm_xor_si128(prev, w);
}

/* Round key @i to @out: 32 bytes (twice over) or 16, per @wide. */
static __always_inline XTS_AVX2 void aes_store_key(u8 *out, int i, __m128i key,
						   const bool wide)
{
	if (wide)
		_mm256_storeu_si256((__m256i_u *)(out + 32 * i),
				    _mm256_broadcastsi128_si256(key));
	else
		_mm_storeu_si128((__m128i_u *)(out + 16 * i), key);
}

/*
 * Round key 2m from keys 2m - 2 (@a) and 2m - 1 (@b): RotWord(SubWord())
 * of the last word of @b, XOR Rcon, is word 3 of AESKEYGENASSIST.
 */
static __always_inline XTS_AVX2 __m128i aes256_even_key(__m128i a, __m128i b,
							const int rcon)
{
	__m128i w = _mm_aeskeygenassist_si128(b, rcon);

	return aes256_next_key(a, _mm_shuffle_epi32(w, 0xff));
}

/*
 * Round key 2m + 1 from keys 2m - 1 (@b) and 2m (@a): SubWord() of the
 * last word of @a is word 2 of AESKEYGENASSIST.
 */
static __always_inline XTS_AVX2 __m128i aes256_odd_key(__m128i b, __m128i a)
{
	__m128i w = _mm_aeskeygenassist_si128(a, 0);

	return aes256_next_key(b, _mm_shuffle_epi32(w, 0xaa));
}

/* Rcon is an immediate operand of AESKEYGENASSIST: no loop here. */
static __always_inline XTS_AVX2 void aes256_expand(u8 *out, const u8 *key,
						   const bool wide)
{
	__m128i a = load128(key), b = load128(key + 16);

	aes_store_key(out, 0, a, wide);
	aes_store_key(out, 1, b, wide);
	a = aes256_even_key(a, b, 0x01);
	aes_store_key(out, 2, a, wide);
	b = aes256_odd_key(b, a);
	aes_store_key(out, 3, b, wide);
	a = aes256_even_key(a, b, 0x02);
	aes_store_key(out, 4, a, wide);
	b = aes256_odd_key(b, a);
	aes_store_key(out, 5, b, wide);
	a = aes256_even_key(a, b, 0x04);
	aes_store_key(out, 6, a, wide);
	b = aes256_odd_key(b, a);
	aes_store_key(out, 7, b, wide);
	a = aes256_even_key(a, b, 0x08);
	aes_store_key(out, 8, a, wide);
	b = aes256_odd_key(b, a);
	aes_store_key(out, 9, b, wide);
	a = aes256_even_key(a, b, 0x10);
	aes_store_key(out, 10, a, wide);
	b = aes256_odd_key(b, a);
	aes_store_key(out, 11, b, wide);
	a = aes256_even_key(a, b, 0x20);
	aes_store_key(out, 12, a, wide);
	b = aes256_odd_key(b, a);
	aes_store_key(out, 13, b, wide);
	a = aes256_even_key(a, b, 0x40);
	aes_store_key(out, 14, a, wide);
}

static noinline XTS_AVX2 void xts_expand_keys(struct envcrypt_aes_xts_key *k,
					      const u8 *key)
{
	int i;

	aes256_expand(&k->enc[0][0], key, true);
	aes256_expand(&k->tweak[0][0], key + 32, false);

	/* The equivalent inverse cipher's round keys. */
	aes_store_key(&k->dec[0][0], 0, load128(k->enc[AES256_LAST]), true);
	for (i = 1; i < AES256_LAST; i++)
		aes_store_key(&k->dec[0][0], i,
			      _mm_aesimc_si128(load128(k->enc[AES256_LAST - i])),
			      true);
	aes_store_key(&k->dec[0][0], AES256_LAST, load128(k->enc[0]), true);

	/* The round keys passed through the vector registers. */
	_mm256_zeroall();
}

int envcrypt_aes_xts_setkey(struct envcrypt_aes_xts_key *k, const u8 *key,
			    unsigned int key_len)
{
	unsigned int i;
	u8 diff = 0;

	if (key_len != ENVCRYPT_AES_XTS_KEY_SIZE)
		return -EINVAL;
	/* Equal data and tweak keys: refused, in constant time. */
	for (i = 0; i < key_len / 2; i++)
		diff |= key[i] ^ key[i + key_len / 2];
	if (!diff)
		return -EINVAL;

#ifdef __KERNEL__
	kernel_fpu_begin();
#endif
	xts_expand_keys(k, key);
#ifdef __KERNEL__
	kernel_fpu_end();
#endif
	return 0;
}

void envcrypt_aes_xts_wipe(struct envcrypt_aes_xts_key *k)
{
	memzero_explicit(k, sizeof(*k));
}

/* ---- choosing the implementation -------------------------------------- */

/*
 * Known answer: IEEE 1619-2007 vector 10 (key: digits of e, then of pi;
 * data unit 0xff; plaintext bytes 0, 1, 2, ...), its first 176 bytes: a
 * group and 3 blocks more.  XTS is blockwise, so they do not depend on
 * the rest of the 512-byte unit.
 */
#define XTS_KAT_LEN	(XTS_GROUP + 48)

static const u8 xts_kat_key[ENVCRYPT_AES_XTS_KEY_SIZE] = {
	0x27, 0x18, 0x28, 0x18, 0x28, 0x45, 0x90, 0x45,
	0x23, 0x53, 0x60, 0x28, 0x74, 0x71, 0x35, 0x26,
	0x62, 0x49, 0x77, 0x57, 0x24, 0x70, 0x93, 0x69,
	0x99, 0x59, 0x57, 0x49, 0x66, 0x96, 0x76, 0x27,
	0x31, 0x41, 0x59, 0x26, 0x53, 0x58, 0x97, 0x93,
	0x23, 0x84, 0x62, 0x64, 0x33, 0x83, 0x27, 0x95,
	0x02, 0x88, 0x41, 0x97, 0x16, 0x93, 0x99, 0x37,
	0x51, 0x05, 0x82, 0x09, 0x74, 0x94, 0x45, 0x92,
};

static const u8 xts_kat_ct[XTS_KAT_LEN] = {
	0x1c, 0x3b, 0x3a, 0x10, 0x2f, 0x77, 0x03, 0x86,
	0xe4, 0x83, 0x6c, 0x99, 0xe3, 0x70, 0xcf, 0x9b,
	0xea, 0x00, 0x80, 0x3f, 0x5e, 0x48, 0x23, 0x57,
	0xa4, 0xae, 0x12, 0xd4, 0x14, 0xa3, 0xe6, 0x3b,
	0x5d, 0x31, 0xe2, 0x76, 0xf8, 0xfe, 0x4a, 0x8d,
	0x66, 0xb3, 0x17, 0xf9, 0xac, 0x68, 0x3f, 0x44,
	0x68, 0x0a, 0x86, 0xac, 0x35, 0xad, 0xfc, 0x33,
	0x45, 0xbe, 0xfe, 0xcb, 0x4b, 0xb1, 0x88, 0xfd,
	0x57, 0x76, 0x92, 0x6c, 0x49, 0xa3, 0x09, 0x5e,
	0xb1, 0x08, 0xfd, 0x10, 0x98, 0xba, 0xec, 0x70,
	0xaa, 0xa6, 0x69, 0x99, 0xa7, 0x2a, 0x82, 0xf2,
	0x7d, 0x84, 0x8b, 0x21, 0xd4, 0xa7, 0x41, 0xb0,
	0xc5, 0xcd, 0x4d, 0x5f, 0xff, 0x9d, 0xac, 0x89,
	0xae, 0xba, 0x12, 0x29, 0x61, 0xd0, 0x3a, 0x75,
	0x71, 0x23, 0xe9, 0x87, 0x0f, 0x8a, 0xcf, 0x10,
	0x00, 0x02, 0x08, 0x87, 0x89, 0x14, 0x29, 0xca,
	0x2a, 0x3e, 0x7a, 0x7d, 0x7d, 0xf7, 0xb1, 0x03,
	0x55, 0x16, 0x5c, 0x8b, 0x9a, 0x6d, 0x0a, 0x7d,
	0xe8, 0xb0, 0x62, 0xc4, 0x50, 0x0d, 0xc4, 0xcd,
	0x12, 0x0c, 0x0f, 0x74, 0x18, 0xda, 0xe3, 0xd0,
	0xb5, 0x78, 0x1c, 0x34, 0x80, 0x3f, 0xa7, 0x54,
	0x21, 0xc7, 0x90, 0xdf, 0xe1, 0xde, 0x18, 0x34,
};

/* Encrypt and decrypt the known answer with @impl; FPU held. */
static noinline XTS_VAES bool xts_selftest(enum envcrypt_aes_xts_impl impl)
{
	struct envcrypt_aes_xts_key k;
	u8 buf[XTS_KAT_LEN];
	bool ok;
	int i;

	xts_expand_keys(&k, xts_kat_key);
	for (i = 0; i < XTS_KAT_LEN; i++)
		buf[i] = i;
	if (impl == ENVCRYPT_XTS_VAES)
		xts_encrypt_vaes(&k, buf, buf, XTS_KAT_LEN, 0xff);
	else
		xts_encrypt_aesni(&k, buf, buf, XTS_KAT_LEN, 0xff);
	ok = !memcmp(buf, xts_kat_ct, XTS_KAT_LEN);
	if (impl == ENVCRYPT_XTS_VAES)
		xts_decrypt_vaes(&k, buf, buf, XTS_KAT_LEN, 0xff);
	else
		xts_decrypt_aesni(&k, buf, buf, XTS_KAT_LEN, 0xff);
	for (i = 0; i < XTS_KAT_LEN; i++)
		ok &= buf[i] == (u8)i;
	return ok;
}

/* The CPU (and OS) have what @impl needs. */
static bool xts_cpu_has(enum envcrypt_aes_xts_impl impl)
{
#ifdef __KERNEL__
	if (!boot_cpu_has(X86_FEATURE_AES) || !boot_cpu_has(X86_FEATURE_AVX) ||
	    !boot_cpu_has(X86_FEATURE_AVX2) ||
	    !cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM, NULL))
		return false;
	return impl != ENVCRYPT_XTS_VAES || boot_cpu_has(X86_FEATURE_VAES);
#else
	/* GCC's and clang's checks for AVX include the OS saving ymm. */
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("aes") || !__builtin_cpu_supports("avx2"))
		return false;
	return impl != ENVCRYPT_XTS_VAES || __builtin_cpu_supports("vaes");
#endif
}

enum envcrypt_aes_xts_impl envcrypt_aes_xts_probe(void)
{
	enum envcrypt_aes_xts_impl impl = ENVCRYPT_XTS_NONE;
	unsigned int ok = 0;

	if (xts_cpu_has(ENVCRYPT_XTS_AESNI)) {
#ifdef __KERNEL__
		kernel_fpu_begin();
#endif
		if (xts_selftest(ENVCRYPT_XTS_AESNI)) {
			ok |= 1 << ENVCRYPT_XTS_AESNI;
			impl = ENVCRYPT_XTS_AESNI;
		}
		if (xts_cpu_has(ENVCRYPT_XTS_VAES) &&
		    xts_selftest(ENVCRYPT_XTS_VAES)) {
			ok |= 1 << ENVCRYPT_XTS_VAES;
			impl = ENVCRYPT_XTS_VAES;
		}
#ifdef __KERNEL__
		kernel_fpu_end();
#endif
	}
	xts_impl_ok = ok;
	xts_impl = impl;
	return impl;
}

int envcrypt_aes_xts_select(enum envcrypt_aes_xts_impl impl)
{
	if (impl == ENVCRYPT_XTS_NONE || !(xts_impl_ok & (1 << impl)))
		return -EOPNOTSUPP;
	xts_impl = impl;
	return 0;
}

const char *envcrypt_aes_xts_impl_name(enum envcrypt_aes_xts_impl impl)
{
	switch (impl) {
	case ENVCRYPT_XTS_VAES:
		return "vaes-avx2";
	case ENVCRYPT_XTS_AESNI:
		return "aesni-avx2";
	default:
		return "none";
	}
}
