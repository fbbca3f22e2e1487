// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the host policy file (tools/lib/policy.c).  The input
 * is the file: written to a memfd that $ENVCRYPT_POLICY names through
 * /proc/self/fd, loaded afresh (ec_policy_reset), then every check is
 * asked.  A file that does not load must say why and refuse nothing
 * else: every check then returns the load error.  One that loads must
 * answer each check with 0 or -EPERM and a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int policy_fd = -1;

/* A check's answer: the load error, or 0 / -EPERM with a message. */
static void answer(int r, int loaded)
{
	if (loaded) {
		if (r != loaded)
			abort();
		return;
	}
	if (r && (r != -EPERM || !ec_err_msg()[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int r;

	if (policy_fd < 0) {
		policy_fd = memfd_create("fuzz-policy", MFD_CLOEXEC);
		if (policy_fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", policy_fd);
		setenv("ENVCRYPT_POLICY", path, 1);
	}
	if (ftruncate(policy_fd, 0) ||
	    pwrite(policy_fd, data, size, 0) != (ssize_t)size)
		abort();
	ec_policy_reset();
	ec_err_clear();
	r = ec_policy_load();
	if (r && (r != -EINVAL || !ec_err_msg()[0]))
		abort();
	if (ec_policy_load() != r)
		abort();	/* loaded once: the same answer */
	answer(ec_policy_check_cipher("aes-xts-plain64", "format"), r);
	answer(ec_policy_check_cipher("sm4-xts-plain64", "copy"), r);
	answer(ec_policy_check_kms("local:"), r);
	answer(ec_policy_check_kms("kmip://kms.example:5696?ca=/a&cert=/b&key=/c"),
	       r);
	answer(ec_policy_check_kms("pkcs11:token=hsm1?module-path=/m.so"), r);
	answer(ec_policy_check_kms(""), r);
	answer(ec_policy_check_service_key("format"), r);
	answer(ec_policy_check_convert("/srv/plain.img"), r);
	answer(ec_policy_check_key_change("disable-key", "alias/db"), r);
	answer(ec_policy_check_key_change("create-key", NULL), r);
	return 0;
}
