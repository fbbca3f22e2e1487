// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the volume header codec (tools/lib/header.c) on the
 * bytes at the start of a device, which anyone with write access to it
 * controls.
 *
 * Up to one copy (EC_HDR_COPY_SIZE bytes, zero-padded): decoded as copy 0
 * and as copy 1.  Longer: the whole two-copy area, read through
 * ec_header_read() from a memfd, as envcryptctl reads a device.  Each is
 * done twice: on the bytes as given, and with the checksum of every copy
 * made right first, so that the fuzzer gets past the checksum to the
 * field checks.
 *
 * Whatever decodes must encode back to the very same bytes, and decode
 * again to the same header; what ec_header_read() returns must be the
 * decode of a copy it calls OK.  Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "error.h"
#include "header.h"

#define COPY		EC_HDR_COPY_SIZE
#define AREA		(EC_HDR_COPIES * EC_HDR_COPY_SIZE)
#define CHECKSUM_AT	(COPY - 32)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int area_fd = -1;

static void fix_checksum(uint8_t *copy)
{
	unsigned int len = 32;

	if (!EVP_Digest(copy, CHECKSUM_AT, copy + CHECKSUM_AT, &len,
			EVP_sha256(), NULL))
		abort();
}

static bool same_slot(const struct ec_wrap_slot *a,
		      const struct ec_wrap_slot *b)
{
	return a->active == b->active && a->cmk_version == b->cmk_version &&
	       a->created == b->created &&
	       !strcmp(a->kms_uri, b->kms_uri) &&
	       !strcmp(a->cmk_id, b->cmk_id) &&
	       !strcmp(a->cmk_alias, b->cmk_alias) &&
	       a->wrapped.cmk_version == b->wrapped.cmk_version &&
	       a->wrapped.len == b->wrapped.len &&
	       !memcmp(a->wrapped.data, b->wrapped.data, a->wrapped.len);
}

static bool same_header(const struct ec_header *a, const struct ec_header *b)
{
	unsigned int i;

	if (a->seq != b->seq || memcmp(a->uuid, b->uuid, EC_UUID_SIZE) ||
	    strcmp(a->cipher, b->cipher) || a->sector_size != b->sector_size ||
	    a->data_offset != b->data_offset || a->created != b->created ||
	    strcmp(a->label, b->label) ||
	    memcmp(a->kcv, b->kcv, EC_HDR_KCV_SIZE))
		return false;
	for (i = 0; i < EC_HDR_SLOTS; i++)
		if (!same_slot(&a->slots[i], &b->slots[i]))
			return false;
	return true;
}

/* What was decoded is a valid header: check its fields as promised. */
static void check_fields(const struct ec_header *h)
{
	unsigned int i, active = 0;

	if (!ec_cipher_key_size(h->cipher) ||
	    (h->sector_size != 512 && h->sector_size != 4096) ||
	    h->data_offset % 4096 || h->data_offset < AREA ||
	    strnlen(h->label, EC_LABEL_MAX) == EC_LABEL_MAX)
		abort();
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &h->slots[i];

		if (!s->active)
			continue;
		active++;
		if (!s->kms_uri[0] || !s->cmk_id[0] || !s->cmk_version ||
		    s->wrapped.len < 1 || s->wrapped.len > EC_WRAPPED_MAX ||
		    strnlen(s->kms_uri, EC_KMS_URI_MAX) == EC_KMS_URI_MAX ||
		    strnlen(s->cmk_id, EC_CMK_ID_MAX) == EC_CMK_ID_MAX ||
		    strnlen(s->cmk_alias, EC_CMK_ALIAS_MAX) == EC_CMK_ALIAS_MAX)
			abort();
	}
	if (!active)
		abort();
}

/* Decode @buf as copy @copy; if it decodes, the round trip must hold. */
static void one_copy(const uint8_t *buf, unsigned int copy)
{
	static struct ec_header h1, h2;
	static uint8_t out[COPY];

	ec_err_clear();
	if (ec_header_decode(buf, copy, &h1)) {
		if (!ec_err_msg()[0])
			abort();	/* a refusal says why */
		return;
	}
	check_fields(&h1);
	if (ec_header_encode(&h1, copy, out))
		abort();	/* a decoded header must encode */
	if (memcmp(out, buf, COPY))
		abort();	/* and to the very same bytes */
	if (ec_header_decode(out, copy, &h2) || !same_header(&h1, &h2))
		abort();
	/* the context every wrap is bound to fits its bound */
	for (copy = 0; copy < EC_HDR_SLOTS; copy++) {
		char ctx[EC_HDR_CONTEXT_MAX];

		if (h1.slots[copy].active &&
		    ec_header_context(&h1, &h1.slots[copy], ctx,
				      sizeof(ctx)) < 0)
			abort();
	}
}

/* Both copies as on a device, through ec_header_read(). */
static void both_copies(const uint8_t *area)
{
	static struct ec_header hdr, copy;
	struct ec_header_load load;
	unsigned int i, ok = 0;
	int r;

	if (ftruncate(area_fd, 0) || pwrite(area_fd, area, AREA, 0) != AREA)
		abort();
	ec_err_clear();
	r = ec_header_read(area_fd, &hdr, &load);
	if (r) {
		static const struct ec_header zero;

		if (memcmp(&hdr, &zero, sizeof(hdr)) || !ec_err_msg()[0])
			abort();	/* nothing half-read is returned */
		return;
	}
	check_fields(&hdr);
	for (i = 0; i < EC_HDR_COPIES; i++) {
		if (load.copy[i] == EC_COPY_DAMAGED) {
			if (!load.why[i][0] ||
			    !ec_header_decode(area + i * COPY, i, &copy))
				abort();
			continue;
		}
		/* OK and STALE copies decode; an OK one is what was read */
		if (ec_header_decode(area + i * COPY, i, &copy))
			abort();
		if (load.copy[i] == EC_COPY_OK) {
			ok++;
			if (!same_header(&copy, &hdr))
				abort();
		} else if (copy.seq >= hdr.seq) {
			abort();	/* stale means older */
		}
	}
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t area[AREA];
	unsigned int i;

	if (area_fd < 0) {
		area_fd = memfd_create("fuzz-header", MFD_CLOEXEC);
		if (area_fd < 0)
			abort();
	}
	memset(area, 0, sizeof(area));
	memcpy(area, data, size < AREA ? size : AREA);

	if (size <= COPY) {
		for (i = 0; i < EC_HDR_COPIES; i++)
			one_copy(area, i);
		fix_checksum(area);
		for (i = 0; i < EC_HDR_COPIES; i++)
			one_copy(area, i);
		return 0;
	}
	both_copies(area);
	for (i = 0; i < EC_HDR_COPIES; i++)
		one_copy(area + i * COPY, i);
	fix_checksum(area);
	fix_checksum(area + COPY);
	both_copies(area);
	for (i = 0; i < EC_HDR_COPIES; i++)
		one_copy(area + i * COPY, i);
	return 0;
}
