/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel side of open, faked through -Wl,--wrap for the tests that
 * link fake-kernel.c (tests/tools/Makefile): the loop device
 * (ec_loop_attach), the target module (ec_dm_load_target) and a process
 * keyring that holds one logon key at a time (add_key, ec_keyring_drop).
 * Device-mapper itself stays with each test: what it checks differs.
 */
#ifndef FAKE_KERNEL_H
#define FAKE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the fakes saw, and what they should do; zero it in each setup. */
struct fake_kernel {
	uint32_t loop_minor;	/* files attach as /dev/loop7, 7:<this> */
	int add_key_errno;	/* add_key fails with this */
	bool key_present;	/* the keyring holds a key */
	char key_desc[128];
	uint8_t key[64];
	size_t key_len;
	int32_t added;		/* serial add_key returned (4242), or 0 */
	int32_t dropped;	/* serial ec_keyring_drop was given, or 0 */
};

extern struct fake_kernel fake_kernel;

#endif /* FAKE_KERNEL_H */
