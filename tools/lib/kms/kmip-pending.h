/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The deletion grace period of the KMIP provider, kept on this host.
 *
 * KMIP has no "delete in N days": Destroy is immediate.  schedule-deletion
 * revokes the key at once and records its deletion date here; the key is
 * destroyed on the server by the first command that touches it after the
 * date.  One file per KMIP server (host and port) in the state directory
 * ($ENVCRYPT_KMIP_STATE_DIR, else /var/lib/envcrypt/kmip), read under a
 * shared flock() and replaced atomically (write, fsync, rename) under an
 * exclusive one.  Format: docs/KMS-KMIP.md.
 */
#ifndef ENVCRYPT_KMIP_PENDING_H
#define ENVCRYPT_KMIP_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "kms.h"

#define KMIP_STATE_DIR_ENV	"ENVCRYPT_KMIP_STATE_DIR"
#define KMIP_STATE_DIR_DEFAULT	"/var/lib/envcrypt/kmip"
#define KMIP_PENDING_PATH_MAX	(EC_KMS_URI_MAX + 96)

struct kmip_pending {
	char dir[EC_KMS_URI_MAX];
	char path[KMIP_PENDING_PATH_MAX];	/* DIR/HOST_PORT.pending */
	char lock_path[KMIP_PENDING_PATH_MAX];	/* DIR/HOST_PORT.lock */
	char tmp_path[KMIP_PENDING_PATH_MAX];	/* DIR/.HOST_PORT.new */
	const char *kms_name;			/* for messages */
};

struct kmip_pending_record {
	char uid[EC_CMK_ID_MAX];
	int64_t date;				/* Unix time */
	int64_t created;			/* the key's Initial Date; 0: unknown */
};

/*
 * The state files of server @host:@port, in the directory of the
 * environment (or the default).  No file is touched.  -EINVAL for a
 * relative or too long directory.
 */
int kmip_pending_init(struct kmip_pending *p, const char *host,
		      const char *port, const char *kms_name);

/*
 * All records: *recs is malloc'd (NULL when none), *n of them.  A missing
 * file is no record.  -EIO for a corrupt file (the message names it).
 */
int kmip_pending_load(const struct kmip_pending *p,
		      struct kmip_pending_record **recs, size_t *n);

/* The record of @uid: 1 and *rec, 0 when none (*rec zeroed), or -errno. */
int kmip_pending_get(const struct kmip_pending *p, const char *uid,
		     struct kmip_pending_record *rec);

/*
 * Record the deletion date of @uid (@date > 0) and the Initial Date of
 * that key (@created, 0 when the server gave none), or forget it (@date 0).
 */
int kmip_pending_set(const struct kmip_pending *p, const char *uid,
		     int64_t date, int64_t created);

#endif /* ENVCRYPT_KMIP_PENDING_H */
