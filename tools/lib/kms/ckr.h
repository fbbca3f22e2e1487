/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PKCS#11 return values (CK_RV): their names for messages, and the errno
 * each one means to envcryptctl (error.h).
 */
#ifndef ENVCRYPT_KMS_CKR_H
#define ENVCRYPT_KMS_CKR_H

#include <stddef.h>

#include <p11-kit/pkcs11.h>

/* "CKR_PIN_INCORRECT", or NULL for a value PKCS#11 2.40 does not name. */
const char *ec_ckr_name(CK_RV rv);

/*
 * The name of @rv into @buf: "CKR_PIN_INCORRECT", or "CK_RV 0x80000001
 * (vendor defined)", or "CK_RV 0x1234"; returns @buf.
 */
const char *ec_ckr_format(CK_RV rv, char *buf, size_t size);

/*
 * The errno for @rv returned by any call: 0 for CKR_OK;
 *   -EACCES       PIN wrong, locked, expired, not set; not logged in
 *   -EKEYREVOKED  CKR_KEY_FUNCTION_NOT_PERMITTED (the key is disabled)
 *   -ENOKEY       the key or object handle is gone
 *   -EBADMSG      encrypted or wrapped data invalid or of a wrong length
 *   -EAGAIN       token removed, session closed: connect again
 *   -ENOMEM       host or device memory
 *   -EOPNOTSUPP   mechanism or function the token does not have
 *   -EPERM        token write-protected, read-only session, attribute
 *                 read-only, action prohibited
 *   -EIO          anything else (CKR_GENERAL_ERROR, CKR_DEVICE_ERROR, ...)
 * Callers that know better (CKR_GENERAL_ERROR from C_Decrypt means a tag
 * that does not verify) decide themselves.
 */
int ec_ckr_errno(CK_RV rv);

#endif /* ENVCRYPT_KMS_CKR_H */
