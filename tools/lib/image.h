/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The commands that write whole images: convert an unencrypted image or
 * disk into a new volume, copy a volume under another CMK (the data as
 * ciphertext, or re-encrypted with a new data key), and snapshot a volume
 * (open or not) into a copy with a new volume UUID.
 *
 * The destination is a new image file (created here, never an existing
 * one) or a block device (the caller has confirmed overwriting it).  Its
 * header copies are written last: until the data is all written and
 * checked, the destination holds a resume record instead (in the header
 * area, docs/ENVCRYPTCTL.md "Whole images": the new header with the data key
 * wrapped, never unwrapped, and how many bytes are done), so that it
 * never opens as a volume with half its data, and running the same
 * command again resumes where it stopped, unwrapping the data key through
 * the KMS again.  A snapshot is a point in time: it starts over instead.
 */
#ifndef ENVCRYPT_IMAGE_H
#define ENVCRYPT_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "dm.h"
#include "header.h"
#include "volume.h"

struct ec_image_params {
	/* convert, copy: the new volume's KMS, CMK, cipher, sector size */
	struct ec_format_params fmt;
	bool reencrypt;			/* copy: a new data key */
	bool progress;			/* a progress bar on stderr */
};

struct ec_image_result {
	struct ec_header hdr;		/* the new volume's header */
	char src_uuid[37];		/* copy, snapshot: the source volume */
	uint64_t bytes;			/* data bytes of the new volume */
	uint64_t resumed_at;		/* bytes done before this run */
	double seconds;			/* of the data path */
	/* snapshot */
	char dm_name[EC_DM_NAME_MAX];	/* the source's open device, or "" */
	double suspended;		/* seconds it was suspended */
	int dropped;			/* wrap slots that could not be re-bound */
	char dropped_why[EC_HDR_SLOTS][256];
};

int ec_image_convert(const char *src, const char *dst,
		     const struct ec_image_params *p,
		     struct ec_image_result *res);
int ec_image_copy(const char *src, const char *dst,
		  const struct ec_image_params *p,
		  struct ec_image_result *res);
int ec_image_snapshot(const char *src, const char *dst,
		      const struct ec_image_params *p,
		      struct ec_image_result *res);

#endif /* ENVCRYPT_IMAGE_H */
