// SPDX-License-Identifier: GPL-2.0
/*
 * The wrap mechanisms of the PKCS#11 KMS (pkcs11-wrap.h): AES-GCM with the
 * context as AAD, or AES-KWP of the data key and a binding to the context
 * in a session key; the token does the crypto, the key never leaves it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ckr.h"
#include "error.h"
#include "pkcs11-session.h"
#include "pkcs11-wrap.h"
#include "secmem.h"

/* ec_wrapped.data */
#define WRAP_FORMAT		1
#define WRAP_HEADER		2		/* format, mechanism */
#define GCM_IV_SIZE		12
#define GCM_TAG_SIZE		16
#define KWP_BINDING_SIZE	16		/* SHA-256(context)[0..15] */

/* The KWP output for @len bytes of input (RFC 5649). */
static size_t kwp_size(size_t len)
{
	return (len + 7) / 8 * 8 + 8;
}

/* SHA-256(context)[0..15]: binds a KWP-wrapped key to its context. */
static int context_binding(const char *context, uint8_t *out)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len;

	if (EVP_Digest(context, strlen(context), md, &md_len, EVP_sha256(),
		       NULL) != 1)
		return ec_err_set(-EIO, "OpenSSL's SHA-256 failed");
	memcpy(out, md, KWP_BINDING_SIZE);
	return 0;
}

/* -EBADMSG: the wrapped key does not authenticate (@rv: CKR_OK, or why). */
static int does_not_authenticate(struct pkcs11_kms *pk,
				 const struct p11_key *key, CK_RV rv)
{
	char label[LABEL_SIZE], name[48] = "";

	if (rv != CKR_OK)
		snprintf(name, sizeof(name), " (%s)",
			 ec_ckr_format(rv, label, sizeof(label)));
	return ec_err_set(-EBADMSG,
			  "the data key wrapped by %s on %s does not authenticate%s: the header was changed, or the wrapped key belongs to another volume",
			  p11_key_label(key, label, sizeof(label)),
			  pk->kms.name, name);
}

/* A refusal of the token to use the key, or another failure. */
static int key_op_fail(struct pkcs11_kms *pk, const struct p11_key *key,
		       CK_RV rv, const char *what)
{
	char label[LABEL_SIZE], name[48];

	if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED)
		return ec_err_set(-EKEYREVOKED,
				  "%s refuses %s with %s (%s): the key is disabled on the token",
				  pk->kms.name, what,
				  p11_key_label(key, label, sizeof(label)),
				  ec_ckr_format(rv, name, sizeof(name)));
	if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID ||
	    rv == CKR_WRAPPING_KEY_HANDLE_INVALID ||
	    rv == CKR_UNWRAPPING_KEY_HANDLE_INVALID)
		return ec_err_set(-ENOKEY,
				  "%s was deleted from %s during %s (%s)",
				  p11_key_label(key, label, sizeof(label)),
				  pk->kms.name, what,
				  ec_ckr_format(rv, name, sizeof(name)));
	return p11_fail(pk, rv, what);
}

/* The CKM_AES_GCM parameters: @iv, AAD @context, a 16-byte tag. */
static CK_GCM_PARAMS gcm_params(const uint8_t *iv, const char *context)
{
	CK_GCM_PARAMS gcm = {
		.pIv = (CK_BYTE_PTR)iv,
		.ulIvLen = GCM_IV_SIZE,
		.ulIvBits = GCM_IV_SIZE * 8,
		.pAAD = (CK_BYTE_PTR)context,
		.ulAADLen = strlen(context),
		.ulTagBits = GCM_TAG_SIZE * 8,
	};

	return gcm;
}

/* AES-GCM of @dk, AAD @context, with a random IV: mechanism 1. */
static int wrap_gcm(struct pkcs11_kms *pk, const struct p11_key *key,
		    const uint8_t *dk, size_t dk_len, const char *context,
		    struct ec_wrapped *out)
{
	uint8_t *iv = out->data + WRAP_HEADER;
	CK_GCM_PARAMS gcm = gcm_params(iv, context);
	CK_MECHANISM mech = { CKM_AES_GCM, &gcm, sizeof(gcm) };
	CK_ULONG len = EC_WRAPPED_MAX - WRAP_HEADER - GCM_IV_SIZE;
	CK_RV rv;

	if (RAND_bytes(iv, GCM_IV_SIZE) != 1)
		return ec_err_set(-EIO,
				  "OpenSSL's random generator failed to make an IV");
	rv = fn(pk)->C_EncryptInit(pk->session, &mech, key->handle);
	if (rv != CKR_OK)
		return key_op_fail(pk, key, rv, "C_EncryptInit (AES-GCM)");
	rv = fn(pk)->C_Encrypt(pk->session, (CK_BYTE_PTR)dk, dk_len,
			       iv + GCM_IV_SIZE, &len);
	/* the operation is still active: only closing the session ends it */
	if (rv == CKR_BUFFER_TOO_SMALL)
		p11_disconnect(pk);
	if (rv != CKR_OK)
		return key_op_fail(pk, key, rv, "C_Encrypt (AES-GCM)");
	if (len != dk_len + GCM_TAG_SIZE)
		return ec_err_set(-EPROTO,
				  "%s: AES-GCM encrypted %zu bytes into %lu, not %zu",
				  pk->kms.name, dk_len, (unsigned long)len,
				  dk_len + GCM_TAG_SIZE);
	out->len = WRAP_HEADER + GCM_IV_SIZE + len;
	return 0;
}

/* Decrypt and verify mechanism 1. */
static int unwrap_gcm(struct pkcs11_kms *pk, const struct p11_key *key,
		      const struct ec_wrapped *in, const char *context,
		      uint8_t *dk, size_t dk_len)
{
	const uint8_t *iv = in->data + WRAP_HEADER;
	CK_GCM_PARAMS gcm = gcm_params(iv, context);
	CK_MECHANISM mech = { CKM_AES_GCM, &gcm, sizeof(gcm) };
	CK_ULONG ct_len = dk_len + GCM_TAG_SIZE, len = ct_len;
	uint8_t *plain;
	CK_RV rv;
	int r = 0;

	if (in->len != WRAP_HEADER + GCM_IV_SIZE + ct_len)
		return does_not_authenticate(pk, key, CKR_OK);
	/* modules want room for the tag too (SoftHSM2): a copy that big */
	plain = ec_secure_alloc(ct_len);
	if (!plain)
		return -errno;
	rv = fn(pk)->C_DecryptInit(pk->session, &mech, key->handle);
	if (rv == CKR_OK)
		rv = fn(pk)->C_Decrypt(pk->session,
				       (CK_BYTE_PTR)iv + GCM_IV_SIZE, ct_len,
				       plain, &len);
	/*
	 * CKR_BUFFER_TOO_SMALL leaves the operation active, with the room
	 * the module wants in len: call again with that much.
	 */
	if (rv == CKR_BUFFER_TOO_SMALL && len > ct_len &&
	    len <= EC_WRAPPED_MAX) {
		ec_secure_free(plain);
		plain = ec_secure_alloc(len);
		if (!plain) {
			r = -errno;
			p11_disconnect(pk);	/* the operation is active */
			return r;
		}
		rv = fn(pk)->C_Decrypt(pk->session,
				       (CK_BYTE_PTR)iv + GCM_IV_SIZE, ct_len,
				       plain, &len);
	}
	/* still active: only closing the session ends it */
	if (rv == CKR_BUFFER_TOO_SMALL)
		p11_disconnect(pk);
	if (rv == CKR_GENERAL_ERROR || ec_ckr_errno(rv) == -EBADMSG)
		r = does_not_authenticate(pk, key, rv);
	else if (rv != CKR_OK)
		r = key_op_fail(pk, key, rv, "C_DecryptInit/C_Decrypt (AES-GCM)");
	else if (len != dk_len)
		r = does_not_authenticate(pk, key, CKR_OK);
	else
		memcpy(dk, plain, dk_len);
	ec_secure_free(plain);
	return r;
}

static const CK_OBJECT_CLASS carrier_class = CKO_SECRET_KEY;
static const CK_KEY_TYPE carrier_type = CKK_GENERIC_SECRET;

/*
 * The template of the session key that carries DK || binding through
 * KWP: not on the token, extractable, not sensitive.  CARRIER_VALUE is
 * the slot of its CKA_VALUE, for C_CreateObject.
 */
#define CARRIER_ATTRS	7
#define CARRIER_VALUE	6

static void carrier_template(CK_ATTRIBUTE t[CARRIER_ATTRS])
{
	const CK_ATTRIBUTE tmpl[CARRIER_ATTRS] = {
		{ CKA_CLASS, (void *)&carrier_class, sizeof(carrier_class) },
		{ CKA_KEY_TYPE, (void *)&carrier_type, sizeof(carrier_type) },
		{ CKA_TOKEN, (void *)&p11_no, sizeof(p11_no) },
		{ CKA_PRIVATE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_SENSITIVE, (void *)&p11_no, sizeof(p11_no) },
		{ CKA_EXTRACTABLE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_VALUE, NULL, 0 },
	};

	memcpy(t, tmpl, sizeof(tmpl));
}

/* AES-KWP of @dk || binding of @context, in a carrier: mechanism 2. */
static int wrap_kwp(struct pkcs11_kms *pk, const struct p11_key *key,
		    const uint8_t *dk, size_t dk_len, const char *context,
		    struct ec_wrapped *out)
{
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	size_t plain_len = dk_len + KWP_BINDING_SIZE;
	CK_ULONG len = EC_WRAPPED_MAX - WRAP_HEADER;
	CK_ATTRIBUTE tmpl[CARRIER_ATTRS];
	CK_OBJECT_HANDLE carrier;
	uint8_t *plain;
	CK_RV rv;
	int r;

	plain = ec_secure_alloc(plain_len);
	if (!plain)
		return -errno;
	memcpy(plain, dk, dk_len);
	r = context_binding(context, plain + dk_len);
	if (r)
		goto out;
	carrier_template(tmpl);
	tmpl[CARRIER_VALUE].pValue = plain;
	tmpl[CARRIER_VALUE].ulValueLen = plain_len;
	rv = fn(pk)->C_CreateObject(pk->session, tmpl, CARRIER_ATTRS,
				    &carrier);
	if (rv != CKR_OK) {
		r = p11_fail(pk, rv, "C_CreateObject of a session key to wrap");
		goto out;
	}
	rv = fn(pk)->C_WrapKey(pk->session, &mech, key->handle, carrier,
			       out->data + WRAP_HEADER, &len);
	fn(pk)->C_DestroyObject(pk->session, carrier);
	if (rv != CKR_OK)
		r = key_op_fail(pk, key, rv, "C_WrapKey (AES-KWP)");
	else if (len != kwp_size(plain_len))
		r = ec_err_set(-EPROTO,
			       "%s: AES-KWP wrapped %zu bytes into %lu, not %zu",
			       pk->kms.name, plain_len, (unsigned long)len,
			       kwp_size(plain_len));
	else
		out->len = WRAP_HEADER + len;
out:
	ec_secure_free(plain);
	return r;
}

/* Unwrap mechanism 2 into a carrier, read it, check the binding. */
static int unwrap_kwp(struct pkcs11_kms *pk, const struct p11_key *key,
		      const struct ec_wrapped *in, const char *context,
		      uint8_t *dk, size_t dk_len)
{
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	size_t plain_len = dk_len + KWP_BINDING_SIZE;
	CK_ATTRIBUTE tmpl[CARRIER_ATTRS];
	uint8_t binding[KWP_BINDING_SIZE];
	CK_ATTRIBUTE value = { CKA_VALUE, NULL, EC_WRAPPED_MAX };
	CK_OBJECT_HANDLE carrier;
	uint8_t *plain;
	CK_RV rv;
	int r;

	if (in->len != WRAP_HEADER + kwp_size(plain_len))
		return does_not_authenticate(pk, key, CKR_OK);
	r = context_binding(context, binding);
	if (r)
		return r;
	carrier_template(tmpl);
	/* all but CKA_VALUE, which the unwrap makes */
	rv = fn(pk)->C_UnwrapKey(pk->session, &mech, key->handle,
				 (CK_BYTE_PTR)in->data + WRAP_HEADER,
				 in->len - WRAP_HEADER, tmpl, CARRIER_VALUE,
				 &carrier);
	if (rv == CKR_GENERAL_ERROR || ec_ckr_errno(rv) == -EBADMSG)
		return does_not_authenticate(pk, key, rv);
	if (rv != CKR_OK)
		return key_op_fail(pk, key, rv, "C_UnwrapKey (AES-KWP)");
	plain = ec_secure_alloc(EC_WRAPPED_MAX);
	if (!plain) {
		r = -errno;
		fn(pk)->C_DestroyObject(pk->session, carrier);
		return r;
	}
	value.pValue = plain;
	rv = fn(pk)->C_GetAttributeValue(pk->session, carrier, &value, 1);
	fn(pk)->C_DestroyObject(pk->session, carrier);
	if (rv != CKR_OK)
		r = p11_fail(pk, rv, "C_GetAttributeValue of the unwrapped key");
	else if (value.ulValueLen != plain_len ||
		 CRYPTO_memcmp(plain + dk_len, binding, KWP_BINDING_SIZE))
		r = does_not_authenticate(pk, key, CKR_OK);
	else
		memcpy(dk, plain, dk_len);
	ec_secure_free(plain);
	return r;
}

size_t p11_wrapped_size(enum ec_p11_mech mech, size_t dk_len)
{
	if (mech == EC_P11_MECH_AES_KWP)
		return WRAP_HEADER + kwp_size(dk_len + KWP_BINDING_SIZE);
	return WRAP_HEADER + GCM_IV_SIZE + dk_len + GCM_TAG_SIZE;
}

int p11_wrap_dk(struct pkcs11_kms *pk, const struct p11_key *key,
		enum ec_p11_mech mech, const uint8_t *dk, size_t dk_len,
		const char *context, struct ec_wrapped *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->data[0] = WRAP_FORMAT;
	out->data[1] = (uint8_t)mech;
	if (mech == EC_P11_MECH_AES_KWP)
		r = wrap_kwp(pk, key, dk, dk_len, context, out);
	else
		r = wrap_gcm(pk, key, dk, dk_len, context, out);
	if (r)
		memset(out, 0, sizeof(*out));
	return r;
}

int p11_wrapped_check(struct pkcs11_kms *pk, const char *key_id,
		      const struct ec_wrapped *in)
{
	if (in->len < WRAP_HEADER || in->len > EC_WRAPPED_MAX ||
	    in->data[0] != WRAP_FORMAT)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key of CMK %s is not in format %d of the PKCS#11 KMS: the header is damaged, or a newer envcryptctl wrote it",
				  pk->kms.name, key_id, WRAP_FORMAT);
	if (in->data[1] != EC_P11_MECH_AES_GCM &&
	    in->data[1] != EC_P11_MECH_AES_KWP)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key of CMK %s names mechanism %u, neither AES-GCM (1) nor AES-KWP (2): the header is damaged",
				  pk->kms.name, key_id, in->data[1]);
	return 0;
}

int p11_unwrap_dk(struct pkcs11_kms *pk, const struct p11_key *key,
		  const struct ec_wrapped *in, const char *context,
		  uint8_t *dk, size_t dk_len)
{
	int r;

	if (in->data[1] == EC_P11_MECH_AES_KWP)
		r = unwrap_kwp(pk, key, in, context, dk, dk_len);
	else
		r = unwrap_gcm(pk, key, in, context, dk, dk_len);
	if (r)
		ec_wipe(dk, dk_len);
	return r;
}
