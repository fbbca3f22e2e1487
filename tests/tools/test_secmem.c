// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of tools/lib/secmem.c: memory for key material is locked and left
 * out of core dumps (the kernel's own view: VmFlags in /proc/self/smaps,
 * VmLck in /proc/self/status), wiped before it is unmapped, and refused
 * with a message when it cannot be locked.  mlock() and munmap() are
 * wrapped (-Wl,--wrap) to fake a refusal and to look at the pages at the
 * moment they are unmapped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "secmem.h"

/*
 * AddressSanitizer's runtime (make asan) replaces mlock() and mlockall() by
 * no-ops that return 0: under it nothing is ever locked, so the assertions
 * on VmLck and VM_LOCKED are left out there (they test the sanitizer, not
 * secmem.c; 'make check-unit' and 'make valgrind' still make them).
 */
#if defined(__SANITIZE_ADDRESS__)
#define MLOCK_IS_REAL	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MLOCK_IS_REAL	0
#endif
#endif
#ifndef MLOCK_IS_REAL
#define MLOCK_IS_REAL	1
#endif

/* ---- fakes --------------------------------------------------------------- */

static int mlock_error;			/* mlock fails with this errno */
static bool check_unmapped_zero;	/* munmap: were the pages wiped? */
static int munmap_calls;
static size_t unmapped_nonzero;		/* bytes found not wiped */

int __real_mlock(const void *addr, size_t len);
int __wrap_mlock(const void *addr, size_t len);
int __real_munmap(void *addr, size_t len);
int __wrap_munmap(void *addr, size_t len);

int __wrap_mlock(const void *addr, size_t len)
{
	if (mlock_error) {
		errno = mlock_error;
		return -1;
	}
	return __real_mlock(addr, len);
}

int __wrap_munmap(void *addr, size_t len)
{
	const uint8_t *p = addr;
	size_t i;

	munmap_calls++;
	if (check_unmapped_zero)
		for (i = 0; i < len; i++)
			unmapped_nonzero += p[i] != 0;
	return __real_munmap(addr, len);
}

static int reset(void **state)
{
	(void)state;
	mlock_error = 0;
	check_unmapped_zero = false;
	munmap_calls = 0;
	unmapped_nonzero = 0;
	ec_err_clear();
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

/* The VmFlags of the mapping that holds @p, from /proc/self/smaps. */
static void vm_flags_of(const void *p, char *flags, size_t size)
{
	uintptr_t addr = (uintptr_t)p, start, end;
	bool inside = false;
	char line[512];
	FILE *f;

	flags[0] = '\0';
	f = fopen("/proc/self/smaps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			inside = addr >= start && addr < end;
			continue;
		}
		if (inside && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, size, "%s", line + 8);
			break;
		}
	}
	fclose(f);
}

static bool has_flag(const char *flags, const char *flag)
{
	char copy[512], *tok, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", flags);
	for (tok = strtok_r(copy, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, flag))
			return true;
	return false;
}

/* VmLck of this process in kB. */
static long vm_locked_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ---- tests --------------------------------------------------------------- */

static void test_alloc_is_zeroed_locked_and_not_dumped(void **state)
{
	long page_kb = sysconf(_SC_PAGESIZE) / 1024, before, after;
	char flags[512];
	uint8_t *p;
	size_t i;

	(void)state;
	before = vm_locked_kb();
	p = ec_secure_alloc(100);
	assert_non_null(p);
	after = vm_locked_kb();
	if (MLOCK_IS_REAL)
		assert_true(after >= before + page_kb);
	assert_int_equal((uintptr_t)p % 16, 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);

	vm_flags_of(p, flags, sizeof(flags));
	if (MLOCK_IS_REAL)
		assert_true(has_flag(flags, "lo"));	/* VM_LOCKED */
	assert_true(has_flag(flags, "dd"));	/* VM_DONTDUMP */

	ec_secure_free(p);
	assert_int_equal(vm_locked_kb(), before);
}

static void test_alloc_spanning_pages_is_all_locked(void **state)
{
	long page = sysconf(_SC_PAGESIZE), before;
	uint8_t *p;

	(void)state;
	before = vm_locked_kb();
	/* The size header pushes a whole page's worth into a second page. */
	p = ec_secure_alloc((size_t)page);
	assert_non_null(p);
	memset(p, 0x5a, (size_t)page);
	if (MLOCK_IS_REAL)
		assert_int_equal(vm_locked_kb(), before + 2 * page / 1024);
	ec_secure_free(p);
}

static void test_free_wipes_the_pages_before_unmapping(void **state)
{
	uint8_t *p;

	(void)state;
	p = ec_secure_alloc(64);
	assert_non_null(p);
	memset(p, 0xa5, 64);
	check_unmapped_zero = true;
	ec_secure_free(p);
	assert_int_equal(munmap_calls, 1);
	assert_int_equal(unmapped_nonzero, 0);
}

static void test_free_of_null_does_nothing(void **state)
{
	(void)state;
	ec_secure_free(NULL);
	assert_int_equal(munmap_calls, 0);
}

static void test_alloc_fails_with_message_when_mlock_refused(void **state)
{
	void *p;

	(void)state;
	mlock_error = EPERM;
	errno = 0;
	p = ec_secure_alloc(32);
	assert_null(p);
	assert_int_equal(errno, EPERM);
	assert_int_equal(munmap_calls, 1);	/* the mapping is not leaked */
	assert_string_equal(ec_err_msg(),
			    "memory for key material could not be locked (Operation not permitted); raise RLIMIT_MEMLOCK (ulimit -l) or run as root");
}

static void test_alloc_of_impossible_size_fails_with_enomem(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ec_secure_alloc(SIZE_MAX - 8));
	assert_int_equal(errno, ENOMEM);
}

static void test_wipe_zeroes_the_bytes(void **state)
{
	uint8_t key[48];
	size_t i;

	(void)state;
	memset(key, 0xff, sizeof(key));
	ec_wipe(key + 8, 32);
	for (i = 0; i < sizeof(key); i++)
		assert_int_equal(key[i], i >= 8 && i < 40 ? 0 : 0xff);
	ec_wipe(NULL, 10);	/* harmless */
}

/* VmLck of this process after it mallocs and touches @kib KiB. */
static long locked_kib_after_touching(size_t kib)
{
	char line[256];
	long locked = -1;
	char *p = malloc(kib * 1024);
	FILE *f;

	if (!p)
		return -1;
	memset(p, 0x5a, kib * 1024);
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &locked) == 1)
			break;
	if (f)
		fclose(f);
	free(p);
	return locked;
}

static void test_secmem_init_turns_core_dumps_off(void **state)
{
	struct rlimit rl;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (ec_secmem_init())
			_exit(1);
		if (getrlimit(RLIMIT_CORE, &rl) || rl.rlim_cur || rl.rlim_max)
			_exit(2);
		if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
			_exit(3);
		/* as root, memory OpenSSL mallocs later is locked too */
		if (MLOCK_IS_REAL && geteuid() == 0 &&
		    locked_kib_after_touching(1024) < 1024)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_alloc_is_zeroed_locked_and_not_dumped,
				       reset),
		cmocka_unit_test_setup(test_alloc_spanning_pages_is_all_locked,
				       reset),
		cmocka_unit_test_setup(test_free_wipes_the_pages_before_unmapping,
				       reset),
		cmocka_unit_test_setup(test_free_of_null_does_nothing, reset),
		cmocka_unit_test_setup(test_alloc_fails_with_message_when_mlock_refused,
				       reset),
		cmocka_unit_test_setup(test_alloc_of_impossible_size_fails_with_enomem,
				       reset),
		cmocka_unit_test_setup(test_wipe_zeroes_the_bytes, reset),
		cmocka_unit_test_setup(test_secmem_init_turns_core_dumps_off,
				       reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
