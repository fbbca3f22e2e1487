// SPDX-License-Identifier: GPL-2.0
/*
 * The KMS client, provider-independent part: key spec and state names,
 * the table of providers by URI scheme, and the ec_kms_*() calls that
 * check for optional operations and build generate-data-key and rewrap on
 * top of wrap and unwrap.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "audit.h"
#include "error.h"
#include "kms.h"
#include "policy.h"
#include "secmem.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The providers; a new one is one line here (and its ops in lib/kms/). */
static const struct ec_kms_ops *const kms_providers[] = {
	&ec_kms_local_ops,
	&ec_kms_kmip_ops,
	&ec_kms_pkcs11_ops,
	&ec_kms_exec_ops,
};

#define DEFAULT_KMS_URI	"local:"

const char *ec_key_spec_name(enum ec_key_spec spec)
{
	switch (spec) {
	case EC_SPEC_AES_256:
		return "AES_256";
	case EC_SPEC_SM4:
		return "SM4";
	}
	return "unknown";
}

int ec_key_spec_parse(const char *name, enum ec_key_spec *spec)
{
	if (name && !strcmp(name, "AES_256")) {
		*spec = EC_SPEC_AES_256;
		return 0;
	}
	if (name && !strcmp(name, "SM4")) {
		*spec = EC_SPEC_SM4;
		return 0;
	}
	return ec_err_set(-EINVAL, "unknown key spec '%s'; use AES_256 or SM4",
			  name ? name : "");
}

const char *ec_key_state_name(enum ec_key_state state)
{
	switch (state) {
	case EC_KEY_ENABLED:
		return "Enabled";
	case EC_KEY_DISABLED:
		return "Disabled";
	case EC_KEY_PENDING_DELETION:
		return "PendingDeletion";
	}
	return "unknown";
}

/* "local, kmip" for messages. */
static void known_schemes(char *buf, size_t size)
{
	size_t i, used = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(kms_providers); i++) {
		n = snprintf(buf + used, size - used, "%s%s:", i ? ", " : "",
			     kms_providers[i]->scheme);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += n;
	}
}

int ec_kms_open(const char *uri, struct ec_kms **kms)
{
	const struct ec_kms_ops *ops = NULL;
	char schemes[128];
	const char *colon;
	size_t i, len;
	int r;

	*kms = NULL;
	if (!uri || !*uri)
		uri = DEFAULT_KMS_URI;
	if (strlen(uri) >= EC_KMS_URI_MAX)
		return ec_err_set(-EINVAL,
				  "KMS URI '%.32s...' is too long (at most %d characters)",
				  uri, EC_KMS_URI_MAX - 1);

	colon = strchr(uri, ':');
	len = colon ? (size_t)(colon - uri) : 0;
	for (i = 0; colon && i < ARRAY_SIZE(kms_providers); i++) {
		if (strlen(kms_providers[i]->scheme) == len &&
		    !strncmp(kms_providers[i]->scheme, uri, len)) {
			ops = kms_providers[i];
			break;
		}
	}
	if (!ops) {
		known_schemes(schemes, sizeof(schemes));
		if (!colon)
			return ec_err_set(-EINVAL,
					  "KMS URI '%s' has no scheme; known schemes: %s",
					  uri, schemes);
		return ec_err_set(-EINVAL,
				  "KMS URI '%s' has an unknown scheme '%.*s'; known schemes: %s",
				  uri, (int)len, uri, schemes);
	}

	r = ops->open(uri, kms);
	if (r)
		return r;
	(*kms)->ops = ops;
	if (!(*kms)->uri[0])
		snprintf((*kms)->uri, sizeof((*kms)->uri), "%s", uri);
	if (!(*kms)->name[0])
		snprintf((*kms)->name, sizeof((*kms)->name), "KMS %s", uri);
	/* the host policy names KMSs by canonical URI */
	r = ec_policy_check_kms((*kms)->uri);
	if (r) {
		ec_kms_close(*kms);
		*kms = NULL;
	}
	return r;
}

void ec_kms_close(struct ec_kms *kms)
{
	if (kms)
		kms->ops->close(kms);
}

static int no_operation(struct ec_kms *kms, const char *op)
{
	return ec_err_set(-EOPNOTSUPP, "%s has no %s operation", kms->name,
			  op);
}

/* Call the provider's @op, or fail with -EOPNOTSUPP when it has none. */
#define KMS_CALL(kms, op, ...)						\
	((kms)->ops->op ? (kms)->ops->op((kms), __VA_ARGS__) :		\
			  no_operation((kms), #op))

/*
 * Transient failures (the KMS refused the connection, could not be
 * reached, closed the connection before it answered, or said it is
 * briefly unavailable) are retried: KMS_ATTEMPTS
 * tries in all, waiting KMS_BACKOFF_MS before the second and four times
 * as long before each later one.  A timeout is not retried: it has waited
 * the whole timeout already.  Only operations that change nothing, or
 * that may safely run twice (wrap, unwrap), are retried.
 */
#define KMS_ATTEMPTS	3
#define KMS_BACKOFF_MS	100

static bool kms_transient(int r)
{
	return r == -ECONNREFUSED || r == -EHOSTUNREACH || r == -EAGAIN ||
	       r == -ECONNRESET;
}

/* Wait before try @attempt (1-based) after a transient failure. */
static void kms_backoff(int attempt)
{
	long ms = KMS_BACKOFF_MS;
	struct timespec ts;
	int i;

	for (i = 2; i < attempt; i++)
		ms *= 4;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000L;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* After the last try failed: say how often it was tried. */
static int kms_gave_up(int r)
{
	char msg[EC_ERR_MAX];

	snprintf(msg, sizeof(msg), "%s", ec_err_msg());
	return ec_err_set(r, "%s (tried %d times)", msg, KMS_ATTEMPTS);
}

/* KMS_CALL, retried on transient failures. */
#define KMS_RETRY(kms, op, ...)						\
	({								\
		int __r, __try = 1;					\
									\
		while (kms_transient(__r = KMS_CALL(kms, op, __VA_ARGS__)) && \
		       __try < KMS_ATTEMPTS)				\
			kms_backoff(++__try);				\
		kms_transient(__r) ? kms_gave_up(__r) : __r;		\
	})

/* The volume UUID of an encryption context ("... volume=UUID ..."). */
static const char *context_volume(const char *context, char *uuid,
				  size_t size)
{
	const char *v = context ? strstr(context, " volume=") : NULL;
	size_t n;

	if (!v)
		return NULL;
	v += strlen(" volume=");
	n = strcspn(v, " ");
	snprintf(uuid, size, "%.*s", (int)n, v);
	return uuid;
}

/* Every wrap, unwrap and key change goes to the audit log; returns @r. */
static int kms_audit(struct ec_kms *kms, const char *op, const char *key,
		     const char *context, const char *detail, int r)
{
	char uuid[64];
	const struct ec_audit a = {
		.op = op,
		.volume = context_volume(context, uuid, sizeof(uuid)),
		.cmk = key,
		.kms = kms->uri,
		.detail = detail,
	};

	ec_audit_log(&a, r);
	return r;
}

int ec_kms_describe_key(struct ec_kms *kms, const char *key,
			struct ec_key_info *info)
{
	return KMS_RETRY(kms, describe_key, key, info);
}

int ec_kms_wrap(struct ec_kms *kms, const char *key_id, const uint8_t *dk,
		size_t dk_len, const char *context, struct ec_wrapped *out)
{
	return kms_audit(kms, "wrap", key_id, context, NULL,
			 KMS_RETRY(kms, wrap, key_id, dk, dk_len, context,
				   out));
}

int ec_kms_unwrap(struct ec_kms *kms, const char *key_id,
		  const struct ec_wrapped *in, const char *context,
		  uint8_t *dk, size_t dk_len)
{
	return kms_audit(kms, "unwrap", key_id, context, NULL,
			 KMS_RETRY(kms, unwrap, key_id, in, context, dk,
				   dk_len));
}

int ec_kms_generate_data_key(struct ec_kms *kms, const char *key_id,
			     uint8_t *dk, size_t dk_len, const char *context,
			     struct ec_wrapped *out)
{
	int r;

	if (!dk || !dk_len || dk_len > EC_WRAPPED_MAX)
		return ec_err_set(-EINVAL,
				  "a data key of %zu bytes cannot be generated",
				  dk_len);
	if (RAND_priv_bytes(dk, (int)dk_len) != 1) {
		ec_wipe(dk, dk_len);
		return ec_err_set(-EIO,
				  "OpenSSL's random generator failed to make a data key; check that the system has entropy (getrandom)");
	}
	r = ec_kms_wrap(kms, key_id, dk, dk_len, context, out);
	if (r)
		ec_wipe(dk, dk_len);
	return r;
}

int ec_kms_rewrap(struct ec_kms *from, const char *from_id,
		  const struct ec_wrapped *in, const char *from_context,
		  struct ec_kms *to, const char *to_id,
		  const char *to_context, size_t dk_len,
		  struct ec_wrapped *out)
{
	uint8_t *dk;
	int r;

	if (!dk_len || dk_len > EC_WRAPPED_MAX)
		return ec_err_set(-EINVAL,
				  "a data key of %zu bytes cannot be rewrapped",
				  dk_len);
	dk = ec_secure_alloc(dk_len);
	if (!dk)
		return -errno;
	r = ec_kms_unwrap(from, from_id, in, from_context, dk, dk_len);
	if (!r)
		r = ec_kms_wrap(to, to_id, dk, dk_len, to_context, out);
	ec_secure_free(dk);
	return r;
}

int ec_kms_service_key(struct ec_kms *kms, struct ec_key_info *info)
{
	return KMS_RETRY(kms, service_key, info);
}

int ec_kms_create_key(struct ec_kms *kms, enum ec_key_spec spec,
		      const char *alias, struct ec_key_info *info)
{
	struct ec_key_info own;
	int r = ec_policy_check_key_change("create-key", alias);

	/* @info may be NULL; the audit line still names the new CMK */
	if (!info)
		info = &own;
	if (!r)
		r = KMS_CALL(kms, create_key, spec, alias, info);
	return kms_audit(kms, "create-key", r ? alias : info->id, NULL,
			 ec_key_spec_name(spec), r);
}

int ec_kms_list_keys(struct ec_kms *kms, struct ec_key_info **keys,
		     size_t *n)
{
	return KMS_RETRY(kms, list_keys, keys, n);
}

int ec_kms_enable_key(struct ec_kms *kms, const char *key,
		      struct ec_key_info *info)
{
	int r = ec_policy_check_key_change("enable-key", key);

	if (!r)
		r = KMS_CALL(kms, enable_key, key, info);
	return kms_audit(kms, "enable-key", key, NULL, NULL, r);
}

int ec_kms_disable_key(struct ec_kms *kms, const char *key,
		       struct ec_key_info *info)
{
	int r = ec_policy_check_key_change("disable-key", key);

	if (!r)
		r = KMS_CALL(kms, disable_key, key, info);
	return kms_audit(kms, "disable-key", key, NULL, NULL, r);
}

int ec_kms_rotate_key(struct ec_kms *kms, const char *key,
		      struct ec_key_info *info)
{
	int r = ec_policy_check_key_change("rotate-key", key);

	if (!r)
		r = KMS_CALL(kms, rotate_key, key, info);
	return kms_audit(kms, "rotate-key", key, NULL, NULL, r);
}

int ec_kms_schedule_deletion(struct ec_kms *kms, const char *key,
			     unsigned int days, struct ec_key_info *info)
{
	int r = ec_policy_check_key_change("schedule-deletion", key);
	char detail[32];

	if (!r)
		r = KMS_CALL(kms, schedule_deletion, key, days, info);
	snprintf(detail, sizeof(detail), "%u days", days);
	return kms_audit(kms, "schedule-deletion", key, NULL, detail, r);
}

int ec_kms_cancel_deletion(struct ec_kms *kms, const char *key,
			   struct ec_key_info *info)
{
	int r = ec_policy_check_key_change("cancel-deletion", key);

	if (!r)
		r = KMS_CALL(kms, cancel_deletion, key, info);
	return kms_audit(kms, "cancel-deletion", key, NULL, NULL, r);
}
