/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host registry of volumes: which device holds which volume, and
 * which CMKs in which KMSs wrap its data key.  Every command that
 * creates, opens or changes a volume notes it here, so that
 * "kms usage KEY" can list the volumes a CMK wraps, and "kms disable-key"
 * and "kms schedule-deletion" can refuse while the CMK is still in use.
 *
 * The registry is $ENVCRYPT_REGISTRY if set ("off": none), else
 * /var/lib/envcrypt/registry: JSON lines, one object per (volume UUID,
 * device) pair:
 *
 *   {"volume":"UUID","device":"/abs/path","label":"","cipher":"...",
 *    "seen":UNIX_TIME,"slots":[{"slot":0,"cmk":"ID","alias":"alias/x",
 *    "kms":"local:/var/lib/envcrypt/kms"}]}
 *
 * It is rewritten whole (a temporary file, fsync, rename, fsync of the
 * directory) under an flock of "<registry>.lock", so concurrent commands
 * lose no entry and a crash leaves the old or the new file.  A device
 * holds one header: noting a volume on a device drops any other volume
 * the registry had on that same device.  The same volume UUID may be on
 * several devices (raw copies): one entry each.
 *
 * The registry is a hint, never a key store: it holds no key material,
 * and an entry whose device no longer has the header is "stale".
 */
#ifndef ENVCRYPT_REGISTRY_H
#define ENVCRYPT_REGISTRY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "header.h"

#define EC_REGISTRY_DEFAULT	"/var/lib/envcrypt/registry"
#define EC_REGISTRY_LINE_MAX	65536
#define EC_REGISTRY_FILE_MAX	(64 * 1024 * 1024)

struct ec_registry_slot {
	int slot;
	char cmk_id[EC_CMK_ID_MAX];
	char cmk_alias[EC_CMK_ALIAS_MAX];
	char kms_uri[EC_KMS_URI_MAX];
};

struct ec_registry_entry {
	char volume[37];
	char device[PATH_MAX];
	char label[EC_LABEL_MAX];
	char cipher[EC_CIPHER_MAX];
	int64_t seen;				/* Unix time */
	int nslots;
	struct ec_registry_slot slots[EC_HDR_SLOTS];
};

/* The registry's path, or NULL when $ENVCRYPT_REGISTRY is "off". */
const char *ec_registry_path(void);

/*
 * Record (or update) the volume of @hdr on @device, seen now.  Best
 * effort: a failure warns once on stderr (naming the file and the fix)
 * and returns -errno, but callers go on; the current error message is
 * left as it was.
 */
int ec_registry_note(const char *device, const struct ec_header *hdr);

/*
 * Every entry, in file order (*entries malloc'd, *n of them; a missing
 * registry has none).  Lines that do not parse are skipped, and kept by
 * the next rewrite.
 */
int ec_registry_load(struct ec_registry_entry **entries, size_t *n);

/* Whether @e has a wrap slot for CMK @cmk_id in @kms_uri (NULL: any). */
bool ec_registry_uses(const struct ec_registry_entry *e, const char *cmk_id,
		      const char *kms_uri);

enum ec_registry_state {
	EC_REG_CURRENT,		/* the device has the header and the slot */
	EC_REG_STALE,		/* gone, another volume, or no such slot */
	EC_REG_UNKNOWN,		/* the device could not be read */
};

/*
 * Read @e's device and tell whether it still holds volume @e->volume
 * with a wrap slot for (@cmk_id, @kms_uri) (NULL @cmk_id: any slot).
 * @why gets the reason for STALE and UNKNOWN.
 */
enum ec_registry_state ec_registry_check(const struct ec_registry_entry *e,
					 const char *cmk_id,
					 const char *kms_uri, char *why,
					 size_t why_size);

/* An entry for the header @hdr read from @device (for scans). */
void ec_registry_entry_fill(struct ec_registry_entry *e, const char *device,
			    const struct ec_header *hdr);

#endif /* ENVCRYPT_REGISTRY_H */
