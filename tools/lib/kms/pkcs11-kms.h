/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The private state of the PKCS#11 KMS (pkcs11.c), shared by its parts:
 * the connection to the token (pkcs11-session.c) and the wrap mechanisms
 * (pkcs11-wrap.c).  Not for users of the KMS: they have kms.h.
 */
#ifndef ENVCRYPT_KMS_PKCS11_KMS_H
#define ENVCRYPT_KMS_PKCS11_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "kms.h"
#include "pkcs11-uri.h"

/*
 * A loaded module, shared by every connection to it in this process:
 * C_Initialize and C_Finalize are per process, so the first user
 * initializes and the last one finalizes.  The CLI is single-threaded;
 * the list of them (pkcs11-session.c) has no lock.
 */
struct p11_module {
	struct p11_module *next;
	char path[EC_KMS_URI_MAX];
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	unsigned int users;
	bool finalize;			/* we initialized it */
};

static const CK_BBOOL p11_yes = CK_TRUE, p11_no = CK_FALSE;

struct pkcs11_kms {
	struct ec_kms kms;		/* first: the generic part */
	struct ec_p11_uri uri;
	struct p11_module *mod;		/* NULL: not connected */
	CK_SLOT_ID slot;
	CK_FLAGS token_flags;
	CK_SESSION_HANDLE session;
	bool session_open;
};

/* A CMK as read from the token. */
struct p11_key {
	CK_OBJECT_HANDLE handle;
	char id[EC_CMK_ID_MAX];		/* hex of CKA_ID; "" when none */
	char alias[EC_CMK_ALIAS_MAX];	/* "alias/" CKA_LABEL, or "" */
	CK_ULONG value_len;
	bool enabled;			/* CKA_DECRYPT */
	CK_OBJECT_HANDLE meta;		/* CK_INVALID_HANDLE: none */
	int64_t created;
	int64_t deletion;
};

/* The functions of the module of connected @pk. */
static inline CK_FUNCTION_LIST_PTR fn(struct pkcs11_kms *pk)
{
	return pk->mod->f;
}

#define LABEL_SIZE	(EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8)

/*
 * "CMK <id> (alias/NAME)" or "CMK <id>", for messages, into @buf
 * (LABEL_SIZE bytes will do); returns @buf.
 */
const char *p11_key_label(const struct p11_key *key, char *buf, size_t size);

#endif /* ENVCRYPT_KMS_PKCS11_KMS_H */
