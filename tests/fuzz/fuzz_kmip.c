// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what the KMIP provider makes of a server's answers
 * (tools/lib/kms/kmip-client.c, kmip.c) above the TTLV decoder: response
 * header and batch item checks, result status and reason, and each
 * operation's payload (Locate, Get Attributes, Encrypt, Decrypt, Create,
 * Activate, Revoke, ...).  No network: this target defines ec_tls_*()
 * itself (tls.c is left out), takes every request, and answers from the
 * input.
 *
 * Input: one byte choosing the operation, then the bytes the "server"
 * sends: the answers one after another, as on the wire.  The provider's
 * own functions are called (not the ec_kms_*() wrappers, which wait
 * between retries).  Whatever an answer holds, the operation must end
 * with 0 and a sane result, or a negative errno and a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kms.h"
#include "tls.h"

#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	const uint8_t *data;
	size_t size, pos;
	int connected;
} peer;

static struct ec_tls *const fake_tls = (struct ec_tls *)&peer;

int ec_tls_connect(const struct ec_tls_params *p, struct ec_tls **out)
{
	(void)p;
	peer.connected++;
	*out = fake_tls;
	return 0;
}

int ec_tls_write(struct ec_tls *t, const void *buf, size_t len)
{
	if (t != fake_tls || !buf || !len)
		abort();
	return 0;
}

int ec_tls_read(struct ec_tls *t, void *buf, size_t len)
{
	if (t != fake_tls)
		abort();
	if (peer.size - peer.pos < len)
		return ec_err_set(-EPROTO, "fuzz peer closed the connection");
	memcpy(buf, peer.data + peer.pos, len);
	peer.pos += len;
	return 0;
}

void ec_tls_close(struct ec_tls *t)
{
	if (t && t != fake_tls)
		abort();
}

static void check_info(const struct ec_key_info *k)
{
	if (!k->id[0] || strnlen(k->id, sizeof(k->id)) == sizeof(k->id) ||
	    strnlen(k->alias, sizeof(k->alias)) == sizeof(k->alias))
		abort();
}

/* An operation's end: 0, or a negative errno with a message. */
static void ended(int r)
{
	if (r > 0 || (r < 0 && !ec_err_msg()[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char context[] =
		"envcrypt-context-v1 volume=00000000-0000-0000-0000-000000000000 cipher=aes-xts-plain64 sector_size=512 data_offset=1048576 cmk=k";
	static uint8_t dk[64];
	static struct ec_wrapped w;
	const struct ec_kms_ops *ops;
	struct ec_key_info info, *keys;
	struct ec_kms *kms;
	size_t n, i;
	int r;

	if (!size)
		return 0;
	setenv("ENVCRYPT_POLICY", "/nonexistent/policy.conf", 1);
	setenv("ENVCRYPT_AUDIT_LOG", "off", 1);
	setenv("ENVCRYPT_KMIP_STATE_DIR", fuzz_dir(), 1);
	if (ec_kms_open("kmip://kms.example:5696?ca=/ca.pem&cert=/c.pem&key=/k.pem",
			&kms))
		abort();
	ops = kms->ops;
	peer.data = data + 1;
	peer.size = size - 1;
	peer.pos = 0;
	ec_err_clear();
	memset(&info, 0, sizeof(info));
	switch (data[0] % 10) {
	case 0:
		r = ops->describe_key(kms, "alias/db", &info);
		if (!r)
			check_info(&info);
		break;
	case 1:
		r = ops->describe_key(kms, "1f2e3d4c", &info);
		if (!r)
			check_info(&info);
		break;
	case 2:
		r = ops->list_keys(kms, &keys, &n);
		if (!r) {
			for (i = 0; i < n; i++)
				check_info(&keys[i]);
			free(keys);
		}
		break;
	case 3:
		memset(dk, 0x5a, sizeof(dk));
		r = ops->wrap(kms, "1f2e3d4c", dk, sizeof(dk), context, &w);
		if (!r && (w.len < 1 || w.len > EC_WRAPPED_MAX ||
			   !w.cmk_version))
			abort();
		break;
	case 4:
		w.cmk_version = 1;
		w.len = 92;
		memset(w.data, 0xa5, w.len);
		r = ops->unwrap(kms, "1f2e3d4c", &w, context, dk, sizeof(dk));
		break;
	case 5:
		r = ops->create_key(kms, EC_SPEC_AES_256, "db", &info);
		if (!r)
			check_info(&info);
		break;
	case 6:
		r = ops->disable_key(kms, "alias/db", &info);
		break;
	case 7:
		r = ops->schedule_deletion(kms, "1f2e3d4c", 7, &info);
		break;
	case 8:
		r = ops->rotate_key(kms, "alias/db", &info);
		break;
	default:
		r = ops->service_key(kms, &info);
		if (!r)
			check_info(&info);
		break;
	}
	ended(r);
	ec_kms_close(kms);
	return 0;
}
