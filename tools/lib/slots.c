// SPDX-License-Identifier: GPL-2.0
/*
 * Wrap slots: rewrap, share, unshare (slots.h).
 *
 * The data key is unwrapped into locked memory, wrapped again under the
 * new slot's encryption context, and the new wrap is unwrapped once more
 * and compared before the header changes: a header is only ever written
 * with slots that are known to open.  The header is written once, with
 * ec_header_write (copy 0, sync, copy 1, sync), so every interruption
 * leaves the old state or the new one.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include "audit.h"
#include "blockdev.h"
#include "error.h"
#include "kms.h"
#include "registry.h"
#include "secmem.h"
#include "slots.h"
#include "volume.h"

/* "CMK <id> (alias/x)": how messages name a slot's or a key's CMK. */
static void cmk_name(const char *id, const char *alias, char *buf,
		     size_t size)
{
	snprintf(buf, size, "CMK %s%s%s%s", id, alias[0] ? " (" : "", alias,
		 alias[0] ? ")" : "");
}

/*
 * Open @device read-write, but not exclusively: the volume may be open
 * in the kernel, and only the header changes.  An flock keeps two slot
 * commands on one device from overwriting each other's change.
 */
static int load(const char *device, struct ec_blockdev *dev,
		struct ec_header *hdr)
{
	struct ec_header_load hl;
	int r;

	r = ec_blockdev_open(device, true, false, dev);
	if (r)
		return r;
	if (flock(dev->fd, LOCK_EX) < 0) {
		r = -errno;
		ec_err_set(r, "%s: cannot lock the device: %s", device,
			   strerror(-r));
		goto fail;
	}
	r = ec_header_read(dev->fd, hdr, &hl);
	if (r == -ENODATA) {
		ec_err_set(r, "%s: not an envcrypt volume (no header); create one with 'envcryptctl format'",
			   device);
		goto fail;
	}
	if (r) {
		ec_err_prefix(r, "%s", device);
		goto fail;
	}
	/*
	 * A copy left stale or damaged by an earlier interruption is made
	 * whole first: ec_header_write overwrites copy 0 first, and if that
	 * were interrupted too, no copy would hold the current state.
	 */
	if (hl.copy[0] != EC_COPY_OK || hl.copy[1] != EC_COPY_OK) {
		r = ec_header_repair(dev->fd, hdr, &hl);
		if (r) {
			ec_err_prefix(r, "%s: repairing the header before changing it",
				      device);
			goto fail;
		}
	}
	return 0;
fail:
	ec_blockdev_close(dev);
	return r;
}

static int check_slot_number(int slot)
{
	if (slot >= EC_HDR_SLOTS)
		return ec_err_set(-EINVAL, "wrap slot %d does not exist: slots are 0 to %d",
				  slot, EC_HDR_SLOTS - 1);
	return 0;
}

static int need_active(const char *device, const struct ec_header *hdr,
		       int slot)
{
	if (!hdr->slots[slot].active)
		return ec_err_set(-ENOENT, "%s: wrap slot %d is empty; see 'envcryptctl dump %s'",
				  device, slot, device);
	return 0;
}

/* The active slot of @cmk_id in @kms_uri other than @except, or -1. */
static int find_cmk(const struct ec_header *hdr, const char *kms_uri,
		    const char *cmk_id, int except)
{
	int i;

	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &hdr->slots[i];

		if (i != except && s->active && !strcmp(s->cmk_id, cmk_id) &&
		    !strcmp(s->kms_uri, kms_uri))
			return i;
	}
	return -1;
}

/* "0, 2" */
static void active_list(const struct ec_header *hdr, char *buf,
			size_t size, int *count)
{
	size_t used = 0;
	int i, n;

	buf[0] = '\0';
	*count = 0;
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		if (!hdr->slots[i].active)
			continue;
		n = snprintf(buf + used, size - used, "%s%d",
			     *count ? ", " : "", i);
		if (n > 0 && (size_t)n < size - used)
			used += n;
		(*count)++;
	}
}

/*
 * Fill slot @i of @hdr for CMK @info in @kms with the data key @dk,
 * wrapped under that slot's encryption context, and prove the wrap by
 * unwrapping it again.  @hdr->slots[@i] is only changed on success.
 */
static int wrap_slot(const char *device, struct ec_header *hdr, int i,
		     struct ec_kms *kms, const struct ec_key_info *info,
		     const uint8_t *dk, size_t dk_len)
{
	char context[EC_HDR_CONTEXT_MAX];
	struct ec_wrap_slot *slot;
	uint8_t *check = NULL;
	int r;

	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return ec_err_set(-ENOMEM, "out of memory");
	slot->active = true;
	slot->created = time(NULL);
	snprintf(slot->kms_uri, sizeof(slot->kms_uri), "%s", kms->uri);
	snprintf(slot->cmk_id, sizeof(slot->cmk_id), "%s", info->id);
	snprintf(slot->cmk_alias, sizeof(slot->cmk_alias), "%s",
		 info->alias);
	r = ec_header_context(hdr, slot, context, sizeof(context));
	if (r < 0) {
		ec_err_set(r, "%s: the encryption context of wrap slot %d is too long",
			   device, i);
		goto out;
	}
	r = ec_kms_wrap(kms, info->id, dk, dk_len, context, &slot->wrapped);
	if (r) {
		ec_err_prefix(r, "%s", device);
		goto out;
	}
	slot->cmk_version = slot->wrapped.cmk_version;

	check = ec_secure_alloc(dk_len);
	if (!check) {
		r = -errno;	/* the message is set */
		goto out;
	}
	r = ec_kms_unwrap(kms, info->id, &slot->wrapped, context, check,
			  dk_len);
	if (!r && CRYPTO_memcmp(check, dk, dk_len))
		r = ec_err_set(-EBADMSG, "the wrapped key %s returned unwraps to another key",
			       kms->name);
	if (r) {
		ec_err_prefix(r, "%s: the new wrap of wrap slot %d does not unwrap; the header was not changed",
			      device, i);
		goto out;
	}
	hdr->slots[i] = *slot;
out:
	ec_secure_free(check);
	ec_wipe(context, sizeof(context));
	free(slot);
	return r;
}

/* Unwrap the data key of @hdr (locked memory, freed by the caller). */
static int get_data_key(const char *device, const struct ec_header *hdr,
			uint8_t **dk, size_t *dk_len, int *used)
{
	int r;

	*dk_len = ec_cipher_key_size(hdr->cipher);
	*dk = ec_secure_alloc(*dk_len);
	if (!*dk)
		return -errno;	/* the message is set */
	r = ec_volume_unwrap(device, hdr, *dk, *dk_len, used);
	if (r) {
		ec_secure_free(*dk);
		*dk = NULL;
	}
	return r;
}

static int write_header(const char *device, struct ec_blockdev *dev,
			struct ec_header *hdr)
{
	int r;

	r = ec_header_write(dev->fd, hdr);
	if (r)
		return ec_err_prefix(r, "%s: writing the header (the volume opens with the old or the new wrap slots)",
				     device);
	ec_registry_note(device, hdr);	/* best effort */
	return 0;
}

static void slot_text(const struct ec_wrap_slot *s, char *buf, size_t size)
{
	snprintf(buf, size, "CMK %s version %u in %s", s->cmk_id,
		 s->cmk_version, s->kms_uri);
}

/* The audit record of a slot command on a volume whose header was read. */
static void audit(const char *op, const char *device,
		  const struct ec_header *hdr, const char *cmk,
		  const char *kms, const char *detail, int r)
{
	struct ec_audit a = {
		.op = op,
		.device = device,
		.cmk = cmk,
		.kms = kms,
		.detail = detail,
	};
	char uuid[37];

	ec_uuid_format(hdr->uuid, uuid);
	a.volume = uuid;
	ec_audit_log(&a, r);
}

/* ---- rewrap ---------------------------------------------------------- */

static int check_rewrap_params(const struct ec_rewrap_params *p)
{
	if (p->rotate && p->cmk)
		return ec_err_set(-EINVAL, "rewrap: --rotate keeps the slot's CMK; give either --key or --rotate");
	if (p->rotate && p->kms_uri)
		return ec_err_set(-EINVAL, "rewrap: --rotate keeps the slot's KMS; --kms goes with --key");
	if (!p->rotate && !p->cmk)
		return ec_err_set(-EINVAL, "rewrap: give --key CMK (wrap under another CMK) or --rotate (under the newest version of the slot's CMK)");
	return check_slot_number(p->slot);
}

/* The slot to rewrap: the one asked for, or the only one. */
static int rewrap_slot(const char *device, const struct ec_header *hdr,
		       int want, int *slot)
{
	char list[64];
	int i, count;

	if (want >= 0) {
		if (!hdr->slots[want].active)
			return need_active(device, hdr, want);
		*slot = want;
		return 0;
	}
	active_list(hdr, list, sizeof(list), &count);
	if (count != 1)
		return ec_err_set(-EINVAL, "%s: the volume has %d wrap slots (%s); choose one with --slot",
				  device, count, list);
	for (i = 0; !hdr->slots[i].active; i++)
		;
	*slot = i;
	return 0;
}

/* What refuses the new CMK @info in @kms for slot @n. */
static int check_rewrap_target(const char *device,
			       const struct ec_header *hdr, int n,
			       const struct ec_kms *kms,
			       const struct ec_key_info *info, bool rotate)
{
	const struct ec_wrap_slot *old = &hdr->slots[n];
	char name[EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8];
	int other;

	cmk_name(info->id, info->alias, name, sizeof(name));
	if (rotate) {
		if (old->cmk_version >= info->versions)
			return ec_err_set(-EINVAL, "%s: wrap slot %d is already wrapped by the newest version (%u) of %s; rotate the CMK first with 'envcryptctl kms rotate-key'",
					  device, n, old->cmk_version, name);
		return 0;
	}
	if (!strcmp(old->cmk_id, info->id) && !strcmp(old->kms_uri, kms->uri))
		return ec_err_set(-EINVAL, "%s: wrap slot %d is already wrapped by %s in %s; choose another CMK, or give --rotate to wrap under its newest version",
				  device, n, name, kms->uri);
	other = find_cmk(hdr, kms->uri, info->id, n);
	if (other >= 0)
		return ec_err_set(-EEXIST, "%s: %s in %s already wraps this volume in wrap slot %d; to drop wrap slot %d instead, use 'envcryptctl unshare %s --slot %d'",
				  device, name, kms->uri, other, n, device,
				  n);
	return 0;
}

int ec_volume_rewrap(const char *device, const struct ec_rewrap_params *p,
		     struct ec_slot_change *res)
{
	struct ec_header *hdr = &res->hdr;
	struct ec_blockdev dev = { .fd = -1 };
	struct ec_kms *kms = NULL;
	struct ec_key_info info;
	char detail[1152], from[512], to[512];
	uint8_t *dk = NULL;
	size_t dk_len = 0;
	int n = -1, r;

	memset(res, 0, sizeof(*res));
	res->slot = -1;
	res->unwrapped_by = -1;
	memset(&info, 0, sizeof(info));
	r = check_rewrap_params(p);
	if (r)
		return r;
	r = load(device, &dev, hdr);
	if (r)
		return r;
	r = rewrap_slot(device, hdr, p->slot, &n);
	if (r)
		goto out;
	res->slot = n;
	res->old = hdr->slots[n];
	r = ec_kms_open(p->rotate || !p->kms_uri ? res->old.kms_uri :
						    p->kms_uri, &kms);
	if (r)
		goto out;
	r = ec_volume_usable_cmk(device, kms,
				 p->rotate ? res->old.cmk_id : p->cmk, &info);
	if (r)
		goto out;
	r = check_rewrap_target(device, hdr, n, kms, &info, p->rotate);
	if (r)
		goto out;
	r = get_data_key(device, hdr, &dk, &dk_len, &res->unwrapped_by);
	if (r)
		goto out;
	r = wrap_slot(device, hdr, n, kms, &info, dk, dk_len);
	if (r)
		goto out;
	r = write_header(device, &dev, hdr);
out:
	ec_secure_free(dk);
	if (n >= 0) {
		slot_text(&res->old, from, sizeof(from));
		if (!r)
			slot_text(&hdr->slots[n], to, sizeof(to));
		else
			snprintf(to, sizeof(to), "CMK %s in %s",
				 info.id[0] ? info.id :
				 p->cmk ? p->cmk : res->old.cmk_id,
				 kms ? kms->uri : p->kms_uri ? p->kms_uri :
				 res->old.kms_uri);
		snprintf(detail, sizeof(detail), "slot %d%s: %s -> %s", n,
			 p->rotate ? " (rotate)" : "", from, to);
	} else {
		snprintf(detail, sizeof(detail), "no slot chosen");
	}
	audit("rewrap", device, hdr, info.id[0] ? info.id : p->cmk,
	      kms ? kms->uri : p->kms_uri, detail, r);
	ec_kms_close(kms);
	ec_blockdev_close(&dev);
	return r;
}

/* ---- share ----------------------------------------------------------- */

/* A volume wrapped only by service keys cannot be shared. */
static int refuse_service_only(const char *device,
			       const struct ec_header *hdr)
{
	const struct ec_wrap_slot *first = NULL;
	int i;

	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &hdr->slots[i];

		if (!s->active)
			continue;
		if (strcmp(s->cmk_alias, EC_SERVICE_KEY_ALIAS))
			return 0;
		if (!first)
			first = s;
	}
	return ec_err_set(-EPERM, "%s: the volume is wrapped only by the service key %s of %s, which cannot be shared with another account; copy it under a CMK first: envcryptctl copy %s DEST --key CMK",
			  device, EC_SERVICE_KEY_ALIAS,
			  first ? first->kms_uri : "its KMS", device);
}

static int free_slot(const char *device, const struct ec_header *hdr,
		     int *slot)
{
	int i;

	for (i = 0; i < EC_HDR_SLOTS; i++) {
		if (!hdr->slots[i].active) {
			*slot = i;
			return 0;
		}
	}
	return ec_err_set(-ENOSPC, "%s: all %d wrap slots are in use; remove one with 'envcryptctl unshare %s --slot N' first",
			  device, EC_HDR_SLOTS, device);
}

static int check_share_target(const char *device,
			      const struct ec_header *hdr,
			      const struct ec_kms *kms,
			      const struct ec_key_info *info)
{
	char name[EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8];
	int other;

	cmk_name(info->id, info->alias, name, sizeof(name));
	if (info->service)
		return ec_err_set(-EPERM, "%s: %s is the service key of %s and cannot be a share's recipient; give a CMK the recipient created",
				  device, name, kms->name);
	other = find_cmk(hdr, kms->uri, info->id, -1);
	if (other >= 0)
		return ec_err_set(-EEXIST, "%s: %s in %s already wraps this volume in wrap slot %d",
				  device, name, kms->uri, other);
	return 0;
}

int ec_volume_share(const char *device, const char *kms_uri,
		    const char *cmk, struct ec_slot_change *res)
{
	struct ec_header *hdr = &res->hdr;
	struct ec_blockdev dev = { .fd = -1 };
	struct ec_kms *kms = NULL;
	struct ec_key_info info;
	char detail[1152], to[512];
	uint8_t *dk = NULL;
	size_t dk_len = 0;
	int i, n = -1, r;

	memset(res, 0, sizeof(*res));
	res->slot = -1;
	res->unwrapped_by = -1;
	memset(&info, 0, sizeof(info));
	if (!cmk || !cmk[0])
		return ec_err_set(-EINVAL, "share: give the recipient's CMK with --key");
	r = load(device, &dev, hdr);
	if (r)
		return r;
	r = refuse_service_only(device, hdr);
	if (r)
		goto audit;
	r = free_slot(device, hdr, &n);
	if (r)
		goto audit;
	if (!kms_uri) {
		for (i = 0; !hdr->slots[i].active; i++)
			;
		kms_uri = hdr->slots[i].kms_uri;
	}
	r = ec_kms_open(kms_uri, &kms);
	if (r)
		goto audit;
	r = ec_volume_usable_cmk(device, kms, cmk, &info);
	if (r)
		goto audit;
	r = check_share_target(device, hdr, kms, &info);
	if (r)
		goto audit;
	r = get_data_key(device, hdr, &dk, &dk_len, &res->unwrapped_by);
	if (r)
		goto audit;
	r = wrap_slot(device, hdr, n, kms, &info, dk, dk_len);
	if (r)
		goto audit;
	res->slot = n;
	r = write_header(device, &dev, hdr);
audit:
	if (!r)
		slot_text(&hdr->slots[n], to, sizeof(to));
	else
		snprintf(to, sizeof(to), "CMK %s in %s",
			 info.id[0] ? info.id : cmk,
			 kms ? kms->uri : kms_uri ? kms_uri : "the first slot's KMS");
	if (n >= 0)
		snprintf(detail, sizeof(detail), "slot %d: %s", n, to);
	else
		snprintf(detail, sizeof(detail), "%s", to);
	audit("share", device, hdr, info.id[0] ? info.id : cmk,
	      kms ? kms->uri : kms_uri, detail, r);
	ec_secure_free(dk);
	ec_kms_close(kms);
	ec_blockdev_close(&dev);
	return r;
}

/* ---- unshare --------------------------------------------------------- */

/* The active slot of CMK @cmk (a key id or alias). */
static int find_unshare_slot(const char *device, const struct ec_header *hdr,
			     const char *cmk, int *slot)
{
	char list[64];
	size_t used = 0;
	int i, n, count = 0;

	list[0] = '\0';
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &hdr->slots[i];

		if (!s->active || (strcmp(s->cmk_id, cmk) &&
				   strcmp(s->cmk_alias, cmk)))
			continue;
		*slot = i;
		n = snprintf(list + used, sizeof(list) - used, "%s%d",
			     count ? ", " : "", i);
		if (n > 0 && (size_t)n < sizeof(list) - used)
			used += n;
		count++;
	}
	if (!count)
		return ec_err_set(-ENOENT, "%s: no wrap slot of this volume uses CMK %s; see 'envcryptctl dump %s'",
				  device, cmk, device);
	if (count > 1)
		return ec_err_set(-EINVAL, "%s: CMK %s wraps this volume in wrap slots %s; choose one with --slot",
				  device, cmk, list);
	return 0;
}

/*
 * Refuse to remove slot @n unless another slot unwraps the data key and
 * the key matches: the volume must stay openable.
 */
static int keep_one_usable(const char *device, const struct ec_header *hdr,
			   int n)
{
	struct ec_header *rest;
	char msg[EC_ERR_MAX];
	uint8_t *dk = NULL;
	size_t dk_len;
	int count, used, r;
	char list[64];

	active_list(hdr, list, sizeof(list), &count);
	if (count == 1)
		return ec_err_set(-EINVAL, "%s: wrap slot %d is the volume's only wrap slot; removing it would lose the data",
				  device, n);
	rest = malloc(sizeof(*rest));
	if (!rest)
		return ec_err_set(-ENOMEM, "out of memory");
	*rest = *hdr;
	memset(&rest->slots[n], 0, sizeof(rest->slots[n]));
	r = get_data_key(device, rest, &dk, &dk_len, &used);
	free(rest);
	ec_secure_free(dk);
	if (r) {
		snprintf(msg, sizeof(msg), "%s", ec_err_msg());
		return ec_err_set(-EINVAL, "%s: wrap slot %d is the last usable wrap slot: no other slot unwraps the data key (%s); removing it would lose the data",
				  device, n, msg);
	}
	return 0;
}

int ec_volume_unshare(const char *device, int slot, const char *cmk,
		      struct ec_slot_change *res)
{
	struct ec_header *hdr = &res->hdr;
	struct ec_blockdev dev = { .fd = -1 };
	char detail[1152], from[512];
	int n = slot, r;

	memset(res, 0, sizeof(*res));
	res->slot = -1;
	res->unwrapped_by = -1;
	if (slot >= 0 && cmk)
		return ec_err_set(-EINVAL, "unshare: give --slot N or --key CMK, not both");
	if (slot < 0 && !cmk)
		return ec_err_set(-EINVAL, "unshare: give the wrap slot to remove with --slot N or --key CMK");
	r = check_slot_number(slot);
	if (r)
		return r;
	r = load(device, &dev, hdr);
	if (r)
		return r;
	if (slot >= 0)
		r = need_active(device, hdr, slot);
	else
		r = find_unshare_slot(device, hdr, cmk, &n);
	if (r) {
		n = -1;
		goto audit;
	}
	res->old = hdr->slots[n];
	r = keep_one_usable(device, hdr, n);
	if (r)
		goto audit;
	memset(&hdr->slots[n], 0, sizeof(hdr->slots[n]));
	res->slot = n;
	r = write_header(device, &dev, hdr);
audit:
	if (n >= 0) {
		slot_text(&res->old, from, sizeof(from));
		snprintf(detail, sizeof(detail), "slot %d: %s", n, from);
	} else {
		snprintf(detail, sizeof(detail), "slot %d", slot);
	}
	audit("unshare", device, hdr, n >= 0 ? res->old.cmk_id : cmk,
	      n >= 0 ? res->old.kms_uri : NULL,
	      n >= 0 || slot >= 0 ? detail : NULL, r);
	ec_blockdev_close(&dev);
	return r;
}
