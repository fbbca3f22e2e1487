/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-envcrypt: the compiler's x86 SIMD intrinsics for the cipher cores
 * (xts-aes-vaes.c, sm4-xts.c), in the kernel, in userspace and for sparse.
 *
 * Only functions with a target attribute may use them: the kernel builds
 * with -mno-sse -mno-avx, and the cores call such functions only between
 * kernel_fpu_begin() and kernel_fpu_end().
 */
#ifndef DM_ENVCRYPT_SIMD_H
#define DM_ENVCRYPT_SIMD_H

#include <linux/types.h>

#ifndef __CHECKER__
/*
 * In the kernel, which builds with -nostdinc, the Kbuild flags of each
 * core add the compiler's own include directory.  <immintrin.h> would
 * include mm_malloc.h, which wants <stdlib.h>; nothing here needs
 * _mm_malloc(), so mark it included.
 */
#define _MM_MALLOC_H_INCLUDED
#include <immintrin.h>
#else
/*
 * sparse cannot parse the compiler's intrinsics headers (their vector
 * initialisers and __builtin_ia32_*()).  For sparse, vectors are s64 and
 * each intrinsic the cores use is a call of one variadic stand-in, so that
 * it still checks everything around them.
 */
#define __m128i		s64
#define __m128i_u	s64
#define __m256i		s64
#define __m256i_u	s64

static inline s64 envcrypt_checker_intrinsic(int unused, ...)
{
	return 0;
}

#define _mm_aesdec_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_aesdeclast_si128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_aesenc_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_aesenclast_si128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_aesimc_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_aeskeygenassist_si128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_cvtsi64_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_loadu_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_setzero_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_shuffle_epi32(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_slli_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_storeu_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm_xor_si128(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_add_epi64(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_aesdec_epi128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_aesdeclast_epi128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_aesenc_epi128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_aesenclast_epi128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_and_si256(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_blend_epi32(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_broadcastsi128_si256(...)	envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_bslli_epi128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_castsi128_si256(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_castsi256_si128(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_extracti128_si256(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_inserti128_si256(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_loadu_si256(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_or_si256(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_set1_epi32(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_set1_epi8(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_set_epi32(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_set_epi64x(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_setzero_si256(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_shuffle_epi32(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_shuffle_epi8(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_slli_epi32(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_srai_epi32(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_srli_epi16(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_srli_epi32(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_storeu_si256(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_unpackhi_epi32(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_unpackhi_epi64(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_unpacklo_epi32(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_unpacklo_epi64(...)		envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_xor_si256(...)			envcrypt_checker_intrinsic(0, __VA_ARGS__)
#define _mm256_zeroall()			envcrypt_checker_intrinsic(0)
#endif /* __CHECKER__ */

#endif /* DM_ENVCRYPT_SIMD_H */
