/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory for key material: locked (never swapped), excluded from core
 * dumps, wiped when freed.
 */
#ifndef ENVCRYPT_SECMEM_H
#define ENVCRYPT_SECMEM_H

#include <stddef.h>

/*
 * Make this process unable to dump core (RLIMIT_CORE 0, not dumpable),
 * and lock all its memory, present and future, when it may (root): what
 * OpenSSL or a PKCS#11 module holds of a key is never swapped either.
 * Called once by the CLI before any key is handled.
 */
int ec_secmem_init(void);

/*
 * Zeroed, locked memory for @size bytes, or NULL (ENOMEM, or mlock
 * refused: the message says so).  Free with ec_secure_free().
 */
void *ec_secure_alloc(size_t size);
/* Wipe and free; @p may be NULL. */
void ec_secure_free(void *p);

/* Wipe @size bytes so that the compiler cannot drop it. */
void ec_wipe(void *p, size_t size);

#endif /* ENVCRYPT_SECMEM_H */
