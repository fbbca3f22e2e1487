/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device-mapper calls (libdevmapper): create, remove, inspect and message
 * envcrypt devices, and load the target's module when it is missing.
 */
#ifndef ENVCRYPT_DM_H
#define ENVCRYPT_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* dm UUID of a volume's device: "ENVCRYPT-<volume uuid text>". */
#define EC_DM_UUID_PREFIX	"ENVCRYPT-"
#define EC_DM_NAME_MAX		128

struct ec_dm_info {
	bool exists;
	bool suspended;
	bool readonly;
	int open_count;
	uint32_t major, minor;
	char uuid[160];			/* dm UUID */
	char target[32];		/* target type of the first target */
	uint64_t length;		/* sectors */
	char table[512];		/* table params (no key bytes) */
	char status[512];		/* INFO status params */
};

/*
 * Create device @name with one envcrypt target of @sectors 512-byte
 * sectors and the table @params.  -EEXIST when the name is taken.
 */
int ec_dm_create(const char *name, const char *dm_uuid, uint64_t sectors,
		 const char *params, bool readonly);
/* Remove device @name; -ENXIO if none, -EBUSY while it is open. */
int ec_dm_remove(const char *name);
/* Info, table and status of @name; info->exists false if none. */
int ec_dm_info(const char *name, struct ec_dm_info *info);
/*
 * The name of the device whose dm UUID is @dm_uuid into @name: 1 when
 * there is one, 0 when not, or a negative errno.
 */
int ec_dm_find_uuid(const char *dm_uuid, char *name, size_t size);
/* Names of the devices whose dm UUID starts with EC_DM_UUID_PREFIX. */
int ec_dm_list(char ***names, size_t *n);
void ec_dm_list_free(char **names, size_t n);
/* Send a target message (device suspended for key messages). */
int ec_dm_message(const char *name, const char *msg);
/*
 * Suspend @name (in-flight I/O completes and is flushed first; new I/O
 * waits in device-mapper), or resume it.  A resume the target refuses
 * (envcrypt without a key in on_key_wipe:queue mode) fails with -ENOKEY.
 */
int ec_dm_suspend(const char *name);
int ec_dm_resume(const char *name);

/*
 * Make sure the kernel has the envcrypt target: if device-mapper does not
 * list it, load the dm-envcrypt module through libkmod.  -ENOENT with a
 * message when the module is not installed.
 */
int ec_dm_load_target(void);

#endif /* ENVCRYPT_DM_H */
