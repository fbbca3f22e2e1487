// SPDX-License-Identifier: GPL-2.0
/*
 * Volumes: format, open, close, status, dump.
 *
 * Open is the heart of it: read and check the header, unwrap the data key
 * through the KMS of a wrap slot, check it against the key check value,
 * hand it to the kernel as a logon key for exactly as long as the dm table
 * takes to read it, and keep it nowhere else.
 */
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"
#include "dm-envcrypt.h"
#include "error.h"
#include "keyring.h"
#include "kms.h"
#include "policy.h"
#include "registry.h"
#include "secmem.h"
#include "volume.h"

/* What to do about an unusable CMK, after the KMS's own message. */
static const char *cmk_next_step(int r, const char *what)
{
	switch (r) {
	case -EKEYREVOKED:
		return what[0] == 'o' ?
			"enable it to open this volume" :
			"enable it, or choose another CMK";
	case -EKEYEXPIRED:
		return "cancel its deletion and enable it first";
	case -ENOKEY:
		return "check the key id or alias, and that this host uses the KMS that holds it";
	case -EKEYREJECTED:
		return "ask the CMK's owner to grant this host access";
	case -EHOSTUNREACH:
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -EAGAIN:
		return "retry when the KMS is reachable";
	case -EBADMSG:
		return "the header was changed, or the wrapped key belongs to another volume";
	default:
		return NULL;
	}
}

/*
 * "<device>: <KMS message>; <next step>".  For a key state the KMS may
 * know better (a revoked KMIP key cannot be enabled again): when its
 * message gives a next step of its own, after a "; ", that one stands.
 */
static int kms_error(int r, const char *device, const char *what)
{
	const char *next = cmk_next_step(r, what);
	char msg[EC_ERR_MAX];

	snprintf(msg, sizeof(msg), "%s", ec_err_msg());
	if ((r == -EKEYREVOKED || r == -EKEYEXPIRED) && strstr(msg, "; "))
		next = NULL;
	if (next && !strstr(msg, next))
		return ec_err_set(r, "%s: %s; %s", device, msg, next);
	return ec_err_set(r, "%s: %s", device, msg);
}

int ec_volume_new_uuid(uint8_t uuid[EC_UUID_SIZE])
{
	if (RAND_bytes(uuid, EC_UUID_SIZE) != 1)
		return ec_err_set(-EIO, "the random number generator failed");
	uuid[6] = (uuid[6] & 0x0f) | 0x40;	/* version 4 */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	return 0;
}

static int check_format_params(const char *device,
			       const struct ec_format_params *p)
{
	if (p->cipher && !ec_cipher_key_size(p->cipher))
		return ec_err_set(-EINVAL, "%s: unknown cipher '%s'; use %s or %s",
				  device, p->cipher, ENVCRYPT_CIPHER_AES_XTS,
				  ENVCRYPT_CIPHER_SM4_XTS);
	if (p->sector_size && p->sector_size != 512 &&
	    p->sector_size != 4096)
		return ec_err_set(-EINVAL, "%s: sector size %u is not supported; use 512 or 4096",
				  device, p->sector_size);
	if (p->label && strlen(p->label) >= EC_LABEL_MAX)
		return ec_err_set(-EINVAL, "%s: label is longer than %d bytes",
				  device, EC_LABEL_MAX - 1);
	return 0;
}

/* The CMK to format with: the one asked for, or the service key. */
static int format_cmk(const char *device, struct ec_kms *kms,
		      const char *cmk, struct ec_key_info *info)
{
	int r;

	if (!cmk) {
		/* before the service key is made on first use */
		r = ec_policy_check_service_key(device);
		if (r)
			return r;
		r = ec_kms_service_key(kms, info);
		if (r == -EOPNOTSUPP)
			return ec_err_set(-EINVAL, "%s: %s has no service key; choose a CMK with --key",
					  device, kms->name);
		return r ? kms_error(r, device, "format") : 0;
	}
	r = ec_kms_describe_key(kms, cmk, info);
	if (r)
		return kms_error(r, device, "format");
	if (info->service) {
		r = ec_policy_check_service_key(device);
		if (r)
			return r;
	}
	switch (info->state) {
	case EC_KEY_ENABLED:
		return 0;
	case EC_KEY_DISABLED:
		r = -EKEYREVOKED;
		break;
	case EC_KEY_PENDING_DELETION:
		r = -EKEYEXPIRED;
		break;
	}
	ec_err_set(r, "CMK %s%s%s%s is %s in %s", info->id,
		   info->alias[0] ? " (" : "", info->alias,
		   info->alias[0] ? ")" : "", ec_key_state_name(info->state),
		   kms->name);
	return kms_error(r, device, "format");
}

/* -EBUSY if the volume of @old is open: its header must not change. */
static int refuse_open_volume(const char *device,
			      const struct ec_header *old)
{
	char uuid[37], dm_uuid[64], name[EC_DM_NAME_MAX];

	ec_uuid_format(old->uuid, uuid);
	snprintf(dm_uuid, sizeof(dm_uuid), "%s%s", EC_DM_UUID_PREFIX, uuid);
	/* no device-mapper (< 0): nothing can be open */
	if (ec_dm_find_uuid(dm_uuid, name, sizeof(name)) <= 0)
		return 0;
	return ec_err_set(-EBUSY, "%s: volume %s is open as '%s'; close it before formatting",
			  device, uuid, name);
}

/* Zero what lies between the header copies and the data. */
static int wipe_header_area(const char *device, int fd, uint64_t end)
{
	static const uint8_t zero[65536];
	uint64_t pos = EC_HDR_COPIES * EC_HDR_COPY_SIZE;
	int r;

	while (pos < end) {
		size_t len = end - pos < sizeof(zero) ? end - pos :
							 sizeof(zero);

		r = ec_pwrite_full(fd, zero, len, pos);
		if (r)
			return ec_err_set(r, "%s: cannot write the header area: %s",
					  device, strerror(-r));
		pos += len;
	}
	return 0;
}

int ec_volume_new_header(const char *device,
			 const struct ec_format_params *p,
			 struct ec_header *hdr, uint8_t *dk, bool fresh)
{
	struct ec_wrap_slot *slot = &hdr->slots[0];
	struct ec_kms *kms = NULL;
	struct ec_key_info info;
	char context[EC_HDR_CONTEXT_MAX];
	size_t dk_len;
	int r;

	memset(hdr, 0, sizeof(*hdr));
	r = check_format_params(device, p);
	if (r)
		return r;
	if (!fresh && !p->cipher)
		return ec_err_set(-EINVAL, "%s: the cipher of the data key to wrap is not known",
				  device);
	r = ec_kms_open(p->kms_uri, &kms);
	if (r)
		goto out;
	r = format_cmk(device, kms, p->cmk, &info);
	if (r)
		goto out;

	r = ec_volume_new_uuid(hdr->uuid);
	if (r)
		goto out;
	snprintf(hdr->cipher, sizeof(hdr->cipher), "%s",
		 p->cipher ? p->cipher :
		 info.spec == EC_SPEC_SM4 ? ENVCRYPT_CIPHER_SM4_XTS :
					    ENVCRYPT_CIPHER_AES_XTS);
	r = ec_policy_check_cipher(hdr->cipher, device);
	if (r)
		goto out;
	hdr->sector_size = p->sector_size ? p->sector_size : 512;
	hdr->data_offset = EC_HDR_DATA_OFFSET;
	hdr->created = time(NULL);
	snprintf(hdr->label, sizeof(hdr->label), "%s",
		 p->label ? p->label : "");

	slot->active = true;
	slot->created = hdr->created;
	snprintf(slot->kms_uri, sizeof(slot->kms_uri), "%s", kms->uri);
	snprintf(slot->cmk_id, sizeof(slot->cmk_id), "%s", info.id);
	snprintf(slot->cmk_alias, sizeof(slot->cmk_alias), "%s", info.alias);

	r = ec_header_context(hdr, slot, context, sizeof(context));
	if (r < 0)
		goto out;
	dk_len = ec_cipher_key_size(hdr->cipher);
	if (fresh)
		r = ec_kms_generate_data_key(kms, info.id, dk, dk_len,
					     context, &slot->wrapped);
	else
		r = ec_kms_wrap(kms, info.id, dk, dk_len, context,
				&slot->wrapped);
	if (r) {
		r = kms_error(r, device, "format");
		goto out;
	}
	slot->cmk_version = slot->wrapped.cmk_version;
	ec_kcv(dk, dk_len, hdr->kcv);
out:
	ec_kms_close(kms);
	return r;
}

int ec_volume_format(const char *device, const struct ec_format_params *p,
		     struct ec_header *hdr)
{
	struct ec_blockdev dev = { .fd = -1 };
	uint8_t *dk = NULL;
	int r;

	memset(hdr, 0, sizeof(*hdr));
	r = check_format_params(device, p);
	if (r)
		return r;
	r = ec_blockdev_open(device, true, true, &dev);
	if (r)
		return r;
	if (dev.size < EC_HDR_DATA_OFFSET + 1024 * 1024) {
		r = ec_err_set(-ENOSPC, "%s: too small (%" PRIu64 " bytes); a volume needs at least %d MiB",
			       device, dev.size,
			       (int)(EC_HDR_DATA_OFFSET / 1048576 + 1));
		goto out;
	}
	dk = ec_secure_alloc(ENVCRYPT_MAX_KEY_SIZE);
	if (!dk) {
		r = -errno;	/* the message is set */
		goto out;
	}
	r = ec_volume_new_header(device, p, hdr, dk, true);
	if (r)
		goto out;

	/*
	 * Over an older header, continue its sequence: an interrupted
	 * format then leaves the new copy 0 newer than the old copy 1.
	 */
	{
		struct ec_header *old = malloc(sizeof(*old));

		if (old && ec_header_read(dev.fd, old, NULL) == 0) {
			hdr->seq = old->seq;
			r = refuse_open_volume(device, old);
		}
		free(old);
		if (r)
			goto out;
		ec_err_clear();
	}
	r = wipe_header_area(device, dev.fd, hdr->data_offset);
	if (r)
		goto out;
	r = ec_header_write(dev.fd, hdr);
	if (r)
		ec_err_prefix(r, "%s", device);
	else
		ec_registry_note(device, hdr);	/* best effort */
out:
	ec_secure_free(dk);
	ec_blockdev_close(&dev);
	return r;
}

/*
 * Unwrap the data key through the first wrap slot that can; the error of
 * the first slot when none can (it names that slot's CMK and KMS).
 */
static int unwrap_data_key(const char *device, const struct ec_header *hdr,
			   uint8_t *dk, size_t dk_len, int *slot_used)
{
	char first_msg[EC_ERR_MAX] = "";
	char context[EC_HDR_CONTEXT_MAX];
	struct ec_kms *kms;
	int i, r, first_r = 0;

	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *slot = &hdr->slots[i];

		if (!slot->active)
			continue;
		r = ec_header_context(hdr, slot, context, sizeof(context));
		if (r >= 0) {
			r = ec_kms_open(slot->kms_uri, &kms);
			/* the header names a KMS this tool cannot use */
			if (r == -EINVAL)
				r = -EOPNOTSUPP;
		}
		if (r >= 0) {
			r = ec_kms_unwrap(kms, slot->cmk_id, &slot->wrapped,
					  context, dk, dk_len);
			ec_kms_close(kms);
		}
		if (!r) {
			*slot_used = i;
			return 0;
		}
		if (!first_r) {
			first_r = r;
			snprintf(first_msg, sizeof(first_msg), "%s",
				 ec_err_msg());
		}
	}
	if (!first_r)
		return ec_err_set(-EUCLEAN, "%s: the header has no wrap slot",
				  device);
	ec_err_set(first_r, "%s", first_msg);
	return kms_error(first_r, device, "open");
}

static int check_kcv(const char *device, const struct ec_header *hdr,
		     const uint8_t *dk, size_t dk_len)
{
	uint8_t kcv[EC_HDR_KCV_SIZE];
	int same;

	ec_kcv(dk, dk_len, kcv);
	same = !CRYPTO_memcmp(kcv, hdr->kcv, sizeof(kcv));
	ec_wipe(kcv, sizeof(kcv));
	if (!same)
		return ec_err_set(-EBADMSG, "%s: the unwrapped data key does not match the header's key check value; the header was tampered with: restore it from a backup",
				  device);
	return 0;
}

int ec_volume_read_header(const char *device, const struct ec_blockdev *dev,
			  struct ec_header *hdr, struct ec_header_load *load,
			  const char *no_header_fix)
{
	int r;

	r = ec_header_read(dev->fd, hdr, load);
	if (r == -ENODATA)
		return ec_err_set(r, "%s: not an envcrypt volume (no header); %s",
				  device, no_header_fix);
	if (r)
		return ec_err_prefix(r, "%s", device);
	if (hdr->data_offset > dev->size ||
	    dev->size - hdr->data_offset < hdr->sector_size)
		return ec_err_set(-EUCLEAN, "%s: the device (%" PRIu64 " bytes) ends before the header's data offset %" PRIu64,
				  device, dev->size, hdr->data_offset);
	return 0;
}

/*
 * Rewrite a damaged or stale copy from the one read; only once the data
 * key has unwrapped and matched, so that a forged copy that wins on its
 * sequence number can never overwrite the good one.
 */
static int repair_header(const char *device, struct ec_blockdev *dev,
			 const struct ec_header *hdr,
			 const struct ec_header_load *load, bool *repaired)
{
	int r;

	if (load->copy[0] == EC_COPY_OK && load->copy[1] == EC_COPY_OK)
		return 0;
	r = ec_header_repair(dev->fd, hdr, load);
	if (r)
		return ec_err_prefix(r, "%s: repairing the header", device);
	*repaired = true;
	return 0;
}

/* on_key_wipe:queue is the target's default: only error is written. */
static void table_params(const struct ec_header *hdr, const char *desc,
			 uint32_t major_nr, uint32_t minor_nr,
			 bool on_revoke_error, char *buf, size_t size)
{
	bool big = hdr->sector_size != 512;
	size_t n;

	n = snprintf(buf, size, "%s :%zu:%s:%s 0 %u:%u %" PRIu64, hdr->cipher,
		     ec_cipher_key_size(hdr->cipher), ENVCRYPT_KEY_TYPE, desc,
		     major_nr, minor_nr, hdr->data_offset / 512);
	if ((big || on_revoke_error) && n < size)
		n += snprintf(buf + n, size - n, " %d", big + on_revoke_error);
	if (big && n < size)
		n += snprintf(buf + n, size - n, " %s%u",
			      ENVCRYPT_OPT_SECTOR_SIZE, hdr->sector_size);
	if (on_revoke_error && n < size)
		snprintf(buf + n, size - n, " %serror",
			 ENVCRYPT_OPT_ON_KEY_WIPE);
}

/* Why create failed: the name taken, the volume open, or else. */
static int create_error(int r, const char *device, const char *name,
			const char *uuid)
{
	char msg[EC_ERR_MAX], dm_uuid[64], other[EC_DM_NAME_MAX];
	struct ec_dm_info info;

	snprintf(msg, sizeof(msg), "%s", ec_err_msg());
	/* the target's keyring lookup failed: not a CMK problem */
	if (r == -ENOKEY || r == -EKEYREVOKED || r == -EKEYEXPIRED ||
	    r == -EKEYREJECTED)
		r = -EIO;
	if (!ec_dm_info(name, &info) && info.exists)
		return ec_err_set(-EEXIST, "%s: a device named '%s' already exists; choose another name or close it",
				  device, name);
	snprintf(dm_uuid, sizeof(dm_uuid), "%s%s", EC_DM_UUID_PREFIX, uuid);
	if (ec_dm_find_uuid(dm_uuid, other, sizeof(other)) > 0)
		return ec_err_set(-EBUSY, "%s: volume %s is already open as '%s'; close it first",
				  device, uuid, other);
	return ec_err_set(r, "%s: %s", device, msg);
}

/* Create the dm device @name reading the data key from the keyring. */
static int activate(const char *device, const char *name,
		    const struct ec_header *hdr, const uint8_t *dk,
		    size_t dk_len, struct ec_blockdev *dev,
		    const struct ec_open_params *p, struct ec_open_result *res)
{
	char desc[64], uuid[37], dm_uuid[64], params[512];
	uint32_t major_nr = dev->major, minor_nr = dev->minor;
	uint64_t sectors;
	int loop_fd = -1;
	int32_t serial;
	int r;

	ec_uuid_format(hdr->uuid, uuid);
	snprintf(desc, sizeof(desc), "%s%s", EC_KEYRING_DESC_PREFIX, uuid);
	snprintf(dm_uuid, sizeof(dm_uuid), "%s%s", EC_DM_UUID_PREFIX, uuid);
	sectors = (dev->size - hdr->data_offset) / hdr->sector_size *
		  (hdr->sector_size / 512);

	if (dev->is_file) {
		r = ec_loop_attach(device, p->readonly, &loop_fd, res->loop,
				   sizeof(res->loop), &major_nr, &minor_nr);
		if (r)
			return r;
	}
	table_params(hdr, desc, major_nr, minor_nr, p->on_revoke_error,
		     params, sizeof(params));
	r = ec_keyring_add(desc, dk, dk_len, &serial);
	if (r)
		goto out;
	r = ec_dm_create(name, dm_uuid, sectors, params, p->readonly);
	ec_keyring_drop(serial);
	if (r)
		r = create_error(r, device, name, uuid);
out:
	if (loop_fd >= 0)
		close(loop_fd);
	return r;
}

int ec_volume_unwrap(const char *device, const struct ec_header *hdr,
		     uint8_t *dk, size_t dk_len, int *slot)
{
	int r;

	r = unwrap_data_key(device, hdr, dk, dk_len, slot);
	return r ? r : check_kcv(device, hdr, dk, dk_len);
}

int ec_volume_usable_cmk(const char *device, struct ec_kms *kms,
			 const char *cmk, struct ec_key_info *info)
{
	return format_cmk(device, kms, cmk, info);
}

int ec_volume_open(const char *device, const char *name,
		   const struct ec_open_params *p,
		   struct ec_open_result *res)
{
	struct ec_header *hdr = &res->hdr;
	struct ec_blockdev dev = { .fd = -1 };
	struct ec_header_load load;
	uint8_t *dk = NULL;
	size_t dk_len;
	int r;

	memset(res, 0, sizeof(*res));
	res->slot = -1;
	if (!p->verify_only && (!name || !name[0] || strchr(name, '/') ||
				strlen(name) >= EC_DM_NAME_MAX))
		return ec_err_set(-EINVAL, "'%s' is not a valid volume name: use up to %d characters, no '/'",
				  name ? name : "", EC_DM_NAME_MAX - 1);
	r = ec_blockdev_open(device, !p->readonly, false, &dev);
	if (r)
		return r;
	r = ec_volume_read_header(device, &dev, hdr, &load,
				  "create one with 'envcryptctl format'");
	if (r)
		goto out;
	dk_len = ec_cipher_key_size(hdr->cipher);
	dk = ec_secure_alloc(dk_len);
	if (!dk) {
		r = -errno;	/* the message is set */
		goto out;
	}
	r = unwrap_data_key(device, hdr, dk, dk_len, &res->slot);
	if (r)
		goto out;
	r = check_kcv(device, hdr, dk, dk_len);
	if (!r && !p->readonly)
		r = repair_header(device, &dev, hdr, &load, &res->repaired);
	if (r || p->verify_only)
		goto out;
	r = ec_dm_load_target();
	if (r)
		goto out;
	r = activate(device, name, hdr, dk, dk_len, &dev, p, res);
	if (!r)
		ec_registry_note(device, hdr);	/* best effort */
out:
	ec_secure_free(dk);
	ec_blockdev_close(&dev);
	return r;
}

int ec_volume_close(const char *name)
{
	struct ec_dm_info info;
	int r;

	r = ec_dm_info(name, &info);
	if (r)
		return r;
	if (!info.exists || strncmp(info.uuid, EC_DM_UUID_PREFIX,
				    strlen(EC_DM_UUID_PREFIX)))
		return ec_err_set(-ENODEV, "no open envcrypt volume '%s'; see 'envcryptctl list'",
				  name);
	return ec_dm_remove(name);
}

/* "key:loaded kcv:abcdef" and the rest of the INFO status. */
static void parse_status(const char *status, struct ec_volume_status *st)
{
	const char *p;

	st->key_loaded = strstr(status, "key:loaded") != NULL;
	p = strstr(status, "kcv:");
	if (p)
		sscanf(p + 4, "%15[0-9a-f]", st->kcv);
}

int ec_volume_status(const char *name, struct ec_volume_status *st)
{
	struct ec_blockdev dev;
	char kcv_hex[2 * ENVCRYPT_KCV_SIZE + 1];
	unsigned int major_nr, minor_nr;
	unsigned long long offset;
	int i, r;

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", name);
	r = ec_dm_info(name, &st->dm);
	if (r)
		return r;
	if (!st->dm.exists || strncmp(st->dm.uuid, EC_DM_UUID_PREFIX,
				       strlen(EC_DM_UUID_PREFIX)))
		return ec_err_set(-ENODEV, "no open envcrypt volume '%s'; see 'envcryptctl list'",
				  name);
	snprintf(st->volume_uuid, sizeof(st->volume_uuid), "%s",
		 st->dm.uuid + strlen(EC_DM_UUID_PREFIX));
	/* <cipher> <key> <iv_offset> <major:minor> <offset> [opts] */
	if (sscanf(st->dm.table, "%31s %*s %*s %u:%u %llu", st->cipher,
		   &major_nr, &minor_nr, &offset) != 4)
		return ec_err_set(-EIO, "%s: unexpected table '%s'", name,
				  st->dm.table);
	st->data_offset = offset * 512;
	st->sector_size = strstr(st->dm.table, "sector_size:4096") ? 4096 :
								      512;
	ec_blockdev_path(major_nr, minor_nr, st->device, sizeof(st->device));
	parse_status(st->dm.status, st);

	if (ec_blockdev_open(st->device, false, false, &dev) == 0) {
		if (ec_header_read(dev.fd, &st->hdr, NULL) == 0)
			st->have_header = true;
		ec_blockdev_close(&dev);
	}
	ec_err_clear();
	if (st->have_header && st->key_loaded) {
		for (i = 0; i < ENVCRYPT_KCV_SIZE; i++)
			snprintf(kcv_hex + 2 * i, 3, "%02x", st->hdr.kcv[i]);
		st->kcv_matches = !strcmp(kcv_hex, st->kcv);
	}
	return 0;
}

int ec_volume_dump(const char *device, struct ec_header *hdr,
		   struct ec_header_load *load)
{
	struct ec_blockdev dev;
	int r;

	r = ec_blockdev_open(device, false, false, &dev);
	if (r)
		return r;
	r = ec_header_read(dev.fd, hdr, load);
	ec_blockdev_close(&dev);
	if (r == -ENODATA)
		return ec_err_set(r, "%s: not an envcrypt volume (no header)",
				  device);
	if (r)
		return ec_err_prefix(r, "%s", device);
	return 0;
}
