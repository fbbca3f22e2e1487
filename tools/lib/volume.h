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
int ec_volume_open(const char *device, const char *name,
		   const struct ec_open_params *p,
		   struct ec_open_result *res);
int ec_volume_close(const char *name);
int ec_volume_status(const char *name, struct ec_volume_status *st);
/* Read the header of @device without any KMS. */
int ec_volume_dump(const char *device, struct ec_header *hdr,
		   struct ec_header_load *load);

#endif /* ENVCRYPT_VOLUME_H */
