/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KMS client interface.
 *
 * A KMS holds customer master keys (CMKs); the CMK never leaves it.  The
 * host generates a data key, asks the KMS to wrap it under a CMK, stores
 * the wrapped key in a wrap slot of the volume header, and at activation
 * asks the KMS to unwrap it.  The encryption context (the AAD: volume UUID,
 * cipher, sector size, data offset, CMK id; see header.h) is bound to every
 * wrapped key, so a wrapped key only unwraps for the header it was made for.
 *
 * Providers are named by URI scheme ("local:", later "kmip://", "pkcs11:",
 * "exec:") and implement struct ec_kms_ops.  Every operation returns 0 or
 * a negative errno; the key errors are typed (error.h):
 *   -EKEYREVOKED  the CMK is Disabled
 *   -EKEYEXPIRED  the CMK is PendingDeletion
 *   -ENOKEY       no such CMK
 *   -EKEYREJECTED the KMS denied this host access to the CMK
 *   -EBADMSG      the wrapped key does not authenticate with this context
 *   -EHOSTUNREACH, -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, -EAGAIN:
 *                 unreachable, retry
 *   -EPERM        an admin operation the KMS refuses (the service key)
 *   -EOPNOTSUPP   the provider does not have this operation
 * and set a message (ec_err_set) naming the key and the KMS.
 */
#ifndef ENVCRYPT_KMS_H
#define ENVCRYPT_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EC_KMS_URI_MAX		256	/* with the NUL */
#define EC_CMK_ID_MAX		128	/* with the NUL */
#define EC_CMK_ALIAS_MAX	112	/* "alias/NAME", with the NUL */
#define EC_WRAPPED_MAX		512
#define EC_CMK_VERSION_LATEST	0

/* Connect and read timeout of networked KMSs; URIs take timeout=SECONDS. */
#define EC_KMS_TIMEOUT_DEFAULT_MS	5000
#define EC_KMS_TIMEOUT_MAX_S		300

/* The service key every keystore has; never disabled or deleted. */
#define EC_SERVICE_KEY_ALIAS	"alias/envcrypt/service"
#define EC_ALIAS_PREFIX		"alias/"

enum ec_key_spec {
	EC_SPEC_AES_256,
	EC_SPEC_SM4,
};

enum ec_key_state {
	EC_KEY_ENABLED,
	EC_KEY_DISABLED,
	EC_KEY_PENDING_DELETION,
};

/* "AES_256" / "SM4"; ec_key_spec_parse returns -EINVAL for others. */
const char *ec_key_spec_name(enum ec_key_spec spec);
int ec_key_spec_parse(const char *name, enum ec_key_spec *spec);
/* "Enabled" / "Disabled" / "PendingDeletion" */
const char *ec_key_state_name(enum ec_key_state state);

struct ec_key_info {
	char id[EC_CMK_ID_MAX];		/* canonical key id */
	char alias[EC_CMK_ALIAS_MAX];	/* "alias/NAME" or "" */
	enum ec_key_spec spec;
	enum ec_key_state state;
	uint32_t versions;		/* newest version; versions are 1.. */
	int64_t created;		/* Unix time */
	int64_t deletion_date;		/* PendingDeletion: when; else 0 */
	bool service;			/* the service key */
};

/* A data key wrapped by a CMK, as a wrap slot stores it. */
struct ec_wrapped {
	uint32_t cmk_version;		/* the CMK version that wrapped it */
	uint32_t len;
	uint8_t data[EC_WRAPPED_MAX];	/* provider's format */
};

struct ec_kms;

struct ec_kms_ops {
	const char *scheme;		/* "local" for "local:..." URIs */

	/* Connect to the KMS named by @uri; *kms is freed by close. */
	int (*open)(const char *uri, struct ec_kms **kms);
	void (*close)(struct ec_kms *kms);

	/* @key: a key id or "alias/NAME". */
	int (*describe_key)(struct ec_kms *kms, const char *key,
			    struct ec_key_info *info);
	/* Wrap @dk under the newest version of CMK @key_id. */
	int (*wrap)(struct ec_kms *kms, const char *key_id,
		    const uint8_t *dk, size_t dk_len, const char *context,
		    struct ec_wrapped *out);
	/* Unwrap into @dk (exactly @dk_len bytes, caller's locked memory). */
	int (*unwrap)(struct ec_kms *kms, const char *key_id,
		      const struct ec_wrapped *in, const char *context,
		      uint8_t *dk, size_t dk_len);

	/*
	 * Optional: NULL where the provider has no such operation; the
	 * ec_kms_*() wrappers then return -EOPNOTSUPP.
	 */
	/* Get the service key, creating it on first use. */
	int (*service_key)(struct ec_kms *kms, struct ec_key_info *info);
	/* @alias: NULL or "NAME" (stored as "alias/NAME"). */
	int (*create_key)(struct ec_kms *kms, enum ec_key_spec spec,
			  const char *alias, struct ec_key_info *info);
	/* *keys: malloc'd array of *n entries, sorted by creation time. */
	int (*list_keys)(struct ec_kms *kms, struct ec_key_info **keys,
			 size_t *n);
	int (*enable_key)(struct ec_kms *kms, const char *key,
			  struct ec_key_info *info);
	int (*disable_key)(struct ec_kms *kms, const char *key,
			   struct ec_key_info *info);
	int (*rotate_key)(struct ec_kms *kms, const char *key,
			  struct ec_key_info *info);
	int (*schedule_deletion)(struct ec_kms *kms, const char *key,
				 unsigned int days, struct ec_key_info *info);
	int (*cancel_deletion)(struct ec_kms *kms, const char *key,
			       struct ec_key_info *info);
};

/* What every provider's connection starts with. */
struct ec_kms {
	const struct ec_kms_ops *ops;
	/* canonical, as wrap slots store it: "local:/var/lib/envcrypt/kms" */
	char uri[EC_KMS_URI_MAX];
	/* for messages: "local KMS /var/lib/envcrypt/kms" */
	char name[EC_KMS_URI_MAX + 32];
};

/* The providers, by scheme. */
extern const struct ec_kms_ops ec_kms_local_ops;
extern const struct ec_kms_ops ec_kms_pkcs11_ops;
extern const struct ec_kms_ops ec_kms_exec_ops;
extern const struct ec_kms_ops ec_kms_kmip_ops;

/* Open the KMS for @uri (NULL or "" is "local:"); -EINVAL for an unknown
 * scheme, with a message listing the known ones. */
int ec_kms_open(const char *uri, struct ec_kms **kms);
void ec_kms_close(struct ec_kms *kms);

int ec_kms_describe_key(struct ec_kms *kms, const char *key,
			struct ec_key_info *info);
int ec_kms_wrap(struct ec_kms *kms, const char *key_id, const uint8_t *dk,
		size_t dk_len, const char *context, struct ec_wrapped *out);
int ec_kms_unwrap(struct ec_kms *kms, const char *key_id,
		  const struct ec_wrapped *in, const char *context,
		  uint8_t *dk, size_t dk_len);
/*
 * A fresh random data key of @dk_len bytes into @dk (locked memory),
 * wrapped under @key_id.
 */
int ec_kms_generate_data_key(struct ec_kms *kms, const char *key_id,
			     uint8_t *dk, size_t dk_len, const char *context,
			     struct ec_wrapped *out);
/*
 * Unwrap @in with (@from, @from_id, @from_context) and wrap the data key
 * again with (@to, @to_id, @to_context); the data key exists only in
 * locked memory in between.
 */
int ec_kms_rewrap(struct ec_kms *from, const char *from_id,
		  const struct ec_wrapped *in, const char *from_context,
		  struct ec_kms *to, const char *to_id,
		  const char *to_context, size_t dk_len,
		  struct ec_wrapped *out);

int ec_kms_service_key(struct ec_kms *kms, struct ec_key_info *info);
int ec_kms_create_key(struct ec_kms *kms, enum ec_key_spec spec,
		      const char *alias, struct ec_key_info *info);
int ec_kms_list_keys(struct ec_kms *kms, struct ec_key_info **keys,
		     size_t *n);
int ec_kms_enable_key(struct ec_kms *kms, const char *key,
		      struct ec_key_info *info);
int ec_kms_disable_key(struct ec_kms *kms, const char *key,
		       struct ec_key_info *info);
int ec_kms_rotate_key(struct ec_kms *kms, const char *key,
		      struct ec_key_info *info);
int ec_kms_schedule_deletion(struct ec_kms *kms, const char *key,
			     unsigned int days, struct ec_key_info *info);
int ec_kms_cancel_deletion(struct ec_kms *kms, const char *key,
			   struct ec_key_info *info);

#endif /* ENVCRYPT_KMS_H */
