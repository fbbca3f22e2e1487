/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Volumes: format a device with a header and a wrapped data key, open it
 * as a device-mapper device through the KMS and the kernel keyring, close
 * it, and describe it.  What the CLI commands do, without the printing.
 */
#ifndef ENVCRYPT_VOLUME_H
#define ENVCRYPT_VOLUME_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "dm.h"
#include "header.h"

struct ec_blockdev;

struct ec_format_params {
	const char *kms_uri;		/* NULL: "local:" */
	const char *cmk;		/* key id or alias; NULL: service key */
	const char *cipher;		/* NULL: the one of the CMK's spec */
	uint32_t sector_size;		/* 0: 512 */
	const char *label;		/* NULL: none */
};

struct ec_open_params {
	bool readonly;
	bool verify_only;		/* unwrap and check, create nothing */
	bool on_revoke_error;		/* on_key_wipe:error, not queue */
};

/* What open did, for the CLI to report. */
struct ec_open_result {
	struct ec_header hdr;
	int slot;			/* the wrap slot that unwrapped */
	bool repaired;			/* a header copy was rewritten */
	char loop[PATH_MAX];		/* loop device for a file, or "" */
};

struct ec_volume_status {
	char name[EC_DM_NAME_MAX];
	struct ec_dm_info dm;
	char device[PATH_MAX];		/* the backing device */
	char volume_uuid[37];
	char cipher[EC_CIPHER_MAX];
	uint32_t sector_size;
	uint64_t data_offset;		/* bytes */
	bool key_loaded;
	char kcv[16];			/* the kernel's key check value */
	bool have_header;		/* hdr read from the device */
	bool kcv_matches;		/* kernel's KCV == header's */
	struct ec_header hdr;
};

int ec_volume_format(const char *device, const struct ec_format_params *p,
		     struct ec_header *hdr);
/*
 * What format writes, without writing it (for convert and copy): a new
 * volume UUID, data offset EC_HDR_DATA_OFFSET, and wrap slot 0 holding
 * the data key wrapped by the CMK of @p, checked to be Enabled.  With
 * @fresh, @dk (locked, ENVCRYPT_MAX_KEY_SIZE bytes) gets a new random
 * data key; without, @dk is the data key to wrap, of cipher p->cipher.
 */
int ec_volume_new_header(const char *device,
			 const struct ec_format_params *p,
			 struct ec_header *hdr, uint8_t *dk, bool fresh);
int ec_volume_open(const char *device, const char *name,
		   const struct ec_open_params *p,
		   struct ec_open_result *res);
int ec_volume_close(const char *name);
int ec_volume_status(const char *name, struct ec_volume_status *st);
/*
 * For the commands that change wrap slots (slots.c): unwrap the data key
 * of @hdr through the first wrap slot that can, as open does, and check
 * it against the key check value (*@slot: the slot used); and describe
 * @cmk in @kms, refusing one that is not Enabled (a message naming it).
 */
int ec_volume_unwrap(const char *device, const struct ec_header *hdr,
		     uint8_t *dk, size_t dk_len, int *slot);
int ec_volume_usable_cmk(const char *device, struct ec_kms *kms,
			 const char *cmk, struct ec_key_info *info);
/*
 * Read the header of @dev (@device, for messages) and check that the
 * device holds its data offset and at least one sector.  Without a
 * header: -ENODATA, "DEVICE: not an envcrypt volume (no header); FIX".
 */
int ec_volume_read_header(const char *device, const struct ec_blockdev *dev,
			  struct ec_header *hdr, struct ec_header_load *load,
			  const char *no_header_fix);
/* A random (version 4) volume UUID; -EIO when the RNG fails. */
int ec_volume_new_uuid(uint8_t uuid[EC_UUID_SIZE]);
/* Read the header of @device without any KMS. */
int ec_volume_dump(const char *device, struct ec_header *hdr,
		   struct ec_header_load *load);

#endif /* ENVCRYPT_VOLUME_H */
