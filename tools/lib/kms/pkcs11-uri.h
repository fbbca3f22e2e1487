/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KMS URI of the PKCS#11 provider (RFC 7512, docs/KMS-PKCS11.md):
 *
 *   pkcs11:token=LABEL[;manufacturer=M][;serial=S][;model=M][;slot-id=N]
 *         ?module-path=/ABS/module.so[&pin-source=file:/ABS/pin]
 *         [&mechanism=aes-gcm|aes-key-wrap-pad][&timeout=SECONDS]
 *
 * Path attributes are separated by ';', query attributes by '&', values
 * percent-decoded.  A PIN is never part of the URI: pin-value= is refused.
 */
#ifndef ENVCRYPT_KMS_PKCS11_URI_H
#define ENVCRYPT_KMS_PKCS11_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "kms.h"

#define EC_P11_SCHEME		"pkcs11"
#define EC_P11_PIN_ENV		"ENVCRYPT_PKCS11_PIN"

/* Sizes of CK_TOKEN_INFO's blank-padded fields, plus the NUL. */
#define EC_P11_LABEL_MAX	33
#define EC_P11_MANUFACTURER_MAX	33
#define EC_P11_MODEL_MAX	17
#define EC_P11_SERIAL_MAX	17

/* How the data key is wrapped; the value is a wrapped key's 2nd byte. */
enum ec_p11_mech {
	EC_P11_MECH_AES_GCM = 1,	/* CKM_AES_GCM, AAD = context */
	EC_P11_MECH_AES_KWP = 2,	/* CKM_AES_KEY_WRAP_PAD */
};

/* Which token attributes the URI names. */
enum {
	EC_P11_HAS_TOKEN	= 1 << 0,
	EC_P11_HAS_MANUFACTURER	= 1 << 1,
	EC_P11_HAS_SERIAL	= 1 << 2,
	EC_P11_HAS_MODEL	= 1 << 3,
	EC_P11_HAS_SLOT_ID	= 1 << 4,
};

struct ec_p11_uri {
	unsigned int has;			/* EC_P11_HAS_* */
	char token[EC_P11_LABEL_MAX];
	char manufacturer[EC_P11_MANUFACTURER_MAX];
	char serial[EC_P11_SERIAL_MAX];
	char model[EC_P11_MODEL_MAX];
	unsigned long slot_id;
	char module_path[EC_KMS_URI_MAX];
	char pin_file[EC_KMS_URI_MAX];		/* "" when none */
	enum ec_p11_mech mech;
	int timeout_ms;
	bool has_timeout;
};

/*
 * Parse @uri into @u.  -EINVAL with a message for a malformed URI, an
 * unknown attribute, no token attribute, no or a relative module-path,
 * a pin-source that is not an absolute file, and pin-value= (whose
 * message never repeats the URI).
 */
int ec_p11_uri_parse(const char *uri, struct ec_p11_uri *u);

/*
 * The canonical URI of @u into @buf: the token attributes in the order
 * above, then module-path, pin-source, mechanism (when not aes-gcm) and
 * timeout (when given), percent-encoded.  -EINVAL if it does not fit.
 */
int ec_p11_uri_format(const struct ec_p11_uri *u, char *buf, size_t size);

/* "aes-gcm" / "aes-key-wrap-pad" */
const char *ec_p11_mech_name(enum ec_p11_mech mech);

#endif /* ENVCRYPT_KMS_PKCS11_URI_H */
