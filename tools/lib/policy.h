/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host policy: what this host may do with volumes and KMSs, from
 * /etc/envcrypt/policy.conf ($ENVCRYPT_POLICY overrides the path).  No
 * file means no restriction.  docs/POLICY.md has the syntax:
 *
 *   allowed-ciphers = aes-xts-plain64 sm4-xts-plain64
 *   allowed-kms     = local: kmip://kms.example:5696 pkcs11:token=hsm1
 *   require-cmk     = yes      # the service key may not wrap new volumes
 *   convert         = refuse   # unencrypted images may not be converted
 *   key-changes     = deny     # read-only KMS access: no CMK changes
 *
 * Each check returns 0, or -EPERM with a message naming the rule, the
 * file and line that set it, and what was refused.
 */
#ifndef ENVCRYPT_POLICY_H
#define ENVCRYPT_POLICY_H

#include <stdbool.h>

#define EC_POLICY_PATH_DEFAULT	"/etc/envcrypt/policy.conf"

/*
 * Read the policy (once per process; later calls return the first
 * result).  -EINVAL with "FILE:LINE: ..." for a malformed file, -errno
 * when it exists but cannot be read.
 */
int ec_policy_load(void);
/* Forget the loaded policy (tests). */
void ec_policy_reset(void);

/* A cipher for a new volume: allowed-ciphers. */
int ec_policy_check_cipher(const char *cipher, const char *what);
/* A KMS, by canonical URI: allowed-kms (prefixes). */
int ec_policy_check_kms(const char *uri);
/* The service key wrapping a new volume: require-cmk. */
int ec_policy_check_service_key(const char *what);
/* Encrypting an unencrypted image: convert. */
int ec_policy_check_convert(const char *source);
/* A CMK change (@op: "disable-key", ...): key-changes. */
int ec_policy_check_key_change(const char *op, const char *key);

#endif /* ENVCRYPT_POLICY_H */
