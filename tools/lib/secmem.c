// SPDX-License-Identifier: GPL-2.0
/*
 * Memory for key material: whole anonymous pages, locked so they are never
 * swapped, left out of core dumps, and wiped before they are unmapped.
 *
 * A small header in front of the caller's bytes remembers the size of the
 * mapping, so ec_secure_free() needs only the pointer.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "error.h"
#include "secmem.h"

/* In front of every allocation; keeps the caller's bytes 16-byte aligned. */
struct secmem_head {
	size_t map_len;		/* the whole mapping, in pages */
	size_t size;		/* what the caller asked for */
} __attribute__((aligned(16)));

int ec_secmem_init(void)
{
	const struct rlimit no_core = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		return ec_err_set(-errno,
				  "cannot turn core dumps off (RLIMIT_CORE): %s",
				  strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return ec_err_set(-errno,
				  "cannot make the process undumpable: %s",
				  strerror(errno));
	/*
	 * Key material also passes through memory that is not ours for a
	 * moment: OpenSSL's cipher contexts and key schedules, TLS
	 * buffers, a PKCS#11 module's.  Lock every page the process ever
	 * touches, when it may (root; CAP_IPC_LOCK).  Not fatal: without
	 * the privilege, the key buffers of ec_secure_alloc() are still
	 * locked one by one.
	 */
	mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
	return 0;
}

void *ec_secure_alloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct secmem_head *head;
	size_t map_len;
	int err;

	if (size > SIZE_MAX - sizeof(*head) - page) {
		ec_err_set(-ENOMEM, "cannot allocate %zu bytes of locked memory",
			   size);
		errno = ENOMEM;
		return NULL;
	}
	map_len = (sizeof(*head) + size + page - 1) / page * page;

	head = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (head == MAP_FAILED) {
		err = errno;
		ec_err_set(-err, "cannot map %zu bytes for key material: %s",
			   map_len, strerror(err));
		errno = err;
		return NULL;
	}
	if (mlock(head, map_len) < 0) {
		err = errno;
		munmap(head, map_len);
		ec_err_set(-err,
			   "memory for key material could not be locked (%s); raise RLIMIT_MEMLOCK (ulimit -l) or run as root",
			   strerror(err));
		errno = err;
		return NULL;
	}
	/*
	 * Not fatal: a kernel without MADV_DONTDUMP still has RLIMIT_CORE.
	 * DONTFORK: a child (a KMS plugin, before its exec) never maps it.
	 */
	madvise(head, map_len, MADV_DONTDUMP);
	madvise(head, map_len, MADV_DONTFORK);

	/* Fresh anonymous pages are zero already. */
	head->map_len = map_len;
	head->size = size;
	return head + 1;
}

void ec_secure_free(void *p)
{
	struct secmem_head *head;
	size_t map_len;

	if (!p)
		return;
	head = (struct secmem_head *)p - 1;
	map_len = head->map_len;
	ec_wipe(head, map_len);
	munlock(head, map_len);
	munmap(head, map_len);
}

void ec_wipe(void *p, size_t size)
{
	if (p && size)
		OPENSSL_cleanse(p, size);
}
