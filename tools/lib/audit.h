/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit log: one JSON object per line for every wrap, unwrap, rewrap,
 * share, unshare, revoke, refresh and CMK state change, with the time,
 * host, operation, volume UUID, CMK, KMS and result.  Never key material:
 * the record has no field that could hold it.
 *
 * The log is $ENVCRYPT_AUDIT_LOG if set ("off": no log), else
 * /var/log/envcrypt/audit.log.  Lines are appended with O_APPEND under an
 * flock, so concurrent commands do not interleave.  A log that cannot be
 * written does not fail the operation: envcryptctl warns on stderr once.
 */
#ifndef ENVCRYPT_AUDIT_H
#define ENVCRYPT_AUDIT_H

#define EC_AUDIT_LOG_DEFAULT	"/var/log/envcrypt/audit.log"

struct ec_audit {
	const char *op;		/* "wrap", "unwrap", "rewrap", "share", ... */
	const char *volume;	/* volume UUID, or NULL */
	const char *device;	/* device or image path, or NULL */
	const char *cmk;	/* CMK id or alias, or NULL */
	const char *kms;	/* canonical KMS URI, or NULL */
	const char *detail;	/* free text without secrets, or NULL */
};

/*
 * Append the record of @a with its @result (0, or the negative errno and
 * the current ec_err_msg() as the reason).  Returns 0, or -errno when the
 * log could not be written (after warning once); callers may ignore it.
 */
int ec_audit_log(const struct ec_audit *a, int result);

#endif /* ENVCRYPT_AUDIT_H */
