// SPDX-License-Identifier: GPL-2.0
/*
 * The data key's short stay in the kernel keyring, between unwrap and the
 * creation of the device-mapper table that reads it.
 */
#include <keyutils.h>
#include <string.h>

#include "dm-envcrypt.h"
#include "error.h"
#include "keyring.h"

int ec_keyring_add(const char *desc, const uint8_t *key, size_t len,
		   int32_t *serial)
{
	key_serial_t id;

	id = add_key(ENVCRYPT_KEY_TYPE, desc, key, len,
		     KEY_SPEC_PROCESS_KEYRING);
	if (id < 0) {
		int r = -errno;

		return ec_err_set(r, "cannot add the data key to the kernel keyring (%s): %s; is CONFIG_KEYS enabled?",
				  desc, strerror(-r));
	}
	*serial = id;
	return 0;
}

int ec_keyring_drop(int32_t serial)
{
	int r;

	/*
	 * Invalidate while we still possess it: the key is gone at once,
	 * from every keyring; the unlink after it is a formality.
	 */
	if (keyctl_invalidate(serial) == 0) {
		keyctl_unlink(serial, KEY_SPEC_PROCESS_KEYRING);
		return 0;
	}
	r = -errno;
	if (keyctl_unlink(serial, KEY_SPEC_PROCESS_KEYRING) == 0)
		return 0;
	return ec_err_set(r, "cannot remove key %d from the kernel keyring: %s",
			  serial, strerror(-r));
}
