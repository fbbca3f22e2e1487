/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Handing a data key to the kernel: a "logon" key (its payload cannot be
 * read back by userspace) in this process's keyring, only for as long as
 * the target needs to read it.
 */
#ifndef ENVCRYPT_KEYRING_H
#define ENVCRYPT_KEYRING_H

#include <stddef.h>
#include <stdint.h>

/* Key description for a volume: "envcrypt:<volume uuid text>". */
#define EC_KEYRING_DESC_PREFIX	"envcrypt:"

/*
 * Add @key as logon key @desc to the process keyring; *serial is its id.
 */
int ec_keyring_add(const char *desc, const uint8_t *key, size_t len,
		   int32_t *serial);
/* Unlink and invalidate the key: nothing is left in any keyring. */
int ec_keyring_drop(int32_t serial);

#endif /* ENVCRYPT_KEYRING_H */
