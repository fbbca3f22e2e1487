/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How the PKCS#11 KMS wraps a data key with a CMK on the token.
 *
 * Wrapped key (ec_wrapped.data), version 1:
 *   1 | 1 (CKM_AES_GCM) | IV (12) | ciphertext | tag (16), AAD = context
 *   1 | 2 (CKM_AES_KEY_WRAP_PAD) | KWP(DK || SHA-256(context)[0..15])
 */
#ifndef ENVCRYPT_KMS_PKCS11_WRAP_H
#define ENVCRYPT_KMS_PKCS11_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include "pkcs11-kms.h"

/* The size of the wrapped key of a data key of @dk_len bytes. */
size_t p11_wrapped_size(enum ec_p11_mech mech, size_t dk_len);

/*
 * Wrap @dk (@dk_len bytes) bound to @context with Enabled @key on the
 * connected token into @out (all but cmk_version), by @mech.  @out is
 * zeroed on failure.
 */
int p11_wrap_dk(struct pkcs11_kms *pk, const struct p11_key *key,
		enum ec_p11_mech mech, const uint8_t *dk, size_t dk_len,
		const char *context, struct ec_wrapped *out);

/*
 * Whether @in, a wrapped key of CMK @key_id, is in the format above with
 * a mechanism we know: 0, or -EBADMSG with a message.  Before connecting.
 */
int p11_wrapped_check(struct pkcs11_kms *pk, const char *key_id,
		      const struct ec_wrapped *in);

/*
 * Unwrap @in (p11_wrapped_check() passed) with Enabled @key on the
 * connected token into @dk (@dk_len bytes), if it is bound to @context:
 * -EBADMSG when it does not authenticate.  @dk is wiped on failure.
 */
int p11_unwrap_dk(struct pkcs11_kms *pk, const struct p11_key *key,
		  const struct ec_wrapped *in, const char *context,
		  uint8_t *dk, size_t dk_len);

#endif /* ENVCRYPT_KMS_PKCS11_WRAP_H */
