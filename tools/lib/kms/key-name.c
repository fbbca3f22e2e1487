// SPDX-License-Identifier: GPL-2.0
/*
 * Key labels, aliases, dates and listings, shared by the KMS providers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "key-name.h"

/* names under alias/envcrypt/ belong to envcrypt */
#define RESERVED_ALIAS		"envcrypt/"
#define LABEL_SIZE		(EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8)

const char *ec_key_label(const char *id, const char *alias, char *buf,
			 size_t size)
{
	if (alias[0])
		snprintf(buf, size, "CMK %s (%s)", id, alias);
	else
		snprintf(buf, size, "CMK %s", id);
	return buf;
}

const char *ec_key_date(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, size, "%" PRId64, t);
	return buf;
}

bool ec_alias_name_valid(const char *name, size_t len)
{
	size_t i;

	if (!len || len > EC_ALIAS_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '/' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

int ec_alias_full(const char *alias, char *full, size_t size)
{
	/* "NAME"; "alias/NAME" is taken to mean the same. */
	if (!strncmp(alias, EC_ALIAS_PREFIX, strlen(EC_ALIAS_PREFIX)))
		alias += strlen(EC_ALIAS_PREFIX);
	if (!ec_alias_name_valid(alias, strlen(alias)))
		return ec_err_set(-EINVAL,
				  "alias '%.120s' is not valid: use 1 to %d of A-Z a-z 0-9 / _ -",
				  alias, EC_ALIAS_NAME_MAX);
	if (!strncmp(alias, RESERVED_ALIAS, strlen(RESERVED_ALIAS)))
		return ec_err_set(-EINVAL,
				  "alias %s%s is reserved: names under %s%s belong to envcrypt; choose another alias",
				  EC_ALIAS_PREFIX, alias,
				  EC_ALIAS_PREFIX, RESERVED_ALIAS);
	snprintf(full, size, "%s%s", EC_ALIAS_PREFIX, alias);
	return 0;
}

int ec_key_usable(const char *id, const char *alias, enum ec_key_state state,
		  int64_t deletion, const char *where, const char *kms_name)
{
	char label[LABEL_SIZE], date[40];

	switch (state) {
	case EC_KEY_ENABLED:
		return 0;
	case EC_KEY_DISABLED:
		return ec_err_set(-EKEYREVOKED, "%s is Disabled %s %s",
				  ec_key_label(id, alias, label, sizeof(label)),
				  where, kms_name);
	case EC_KEY_PENDING_DELETION:
		return ec_err_set(-EKEYEXPIRED,
				  "%s is PendingDeletion %s %s, deleted on %s",
				  ec_key_label(id, alias, label, sizeof(label)),
				  where, kms_name,
				  ec_key_date(deletion, date, sizeof(date)));
	}
	return -EINVAL;
}

int ec_key_refuse_service(const char *id, const char *alias,
			  const char *kms_name, const char *what)
{
	char label[LABEL_SIZE];

	return ec_err_set(-EPERM,
			  "%s is the service key of %s: it can never be disabled or deleted (refused to %s it)",
			  ec_key_label(id, alias, label, sizeof(label)),
			  kms_name, what);
}

int ec_key_pending_deletion(const char *id, const char *alias,
			    int64_t deletion, const char *where,
			    const char *kms_name, const char *what)
{
	char label[LABEL_SIZE], date[40];

	return ec_err_set(-EKEYEXPIRED,
			  "%s is PendingDeletion %s %s, deleted on %s; cancel the deletion before you %s it",
			  ec_key_label(id, alias, label, sizeof(label)), where,
			  kms_name, ec_key_date(deletion, date, sizeof(date)),
			  what);
}

static int compare_keys(const void *a, const void *b)
{
	const struct ec_key_info *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

void ec_key_info_sort(struct ec_key_info *list, size_t n)
{
	if (n)
		qsort(list, n, sizeof(*list), compare_keys);
}
