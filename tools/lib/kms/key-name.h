/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the KMS providers (local.c, kmip.c, pkcs11.c, exec.c) say about a
 * CMK the same way: its label in messages, its alias, its dates, the
 * order of a key listing.
 */
#ifndef ENVCRYPT_KMS_KEY_NAME_H
#define ENVCRYPT_KMS_KEY_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms.h"

/* the longest NAME of "alias/NAME" */
#define EC_ALIAS_NAME_MAX	100

/* "CMK <id> (alias/NAME)", or "CMK <id>" when @alias is "", into @buf. */
const char *ec_key_label(const char *id, const char *alias, char *buf,
			 size_t size);

/* @t (seconds since the epoch) as "YYYY-MM-DD HH:MM:SS UTC", into @buf. */
const char *ec_key_date(int64_t t, char *buf, size_t size);

/* NAME[0..len) of "alias/NAME": 1..100 of [A-Za-z0-9/_-]. */
bool ec_alias_name_valid(const char *name, size_t len);

/*
 * "alias/NAME" of a new key's @alias ("NAME" or "alias/NAME") into
 * @full[@size]; -EINVAL (message set) for a NAME not valid or reserved.
 */
int ec_alias_full(const char *alias, char *full, size_t size);

/*
 * 0 for an Enabled key; -EKEYREVOKED Disabled, -EKEYEXPIRED
 * PendingDeletion until @deletion, @where ("in" or "on") @kms_name, with
 * the message; -EINVAL for an unknown @state.
 */
int ec_key_usable(const char *id, const char *alias, enum ec_key_state state,
		  int64_t deletion, const char *where, const char *kms_name);

/*
 * -EPERM: the service key (@id, @alias) of @kms_name can never be
 * disabled or deleted; @what is the refused verb ("disable", "delete").
 */
int ec_key_refuse_service(const char *id, const char *alias,
			  const char *kms_name, const char *what);

/*
 * -EKEYEXPIRED: the key is PendingDeletion @where ("in" or "on")
 * @kms_name until @deletion; cancel that before you @what it.
 */
int ec_key_pending_deletion(const char *id, const char *alias,
			    int64_t deletion, const char *where,
			    const char *kms_name, const char *what);

/* Sort a key listing: oldest first, then by id. */
void ec_key_info_sort(struct ec_key_info *list, size_t n);

#endif
