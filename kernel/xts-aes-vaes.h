/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AES-256-XTS on whole sectors with VAES (or AES-NI) and AVX2, for
 * dm-envcrypt.
 *
 * Same ciphertext as dm-crypt's "aes-xts-plain64": the IV of a sector is
 * its number as a little-endian 64-bit integer followed by eight zero
 * bytes, and the tweak is multiplied by x per 16-byte block as in IEEE
 * 1619 and Linux's xts template.
 *
 * The source builds both as part of the kernel module and in userspace
 * (tests/unit/ supplies the few <linux/...> headers it needs there).
 */
#ifndef DM_ENVCRYPT_XTS_AES_VAES_H
#define DM_ENVCRYPT_XTS_AES_VAES_H

#include <linux/types.h>

#include "dm-envcrypt.h"		/* ENVCRYPT_AES_XTS_KEY_SIZE */

#define ENVCRYPT_AES256_NR_KEYS		15	/* 14 rounds, 15 round keys */

/*
 * The expanded key.  Every round key of the data key is stored twice in
 * a row (32 bytes), so a 256-bit instruction can take it straight from
 * memory for the two blocks in its register.  No alignment is required;
 * 32 bytes keeps the loads within cache lines.  Wipe it with
 * envcrypt_aes_xts_wipe() (or memzero_explicit()) when done.
 */
struct envcrypt_aes_xts_key {
	u8 enc[ENVCRYPT_AES256_NR_KEYS][32];	/* data key, encryption */
	u8 dec[ENVCRYPT_AES256_NR_KEYS][32];	/* data key, equivalent inverse cipher */
	u8 tweak[ENVCRYPT_AES256_NR_KEYS][16];	/* tweak key, encryption */
};

enum envcrypt_aes_xts_impl {
	ENVCRYPT_XTS_NONE,	/* not usable here: keep to the crypto API */
	ENVCRYPT_XTS_AESNI,	/* AES-NI and AVX2: one block per AES instruction */
	ENVCRYPT_XTS_VAES,	/* VAES and AVX2: two blocks per AES instruction */
};

/*
 * Find out what the CPU can do, and test it: call it once (more calls
 * are harmless) before anything else here, and use nothing else here if
 * it returns ENVCRYPT_XTS_NONE.  It picks VAES if the CPU has it and it
 * passes a known-answer test (QEMU 7.2 advertises VAES but computes it
 * wrongly), else AES-NI with AVX2 if that passes.  In the kernel it takes
 * the FPU itself: call it from process context, NOT between
 * kernel_fpu_begin() and kernel_fpu_end().
 */
enum envcrypt_aes_xts_impl envcrypt_aes_xts_probe(void);

/*
 * For tests and benchmarks: use @impl from now on, if the probe found it
 * usable (-EOPNOTSUPP otherwise).  Not while other threads use the code.
 */
int envcrypt_aes_xts_select(enum envcrypt_aes_xts_impl impl);

/* "vaes-avx2", "aesni-avx2" or "none", for messages. */
const char *envcrypt_aes_xts_impl_name(enum envcrypt_aes_xts_impl impl);

/*
 * Expand a 64-byte XTS key (32-byte AES-256 data key, then 32-byte tweak
 * key).  Returns -EINVAL for another length or for equal halves (as the
 * kernel's xts template does in FIPS mode, and OpenSSL does).  In the kernel it
 * takes the FPU itself: call it from process context, NOT between
 * kernel_fpu_begin() and kernel_fpu_end().
 */
int envcrypt_aes_xts_setkey(struct envcrypt_aes_xts_key *k, const u8 *key,
			    unsigned int key_len);

/* Overwrite an expanded key with zeroes. */
void envcrypt_aes_xts_wipe(struct envcrypt_aes_xts_key *k);

/*
 * Encrypt or decrypt @len bytes (a multiple of 16: a 512- or 4096-byte
 * sector) of one data unit whose IV is @sector (plain64), with the
 * implementation the probe picked.  @dst may equal @src; they must not
 * otherwise overlap.  No alignment is required.  In the kernel the
 * caller must hold kernel_fpu_begin(); it may do several sectors under
 * one kernel_fpu_begin(), a few KiB at a time to keep preemption latency
 * low.
 */
void envcrypt_aes_xts_encrypt(const struct envcrypt_aes_xts_key *k, u8 *dst,
			      const u8 *src, unsigned int len, u64 sector);
void envcrypt_aes_xts_decrypt(const struct envcrypt_aes_xts_key *k, u8 *dst,
			      const u8 *src, unsigned int len, u64 sector);

#endif /* DM_ENVCRYPT_XTS_AES_VAES_H */
