// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the PKCS#11 provider's KMS URI (RFC 7512,
 * tools/lib/kms/pkcs11-uri.c), as given on the command line or read from
 * a wrap slot.  Parsing loads no module.
 *
 * An accepted URI must name a token, an absolute module, and a known
 * mechanism; its canonical form (ec_p11_uri_format) must parse to the
 * same fields and be its own canonical form.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kms.h"
#include "kms/pkcs11-uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct ec_p11_uri *a, const struct ec_p11_uri *b)
{
	return a->has == b->has && !strcmp(a->token, b->token) &&
	       !strcmp(a->manufacturer, b->manufacturer) &&
	       !strcmp(a->serial, b->serial) && !strcmp(a->model, b->model) &&
	       a->slot_id == b->slot_id &&
	       !strcmp(a->module_path, b->module_path) &&
	       !strcmp(a->pin_file, b->pin_file) && a->mech == b->mech &&
	       a->timeout_ms == b->timeout_ms &&
	       a->has_timeout == b->has_timeout;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ec_p11_uri u, v;
	static char canonical[EC_KMS_URI_MAX], again[EC_KMS_URI_MAX];
	char *text;
	int r;

	ec_err_clear();
	if (size > 4 * EC_KMS_URI_MAX)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	r = ec_p11_uri_parse(text, &u);
	if (r) {
		if (r != -EINVAL || !ec_err_msg()[0])
			abort();
		goto out;
	}
	if (!(u.has & (EC_P11_HAS_TOKEN | EC_P11_HAS_SERIAL |
		       EC_P11_HAS_SLOT_ID)) ||
	    u.module_path[0] != '/' ||
	    (u.pin_file[0] && u.pin_file[0] != '/') ||
	    (u.mech != EC_P11_MECH_AES_GCM && u.mech != EC_P11_MECH_AES_KWP) ||
	    u.timeout_ms < 1000)
		abort();
	if (ec_p11_uri_format(&u, canonical, sizeof(canonical)))
		goto out;	/* too long for a wrap slot: refused */
	if (ec_p11_uri_parse(canonical, &v) || !same(&u, &v))
		abort();	/* the canonical form means the same */
	if (ec_p11_uri_format(&v, again, sizeof(again)) ||
	    strcmp(canonical, again))
		abort();	/* and is its own canonical form */
out:
	free(text);
	return 0;
}
