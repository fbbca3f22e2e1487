// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers the unit tests share: random bytes, test data, instruction
 * counting by single-stepping, timing.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cmocka.h>

#include "unit-util.h"

/* ---- random data ------------------------------------------------------- */

static u64 rng_state;

u64 rnd_seed(const char *env, u64 dflt)
{
	const char *seed = getenv(env);

	rng_state = seed ? strtoull(seed, NULL, 0) : dflt;
	return rng_state;
}

u64 rnd64(void)
{
	u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rnd_bytes(u8 *p, size_t n)
{
	while (n--)
		*p++ = (u8)rnd64();
}

void rnd_key(u8 *key, size_t size)
{
	do
		rnd_bytes(key, size);
	while (!memcmp(key, key + size / 2, size / 2));
}

u64 pick_sector(unsigned int i)
{
	static const u64 edge[] = {
		0, 1, 0xff, 0xffffffffULL, 0x100000000ULL, 0x100000001ULL,
		0x123456789abcdefULL, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, 0xffffffffffffffffULL,
	};

	if (i < ARRAY_SIZE(edge))
		return edge[i];
	switch (i % 3) {
	case 0:
		return rnd64();				/* anywhere */
	case 1:
		return rnd64() >> 24;			/* a big disk */
	default:
		return (rnd64() >> 32) + 0xfffffff0ULL;	/* around 2^32 */
	}
}

/* ---- test data --------------------------------------------------------- */

void hex_to_bytes(const char *hex, u8 *out, size_t n)
{
	size_t i;

	assert_true(strlen(hex) >= 2 * n);
	for (i = 0; i < n; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (u8)b;
	}
}

void plain64_iv(u8 iv[16], u64 sector)
{
	int i;

	for (i = 0; i < 8; i++)
		iv[i] = (u8)(sector >> (8 * i));
	memset(iv + 8, 0, 8);
}

/* ---- benchmarks -------------------------------------------------------- */

static void run_noop(struct bench_sector *s)
{
	__asm__ __volatile__("" : : "r"(s) : "memory");
}

/*
 * Instructions executed by @fn(@s), counted exactly by single-stepping a
 * child process with ptrace (this machine may have no PMU for perf, and
 * valgrind does not decode VAES).  Counts user-space instructions, as
 * QEMU's -icount does for a guest.
 */
static long count_steps(bench_fn *fn, struct bench_sector *s)
{
	long steps = 0;
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fn(s);		/* warm: lazy binding, OpenSSL's first use */
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(2);
		raise(SIGSTOP);
		fn(s);
		raise(SIGSTOP);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
		goto fail;
	for (;;) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL))
			goto fail;
		if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			goto fail;
		if (WSTOPSIG(st) == SIGSTOP)
			break;
		steps++;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return steps;
fail:
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Minus the same for an empty function. */
long count_instructions(bench_fn *fn, struct bench_sector *s)
{
	long n = count_steps(fn, s), base = count_steps(run_noop, s);

	return n < 0 || base < 0 ? -1 : n - base;
}

void bench_counts(const char *name, bench_fn *fn, struct bench_sector *s,
		  int count_width, int per_byte_width)
{
	static const unsigned int lens[] = { 512, 4096 };
	size_t l;

	printf("  %-30s", name);
	for (l = 0; l < ARRAY_SIZE(lens); l++) {
		long n;

		s->len = lens[l];
		n = count_instructions(fn, s);
		if (n < 0)
			printf("  %4u B: (ptrace failed)", lens[l]);
		else
			printf("  %4u B: %*ld (%*.2f/byte)", lens[l],
			       count_width, n, per_byte_width,
			       (double)n / lens[l]);
	}
	printf("\n");
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

double time_one(const char *name, int name_width, bench_fn *fn,
		struct bench_sector *s, unsigned int iters)
{
	double t0, t1, bytes = (double)iters * s->len, mbs;
	unsigned long long c0, c1;
	unsigned int i;

	for (i = 0; i < iters / 16; i++)	/* warm up */
		fn(s);
	t0 = now_ns();
	c0 = __rdtsc();
	for (i = 0; i < iters; i++) {
		s->sector++;
		fn(s);
	}
	c1 = __rdtsc();
	t1 = now_ns();
	mbs = bytes / (t1 - t0) * 1e3;
	printf("  %-*s %7.3f ns/byte  %6.3f TSC cycles/byte  %7.0f MB/s\n",
	       name_width, name, (t1 - t0) / bytes, (c1 - c0) / bytes, mbs);
	return mbs;
}
