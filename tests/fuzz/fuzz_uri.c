// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: KMS URIs, which come from the command line and from
 * the wrap slots of a volume header (anyone who can write the device).
 *
 * The input, as a C string, is read as a parameter list by every
 * function of tools/lib/uri.c (both separators, names present and
 * absent), then opened as a KMIP URI through ec_kms_open() ("kmip://"
 * put in front unless it is there): parsing the authority, the ca=,
 * cert=, key= and timeout= parameters, and writing the canonical URI,
 * without connecting.  The canonical URI of an accepted one must open
 * again and be its own canonical form.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kms.h"
#include "uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"ca", "cert", "key", "timeout", "token", "module-path", "", "a",
	NULL,
};

static void params(const char *s, char sep)
{
	static const char *const known[] = { "ca", "cert", "key", "timeout",
					     NULL };
	char value[EC_KMS_URI_MAX], small[4];
	unsigned int i;
	int r, ms;

	for (i = 0; names[i]; i++) {
		r = ec_uri_param("fuzz", s, sep, names[i], value,
				 sizeof(value));
		if (r != -EINVAL && r != 0 && r != 1)
			abort();
		if (r == 0 && value[0])
			abort();	/* absent: "" */
		if (r == 1 && strlen(value) >= sizeof(value))
			abort();
		r = ec_uri_param("fuzz", s, sep, names[i], small,
				 sizeof(small));
		if (r == 1 && strlen(small) >= sizeof(small))
			abort();
	}
	r = ec_uri_check_params("fuzz", s, sep, known);
	if (r && r != -EINVAL)
		abort();
	r = ec_uri_timeout_ms("fuzz", s, &ms);
	if (r && r != -EINVAL)
		abort();
	if (!r && (ms < 1000 || ms > EC_KMS_TIMEOUT_MAX_S * 1000))
		abort();
}

static void kmip(const char *text)
{
	static char uri[2 * EC_KMS_URI_MAX], canonical[EC_KMS_URI_MAX];
	struct ec_kms *kms, *again;
	int r;

	if (strncmp(text, "kmip://", 7))
		snprintf(uri, sizeof(uri), "kmip://%.*s",
			 (int)(sizeof(uri) - 8), text);
	else
		snprintf(uri, sizeof(uri), "%s", text);
	r = ec_kms_open(uri, &kms);
	if (r) {
		if (kms || !ec_err_msg()[0])
			abort();
		return;
	}
	if (strncmp(kms->uri, "kmip://", 7))
		abort();
	snprintf(canonical, sizeof(canonical), "%s", kms->uri);
	ec_kms_close(kms);
	if (ec_kms_open(canonical, &again))
		abort();	/* the canonical form must open */
	if (strcmp(again->uri, canonical))
		abort();	/* and be its own canonical form */
	ec_kms_close(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	ec_err_clear();
	if (size > 4 * EC_KMS_URI_MAX)
		return 0;
	/* no host policy, no state directory of this host */
	setenv("ENVCRYPT_POLICY", "/nonexistent/policy.conf", 1);
	setenv("ENVCRYPT_KMIP_STATE_DIR", "/nonexistent", 1);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	params(text, '&');
	params(text, ';');
	kmip(text);
	free(text);
	return 0;
}
