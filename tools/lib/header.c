// SPDX-License-Identifier: GPL-2.0
/*
 * The volume header: encoding and checking one copy, reading the newest
 * valid copy of two, writing and repairing them, and the encryption
 * context every wrapped data key is bound to.  Byte layout:
 * docs/FORMAT.md; every integer is little-endian and goes through the
 * put_/get_ helpers below, never through a struct in memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "blockdev.h"
#include "dm-envcrypt.h"
#include "error.h"
#include "hex.h"
#include "header.h"

/* Fixed area of a copy (docs/FORMAT.md, "Fixed area"). */
#define OFF_MAGIC		0
#define OFF_VERSION		8	/* u16 */
#define OFF_COPY		10	/* u16 */
#define OFF_COPY_SIZE		12	/* u32 */
#define OFF_SEQ			16	/* u64 */
#define OFF_UUID		24	/* 16 bytes */
#define OFF_CIPHER		40	/* EC_CIPHER_MAX bytes */
#define OFF_SECTOR_SIZE		72	/* u32 */
#define OFF_FLAGS		76	/* u32 */
#define OFF_DATA_OFFSET		80	/* u64 */
#define OFF_CREATED		88	/* i64 */
#define OFF_LABEL		96	/* EC_LABEL_MAX bytes */
#define OFF_KCV			144	/* EC_HDR_KCV_SIZE bytes */
#define OFF_FIXED_RESERVED	160
#define FIXED_SIZE		512

/* Wrap slots (docs/FORMAT.md, "Wrap slot"). */
#define OFF_SLOTS		FIXED_SIZE
#define SLOT_SIZE		1024
#define SLOT_STATE		0	/* u8 */
#define SLOT_RESERVED		1	/* u8, zero */
#define SLOT_WRAPPED_LEN	2	/* u16 */
#define SLOT_CMK_VERSION	4	/* u32 */
#define SLOT_CREATED		8	/* i64 */
#define SLOT_KMS_URI		16	/* EC_KMS_URI_MAX bytes */
#define SLOT_CMK_ID		272	/* EC_CMK_ID_MAX bytes */
#define SLOT_CMK_ALIAS		400	/* EC_CMK_ALIAS_MAX bytes */
#define SLOT_WRAPPED		512	/* EC_WRAPPED_MAX bytes */

#define SLOT_EMPTY		0
#define SLOT_ACTIVE		1

#define OFF_TAIL_RESERVED	(OFF_SLOTS + EC_HDR_SLOTS * SLOT_SIZE)
#define CHECKSUM_SIZE		32
#define OFF_CHECKSUM		(EC_HDR_COPY_SIZE - CHECKSUM_SIZE)

#define MAGIC_SIZE		8
#define WHY_MAX		sizeof(((struct ec_header_load *)0)->why[0])

_Static_assert(OFF_KCV + EC_HDR_KCV_SIZE == OFF_FIXED_RESERVED,
	       "fixed area fields overlap");
_Static_assert(OFF_LABEL + EC_LABEL_MAX == OFF_KCV, "label size");
_Static_assert(OFF_CIPHER + EC_CIPHER_MAX == OFF_SECTOR_SIZE, "cipher size");
_Static_assert(SLOT_KMS_URI + EC_KMS_URI_MAX == SLOT_CMK_ID, "uri size");
_Static_assert(SLOT_CMK_ID + EC_CMK_ID_MAX == SLOT_CMK_ALIAS, "id size");
_Static_assert(SLOT_CMK_ALIAS + EC_CMK_ALIAS_MAX == SLOT_WRAPPED,
	       "alias size");
_Static_assert(SLOT_WRAPPED + EC_WRAPPED_MAX == SLOT_SIZE, "slot size");
_Static_assert(OFF_TAIL_RESERVED <= OFF_CHECKSUM, "slots overlap checksum");
_Static_assert(sizeof(EC_HDR_MAGIC) - 1 == MAGIC_SIZE, "magic size");

/* ---- byte helpers ---------------------------------------------------- */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, v);
	put_u16(p + 2, v >> 16);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, v);
	put_u32(p + 4, v >> 32);
}

static uint16_t get_u16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static uint32_t get_u32(const uint8_t *p)
{
	return get_u16(p) | (uint32_t)get_u16(p + 2) << 16;
}

static uint64_t get_u64(const uint8_t *p)
{
	return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* A NUL-padded string field: the string, then zeros to the end. */
static void put_string(uint8_t *p, size_t field, const char *s)
{
	size_t len = strnlen(s, field - 1);

	memcpy(p, s, len);
	memset(p + len, 0, field - len);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* Format a reason into @why; returns -EUCLEAN. */
static int why_set(char *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int why_set(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, WHY_MAX, fmt, ap);
	va_end(ap);
	return -EUCLEAN;
}

/*
 * Check a string field and copy it to @out (@field bytes): NUL-terminated
 * within the field and zero after the NUL.
 */
static int get_string(const uint8_t *p, size_t field, const char *name,
		      char *out, char *why)
{
	const uint8_t *nul = memchr(p, 0, field);

	if (!nul)
		return why_set(why, "%s is not NUL-terminated", name);
	if (!all_zero(nul, p + field - nul))
		return why_set(why, "%s has non-zero bytes after its NUL",
			       name);
	memcpy(out, p, field);
	return 0;
}

/* For messages: a header string with anything unprintable as '?'. */
static void printable(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

static bool known_cipher(const char *cipher)
{
	return ec_cipher_key_size(cipher) != 0;
}

static void checksum(const uint8_t *buf, uint8_t sum[CHECKSUM_SIZE])
{
	unsigned int len = CHECKSUM_SIZE;

	/* SHA-256 fails only when OpenSSL cannot allocate; never match. */
	if (!EVP_Digest(buf, OFF_CHECKSUM, sum, &len, EVP_sha256(), NULL))
		memset(sum, 0xff, CHECKSUM_SIZE);
}

/* ---- one copy -------------------------------------------------------- */

static int check_slot(const uint8_t *s, unsigned int i,
		      struct ec_wrap_slot *slot, char *why)
{
	char name[32];
	uint16_t len;
	int r;

	if (s[SLOT_STATE] == SLOT_EMPTY) {
		if (!all_zero(s, SLOT_SIZE))
			return why_set(why, "slot %u is empty but not zero",
				       i);
		return 0;
	}
	if (s[SLOT_STATE] != SLOT_ACTIVE)
		return why_set(why, "slot %u has unknown state %u", i,
			       s[SLOT_STATE]);
	if (s[SLOT_RESERVED])
		return why_set(why, "slot %u: reserved byte is not zero", i);

	slot->active = true;
	slot->cmk_version = get_u32(s + SLOT_CMK_VERSION);
	slot->created = (int64_t)get_u64(s + SLOT_CREATED);
	if (slot->cmk_version < 1)
		return why_set(why, "slot %u: CMK version 0", i);

	snprintf(name, sizeof(name), "slot %u: kms_uri", i);
	r = get_string(s + SLOT_KMS_URI, EC_KMS_URI_MAX, name,
		       slot->kms_uri, why);
	if (r)
		return r;
	if (!slot->kms_uri[0])
		return why_set(why, "slot %u: empty kms_uri", i);
	snprintf(name, sizeof(name), "slot %u: cmk_id", i);
	r = get_string(s + SLOT_CMK_ID, EC_CMK_ID_MAX, name, slot->cmk_id,
		       why);
	if (r)
		return r;
	if (!slot->cmk_id[0])
		return why_set(why, "slot %u: empty cmk_id", i);
	snprintf(name, sizeof(name), "slot %u: cmk_alias", i);
	r = get_string(s + SLOT_CMK_ALIAS, EC_CMK_ALIAS_MAX, name,
		       slot->cmk_alias, why);
	if (r)
		return r;

	len = get_u16(s + SLOT_WRAPPED_LEN);
	if (len < 1 || len > EC_WRAPPED_MAX)
		return why_set(why, "slot %u: wrapped key length %u not in 1..%u",
			       i, len, EC_WRAPPED_MAX);
	if (!all_zero(s + SLOT_WRAPPED + len, EC_WRAPPED_MAX - len))
		return why_set(why, "slot %u: non-zero bytes after the wrapped key",
			       i);
	slot->wrapped.cmk_version = slot->cmk_version;
	slot->wrapped.len = len;
	memcpy(slot->wrapped.data, s + SLOT_WRAPPED, len);
	return 0;
}

/*
 * Check every field of copy @copy in @buf and fill @hdr; on failure the
 * reason (without the copy) is in @why and @hdr is zero.
 */
static int check_copy(const uint8_t *buf, unsigned int copy,
		      struct ec_header *hdr, char *why)
{
	uint8_t sum[CHECKSUM_SIZE];
	char text[EC_CIPHER_MAX];
	unsigned int i, active = 0;
	uint32_t v;
	int r;

	memset(hdr, 0, sizeof(*hdr));
	if (memcmp(buf + OFF_MAGIC, EC_HDR_MAGIC, MAGIC_SIZE))
		return why_set(why, "bad magic");
	v = get_u16(buf + OFF_VERSION);
	if (v != EC_HDR_VERSION)
		return why_set(why, "unsupported version %u (this tool reads %u)",
			       v, EC_HDR_VERSION);
	v = get_u32(buf + OFF_COPY_SIZE);
	if (v != EC_HDR_COPY_SIZE)
		return why_set(why, "copy size %u, expected %u", v,
			       EC_HDR_COPY_SIZE);
	checksum(buf, sum);
	if (memcmp(sum, buf + OFF_CHECKSUM, CHECKSUM_SIZE))
		return why_set(why, "checksum mismatch");
	v = get_u16(buf + OFF_COPY);
	if (v != copy)
		return why_set(why, "copy index %u at the place of copy %u",
			       v, copy);
	v = get_u32(buf + OFF_FLAGS);
	if (v)
		return why_set(why, "unknown flags 0x%x", v);

	hdr->seq = get_u64(buf + OFF_SEQ);
	memcpy(hdr->uuid, buf + OFF_UUID, EC_UUID_SIZE);
	r = get_string(buf + OFF_CIPHER, EC_CIPHER_MAX, "cipher", hdr->cipher,
		       why);
	if (r)
		goto bad;
	if (!known_cipher(hdr->cipher)) {
		printable(hdr->cipher, text, sizeof(text));
		r = why_set(why, "unknown cipher '%s'", text);
		goto bad;
	}
	hdr->sector_size = get_u32(buf + OFF_SECTOR_SIZE);
	if (hdr->sector_size != 512 && hdr->sector_size != 4096) {
		r = why_set(why, "sector size %u is not 512 or 4096",
			    hdr->sector_size);
		goto bad;
	}
	hdr->data_offset = get_u64(buf + OFF_DATA_OFFSET);
	if (hdr->data_offset % 4096 || hdr->data_offset % hdr->sector_size ||
	    hdr->data_offset < EC_HDR_COPIES * EC_HDR_COPY_SIZE) {
		r = why_set(why, "data offset %llu is not a multiple of 4096 at or after %u",
			    (unsigned long long)hdr->data_offset,
			    EC_HDR_COPIES * EC_HDR_COPY_SIZE);
		goto bad;
	}
	hdr->created = (int64_t)get_u64(buf + OFF_CREATED);
	r = get_string(buf + OFF_LABEL, EC_LABEL_MAX, "label", hdr->label, why);
	if (r)
		goto bad;
	memcpy(hdr->kcv, buf + OFF_KCV, EC_HDR_KCV_SIZE);
	if (!all_zero(buf + OFF_FIXED_RESERVED,
		      FIXED_SIZE - OFF_FIXED_RESERVED)) {
		r = why_set(why, "reserved bytes %u..%u are not zero",
			    OFF_FIXED_RESERVED, FIXED_SIZE - 1);
		goto bad;
	}

	for (i = 0; i < EC_HDR_SLOTS; i++) {
		r = check_slot(buf + OFF_SLOTS + i * SLOT_SIZE, i,
			       &hdr->slots[i], why);
		if (r)
			goto bad;
		active += hdr->slots[i].active;
	}
	if (!all_zero(buf + OFF_TAIL_RESERVED,
		      OFF_CHECKSUM - OFF_TAIL_RESERVED)) {
		r = why_set(why, "reserved bytes %u..%u are not zero",
			    OFF_TAIL_RESERVED, OFF_CHECKSUM - 1);
		goto bad;
	}
	if (!active) {
		r = why_set(why, "no active wrap slot");
		goto bad;
	}
	return 0;
bad:
	memset(hdr, 0, sizeof(*hdr));
	return r;
}

int ec_header_encode(const struct ec_header *hdr, unsigned int copy,
		     uint8_t *buf)
{
	char why[WHY_MAX];
	struct ec_header *check;
	unsigned int i;
	int r;

	if (copy >= EC_HDR_COPIES)
		return ec_err_set(-EINVAL, "header copy %u: no such copy",
				  copy);
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *slot = &hdr->slots[i];

		if (!slot->active)
			continue;
		if (slot->wrapped.len > EC_WRAPPED_MAX)
			return ec_err_set(-EINVAL,
					  "cannot write header: slot %u: wrapped key of %u bytes is longer than %u",
					  i, slot->wrapped.len,
					  EC_WRAPPED_MAX);
		if (slot->wrapped.cmk_version != slot->cmk_version)
			return ec_err_set(-EINVAL,
					  "cannot write header: slot %u: CMK version %u differs from the wrapped key's %u",
					  i, slot->cmk_version,
					  slot->wrapped.cmk_version);
	}

	memset(buf, 0, EC_HDR_COPY_SIZE);
	memcpy(buf + OFF_MAGIC, EC_HDR_MAGIC, MAGIC_SIZE);
	put_u16(buf + OFF_VERSION, EC_HDR_VERSION);
	put_u16(buf + OFF_COPY, copy);
	put_u32(buf + OFF_COPY_SIZE, EC_HDR_COPY_SIZE);
	put_u64(buf + OFF_SEQ, hdr->seq);
	memcpy(buf + OFF_UUID, hdr->uuid, EC_UUID_SIZE);
	put_string(buf + OFF_CIPHER, EC_CIPHER_MAX, hdr->cipher);
	put_u32(buf + OFF_SECTOR_SIZE, hdr->sector_size);
	put_u32(buf + OFF_FLAGS, 0);
	put_u64(buf + OFF_DATA_OFFSET, hdr->data_offset);
	put_u64(buf + OFF_CREATED, (uint64_t)hdr->created);
	put_string(buf + OFF_LABEL, EC_LABEL_MAX, hdr->label);
	memcpy(buf + OFF_KCV, hdr->kcv, EC_HDR_KCV_SIZE);

	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *slot = &hdr->slots[i];
		uint8_t *s = buf + OFF_SLOTS + i * SLOT_SIZE;

		if (!slot->active)
			continue;
		s[SLOT_STATE] = SLOT_ACTIVE;
		put_u16(s + SLOT_WRAPPED_LEN, slot->wrapped.len);
		put_u32(s + SLOT_CMK_VERSION, slot->cmk_version);
		put_u64(s + SLOT_CREATED, (uint64_t)slot->created);
		put_string(s + SLOT_KMS_URI, EC_KMS_URI_MAX, slot->kms_uri);
		put_string(s + SLOT_CMK_ID, EC_CMK_ID_MAX, slot->cmk_id);
		put_string(s + SLOT_CMK_ALIAS, EC_CMK_ALIAS_MAX,
			   slot->cmk_alias);
		memcpy(s + SLOT_WRAPPED, slot->wrapped.data, slot->wrapped.len);
	}
	checksum(buf, buf + OFF_CHECKSUM);

	/* Never write what would not read back. */
	check = malloc(sizeof(*check));
	if (!check) {
		memset(buf, 0, EC_HDR_COPY_SIZE);
		return ec_err_set(-ENOMEM, "cannot write header: out of memory");
	}
	r = check_copy(buf, copy, check, why);
	free(check);
	if (r) {
		memset(buf, 0, EC_HDR_COPY_SIZE);
		return ec_err_set(-EINVAL, "cannot write header: %s", why);
	}
	return 0;
}

int ec_header_decode(const uint8_t *buf, unsigned int copy,
		     struct ec_header *hdr)
{
	char why[WHY_MAX];
	int r;

	if (copy >= EC_HDR_COPIES)
		return ec_err_set(-EINVAL, "header copy %u: no such copy",
				  copy);
	r = check_copy(buf, copy, hdr, why);
	if (r)
		return ec_err_set(r, "header copy %u: %s", copy, why);
	return 0;
}

/* ---- both copies on a device ----------------------------------------- */

static int write_copy(int fd, const uint8_t *buf, unsigned int copy)
{
	int r;

	r = ec_pwrite_full(fd, buf, EC_HDR_COPY_SIZE,
			   (uint64_t)copy * EC_HDR_COPY_SIZE);
	if (r)
		return r;
	while (fdatasync(fd)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static uint8_t *alloc_copies(unsigned int n)
{
	void *p;

	/* Aligned, so that an O_DIRECT descriptor works too. */
	if (posix_memalign(&p, 4096, (size_t)n * EC_HDR_COPY_SIZE))
		return NULL;
	return p;
}

static void free_copies(uint8_t *p, unsigned int n)
{
	if (!p)
		return;
	memset(p, 0, (size_t)n * EC_HDR_COPY_SIZE);
	free(p);
}

/* Same header apart from the copy index and the checksum? */
static bool same_state(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, OFF_COPY) &&
	       !memcmp(a + OFF_COPY + 2, b + OFF_COPY + 2,
		       OFF_CHECKSUM - OFF_COPY - 2);
}

int ec_header_read(int fd, struct ec_header *hdr,
		   struct ec_header_load *load)
{
	struct ec_header_load local;
	struct ec_header *found;
	bool valid[EC_HDR_COPIES], magic[EC_HDR_COPIES];
	int read_err[EC_HDR_COPIES];
	uint8_t *bufs;
	unsigned int i, best;
	ssize_t n;
	int r;

	if (!load)
		load = &local;
	memset(load, 0, sizeof(*load));
	memset(hdr, 0, sizeof(*hdr));

	bufs = alloc_copies(EC_HDR_COPIES);
	found = calloc(EC_HDR_COPIES, sizeof(*found));
	if (!bufs || !found) {
		r = ec_err_set(-ENOMEM, "cannot read header: out of memory");
		goto out;
	}

	for (i = 0; i < EC_HDR_COPIES; i++) {
		uint8_t *buf = bufs + i * EC_HDR_COPY_SIZE;

		n = ec_pread_full(fd, buf, EC_HDR_COPY_SIZE,
				  (uint64_t)i * EC_HDR_COPY_SIZE);
		read_err[i] = n < 0 ? (int)n : 0;
		magic[i] = n >= MAGIC_SIZE &&
			   !memcmp(buf + OFF_MAGIC, EC_HDR_MAGIC, MAGIC_SIZE);
		/* An unreadable copy is damaged: the other may still do. */
		if (n < 0)
			r = why_set(load->why[i], "read failed: %s",
				    strerror(-n));
		else if (n < EC_HDR_COPY_SIZE)
			r = why_set(load->why[i],
				    "device too small (%zd of %u bytes)",
				    n, EC_HDR_COPY_SIZE);
		else
			r = check_copy(buf, i, &found[i], load->why[i]);
		valid[i] = !r;
		load->copy[i] = r ? EC_COPY_DAMAGED : EC_COPY_OK;
	}

	if (read_err[0] && read_err[1]) {
		r = ec_err_set(read_err[0], "cannot read the header: %s",
			       strerror(-read_err[0]));
		goto out;
	}
	if (!magic[0] && !magic[1] && !read_err[0] && !read_err[1]) {
		r = ec_err_set(-ENODATA, "not an envcrypt volume (no header)");
		goto out;
	}
	if (!valid[0] && !valid[1]) {
		r = ec_err_set(-EUCLEAN,
			       "no valid header copy: copy 0: %s; copy 1: %s; restore the header from a backup",
			       load->why[0], load->why[1]);
		goto out;
	}

	if (valid[0] && valid[1]) {
		if (found[0].seq == found[1].seq &&
		    !same_state(bufs, bufs + EC_HDR_COPY_SIZE)) {
			r = ec_err_set(-EUCLEAN,
				       "both header copies have sequence %llu but differ; restore one from a backup",
				       (unsigned long long)found[0].seq);
			goto out;
		}
		best = found[1].seq > found[0].seq;
		if (found[0].seq != found[1].seq)
			load->copy[!best] = EC_COPY_STALE;
	} else {
		best = valid[1];
	}
	*hdr = found[best];
	r = 0;
out:
	if (r)
		memset(hdr, 0, sizeof(*hdr));
	if (found) {
		memset(found, 0, EC_HDR_COPIES * sizeof(*found));
		free(found);
	}
	free_copies(bufs, EC_HDR_COPIES);
	return r;
}

static int write_failed(int r, unsigned int copy)
{
	if (copy == 0)
		return ec_err_set(r, "header copy 0: write failed: %s; the header on the device is unchanged",
				  strerror(-r));
	return ec_err_set(r, "header copy 1: write failed: %s; copy 0 holds the new header, repair copy 1 once the device works",
			  strerror(-r));
}

int ec_header_write(int fd, struct ec_header *hdr)
{
	uint8_t *bufs;
	unsigned int i;
	int r;

	bufs = alloc_copies(EC_HDR_COPIES);
	if (!bufs)
		return ec_err_set(-ENOMEM, "cannot write header: out of memory");

	hdr->seq++;
	for (i = 0; i < EC_HDR_COPIES; i++) {
		r = ec_header_encode(hdr, i, bufs + i * EC_HDR_COPY_SIZE);
		if (r)
			goto out;
	}
	for (i = 0; i < EC_HDR_COPIES; i++) {
		r = write_copy(fd, bufs + i * EC_HDR_COPY_SIZE, i);
		if (r) {
			write_failed(r, i);
			goto out;
		}
	}
out:
	free_copies(bufs, EC_HDR_COPIES);
	return r;
}

int ec_header_repair(int fd, const struct ec_header *hdr,
		     const struct ec_header_load *load)
{
	uint8_t *buf;
	unsigned int i;
	int r = 0;

	if (!load)
		return ec_err_set(-EINVAL, "header repair: which copies to repair is unknown");
	buf = alloc_copies(1);
	if (!buf)
		return ec_err_set(-ENOMEM, "cannot repair header: out of memory");

	/* The same sequence number: the repaired copy equals the good one. */
	for (i = 0; i < EC_HDR_COPIES; i++) {
		if (load->copy[i] == EC_COPY_OK)
			continue;
		r = ec_header_encode(hdr, i, buf);
		if (r)
			break;
		r = write_copy(fd, buf, i);
		if (r) {
			ec_err_set(r, "header copy %u: repair failed: %s; the volume still opens from the other copy",
				   i, strerror(-r));
			break;
		}
	}
	free_copies(buf, 1);
	return r;
}

/* ---- encryption context, names, UUID, key check value ---------------- */

int ec_header_context(const struct ec_header *hdr,
		      const struct ec_wrap_slot *slot, char *buf, size_t size)
{
	char uuid[37];
	int n;

	if (strnlen(hdr->cipher, EC_CIPHER_MAX) == EC_CIPHER_MAX ||
	    strnlen(slot->cmk_id, EC_CMK_ID_MAX) == EC_CMK_ID_MAX)
		return ec_err_set(-EINVAL, "encryption context: cipher or CMK id is not NUL-terminated");
	ec_uuid_format(hdr->uuid, uuid);
	n = snprintf(buf, size,
		     "envcrypt-context-v1 volume=%s cipher=%s sector_size=%u data_offset=%llu cmk=%s",
		     uuid, hdr->cipher, hdr->sector_size,
		     (unsigned long long)hdr->data_offset, slot->cmk_id);
	if (n < 0 || (size_t)n >= size) {
		if (size)
			buf[0] = '\0';
		return ec_err_set(-ENAMETOOLONG,
				  "encryption context: %d bytes do not fit in %zu",
				  n, size);
	}
	return n;
}

size_t ec_cipher_key_size(const char *cipher)
{
	if (!strcmp(cipher, ENVCRYPT_CIPHER_AES_XTS))
		return ENVCRYPT_AES_XTS_KEY_SIZE;
	if (!strcmp(cipher, ENVCRYPT_CIPHER_SM4_XTS))
		return ENVCRYPT_SM4_XTS_KEY_SIZE;
	return 0;
}

void ec_uuid_format(const uint8_t uuid[EC_UUID_SIZE], char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i;

	for (i = 0; i < EC_UUID_SIZE; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*out++ = '-';
		*out++ = hex[uuid[i] >> 4];
		*out++ = hex[uuid[i] & 15];
	}
	*out = '\0';
}

int ec_uuid_parse(const char *text, uint8_t uuid[EC_UUID_SIZE])
{
	uint8_t out[EC_UUID_SIZE];
	unsigned int i, pos = 0;
	int hi, lo;

	for (i = 0; i < EC_UUID_SIZE; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (text[pos] != '-')
				goto bad;
			pos++;
		}
		hi = ec_hex_value(text[pos]);
		lo = hi < 0 ? -1 : ec_hex_value(text[pos + 1]);
		if (lo < 0)
			goto bad;
		out[i] = hi << 4 | lo;
		pos += 2;
	}
	if (text[pos])
		goto bad;
	memcpy(uuid, out, EC_UUID_SIZE);
	return 0;
bad:
	return ec_err_set(-EINVAL,
			  "invalid UUID '%.64s': expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hex",
			  text);
}

void ec_kcv(const uint8_t *dk, size_t dk_len, uint8_t kcv[EC_HDR_KCV_SIZE])
{
	static const char label[] = ENVCRYPT_KCV_LABEL;
	uint8_t digest[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx;
	int ok;

	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, label, sizeof(label) - 1) &&
	     EVP_DigestUpdate(ctx, dk, dk_len) &&
	     EVP_DigestFinal_ex(ctx, digest, NULL);
	EVP_MD_CTX_free(ctx);
	/*
	 * SHA-256 fails only when OpenSSL cannot allocate.  A made-up value
	 * would either be stored in a header or refuse the right key, and
	 * this function has no way to report it: stop.
	 */
	if (!ok) {
		fprintf(stderr, "envcryptctl: SHA-256 failed computing a key check value\n");
		abort();
	}
	memcpy(kcv, digest, EC_HDR_KCV_SIZE);
	OPENSSL_cleanse(digest, sizeof(digest));
}
