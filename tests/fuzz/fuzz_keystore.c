// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the keystore file of the local KMS
 * (tools/lib/kms/local.c), "envcrypt-local-keystore 1" then key, version
 * and end lines.  The input is the file, in a directory opened as
 * "local:DIR"; the keys are listed and each is described, and a data key
 * is wrapped and unwrapped under every usable one, which must give the
 * same bytes back.  A corrupt file must be refused with a message, never
 * read in part.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kms.h"

#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(struct ec_kms *kms, const struct ec_key_info *k)
{
	static const char context[] = "envcrypt-context-v1 fuzz";
	static uint8_t dk[64], back[64];
	struct ec_wrapped w;
	size_t i;

	for (i = 0; i < sizeof(dk); i++)
		dk[i] = (uint8_t)(i * 13 + 1);
	if (ec_kms_wrap(kms, k->id, dk, sizeof(dk), context, &w))
		return;		/* e.g. not Enabled */
	if (k->state != EC_KEY_ENABLED)
		abort();	/* wrapped under an unusable key */
	if (ec_kms_unwrap(kms, k->id, &w, context, back, sizeof(back)) ||
	    memcmp(dk, back, sizeof(dk)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512], uri[600];
	struct ec_key_info *keys, info;
	struct ec_kms *kms;
	size_t n, i;
	int r;

	ec_err_clear();
	if (size > 64 * 1024)
		return 0;
	setenv("ENVCRYPT_POLICY", "/nonexistent/policy.conf", 1);
	setenv("ENVCRYPT_AUDIT_LOG", "off", 1);
	fuzz_file("keystore", data, size, path, sizeof(path));
	snprintf(uri, sizeof(uri), "local:%s", fuzz_dir());
	if (ec_kms_open(uri, &kms))
		abort();
	r = ec_kms_list_keys(kms, &keys, &n);
	if (r) {
		if (r != -EIO || !ec_err_msg()[0])
			abort();	/* corrupt: says so */
		ec_kms_close(kms);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!keys[i].id[0] || keys[i].versions < 1)
			abort();
		if (ec_kms_describe_key(kms, keys[i].id, &info) ||
		    strcmp(info.id, keys[i].id) ||
		    info.state != keys[i].state)
			abort();
		if (keys[i].alias[0] &&
		    (ec_kms_describe_key(kms, keys[i].alias, &info) ||
		     strcmp(info.id, keys[i].id)))
			abort();
		round_trip(kms, &keys[i]);
	}
	free(keys);
	ec_kms_close(kms);
	return 0;
}
