// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel side of open, faked: see fake-kernel.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <keyutils.h>

#include "blockdev.h"
#include "dm.h"
#include "keyring.h"
#include "fake-kernel.h"

struct fake_kernel fake_kernel;

int __wrap_ec_loop_attach(const char *path, bool readonly, int *loop_fd,
			  char *loop, size_t loop_size, uint32_t *major_nr,
			  uint32_t *minor_nr);
int __wrap_ec_loop_attach(const char *path, bool readonly, int *loop_fd,
			  char *loop, size_t loop_size, uint32_t *major_nr,
			  uint32_t *minor_nr)
{
	(void)path;
	(void)readonly;
	*loop_fd = open("/dev/null", O_RDONLY);
	snprintf(loop, loop_size, "/dev/loop7");
	*major_nr = 7;
	*minor_nr = fake_kernel.loop_minor;
	return 0;
}

int __wrap_ec_dm_load_target(void);
int __wrap_ec_dm_load_target(void)
{
	return 0;
}

key_serial_t __wrap_add_key(const char *type, const char *desc,
			    const void *payload, size_t plen,
			    key_serial_t ring);
key_serial_t __wrap_add_key(const char *type, const char *desc,
			    const void *payload, size_t plen,
			    key_serial_t ring)
{
	struct fake_kernel *k = &fake_kernel;

	assert_string_equal(type, "logon");
	assert_int_equal(ring, KEY_SPEC_PROCESS_KEYRING);
	if (k->add_key_errno) {
		errno = k->add_key_errno;
		return -1;
	}
	assert_false(k->key_present);
	assert_true(plen <= sizeof(k->key));
	snprintf(k->key_desc, sizeof(k->key_desc), "%s", desc);
	memcpy(k->key, payload, plen);
	k->key_len = plen;
	k->key_present = true;
	k->added = 4242;
	return k->added;
}

int __wrap_ec_keyring_drop(int32_t serial);
int __wrap_ec_keyring_drop(int32_t serial)
{
	assert_int_equal(serial, 4242);
	fake_kernel.key_present = false;
	fake_kernel.dropped = serial;
	return 0;
}
