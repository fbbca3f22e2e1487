// SPDX-License-Identifier: GPL-2.0
/*
 * Revoke, refresh and watch (revoke.h): the data key of an open volume
 * taken out of the kernel and put back, without recreating the device.
 *
 * The kernel target accepts "key wipe" and "key set" only while the
 * device is suspended.  A keyless on_key_wipe:queue device refuses to
 * resume, so its I/O waits in device-mapper; an on_key_wipe:error device
 * resumes and fails every I/O with EIO.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "blockdev.h"
#include "dm-envcrypt.h"
#include "error.h"
#include "keyring.h"
#include "kms.h"
#include "revoke.h"
#include "secmem.h"
#include "volume.h"

const char *ec_on_revoke_name(enum ec_on_revoke mode)
{
	return mode == EC_ON_REVOKE_ERROR ? "error" : "queue";
}

int ec_on_revoke_parse(const char *name, enum ec_on_revoke *mode)
{
	if (!strcmp(name, "queue"))
		*mode = EC_ON_REVOKE_QUEUE;
	else if (!strcmp(name, "error"))
		*mode = EC_ON_REVOKE_ERROR;
	else
		return -EINVAL;
	return 0;
}

/* The on_key_wipe mode of a table line: only "error" is ever written. */
static enum ec_on_revoke table_mode(const char *table)
{
	return strstr(table, ENVCRYPT_OPT_ON_KEY_WIPE "error") ?
		EC_ON_REVOKE_ERROR : EC_ON_REVOKE_QUEUE;
}

/* The first active wrap slot of the header, for the audit record. */
static const struct ec_wrap_slot *first_slot(const struct ec_header *hdr)
{
	int i;

	for (i = 0; i < EC_HDR_SLOTS; i++)
		if (hdr->slots[i].active)
			return &hdr->slots[i];
	return NULL;
}

static void audit(const char *op, const struct ec_volume_status *st,
		  const char *cmk, const char *kms, const char *detail,
		  int result)
{
	struct ec_audit a = {
		.op = op,
		.volume = st->volume_uuid[0] ? st->volume_uuid : NULL,
		.device = st->name,
		.cmk = cmk,
		.kms = kms,
		.detail = detail,
	};

	ec_audit_log(&a, result);
}

/*
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT wait while this process has the
 * device suspended: a signal must not leave it suspended with the data
 * key, or without the resume of an error-mode device.
 */
static void block_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, old);
}

/* Status of open volume @name, -ENODEV with a message if there is none. */
static struct ec_volume_status *volume_status(const char *name, int *r)
{
	struct ec_volume_status *st = malloc(sizeof(*st));

	if (!st) {
		*r = ec_err_set(-ENOMEM, "out of memory");
		return NULL;
	}
	*r = ec_volume_status(name, st);
	if (*r) {
		free(st);
		return NULL;
	}
	return st;
}

/* Suspend, wipe; resume in error mode.  The kernel side of revoke. */
static int revoke_dm(const struct ec_volume_status *st,
		     struct ec_revoke_result *res)
{
	const char *name = st->name;
	bool was_suspended = st->dm.suspended;
	char msg[EC_ERR_MAX];
	int r;

	res->mode = table_mode(st->dm.table);
	res->suspended = was_suspended;
	if (!st->key_loaded) {
		res->already = true;
		/* an error-mode revoke interrupted before its resume */
		if (res->mode == EC_ON_REVOKE_ERROR && was_suspended) {
			r = ec_dm_resume(name);
			if (r)
				return ec_err_prefix(r, "%s: revoked, but cannot resume it", name);
			res->suspended = false;
		}
		return 0;
	}
	if (!was_suspended) {
		r = ec_dm_suspend(name);
		if (r)
			return ec_err_prefix(r, "%s: cannot suspend it to revoke the data key; nothing changed",
					     name);
	}
	r = ec_dm_message(name, ENVCRYPT_MSG_KEY_WIPE);
	if (r) {
		snprintf(msg, sizeof(msg), "%s", ec_err_msg());
		if (!was_suspended)
			ec_dm_resume(name);
		return ec_err_set(r, "%s: the kernel did not wipe the data key (%s); see dmesg",
				  name, msg);
	}
	res->suspended = true;
	if (res->mode == EC_ON_REVOKE_ERROR && !was_suspended) {
		r = ec_dm_resume(name);
		if (r)
			return ec_err_prefix(r, "%s: the data key is wiped, but the device stays suspended",
					     name);
		res->suspended = false;
	}
	return 0;
}

static int revoke_status(const struct ec_volume_status *st, const char *op,
			 const char *cmk, const char *kms, const char *reason,
			 struct ec_revoke_result *res)
{
	sigset_t old;
	int r;

	memset(res, 0, sizeof(*res));
	snprintf(res->volume_uuid, sizeof(res->volume_uuid), "%s",
		 st->volume_uuid);
	block_signals(&old);
	r = revoke_dm(st, res);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!res->already || r)
		audit(op, st, cmk, kms, reason, r);
	return r;
}

int ec_volume_revoke(const char *name, const char *reason,
		     struct ec_revoke_result *res)
{
	const struct ec_wrap_slot *slot = NULL;
	struct ec_volume_status *st;
	int r;

	memset(res, 0, sizeof(*res));
	st = volume_status(name, &r);
	if (!st)
		return r;
	if (st->have_header)
		slot = first_slot(&st->hdr);
	r = revoke_status(st, "revoke", slot ? slot->cmk_id : NULL,
			  slot ? slot->kms_uri : NULL,
			  reason ? reason : "envcryptctl revoke", res);
	free(st);
	return r;
}

/* The header of the device under an open volume, which must be its own. */
static int volume_header(const struct ec_volume_status *st,
			 struct ec_header *hdr)
{
	struct ec_blockdev dev;
	char uuid[37];
	int r;

	r = ec_blockdev_open(st->device, false, false, &dev);
	if (r)
		return ec_err_prefix(r, "%s: cannot read the header of volume '%s'",
				     st->device, st->name);
	r = ec_header_read(dev.fd, hdr, NULL);
	ec_blockdev_close(&dev);
	if (r == -ENODATA)
		return ec_err_set(-EUCLEAN, "%s: the device under '%s' has no envcrypt header any more; close the volume",
				  st->device, st->name);
	if (r)
		return ec_err_prefix(r, "%s", st->device);
	ec_uuid_format(hdr->uuid, uuid);
	if (strcmp(uuid, st->volume_uuid) || strcmp(hdr->cipher, st->cipher))
		return ec_err_set(-EUCLEAN, "%s: the header belongs to volume %s (%s), not to '%s' (volume %s, %s); close the volume",
				  st->device, uuid, hdr->cipher, st->name,
				  st->volume_uuid, st->cipher);
	return 0;
}

/* "key set" through a logon key that exists only for the message. */
static int load_key(const char *name, const char *uuid, const uint8_t *dk,
		    size_t dk_len)
{
	char desc[64], msg[128];
	int32_t serial;
	int r;

	snprintf(desc, sizeof(desc), "%s%s", EC_KEYRING_DESC_PREFIX, uuid);
	snprintf(msg, sizeof(msg), "%s :%zu:%s:%s", ENVCRYPT_MSG_KEY_SET,
		 dk_len, ENVCRYPT_KEY_TYPE, desc);
	r = ec_keyring_add(desc, dk, dk_len, &serial);
	if (r)
		return r;
	r = ec_dm_message(name, msg);
	ec_keyring_drop(serial);
	if (r)
		return ec_err_prefix(r, "%s: the kernel refused the data key; see dmesg",
				     name);
	return 0;
}

/* The kernel's key check value against the header's, after key set. */
static int check_kernel_kcv(const char *name, const struct ec_header *hdr)
{
	struct ec_volume_status *st;
	char want[2 * ENVCRYPT_KCV_SIZE + 1];
	int i, r;

	for (i = 0; i < ENVCRYPT_KCV_SIZE; i++)
		snprintf(want + 2 * i, 3, "%02x", hdr->kcv[i]);
	st = volume_status(name, &r);
	if (!st)
		return r;
	if (!st->key_loaded || strcmp(st->kcv, want))
		r = ec_err_set(-EBADMSG, "%s: the kernel's key check value '%s' differs from the header's '%s' after key set",
			       name, st->key_loaded ? st->kcv : "-", want);
	free(st);
	return r;
}

/* Suspend if needed, key set, check, resume; undo all but the unwrap. */
static int refresh_dm(const struct ec_volume_status *st,
		      const struct ec_header *hdr, const uint8_t *dk,
		      size_t dk_len, enum ec_on_revoke mode)
{
	const char *name = st->name;
	char msg[EC_ERR_MAX];
	int r;

	if (!st->dm.suspended) {
		r = ec_dm_suspend(name);
		if (r)
			return ec_err_prefix(r, "%s: cannot suspend it to load the data key", name);
	}
	r = load_key(name, st->volume_uuid, dk, dk_len);
	if (!r) {
		r = check_kernel_kcv(name, hdr);
		if (r) {
			snprintf(msg, sizeof(msg), "%s", ec_err_msg());
			/* never resume with a key that may be the wrong one */
			if (ec_dm_message(name, ENVCRYPT_MSG_KEY_WIPE)) {
				char why[EC_ERR_MAX];

				snprintf(why, sizeof(why), "%s", ec_err_msg());
				return ec_err_set(r, "%s; wiping the key again failed too (%s), so the device stays suspended: close the volume",
						  msg, why);
			}
			ec_err_set(r, "%s; the key was wiped again and the volume stays revoked",
				   msg);
		}
	}
	if (r) {
		/* back as it was: a keyless error-mode device runs */
		if (!st->dm.suspended && mode == EC_ON_REVOKE_ERROR) {
			snprintf(msg, sizeof(msg), "%s", ec_err_msg());
			ec_dm_resume(name);
			ec_err_set(r, "%s", msg);
		}
		return r;
	}
	r = ec_dm_resume(name);
	if (r)
		return ec_err_prefix(r, "%s: the data key is loaded, but the device did not resume",
				     name);
	return 0;
}

int ec_volume_refresh(const char *name, struct ec_refresh_result *res)
{
	const struct ec_wrap_slot *slot = NULL;
	struct ec_volume_status *st;
	struct ec_header *hdr = NULL;
	uint8_t *dk = NULL;
	char detail[64];
	sigset_t old;
	size_t dk_len;
	int r;

	memset(res, 0, sizeof(*res));
	res->slot = -1;
	st = volume_status(name, &r);
	if (!st)
		return r;
	snprintf(res->volume_uuid, sizeof(res->volume_uuid), "%s",
		 st->volume_uuid);
	snprintf(res->device, sizeof(res->device), "%s", st->device);
	res->mode = table_mode(st->dm.table);
	if (st->key_loaded) {
		r = ec_err_set(-EINVAL, "'%s' is not revoked: the kernel holds the data key of volume %s%s; nothing to refresh",
			       name, st->volume_uuid,
			       st->dm.suspended ? " (the device is suspended by someone else: 'dmsetup resume' it when they are done)" : "");
		goto out;
	}
	hdr = calloc(1, sizeof(*hdr));
	if (!hdr) {
		r = ec_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	r = volume_header(st, hdr);
	if (r) {
		free(hdr);	/* not this volume's: nothing from it */
		hdr = NULL;
		goto audit;
	}
	dk_len = ec_cipher_key_size(hdr->cipher);
	dk = ec_secure_alloc(dk_len);
	if (!dk) {
		r = -errno;	/* the message is set */
		goto audit;
	}
	r = ec_volume_unwrap(st->device, hdr, dk, dk_len, &res->slot);
	if (r)
		goto audit;
	slot = &hdr->slots[res->slot];
	block_signals(&old);
	r = refresh_dm(st, hdr, dk, dk_len, res->mode);
	sigprocmask(SIG_SETMASK, &old, NULL);
audit:
	if (!slot && hdr)
		slot = first_slot(hdr);
	snprintf(detail, sizeof(detail), "wrap slot %d", res->slot);
	audit("refresh", st, slot ? slot->cmk_id : NULL,
	      slot ? slot->kms_uri : NULL, res->slot >= 0 ? detail : NULL, r);
out:
	ec_secure_free(dk);
	free(hdr);
	free(st);
	return r;
}

/* ---- watch ---------------------------------------------------------- */

struct slot_check {
	const struct ec_wrap_slot *unusable;	/* first unusable slot */
	char unusable_why[EC_ERR_MAX];
	const struct ec_wrap_slot *unknown;	/* first unanswered slot */
	char unknown_why[EC_ERR_MAX];
	int unknown_r;
};

/*
 * 1 when @slot's CMK is Enabled; 0 when it is not (Disabled or
 * PendingDeletion: noted in @c); 0 with c->unknown when the KMS could not
 * tell.  A CMK the KMS does not know is not a reason to revoke: a key is
 * PendingDeletion (and revoked then) before it is gone, so "not found"
 * more likely means a KMS not there or misconfigured (a local keystore
 * whose storage is not mounted reads as empty).
 */
static int check_slot(const struct ec_wrap_slot *slot, struct slot_check *c)
{
	struct ec_key_info info;
	struct ec_kms *kms;
	int r;

	r = ec_kms_open(slot->kms_uri, &kms);
	if (!r) {
		r = ec_kms_describe_key(kms, slot->cmk_id, &info);
		ec_kms_close(kms);
	}
	if (!r && info.state == EC_KEY_ENABLED)
		return 1;
	if (!r) {
		if (!c->unusable) {
			c->unusable = slot;
			snprintf(c->unusable_why, sizeof(c->unusable_why),
				 "CMK %s is %s in %s", slot->cmk_id,
				 ec_key_state_name(info.state), slot->kms_uri);
		}
		return 0;
	}
	if (!c->unknown) {
		c->unknown = slot;
		c->unknown_r = r;
		snprintf(c->unknown_why, sizeof(c->unknown_why), "%s",
			 ec_err_msg());
	}
	return 0;
}

static void watch_volume(const char *name, ec_watch_report report,
			 void *arg, unsigned int *revoked,
			 unsigned int *failed)
{
	struct ec_watch_event ev = { .name = name };
	struct ec_revoke_result res;
	struct ec_volume_status *st;
	struct slot_check *c = NULL;
	const struct ec_wrap_slot *s;
	char why[2 * EC_ERR_MAX + PATH_MAX];
	int i, r;

	st = volume_status(name, &r);
	if (!st) {
		if (r == -ENODEV)	/* closed since the list */
			return;
		ev.verdict = EC_WATCH_UNKNOWN;
		ev.reason = ec_err_msg();
		ev.error = r;
		report(&ev, arg);
		return;
	}
	ev.volume_uuid = st->volume_uuid;
	ev.mode = table_mode(st->dm.table);
	if (!st->key_loaded) {
		ev.verdict = EC_WATCH_ALREADY;
		ev.reason = "the kernel holds no data key";
		goto report;
	}
	ev.verdict = EC_WATCH_UNKNOWN;
	c = calloc(1, sizeof(*c));
	if (!c) {
		ev.error = -ENOMEM;
		ev.reason = "out of memory";
		goto report;
	}
	if (!st->have_header) {
		ev.error = -EUCLEAN;
		snprintf(why, sizeof(why), "cannot read the header on %s",
			 st->device);
		ev.reason = why;
		goto report;
	}
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		s = &st->hdr.slots[i];
		if (!s->active)
			continue;
		if (check_slot(s, c)) {
			ev.verdict = EC_WATCH_USABLE;
			ev.cmk = s->cmk_id;
			ev.kms = s->kms_uri;
			snprintf(why, sizeof(why), "CMK %s is Enabled",
				 s->cmk_id);
			ev.reason = why;
			goto report;
		}
	}
	if (c->unknown) {
		ev.cmk = c->unknown->cmk_id;
		ev.kms = c->unknown->kms_uri;
		ev.error = c->unknown_r;
		ev.reason = c->unknown_why;
		goto report;
	}
	if (!c->unusable) {
		ev.error = -EUCLEAN;
		ev.reason = "the header has no wrap slot";
		goto report;
	}
	ev.cmk = c->unusable->cmk_id;
	ev.kms = c->unusable->kms_uri;
	ev.reason = c->unusable_why;
	r = revoke_status(st, "watch-revoke", ev.cmk, ev.kms, ev.reason, &res);
	if (r) {
		ev.verdict = EC_WATCH_FAILED;
		ev.error = r;
		snprintf(why, sizeof(why), "%s; revoke failed: %s",
			 c->unusable_why, ec_err_msg());
		ev.reason = why;
		(*failed)++;
	} else {
		ev.verdict = EC_WATCH_REVOKED;
		(*revoked)++;
	}
report:
	report(&ev, arg);
	free(c);
	free(st);
}

int ec_volume_watch_once(ec_watch_report report, void *arg,
			 unsigned int *revoked, unsigned int *failed)
{
	char **names;
	size_t n, i;
	int r;

	*revoked = 0;
	*failed = 0;
	r = ec_dm_list(&names, &n);
	if (r)
		return ec_err_prefix(r, "watch: cannot list the open volumes");
	for (i = 0; i < n; i++)
		watch_volume(names[i], report, arg, revoked, failed);
	ec_dm_list_free(names, n);
	return 0;
}
