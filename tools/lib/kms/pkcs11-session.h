/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection of the PKCS#11 KMS to its token: the module, loaded with
 * dlopen() and shared by every connection to it in this process; the one
 * initialized token the URI names; one session, logged in as the user
 * with the PIN from pin-source= or $ENVCRYPT_PKCS11_PIN, kept until
 * disconnect.
 */
#ifndef ENVCRYPT_KMS_PKCS11_SESSION_H
#define ENVCRYPT_KMS_PKCS11_SESSION_H

#include "pkcs11-kms.h"

/*
 * Load the module, find the token, open a session and log in; 0 at once
 * when connected.  On failure nothing is left open.
 */
int p11_connect(struct pkcs11_kms *pk);

/*
 * Close the session (logging out when this is the module's last user)
 * and drop the module.  Nothing when not connected.
 */
void p11_disconnect(struct pkcs11_kms *pk);

/*
 * Fail with the errno of @rv from @what: "<token>: <what> failed
 * (CKR_X)".  A lost token or session is dropped, so that the next
 * operation connects again.
 */
int p11_fail(struct pkcs11_kms *pk, CK_RV rv, const char *what);

/*
 * The objects matching @tmpl (@count attributes): a malloc'd array in
 * *@found of *@n handles, at most @max (0: no limit).
 */
int p11_find_objects(struct pkcs11_kms *pk, CK_ATTRIBUTE *tmpl,
		     CK_ULONG count, CK_ULONG max,
		     CK_OBJECT_HANDLE **found, CK_ULONG *n);

#endif /* ENVCRYPT_KMS_PKCS11_SESSION_H */
