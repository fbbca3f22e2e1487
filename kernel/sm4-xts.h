/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SM4-XTS on whole sectors, for dm-envcrypt: AES-NI and AVX2, or portable
 * C.
 *
 * Same ciphertext as dm-crypt's "sm4-xts-plain64" (Linux's xts template
 * over sm4): the IV of a sector is its number as a little-endian 64-bit
 * integer followed by eight zero bytes, T_0 = SM4_K2(IV), and the tweak
 * is multiplied by x per 16-byte block as in IEEE 1619 (not the GB/T
 * 17964-2021 variant of XTS, whose tweak arithmetic differs).
 *
 * The source builds both as part of the kernel module and in userspace
 * (tests/unit/ supplies the few <linux/...> headers it needs there).
 */
#ifndef DM_ENVCRYPT_SM4_XTS_H
#define DM_ENVCRYPT_SM4_XTS_H

#include <linux/types.h>

#include "dm-envcrypt.h"		/* ENVCRYPT_SM4_XTS_KEY_SIZE */
#include "sm4.h"

/*
 * The expanded key: the round keys of the data key (K1, the first half
 * of the XTS key) and of the tweak key (K2, the second half), in
 * encryption order.  Both implementations use the same.  Wipe it with
 * envcrypt_sm4_xts_wipe() (or memzero_explicit()) when done.
 */
struct envcrypt_sm4_xts_key {
	struct envcrypt_sm4_key data;
	struct envcrypt_sm4_key tweak;
};

enum envcrypt_sm4_xts_impl {
	ENVCRYPT_SM4_XTS_GENERIC,	/* portable C: table S-box, one block at a time */
	ENVCRYPT_SM4_XTS_AESNI_AVX2,	/* S-box via AESENCLAST, 16 blocks at a time */
};

/*
 * Find out what the CPU can do, and test it: call it once (more calls
 * are harmless) before anything else here.  It picks AES-NI with AVX2 if
 * the CPU has them and that code passes a known-answer test (and
 * computes the S-box right for all 256 inputs), else the generic code,
 * which is always usable (and is what runs before the first probe).  In
 * the kernel it takes the FPU itself: call it from process context, NOT
 * between kernel_fpu_begin() and kernel_fpu_end().
 */
enum envcrypt_sm4_xts_impl envcrypt_sm4_xts_probe(void);

/*
 * For tests and benchmarks: use @impl from now on, if the probe found it
 * usable (-EOPNOTSUPP otherwise).  Not while other threads use the code.
 */
int envcrypt_sm4_xts_select(enum envcrypt_sm4_xts_impl impl);

/* "generic" or "aesni-avx2", for messages. */
const char *envcrypt_sm4_xts_impl_name(enum envcrypt_sm4_xts_impl impl);

/*
 * Expand a 32-byte XTS key (16-byte SM4 data key, then 16-byte tweak
 * key).  Returns -EINVAL for another length or for equal halves (as the
 * kernel's xts template does in FIPS mode).  Plain C, constant time, no
 * FPU: callable from any context.
 */
int envcrypt_sm4_xts_setkey(struct envcrypt_sm4_xts_key *k, const u8 *key,
			    unsigned int key_len);

/* Overwrite an expanded key with zeroes. */
void envcrypt_sm4_xts_wipe(struct envcrypt_sm4_xts_key *k);

/*
 * Encrypt or decrypt @len bytes (a multiple of 16: a 512- or 4096-byte
 * sector) of one data unit whose IV is @sector (plain64), with the
 * implementation the probe picked.  @dst may equal @src; they must not
 * otherwise overlap.  No alignment is required.  In the kernel the
 * caller must hold kernel_fpu_begin() (harmless for the generic code);
 * it may do several sectors under one kernel_fpu_begin(), a few KiB at
 * a time to keep preemption latency low.
 */
void envcrypt_sm4_xts_encrypt(const struct envcrypt_sm4_xts_key *k, u8 *dst,
			      const u8 *src, unsigned int len, u64 sector);
/*
 * ECB over @len bytes (a multiple of 16) with the implementation the probe
 * picked, for the crypto API's ecb(sm4).  Same rules as encrypt/decrypt
 * above: the caller holds kernel_fpu_begin() in the kernel.
 */
void envcrypt_sm4_ecb_crypt(const struct envcrypt_sm4_key *k, u8 *dst,
			    const u8 *src, unsigned int len, bool encrypt);

void envcrypt_sm4_xts_decrypt(const struct envcrypt_sm4_xts_key *k, u8 *dst,
			      const u8 *src, unsigned int len, u64 sector);

/*
 * For the tests: the vectorised S-box of all 256 bytes into @out, or
 * -EOPNOTSUPP where the CPU lacks AES-NI or AVX2 (whether or not the
 * probe's known-answer test passed).  In the kernel it takes the FPU
 * itself, as the probe does.
 */
int envcrypt_sm4_xts_vec_sbox(u8 out[256]);

#endif /* DM_ENVCRYPT_SM4_XTS_H */
