// SPDX-License-Identifier: GPL-2.0
/*
 * The PKCS#11 KMS: CMKs are AES-256 secret keys on a PKCS#11 token (an
 * HSM, or SoftHSM2), which wraps and unwraps the data keys itself; the
 * key material never leaves the token.
 *
 * "pkcs11:token=LABEL?module-path=/usr/lib/softhsm/libsofthsm2.so" names
 * the token (pkcs11-uri.h).  The module is loaded with dlopen() at the
 * first operation, not at open: one session per struct ec_kms, logged in
 * as the user with the PIN from pin-source= or $ENVCRYPT_PKCS11_PIN, kept
 * until close (pkcs11-session.h).  A CMK is a CKO_SECRET_KEY of type
 * CKK_AES: its id is the hex of its CKA_ID, its alias "alias/NAME" its
 * CKA_LABEL "NAME".  State, creation time and deletion date:
 * docs/KMS-PKCS11.md.  The wrapped key: pkcs11-wrap.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "ckr.h"
#include "error.h"
#include "hex.h"
#include "key-name.h"
#include "kms.h"
#include "pkcs11-kms.h"
#include "pkcs11-session.h"
#include "pkcs11-uri.h"
#include "pkcs11-wrap.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define CMK_ID_BYTES		16
#define CMK_ID_BYTES_MAX	((EC_CMK_ID_MAX - 1) / 2)
#define CMK_KEY_BYTES		32		/* AES-256 */
#define SERVICE_LABEL		"envcrypt/service"
#define DELETION_DAYS_MIN	7
#define DELETION_DAYS_MAX	30
#define DAY_SECONDS		86400

/* The data object that keeps a CMK's creation time and deletion date. */
#define META_APPLICATION	"envcrypt"
#define META_LABEL_PREFIX	"envcrypt-cmk:"
#define META_FORMAT		"envcrypt-cmk 1 created=%" PRId64 " deletion=%" PRId64
#define META_SCAN		"envcrypt-cmk 1 created=%" SCNd64 " deletion=%" SCNd64
#define META_VALUE_MAX		96

#define CMK_VERSION		1		/* token keys have one version */

static struct pkcs11_kms *to_pkcs11(struct ec_kms *kms)
{
	return (struct pkcs11_kms *)kms;
}

const char *p11_key_label(const struct p11_key *key, char *buf, size_t size)
{
	return ec_key_label(key->id, key->alias, buf, size);
}

static void hex(char *out, const uint8_t *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
	out[2 * len] = '\0';
}

/* A key id: 2 to 126 hex digits, an even number; into @id. */
static bool parse_key_id(const char *s, uint8_t *id, size_t *len)
{
	size_t i, n = strlen(s);

	if (!n || n % 2 || n / 2 > CMK_ID_BYTES_MAX)
		return false;
	for (i = 0; i < n / 2; i++) {
		int hi = ec_hex_value(s[2 * i]), lo = ec_hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

static void meta_label(char *buf, size_t size, const char *id)
{
	snprintf(buf, size, "%s%s", META_LABEL_PREFIX, id);
}

/* The creation time and deletion date of @key, from its data object. */
static int meta_read(struct pkcs11_kms *pk, struct p11_key *key)
{
	static const CK_OBJECT_CLASS data = CKO_DATA;
	char label[sizeof(META_LABEL_PREFIX) + EC_CMK_ID_MAX];
	char value[META_VALUE_MAX + 1];
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&data, sizeof(data) },
		{ CKA_APPLICATION, META_APPLICATION,
		  sizeof(META_APPLICATION) - 1 },
		{ CKA_LABEL, label, 0 },
	};
	CK_ATTRIBUTE get = { CKA_VALUE, value, META_VALUE_MAX };
	CK_OBJECT_HANDLE *found;
	int64_t created, deletion;
	CK_ULONG n;
	int r, end = 0;

	key->meta = CK_INVALID_HANDLE;
	key->created = key->deletion = 0;
	if (!key->id[0])
		return 0;
	meta_label(label, sizeof(label), key->id);
	tmpl[2].ulValueLen = strlen(label);
	r = p11_find_objects(pk, tmpl, ARRAY_SIZE(tmpl), 1, &found, &n);
	if (r)
		return r;
	if (n)
		key->meta = found[0];
	free(found);
	if (!n || fn(pk)->C_GetAttributeValue(pk->session, key->meta, &get,
					      1) != CKR_OK ||
	    get.ulValueLen > META_VALUE_MAX)
		return 0;
	value[get.ulValueLen] = '\0';
	/* a malformed value is as good as none: the key's own state rules */
	if (sscanf(value, META_SCAN "%n", &created, &deletion, &end) == 2 &&
	    (size_t)end == strlen(value) && created >= 0 && deletion >= 0) {
		key->created = created;
		key->deletion = deletion;
	}
	return 0;
}

/*
 * Write the creation time and deletion date of @key: a new data object
 * replaces the old one (tokens may keep CKA_VALUE read-only, SoftHSM2
 * does), so that a failure leaves the old one.
 */
static int meta_write(struct pkcs11_kms *pk, struct p11_key *key,
		      int64_t created, int64_t deletion)
{
	static const CK_OBJECT_CLASS data = CKO_DATA;
	char label[sizeof(META_LABEL_PREFIX) + EC_CMK_ID_MAX];
	char value[META_VALUE_MAX];
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&data, sizeof(data) },
		{ CKA_TOKEN, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_PRIVATE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_APPLICATION, META_APPLICATION,
		  sizeof(META_APPLICATION) - 1 },
		{ CKA_LABEL, label, 0 },
		{ CKA_VALUE, value, 0 },
	};
	CK_OBJECT_HANDLE meta;
	CK_RV rv;

	meta_label(label, sizeof(label), key->id);
	tmpl[4].ulValueLen = strlen(label);
	snprintf(value, sizeof(value), META_FORMAT, created, deletion);
	tmpl[5].ulValueLen = strlen(value);
	rv = fn(pk)->C_CreateObject(pk->session, tmpl, ARRAY_SIZE(tmpl),
				    &meta);
	if (rv != CKR_OK)
		return p11_fail(pk, rv,
				"C_CreateObject of the CMK's data object");
	if (key->meta != CK_INVALID_HANDLE)
		fn(pk)->C_DestroyObject(pk->session, key->meta);
	key->meta = meta;
	key->created = created;
	key->deletion = deletion;
	return 0;
}

/* Read the attributes of secret key @handle into @key. */
static int key_read(struct pkcs11_kms *pk, CK_OBJECT_HANDLE handle,
		    struct p11_key *key)
{
	uint8_t id[CMK_ID_BYTES_MAX];
	char label[EC_ALIAS_NAME_MAX + 1];
	CK_ULONG value_len = 0;
	CK_BBOOL decrypt = CK_FALSE;
	CK_ATTRIBUTE get[] = {
		{ CKA_ID, id, sizeof(id) },
		{ CKA_LABEL, label, sizeof(label) - 1 },
		{ CKA_VALUE_LEN, &value_len, sizeof(value_len) },
		{ CKA_DECRYPT, &decrypt, sizeof(decrypt) },
	};
	CK_RV rv;

	memset(key, 0, sizeof(*key));
	key->handle = handle;
	rv = fn(pk)->C_GetAttributeValue(pk->session, handle, get,
					 ARRAY_SIZE(get));
	/*
	 * An id or label too long for us is as good as none.  Some modules
	 * answer CKR_BUFFER_TOO_SMALL with the length they need rather than
	 * CK_UNAVAILABLE_INFORMATION: only a length that fits is a value.
	 */
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL &&
	    rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE)
		return p11_fail(pk, rv, "C_GetAttributeValue of a key");
	if (get[0].ulValueLen <= sizeof(id))
		hex(key->id, id, get[0].ulValueLen);
	if (get[1].ulValueLen < sizeof(label) &&
	    ec_alias_name_valid(label, get[1].ulValueLen)) {
		label[get[1].ulValueLen] = '\0';
		snprintf(key->alias, sizeof(key->alias), "%s%s",
			 EC_ALIAS_PREFIX, label);
	}
	if (get[2].ulValueLen == sizeof(value_len))
		key->value_len = value_len;
	key->enabled = get[3].ulValueLen == sizeof(decrypt) && decrypt;
	return meta_read(pk, key);
}

static enum ec_key_state key_state(const struct p11_key *key)
{
	if (key->deletion)
		return EC_KEY_PENDING_DELETION;
	return key->enabled ? EC_KEY_ENABLED : EC_KEY_DISABLED;
}

static bool key_is_service(const struct p11_key *key)
{
	return !strcmp(key->alias, EC_SERVICE_KEY_ALIAS);
}

static void key_info(const struct p11_key *key, struct ec_key_info *info)
{
	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	snprintf(info->id, sizeof(info->id), "%s", key->id);
	snprintf(info->alias, sizeof(info->alias), "%s", key->alias);
	info->spec = EC_SPEC_AES_256;
	info->state = key_state(key);
	info->versions = CMK_VERSION;
	info->created = key->created;
	info->deletion_date = key->deletion;
	info->service = key_is_service(key);
}

/* Destroy @key and its data object. */
static int key_destroy(struct pkcs11_kms *pk, struct p11_key *key)
{
	CK_RV rv;

	rv = fn(pk)->C_DestroyObject(pk->session, key->handle);
	if (rv != CKR_OK)
		return p11_fail(pk, rv, "C_DestroyObject of a CMK");
	if (key->meta != CK_INVALID_HANDLE)
		fn(pk)->C_DestroyObject(pk->session, key->meta);
	key->meta = CK_INVALID_HANDLE;
	return 0;
}

/*
 * A key whose deletion date has passed is gone: destroy it now.  1 when
 * it was, 0 when it is not due, or a negative errno.
 */
static int key_purge(struct pkcs11_kms *pk, struct p11_key *key)
{
	int r;

	if (!key->deletion || key->deletion > (int64_t)time(NULL))
		return 0;
	r = key_destroy(pk, key);
	return r ? r : 1;
}

/*
 * The CMK @name ("alias/NAME" or a hex id) into @key.  -ENOKEY when
 * there is none (or its deletion date has passed: it is destroyed now),
 * -ENOTUNIQ when the alias names more than one key.
 */
static int key_find(struct pkcs11_kms *pk, const char *name,
		    struct p11_key *key)
{
	static const CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	static const CK_KEY_TYPE aes = CKK_AES;
	uint8_t id[CMK_ID_BYTES_MAX];
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_KEY_TYPE, (void *)&aes, sizeof(aes) },
		{ CKA_ID, id, 0 },
	};
	char date[40];
	CK_OBJECT_HANDLE *found;
	size_t len, prefix = strlen(EC_ALIAS_PREFIX);
	CK_ULONG n;
	int r;

	if (!name || !*name)
		return ec_err_set(-EINVAL, "no CMK given for %s",
				  pk->kms.name);
	if (!strncmp(name, EC_ALIAS_PREFIX, prefix)) {
		if (!ec_alias_name_valid(name + prefix, strlen(name + prefix)))
			return ec_err_set(-EINVAL,
					  "'%.120s' is not an alias: use alias/NAME, NAME 1 to %d of A-Z a-z 0-9 / _ -",
					  name, EC_ALIAS_NAME_MAX);
		tmpl[2].type = CKA_LABEL;
		tmpl[2].pValue = (void *)(name + prefix);
		tmpl[2].ulValueLen = strlen(name + prefix);
	} else if (parse_key_id(name, id, &len)) {
		tmpl[2].ulValueLen = len;
	} else {
		return ec_err_set(-EINVAL,
				  "'%.120s' is not a CMK of %s: give the key id (the hex of its CKA_ID, see envcryptctl kms list-keys) or alias/NAME (its CKA_LABEL)",
				  name, pk->kms.name);
	}
	r = p11_find_objects(pk, tmpl, ARRAY_SIZE(tmpl), 2, &found, &n);
	if (r)
		return r;
	if (n == 1)
		r = key_read(pk, found[0], key);
	free(found);
	if (r)
		return r;
	if (!n)
		return ec_err_set(-ENOKEY, "CMK %s not found on %s", name,
				  pk->kms.name);
	if (n > 1)
		return ec_err_set(-ENOTUNIQ,
				  "%s names more than one AES key on %s: give the key id instead (envcryptctl kms list-keys)",
				  name, pk->kms.name);
	ec_key_date(key->deletion, date, sizeof(date));
	r = key_purge(pk, key);
	if (r > 0)
		return ec_err_set(-ENOKEY,
				  "CMK %s was deleted from %s: its deletion date %s has passed",
				  name, pk->kms.name, date);
	if (r)
		return r;
	if (!key->id[0] || key->value_len != CMK_KEY_BYTES)
		return ec_err_set(-EOPNOTSUPP,
				  "the key %s on %s is not a CMK envcrypt can use: it needs a CKA_ID and 256 bits (CKA_VALUE_LEN 32)",
				  name, pk->kms.name);
	return 0;
}

/* Wrap and unwrap need an Enabled key. */
static int key_usable(struct pkcs11_kms *pk, const struct p11_key *key)
{
	return ec_key_usable(key->id, key->alias, key_state(key), key->deletion,
			     "on", pk->kms.name);
}

/* ---- open and close --------------------------------------------------- */

static int pkcs11_open(const char *uri, struct ec_kms **out)
{
	struct pkcs11_kms *pk;
	int r;

	pk = calloc(1, sizeof(*pk));
	if (!pk)
		return ec_err_set(-ENOMEM, "out of memory");
	r = ec_p11_uri_parse(uri, &pk->uri);
	if (!r)
		r = ec_p11_uri_format(&pk->uri, pk->kms.uri,
				      sizeof(pk->kms.uri));
	if (r) {
		free(pk);
		return r;
	}
	pk->kms.ops = &ec_kms_pkcs11_ops;
	if (pk->uri.has & EC_P11_HAS_TOKEN)
		snprintf(pk->kms.name, sizeof(pk->kms.name),
			 "PKCS#11 token '%s'", pk->uri.token);
	else if (pk->uri.has & EC_P11_HAS_SERIAL)
		snprintf(pk->kms.name, sizeof(pk->kms.name),
			 "PKCS#11 token serial %s", pk->uri.serial);
	else
		snprintf(pk->kms.name, sizeof(pk->kms.name),
			 "PKCS#11 token in slot %lu", pk->uri.slot_id);
	*out = &pk->kms;
	return 0;
}

static void pkcs11_close(struct ec_kms *kms)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);

	p11_disconnect(pk);
	free(pk);
}

/* ---- key use: wrap and unwrap ------------------------------------------ */

static int pkcs11_wrap(struct ec_kms *kms, const char *key_id,
		       const uint8_t *dk, size_t dk_len, const char *context,
		       struct ec_wrapped *out)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	enum ec_p11_mech mech = pk->uri.mech;
	struct p11_key key;
	int r;

	if (!dk || !dk_len || !context || !out ||
	    p11_wrapped_size(mech, dk_len) > EC_WRAPPED_MAX)
		return ec_err_set(-EINVAL,
				  "%s: a data key of %zu bytes with a context cannot be wrapped",
				  kms->name, dk_len);
	r = p11_connect(pk);
	if (!r)
		r = key_find(pk, key_id, &key);
	if (!r)
		r = key_usable(pk, &key);
	if (r)
		return r;
	r = p11_wrap_dk(pk, &key, mech, dk, dk_len, context, out);
	if (r)
		return r;
	out->cmk_version = CMK_VERSION;
	return 0;
}

static int pkcs11_unwrap(struct ec_kms *kms, const char *key_id,
			 const struct ec_wrapped *in, const char *context,
			 uint8_t *dk, size_t dk_len)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	char label[LABEL_SIZE];
	struct p11_key key;
	int r;

	if (!in || !dk || !dk_len || !context)
		return ec_err_set(-EINVAL, "%s: nothing to unwrap", kms->name);
	r = p11_wrapped_check(pk, key_id, in);
	if (!r)
		r = p11_connect(pk);
	if (!r)
		r = key_find(pk, key_id, &key);
	if (!r)
		r = key_usable(pk, &key);
	if (r)
		return r;
	p11_key_label(&key, label, sizeof(label));
	if (in->cmk_version == 0)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key names no version of %s: the header is damaged",
				  kms->name, label);
	if (in->cmk_version != CMK_VERSION)
		return ec_err_set(-ENOKEY,
				  "%s has no version %u on %s: keys on a PKCS#11 token have version 1 only",
				  label, in->cmk_version, kms->name);
	return p11_unwrap_dk(pk, &key, in, context, dk, dk_len);
}

/* ---- administration ----------------------------------------------------- */

static int pkcs11_describe_key(struct ec_kms *kms, const char *key_name,
			       struct ec_key_info *info)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	struct p11_key key;
	int r;

	r = p11_connect(pk);
	if (!r)
		r = key_find(pk, key_name, &key);
	if (!r)
		key_info(&key, info);
	return r;
}

/* A new AES-256 key with a fresh random CKA_ID, label @label or none. */
static int key_generate(struct pkcs11_kms *pk, const char *label,
			struct p11_key *key)
{
	static const CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	static const CK_KEY_TYPE aes = CKK_AES;
	static const CK_ULONG value_len = CMK_KEY_BYTES;
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	uint8_t id[CMK_ID_BYTES];
	CK_ATTRIBUTE find[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_ID, id, sizeof(id) },
	};
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_KEY_TYPE, (void *)&aes, sizeof(aes) },
		{ CKA_VALUE_LEN, (void *)&value_len, sizeof(value_len) },
		{ CKA_TOKEN, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_PRIVATE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_SENSITIVE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_EXTRACTABLE, (void *)&p11_no, sizeof(p11_no) },
		{ CKA_ENCRYPT, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_DECRYPT, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_WRAP, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_UNWRAP, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_ID, id, sizeof(id) },
		{ CKA_LABEL, (void *)label, label ? strlen(label) : 0 },
	};
	CK_OBJECT_HANDLE *found, handle;
	CK_ULONG n;
	CK_RV rv;
	int r;

	do {
		if (RAND_bytes(id, sizeof(id)) != 1)
			return ec_err_set(-EIO,
					  "OpenSSL's random generator failed to make a CMK id");
		r = p11_find_objects(pk, find, ARRAY_SIZE(find), 1, &found, &n);
		if (r)
			return r;
		free(found);
	} while (n);
	rv = fn(pk)->C_GenerateKey(pk->session, &mech, tmpl,
				   ARRAY_SIZE(tmpl) - !label, &handle);
	if (rv != CKR_OK)
		return p11_fail(pk, rv, "C_GenerateKey (AES, 256 bits)");
	memset(key, 0, sizeof(*key));
	key->handle = handle;
	key->meta = CK_INVALID_HANDLE;
	hex(key->id, id, sizeof(id));
	if (label)
		snprintf(key->alias, sizeof(key->alias), "%s%s",
			 EC_ALIAS_PREFIX, label);
	key->value_len = CMK_KEY_BYTES;
	key->enabled = true;
	r = meta_write(pk, key, (int64_t)time(NULL), 0);
	if (r) {
		char msg[EC_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", ec_err_msg());
		if (pk->session_open)
			fn(pk)->C_DestroyObject(pk->session, handle);
		ec_err_set(r, "%s", msg);
	}
	return r;
}

static int pkcs11_create_key(struct ec_kms *kms, enum ec_key_spec spec,
			     const char *alias, struct ec_key_info *info)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	char full[EC_CMK_ALIAS_MAX] = "";
	struct p11_key key;
	int r;

	if (spec == EC_SPEC_SM4)
		return ec_err_set(-EOPNOTSUPP,
				  "%s: the token has no SM4: PKCS#11 names no SM4 mechanism; create an AES_256 key, or keep SM4 CMKs in the local KMS",
				  kms->name);
	if (spec != EC_SPEC_AES_256)
		return ec_err_set(-EINVAL, "%s: unknown key spec %d",
				  kms->name, (int)spec);
	if (alias) {
		r = ec_alias_full(alias, full, sizeof(full));
		if (r)
			return r;
	}
	r = p11_connect(pk);
	if (r)
		return r;
	if (alias) {
		r = key_find(pk, full, &key);
		if (!r || r == -ENOTUNIQ || r == -EOPNOTSUPP)
			return ec_err_set(-EEXIST,
					  "%s is already taken on %s (CKA_LABEL '%s'); choose another alias",
					  full, kms->name, alias);
		if (r != -ENOKEY)
			return r;
	}
	r = key_generate(pk, alias, &key);
	if (!r)
		key_info(&key, info);
	return r;
}

/* The service key: the one labelled envcrypt/service with the lowest id. */
static int find_service_key(struct pkcs11_kms *pk, struct p11_key *best)
{
	static const CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	static const CK_KEY_TYPE aes = CKK_AES;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_KEY_TYPE, (void *)&aes, sizeof(aes) },
		{ CKA_LABEL, SERVICE_LABEL, sizeof(SERVICE_LABEL) - 1 },
	};
	CK_OBJECT_HANDLE *found;
	struct p11_key key;
	CK_ULONG n, i;
	int r, count = 0;

	r = p11_find_objects(pk, tmpl, ARRAY_SIZE(tmpl), 0, &found, &n);
	for (i = 0; !r && i < n; i++) {
		r = key_read(pk, found[i], &key);
		if (r || !key.id[0] || key.value_len != CMK_KEY_BYTES)
			continue;
		if (!count++ || strcmp(key.id, best->id) < 0)
			*best = key;
	}
	free(found);
	return r ? r : count;
}

static int pkcs11_service_key(struct ec_kms *kms, struct ec_key_info *info)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	struct p11_key key, best;
	int r;

	r = p11_connect(pk);
	if (!r)
		r = find_service_key(pk, &best);
	if (r > 0) {
		key_info(&best, info);
		return 0;
	}
	if (r)
		return r;
	r = key_generate(pk, SERVICE_LABEL, &key);
	if (r)
		return r;
	/*
	 * Another process may have made one at the same time: all agree
	 * on the lowest id, and the others destroy their own.
	 */
	r = find_service_key(pk, &best);
	if (r < 0)
		return r;
	if (r > 1 && strcmp(best.id, key.id))
		key_destroy(pk, &key);
	key_info(r > 0 ? &best : &key, info);
	return 0;
}

static int pkcs11_list_keys(struct ec_kms *kms, struct ec_key_info **keys,
			    size_t *n)
{
	static const CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	static const CK_KEY_TYPE aes = CKK_AES;
	struct pkcs11_kms *pk = to_pkcs11(kms);
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_KEY_TYPE, (void *)&aes, sizeof(aes) },
	};
	struct ec_key_info *list = NULL;
	CK_OBJECT_HANDLE *found = NULL;
	struct p11_key key;
	CK_ULONG count = 0, i;
	int r;

	*keys = NULL;
	*n = 0;
	r = p11_connect(pk);
	if (!r)
		r = p11_find_objects(pk, tmpl, ARRAY_SIZE(tmpl), 0, &found,
				     &count);
	if (!r && count) {
		list = calloc(count, sizeof(*list));
		if (!list)
			r = ec_err_set(-ENOMEM, "out of memory");
	}
	for (i = 0; !r && i < count; i++) {
		r = key_read(pk, found[i], &key);
		/* keys envcrypt cannot use are not CMKs */
		if (r || !key.id[0] || key.value_len != CMK_KEY_BYTES)
			continue;
		r = key_purge(pk, &key);
		if (!r)
			key_info(&key, &list[(*n)++]);
		else if (r > 0)
			r = 0;
	}
	free(found);
	if (r) {
		free(list);
		*n = 0;
		return r;
	}
	ec_key_info_sort(list, *n);
	*keys = list;
	return 0;
}

/* Set CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP and CKA_UNWRAP of @key. */
static int key_set_usage(struct pkcs11_kms *pk, struct p11_key *key,
			 bool on)
{
	const CK_BBOOL *v = on ? &p11_yes : &p11_no;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_ENCRYPT, (void *)v, sizeof(*v) },
		{ CKA_DECRYPT, (void *)v, sizeof(*v) },
		{ CKA_WRAP, (void *)v, sizeof(*v) },
		{ CKA_UNWRAP, (void *)v, sizeof(*v) },
	};
	char label[LABEL_SIZE], name[48];
	CK_RV rv;

	rv = fn(pk)->C_SetAttributeValue(pk->session, key->handle, tmpl,
					 ARRAY_SIZE(tmpl));
	if (ec_ckr_errno(rv) == -EPERM)
		return ec_err_set(-EPERM,
				  "%s does not let the usage attributes (CKA_DECRYPT, ...) of %s change (%s): this token cannot %s keys",
				  pk->kms.name,
				  p11_key_label(key, label, sizeof(label)),
				  ec_ckr_format(rv, name, sizeof(name)),
				  on ? "enable" : "disable");
	if (rv != CKR_OK)
		return p11_fail(pk, rv, "C_SetAttributeValue of a CMK");
	key->enabled = on;
	return 0;
}

/*
 * A change of one CMK.  @change returns 1 when it changed the key, 0
 * when there was nothing to do, or a negative errno.
 */
typedef int change_fn(struct pkcs11_kms *pk, struct p11_key *key,
		      unsigned int days);

static int pkcs11_change(struct ec_kms *kms, const char *key_name,
			 change_fn *change, unsigned int days,
			 struct ec_key_info *info)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	struct p11_key key;
	int r;

	r = p11_connect(pk);
	if (!r)
		r = key_find(pk, key_name, &key);
	if (!r)
		r = change(pk, &key, days);
	if (r < 0)
		return r;
	key_info(&key, info);
	return 0;
}

static int refuse_service_key(struct pkcs11_kms *pk,
			      const struct p11_key *key, const char *what)
{
	return ec_key_refuse_service(key->id, key->alias, pk->kms.name, what);
}

static int pending_deletion(struct pkcs11_kms *pk, const struct p11_key *key,
			    const char *what)
{
	return ec_key_pending_deletion(key->id, key->alias, key->deletion, "on",
				       pk->kms.name, what);
}

static int change_enable(struct pkcs11_kms *pk, struct p11_key *key,
			 unsigned int days)
{
	(void)days;
	if (key->deletion)
		return pending_deletion(pk, key, "enable");
	if (key->enabled)
		return 0;
	return key_set_usage(pk, key, true) ?: 1;
}

static int change_disable(struct pkcs11_kms *pk, struct p11_key *key,
			  unsigned int days)
{
	(void)days;
	if (key_is_service(key))
		return refuse_service_key(pk, key, "disable");
	if (key->deletion)
		return pending_deletion(pk, key, "disable");
	if (!key->enabled)
		return 0;
	return key_set_usage(pk, key, false) ?: 1;
}

/*
 * PKCS#11 has no deletion date: the key is disabled on the token and the
 * date is kept in its data object; the first operation that finds the
 * key after that date destroys it (C_DestroyObject).
 */
static int change_schedule_deletion(struct pkcs11_kms *pk,
				    struct p11_key *key, unsigned int days)
{
	char label[LABEL_SIZE];
	int r;

	if (key_is_service(key))
		return refuse_service_key(pk, key, "delete");
	if (days < DELETION_DAYS_MIN || days > DELETION_DAYS_MAX)
		return ec_err_set(-EINVAL,
				  "%s: the waiting period before deletion must be %d to %d days, not %u",
				  p11_key_label(key, label, sizeof(label)),
				  DELETION_DAYS_MIN, DELETION_DAYS_MAX, days);
	if (key->deletion)
		return pending_deletion(pk, key, "schedule");
	if (key->enabled) {
		r = key_set_usage(pk, key, false);
		if (r)
			return r;
	}
	r = meta_write(pk, key, key->created,
		       (int64_t)time(NULL) + (int64_t)days * DAY_SECONDS);
	return r ? r : 1;
}

/* As AWS KMS does, a key whose deletion is cancelled is Disabled. */
static int change_cancel_deletion(struct pkcs11_kms *pk,
				  struct p11_key *key, unsigned int days)
{
	char label[LABEL_SIZE];
	int r;

	(void)days;
	if (!key->deletion)
		return ec_err_set(-EINVAL,
				  "%s is %s on %s, not PendingDeletion: there is no deletion to cancel",
				  p11_key_label(key, label, sizeof(label)),
				  ec_key_state_name(key_state(key)),
				  pk->kms.name);
	r = meta_write(pk, key, key->created, 0);
	return r ? r : 1;
}

static int pkcs11_enable_key(struct ec_kms *kms, const char *key,
			     struct ec_key_info *info)
{
	return pkcs11_change(kms, key, change_enable, 0, info);
}

static int pkcs11_disable_key(struct ec_kms *kms, const char *key,
			      struct ec_key_info *info)
{
	return pkcs11_change(kms, key, change_disable, 0, info);
}

static int pkcs11_rotate_key(struct ec_kms *kms, const char *key,
			     struct ec_key_info *info)
{
	(void)info;
	return ec_err_set(-EOPNOTSUPP,
			  "%s: CMK %s cannot be rotated: a key on a PKCS#11 token has one version; create a new CMK (envcryptctl kms create-key) for new volumes",
			  kms->name, key);
}

static int pkcs11_schedule_deletion(struct ec_kms *kms, const char *key,
				    unsigned int days,
				    struct ec_key_info *info)
{
	return pkcs11_change(kms, key, change_schedule_deletion, days, info);
}

static int pkcs11_cancel_deletion(struct ec_kms *kms, const char *key,
				  struct ec_key_info *info)
{
	return pkcs11_change(kms, key, change_cancel_deletion, 0, info);
}

const struct ec_kms_ops ec_kms_pkcs11_ops = {
	.scheme			= EC_P11_SCHEME,
	.open			= pkcs11_open,
	.close			= pkcs11_close,
	.describe_key		= pkcs11_describe_key,
	.wrap			= pkcs11_wrap,
	.unwrap			= pkcs11_unwrap,
	.service_key		= pkcs11_service_key,
	.create_key		= pkcs11_create_key,
	.list_keys		= pkcs11_list_keys,
	.enable_key		= pkcs11_enable_key,
	.disable_key		= pkcs11_disable_key,
	.rotate_key		= pkcs11_rotate_key,
	.schedule_deletion	= pkcs11_schedule_deletion,
	.cancel_deletion	= pkcs11_cancel_deletion,
};
