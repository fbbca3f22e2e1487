/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wrap slots of a volume: rewrap one under another CMK (or the newest
 * version of its own), share the volume with another CMK in a new slot,
 * unshare (remove) a slot.  Only the header changes, never the data or
 * the data key, so all three work while the volume is open: the kernel
 * keeps the key it has.
 *
 * Each reads the header, unwraps the data key through a wrap slot that
 * can (as open does, with the key check value), wraps it under the new
 * slot's encryption context, unwraps that again to prove it, and writes
 * the header once (ec_header_write: copy 0, then copy 1, each synced), so
 * an interruption at any write leaves a volume that opens with either the
 * old or the new slots.  Each records itself in the audit log (op
 * "rewrap", "share", "unshare"), refusals included once the header was
 * read, and notes the new slots in the host registry.
 */
#ifndef ENVCRYPT_SLOTS_H
#define ENVCRYPT_SLOTS_H

#include <stdbool.h>

#include "header.h"

struct ec_rewrap_params {
	int slot;		/* -1: the volume's only wrap slot */
	const char *kms_uri;	/* NULL: the slot's own KMS */
	const char *cmk;	/* the new CMK; NULL with rotate */
	bool rotate;		/* the newest version of the slot's CMK */
};

/* What a slot command did, for the CLI to report. */
struct ec_slot_change {
	struct ec_header hdr;		/* the header as written */
	int slot;			/* the slot replaced, added, removed */
	int unwrapped_by;		/* the slot that gave the data key */
	struct ec_wrap_slot old;	/* the slot before (rewrap, unshare) */
};

/* Replace wrap slot p->slot by a wrap under p->cmk (or p->rotate). */
int ec_volume_rewrap(const char *device, const struct ec_rewrap_params *p,
		     struct ec_slot_change *res);

/* Add a wrap slot for @cmk in @kms_uri (NULL: the first slot's KMS). */
int ec_volume_share(const char *device, const char *kms_uri,
		    const char *cmk, struct ec_slot_change *res);

/*
 * Remove wrap slot @slot, or (@slot < 0) the one of CMK @cmk (a key id
 * or the alias it was wrapped under); refused when no other slot would
 * unwrap the data key.
 */
int ec_volume_unshare(const char *device, int slot, const char *cmk,
		      struct ec_slot_change *res);

#endif /* ENVCRYPT_SLOTS_H */
