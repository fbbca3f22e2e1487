/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the unit tests share: random bytes, test data, instruction
 * counting by single-stepping, timing.
 */
#ifndef ENVCRYPT_UNIT_UTIL_H
#define ENVCRYPT_UNIT_UTIL_H

#include <stddef.h>
#include <linux/types.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- random data: splitmix64, reproducible from the printed seed ----- */

/* Seed from the environment variable @env (any strtoull base), else @dflt. */
u64 rnd_seed(const char *env, u64 dflt);
u64 rnd64(void);
void rnd_bytes(u8 *p, size_t n);
/* A random XTS key of @size bytes whose two halves differ. */
void rnd_key(u8 *key, size_t size);
/* Sector @i of a series: edge cases first, then random ones. */
u64 pick_sector(unsigned int i);

/* ---- test data (cmocka asserts) ---------------------------------------- */

void hex_to_bytes(const char *hex, u8 *out, size_t n);
/* dm-crypt's plain64 IV: le64(sector) || 0^64. */
void plain64_iv(u8 iv[16], u64 sector);

/* ---- benchmarks ---------------------------------------------------------- */

/* What a benchmarked function works on: @len bytes of @buf in place. */
struct bench_sector {
	u8 *buf;
	unsigned int len;
	u64 sector;
};

typedef void bench_fn(struct bench_sector *s);

/* Instructions executed by @fn(@s), single-stepped; -1 if ptrace fails. */
long count_instructions(bench_fn *fn, struct bench_sector *s);

/*
 * Print @name and the instructions @fn takes for 512- and 4096-byte
 * sectors, the count @count_width wide, per byte @per_byte_width.
 */
void bench_counts(const char *name, bench_fn *fn, struct bench_sector *s,
		  int count_width, int per_byte_width);

/*
 * Time @iters calls of @fn on @s->len bytes, a new sector each; print
 * @name (@name_width wide), ns and TSC cycles per byte and MB/s (10^6
 * bytes per second), and return the MB/s.
 */
double time_one(const char *name, int name_width, bench_fn *fn,
		struct bench_sector *s, unsigned int iters);

#endif
