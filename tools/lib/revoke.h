/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Taking the data key away from an open volume, and giving it back.
 *
 * Revoke suspends the device and sends "key wipe": the kernel holds no
 * data key any more.  What I/O does then is the volume's on_key_wipe mode,
 * chosen at open (open --on-revoke) and visible in its table line: queue
 * (the default; the device stays suspended and I/O waits in device-mapper)
 * or error (the device is resumed and every I/O fails with EIO).
 *
 * Refresh unwraps the data key again through the volume's header, checks
 * it against the header's key check value, loads it with "key set"
 * through the keyring, checks the kernel's key check value, and resumes:
 * waiting I/O completes, nothing was recreated.
 *
 * Watch checks the CMKs of every open volume and revokes the volumes none
 * of whose wrap slots has a usable CMK any more.
 */
#ifndef ENVCRYPT_REVOKE_H
#define ENVCRYPT_REVOKE_H

#include <stdbool.h>

#include "dm.h"

enum ec_on_revoke {
	EC_ON_REVOKE_QUEUE,		/* on_key_wipe:queue: I/O waits */
	EC_ON_REVOKE_ERROR,		/* on_key_wipe:error: I/O fails */
};

/* "queue" / "error"; ec_on_revoke_parse returns -EINVAL for others. */
const char *ec_on_revoke_name(enum ec_on_revoke mode);
int ec_on_revoke_parse(const char *name, enum ec_on_revoke *mode);

struct ec_revoke_result {
	char volume_uuid[37];
	enum ec_on_revoke mode;
	bool already;			/* was revoked before: nothing done */
	bool suspended;			/* the device is suspended now */
};

/*
 * Wipe the data key of open volume @name from the kernel.  @reason (or
 * NULL) goes to the audit log.  Revoking a revoked volume does nothing
 * (res->already); -ENODEV when @name is not an open envcrypt volume.
 */
int ec_volume_revoke(const char *name, const char *reason,
		     struct ec_revoke_result *res);

struct ec_refresh_result {
	char volume_uuid[37];
	char device[4096];		/* the device holding the header */
	int slot;			/* the wrap slot that unwrapped */
	enum ec_on_revoke mode;
};

/*
 * Load the data key of revoked volume @name again and resume it.  -EINVAL
 * when it is not revoked; the KMS's errors when the key does not unwrap
 * (-EKEYREVOKED for a CMK still Disabled, ...); -EBADMSG when a key check
 * value differs (the key is not loaded then).
 */
int ec_volume_refresh(const char *name, struct ec_refresh_result *res);

/* What watch found for one open volume. */
enum ec_watch_verdict {
	EC_WATCH_USABLE,		/* a wrap slot's CMK is Enabled */
	EC_WATCH_REVOKED,		/* no usable CMK: revoked now */
	EC_WATCH_ALREADY,		/* revoked before: not checked */
	EC_WATCH_UNKNOWN,		/* KMS unreachable, ...: kept open */
	EC_WATCH_FAILED,		/* no usable CMK, but revoke failed */
};

struct ec_watch_event {
	const char *name;
	const char *volume_uuid;
	enum ec_watch_verdict verdict;
	enum ec_on_revoke mode;
	/* the slot that decided: its CMK and KMS, or NULL */
	const char *cmk;
	const char *kms;
	/* why, for the log: the CMK's state, the KMS's error, ... */
	const char *reason;
	int error;			/* UNKNOWN, FAILED: the errno */
};

typedef void (*ec_watch_report)(const struct ec_watch_event *ev, void *arg);

/*
 * Check every open envcrypt volume once, revoking those whose wrap slots'
 * CMKs are all Disabled, PendingDeletion or not found, and @report each
 * one.  A KMS that cannot be asked (unreachable, access denied) keeps the
 * volume open.  *revoked and *failed count the revoked volumes and those
 * whose revoke failed; returns 0, or -errno when the volumes could not be
 * listed.
 */
int ec_volume_watch_once(ec_watch_report report, void *arg,
			 unsigned int *revoked, unsigned int *failed);

#endif /* ENVCRYPT_REVOKE_H */
