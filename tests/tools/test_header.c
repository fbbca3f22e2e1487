// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the volume header (tools/lib/header.c): the byte layout of
 * docs/FORMAT.md, the check of every field, reading the newest valid of
 * two copies, writing and repairing them (with pwrite, pread and
 * fdatasync failing on purpose), the encryption context, the key check
 * value and UUID text.
 *
 * The offsets here are written out from docs/FORMAT.md, not taken from
 * header.c, and the checksum is computed here too: a corrupted field is
 * resealed so that the check of the field itself is what refuses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "dm-envcrypt.h"
#include "error.h"
#include "header.h"

/* docs/FORMAT.md, "Fixed area" and "Wrap slot". */
#define F_VERSION	8
#define F_COPY		10
#define F_COPY_SIZE	12
#define F_SEQ		16
#define F_UUID		24
#define F_CIPHER	40
#define F_SECTOR_SIZE	72
#define F_FLAGS		76
#define F_DATA_OFFSET	80
#define F_CREATED	88
#define F_LABEL		96
#define F_KCV		144
#define F_RESERVED	160
#define F_SLOTS		512
#define SLOT_SIZE	1024
#define S_STATE		0
#define S_RESERVED	1
#define S_WRAPPED_LEN	2
#define S_CMK_VERSION	4
#define S_CREATED	8
#define S_KMS_URI	16
#define S_CMK_ID	272
#define S_CMK_ALIAS	400
#define S_WRAPPED	512
#define F_TAIL		(F_SLOTS + EC_HDR_SLOTS * SLOT_SIZE)
#define F_CHECKSUM	16352

#define TEST_SLOT	3
#define SLOT_AT(i)	(F_SLOTS + (i) * SLOT_SIZE)

/* ---- faults: pwrite, pread and fdatasync fail on request ------------- */

ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t offset);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t offset);
ssize_t __real_pread(int fd, void *buf, size_t n, off_t offset);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t offset);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

static struct {
	off_t fail_write_at;	/* -1: none */
	int write_errno;
	bool short_writes;	/* at most 1000 bytes, EINTR in between */
	bool eintr_next;
	off_t fail_read_at;
	int read_errno;
	int fail_sync_after;	/* fail the Nth fdatasync (1..), 0: none */
	int syncs;
} fault;

static void fault_reset(void)
{
	memset(&fault, 0, sizeof(fault));
	fault.fail_write_at = -1;
	fault.fail_read_at = -1;
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t offset)
{
	if (offset == fault.fail_write_at) {
		errno = fault.write_errno;
		return -1;
	}
	if (fault.short_writes) {
		fault.eintr_next = !fault.eintr_next;
		if (fault.eintr_next) {
			errno = EINTR;
			return -1;
		}
		if (n > 1000)
			n = 1000;
	}
	return __real_pwrite(fd, buf, n, offset);
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t offset)
{
	if (offset == fault.fail_read_at) {
		errno = fault.read_errno;
		return -1;
	}
	return __real_pread(fd, buf, n, offset);
}

int __wrap_fdatasync(int fd)
{
	if (++fault.syncs == fault.fail_sync_after) {
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}

/* ---- fixtures -------------------------------------------------------- */

struct corruption;

struct fixture {
	struct ec_header hdr;
	uint8_t buf[EC_HDR_COPY_SIZE];
	uint8_t buf1[EC_HDR_COPY_SIZE];
	const struct corruption *corruption;	/* for the field tests */
	char path[64];
	int fd;
};

static void fill_string(char *s, size_t field, char c)
{
	memset(s, c, field - 1);
	s[field - 1] = '\0';
}

/* Every field used, every string at its longest, all slots active. */
static void fill_header(struct ec_header *hdr, const char *cipher)
{
	unsigned int i, j;

	memset(hdr, 0, sizeof(*hdr));
	hdr->seq = 0x0102030405060708ULL;
	for (i = 0; i < EC_UUID_SIZE; i++)
		hdr->uuid[i] = 0xa0 + i;
	strcpy(hdr->cipher, cipher);
	hdr->sector_size = 4096;
	hdr->data_offset = EC_HDR_DATA_OFFSET;
	hdr->created = -1234567890123LL;
	fill_string(hdr->label, EC_LABEL_MAX, 'L');
	for (i = 0; i < EC_HDR_KCV_SIZE; i++)
		hdr->kcv[i] = 0xc0 + i;
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		struct ec_wrap_slot *slot = &hdr->slots[i];

		slot->active = true;
		slot->cmk_version = 0x10000 + i;
		slot->created = 1700000000 + i;
		fill_string(slot->kms_uri, EC_KMS_URI_MAX, 'a' + i);
		fill_string(slot->cmk_id, EC_CMK_ID_MAX, 'k' + i);
		fill_string(slot->cmk_alias, EC_CMK_ALIAS_MAX, 'A' + i);
		slot->wrapped.cmk_version = slot->cmk_version;
		slot->wrapped.len = EC_WRAPPED_MAX;
		for (j = 0; j < EC_WRAPPED_MAX; j++)
			slot->wrapped.data[j] = j * 7 + i + 1;
	}
}

/* A plain header: one slot, short strings. */
static void small_header(struct ec_header *hdr)
{
	unsigned int i;

	memset(hdr, 0, sizeof(*hdr));
	hdr->seq = 5;
	for (i = 0; i < EC_UUID_SIZE; i++)
		hdr->uuid[i] = 0x11 * (i % 16);
	strcpy(hdr->cipher, ENVCRYPT_CIPHER_AES_XTS);
	hdr->sector_size = 512;
	hdr->data_offset = EC_HDR_DATA_OFFSET;
	hdr->created = 1700000000;
	strcpy(hdr->label, "data");
	hdr->slots[0].active = true;
	hdr->slots[0].cmk_version = 1;
	hdr->slots[0].created = 1700000001;
	strcpy(hdr->slots[0].kms_uri, "local:");
	strcpy(hdr->slots[0].cmk_id, "key-1");
	strcpy(hdr->slots[0].cmk_alias, "alias/data");
	hdr->slots[0].wrapped.cmk_version = 1;
	hdr->slots[0].wrapped.len = 60;
	memset(hdr->slots[0].wrapped.data, 0x5a, 60);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fault_reset();
	ec_err_clear();
	fill_header(&f->hdr, ENVCRYPT_CIPHER_AES_XTS);
	strcpy(f->path, "/tmp/test_header.XXXXXX");
	f->fd = mkstemp(f->path);
	if (f->fd < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fault_reset();
	close(f->fd);
	unlink(f->path);
	free(f);
	return 0;
}

/* ---- helpers --------------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, unsigned int size)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		p[i] = v >> (8 * i);
}

static uint64_t get_le(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The checksum of docs/FORMAT.md, computed here independently. */
static void reseal(uint8_t *buf)
{
	unsigned int len;

	assert_int_equal(EVP_Digest(buf, F_CHECKSUM, buf + F_CHECKSUM, &len,
				    EVP_sha256(), NULL), 1);
	assert_int_equal(len, 32);
}

static void assert_msg_contains(const char *needle)
{
	if (!strstr(ec_err_msg(), needle))
		fail_msg("message '%s' lacks '%s'", ec_err_msg(), needle);
}

static void assert_slot_equal(const struct ec_wrap_slot *a,
			      const struct ec_wrap_slot *b)
{
	assert_int_equal(a->active, b->active);
	assert_int_equal(a->cmk_version, b->cmk_version);
	assert_int_equal(a->created, b->created);
	assert_string_equal(a->kms_uri, b->kms_uri);
	assert_string_equal(a->cmk_id, b->cmk_id);
	assert_string_equal(a->cmk_alias, b->cmk_alias);
	assert_int_equal(a->wrapped.cmk_version, b->wrapped.cmk_version);
	assert_int_equal(a->wrapped.len, b->wrapped.len);
	assert_memory_equal(a->wrapped.data, b->wrapped.data, a->wrapped.len);
}

static void assert_header_equal(const struct ec_header *a,
				const struct ec_header *b)
{
	unsigned int i;

	assert_int_equal(a->seq, b->seq);
	assert_memory_equal(a->uuid, b->uuid, EC_UUID_SIZE);
	assert_string_equal(a->cipher, b->cipher);
	assert_int_equal(a->sector_size, b->sector_size);
	assert_int_equal(a->data_offset, b->data_offset);
	assert_int_equal(a->created, b->created);
	assert_string_equal(a->label, b->label);
	assert_memory_equal(a->kcv, b->kcv, EC_HDR_KCV_SIZE);
	for (i = 0; i < EC_HDR_SLOTS; i++)
		assert_slot_equal(&a->slots[i], &b->slots[i]);
}

/* Put @hdr on the file as copy @copy with sequence number @seq. */
static void put_copy(struct fixture *f, const struct ec_header *hdr,
		     unsigned int copy, uint64_t seq)
{
	struct ec_header h = *hdr;
	uint8_t buf[EC_HDR_COPY_SIZE];

	h.seq = seq;
	assert_int_equal(ec_header_encode(&h, copy, buf), 0);
	assert_int_equal(pwrite(f->fd, buf, sizeof(buf),
				(off_t)copy * EC_HDR_COPY_SIZE), sizeof(buf));
}

static void read_raw_copy(struct fixture *f, unsigned int copy, uint8_t *buf)
{
	assert_int_equal(pread(f->fd, buf, EC_HDR_COPY_SIZE,
			       (off_t)copy * EC_HDR_COPY_SIZE),
			 EC_HDR_COPY_SIZE);
}

/* Break one byte of copy @copy on the file without resealing. */
static void damage_copy(struct fixture *f, unsigned int copy)
{
	uint8_t byte = 0x77;

	assert_int_equal(pwrite(f->fd, &byte, 1,
				(off_t)copy * EC_HDR_COPY_SIZE + F_LABEL),
			 1);
}

/* Both copies hold the same header: equal bytes but index and checksum. */
static void assert_copies_same(struct fixture *f)
{
	read_raw_copy(f, 0, f->buf);
	read_raw_copy(f, 1, f->buf1);
	assert_int_equal(get_le(f->buf + F_COPY, 2), 0);
	assert_int_equal(get_le(f->buf1 + F_COPY, 2), 1);
	assert_memory_equal(f->buf, f->buf1, F_COPY);
	assert_memory_equal(f->buf + F_COPY + 2, f->buf1 + F_COPY + 2,
			    F_CHECKSUM - F_COPY - 2);
}

/* ---- one copy: round trip and layout ---------------------------------- */

static void round_trip(struct fixture *f)
{
	struct ec_header out;
	unsigned int copy;

	for (copy = 0; copy < EC_HDR_COPIES; copy++) {
		assert_int_equal(ec_header_encode(&f->hdr, copy, f->buf), 0);
		assert_int_equal(ec_header_decode(f->buf, copy, &out), 0);
		assert_header_equal(&out, &f->hdr);
		/* Canonical: the decoded header encodes the same. */
		assert_int_equal(ec_header_encode(&out, copy, f->buf1), 0);
		assert_memory_equal(f->buf, f->buf1, EC_HDR_COPY_SIZE);
	}
}

static void test_round_trip_keeps_full_aes_header(void **state)
{
	round_trip(*state);
}

static void test_round_trip_keeps_full_sm4_header(void **state)
{
	struct fixture *f = *state;

	fill_header(&f->hdr, ENVCRYPT_CIPHER_SM4_XTS);
	f->hdr.sector_size = 512;
	f->hdr.data_offset = 2 * EC_HDR_COPY_SIZE;
	round_trip(f);
}

static void test_round_trip_keeps_small_header(void **state)
{
	struct fixture *f = *state;

	small_header(&f->hdr);
	round_trip(f);
}

static void test_encode_places_fields_at_documented_offsets(void **state)
{
	struct fixture *f = *state;
	const uint8_t *s = f->buf + SLOT_AT(2);

	assert_int_equal(ec_header_encode(&f->hdr, 1, f->buf), 0);
	assert_memory_equal(f->buf, "ENVCRYPT", 8);
	assert_int_equal(get_le(f->buf + F_VERSION, 2), 1);
	assert_int_equal(get_le(f->buf + F_COPY, 2), 1);
	assert_int_equal(get_le(f->buf + F_COPY_SIZE, 4), 16384);
	assert_int_equal(f->buf[F_SEQ], 0x08);
	assert_int_equal(get_le(f->buf + F_SEQ, 8), 0x0102030405060708ULL);
	assert_memory_equal(f->buf + F_UUID, f->hdr.uuid, 16);
	assert_string_equal((char *)f->buf + F_CIPHER, "aes-xts-plain64");
	assert_true(f->buf[F_CIPHER + 15] == 0 && f->buf[F_CIPHER + 31] == 0);
	assert_int_equal(get_le(f->buf + F_SECTOR_SIZE, 4), 4096);
	assert_int_equal(get_le(f->buf + F_FLAGS, 4), 0);
	assert_int_equal(get_le(f->buf + F_DATA_OFFSET, 8), 1048576);
	assert_int_equal((int64_t)get_le(f->buf + F_CREATED, 8),
			 -1234567890123LL);
	assert_memory_equal(f->buf + F_LABEL, f->hdr.label, EC_LABEL_MAX);
	assert_memory_equal(f->buf + F_KCV, f->hdr.kcv, 16);

	assert_int_equal(s[S_STATE], 1);
	assert_int_equal(s[S_RESERVED], 0);
	assert_int_equal(get_le(s + S_WRAPPED_LEN, 2), 512);
	assert_int_equal(get_le(s + S_CMK_VERSION, 4), 0x10002);
	assert_int_equal(get_le(s + S_CREATED, 8), 1700000002);
	assert_memory_equal(s + S_KMS_URI, f->hdr.slots[2].kms_uri, 256);
	assert_memory_equal(s + S_CMK_ID, f->hdr.slots[2].cmk_id, 128);
	assert_memory_equal(s + S_CMK_ALIAS, f->hdr.slots[2].cmk_alias, 112);
	assert_memory_equal(s + S_WRAPPED, f->hdr.slots[2].wrapped.data, 512);

	/* The checksum is SHA-256 of bytes 0..16351. */
	memcpy(f->buf1, f->buf, EC_HDR_COPY_SIZE);
	reseal(f->buf1);
	assert_memory_equal(f->buf1 + F_CHECKSUM, f->buf + F_CHECKSUM, 32);
}

static void test_encode_writes_inactive_slot_as_zeros(void **state)
{
	struct fixture *f = *state;
	struct ec_header out;

	/* A slot marked inactive keeps junk in memory; none reaches disk. */
	f->hdr.slots[TEST_SLOT].active = false;
	assert_int_equal(ec_header_encode(&f->hdr, 0, f->buf), 0);
	for (unsigned int i = 0; i < SLOT_SIZE; i++)
		assert_int_equal(f->buf[SLOT_AT(TEST_SLOT) + i], 0);
	assert_int_equal(ec_header_decode(f->buf, 0, &out), 0);
	assert_false(out.slots[TEST_SLOT].active);
	assert_string_equal(out.slots[TEST_SLOT].cmk_id, "");
}

static void test_encode_pads_strings_with_zeros(void **state)
{
	struct fixture *f = *state;

	/* Junk after the NUL in memory is not written. */
	memset(f->hdr.label, 'x', sizeof(f->hdr.label));
	f->hdr.label[3] = '\0';
	assert_int_equal(ec_header_encode(&f->hdr, 0, f->buf), 0);
	assert_memory_equal(f->buf + F_LABEL, "xxx\0\0\0\0\0", 8);
	assert_int_equal(f->buf[F_LABEL + EC_LABEL_MAX - 1], 0);
}

static void test_encode_refuses_unknown_cipher(void **state)
{
	struct fixture *f = *state;

	strcpy(f->hdr.cipher, "aes-cbc-essiv:sha256");
	assert_int_equal(ec_header_encode(&f->hdr, 0, f->buf), -EINVAL);
	assert_msg_contains("cannot write header: unknown cipher 'aes-cbc-essiv:sha256'");
}

static void test_encode_refuses_header_without_active_slot(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	for (i = 0; i < EC_HDR_SLOTS; i++)
		f->hdr.slots[i].active = false;
	assert_int_equal(ec_header_encode(&f->hdr, 0, f->buf), -EINVAL);
	assert_msg_contains("no active wrap slot");
}

static void test_encode_refuses_overlong_wrapped_key(void **state)
{
	struct fixture *f = *state;

	f->hdr.slots[TEST_SLOT].wrapped.len = EC_WRAPPED_MAX + 1;
	assert_int_equal(ec_header_encode(&f->hdr, 0, f->buf), -EINVAL);
	assert_msg_contains("slot 3: wrapped key of 513 bytes");
}

static void test_encode_refuses_cmk_version_mismatch(void **state)
{
	struct fixture *f = *state;

	f->hdr.slots[TEST_SLOT].wrapped.cmk_version++;
	assert_int_equal(ec_header_encode(&f->hdr, 0, f->buf), -EINVAL);
	assert_msg_contains("slot 3: CMK version");
}

static void test_encode_refuses_copy_index_2(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ec_header_encode(&f->hdr, 2, f->buf), -EINVAL);
}

static void test_decode_refuses_copy_read_at_other_place(void **state)
{
	struct fixture *f = *state;
	struct ec_header out;

	assert_int_equal(ec_header_encode(&f->hdr, 0, f->buf), 0);
	assert_int_equal(ec_header_decode(f->buf, 1, &out), -EUCLEAN);
	assert_msg_contains("header copy 1: copy index 0 at the place of copy 1");
}

/* ---- one copy: every field corrupted in turn ------------------------- */

struct corruption {
	void (*corrupt)(uint8_t *buf);
	bool reseal;
	const char *message;
};

#define SLOT_BYTE(buf, off)	((buf)[SLOT_AT(TEST_SLOT) + (off)])

static void c_magic(uint8_t *b)
{
	b[3] = 'c';
}

static void c_version(uint8_t *b)
{
	put_le(b + F_VERSION, 2, 2);
}

static void c_copy_index(uint8_t *b)
{
	put_le(b + F_COPY, 1, 2);
}

static void c_copy_size(uint8_t *b)
{
	put_le(b + F_COPY_SIZE, 8192, 4);
}

static void c_cipher_unknown(uint8_t *b)
{
	memset(b + F_CIPHER, 0, EC_CIPHER_MAX);
	memcpy(b + F_CIPHER, "foo", 3);
}

static void c_cipher_unterminated(uint8_t *b)
{
	memset(b + F_CIPHER, 'a', EC_CIPHER_MAX);
}

static void c_cipher_padding(uint8_t *b)
{
	b[F_CIPHER + 20] = 1;
}

static void c_cipher_empty(uint8_t *b)
{
	memset(b + F_CIPHER, 0, 32);
}

static void c_sector_size(uint8_t *b)
{
	put_le(b + F_SECTOR_SIZE, 1024, 4);
}

static void c_flags(uint8_t *b)
{
	put_le(b + F_FLAGS, 1, 4);
}

static void c_data_offset_unaligned(uint8_t *b)
{
	put_le(b + F_DATA_OFFSET, 1048576 + 512, 8);
}

static void c_data_offset_low(uint8_t *b)
{
	put_le(b + F_DATA_OFFSET, 16384, 8);
}

static void c_label_unterminated(uint8_t *b)
{
	b[F_LABEL + EC_LABEL_MAX - 1] = 'L';
}

static void c_label_padding(uint8_t *b)
{
	b[F_LABEL + 10] = 0;
}

static void c_fixed_reserved(uint8_t *b)
{
	b[F_RESERVED + 200] = 1;
}

static void c_slot_state(uint8_t *b)
{
	SLOT_BYTE(b, S_STATE) = 2;
}

static void c_slot_reserved(uint8_t *b)
{
	SLOT_BYTE(b, S_RESERVED) = 1;
}

static void c_slot_cmk_version(uint8_t *b)
{
	put_le(&SLOT_BYTE(b, S_CMK_VERSION), 0, 4);
}

static void c_slot_wrapped_len_zero(uint8_t *b)
{
	memset(&SLOT_BYTE(b, S_WRAPPED), 0, EC_WRAPPED_MAX);
	put_le(&SLOT_BYTE(b, S_WRAPPED_LEN), 0, 2);
}

static void c_slot_wrapped_len_long(uint8_t *b)
{
	put_le(&SLOT_BYTE(b, S_WRAPPED_LEN), 513, 2);
}

static void c_slot_wrapped_padding(uint8_t *b)
{
	put_le(&SLOT_BYTE(b, S_WRAPPED_LEN), 100, 2);
}

static void c_slot_uri_empty(uint8_t *b)
{
	memset(&SLOT_BYTE(b, S_KMS_URI), 0, EC_KMS_URI_MAX);
}

static void c_slot_uri_unterminated(uint8_t *b)
{
	SLOT_BYTE(b, S_KMS_URI + EC_KMS_URI_MAX - 1) = 'u';
}

static void c_slot_uri_padding(uint8_t *b)
{
	SLOT_BYTE(b, S_KMS_URI) = 0;
}

static void c_slot_id_empty(uint8_t *b)
{
	memset(&SLOT_BYTE(b, S_CMK_ID), 0, EC_CMK_ID_MAX);
}

static void c_slot_id_unterminated(uint8_t *b)
{
	SLOT_BYTE(b, S_CMK_ID + EC_CMK_ID_MAX - 1) = 'k';
}

static void c_slot_id_padding(uint8_t *b)
{
	SLOT_BYTE(b, S_CMK_ID + 5) = 0;
}

static void c_slot_alias_unterminated(uint8_t *b)
{
	SLOT_BYTE(b, S_CMK_ALIAS + EC_CMK_ALIAS_MAX - 1) = 'a';
}

static void c_slot_alias_padding(uint8_t *b)
{
	SLOT_BYTE(b, S_CMK_ALIAS + 1) = 0;
}

static void c_slot_empty_not_zero(uint8_t *b)
{
	SLOT_BYTE(b, S_STATE) = 0;
}

static void c_tail_reserved(uint8_t *b)
{
	b[F_TAIL + 100] = 1;
}

static void c_no_active_slot(uint8_t *b)
{
	memset(b + F_SLOTS, 0, EC_HDR_SLOTS * SLOT_SIZE);
}

static void c_raw_label(uint8_t *b)
{
	b[F_LABEL] ^= 1;
}

static void c_raw_checksum(uint8_t *b)
{
	b[F_CHECKSUM + 31] ^= 0x80;
}

static void c_raw_seq(uint8_t *b)
{
	b[F_SEQ] ^= 1;
}

#define CORRUPTION(name, do_reseal, msg) \
	static const struct corruption corruption_##name = { \
		c_##name, do_reseal, "header copy 0: " msg }

CORRUPTION(magic, true, "bad magic");
CORRUPTION(version, true, "unsupported version 2");
CORRUPTION(copy_index, true, "copy index 1 at the place of copy 0");
CORRUPTION(copy_size, true, "copy size 8192, expected 16384");
CORRUPTION(cipher_unknown, true, "unknown cipher 'foo'");
CORRUPTION(cipher_unterminated, true, "cipher is not NUL-terminated");
CORRUPTION(cipher_padding, true, "cipher has non-zero bytes after its NUL");
CORRUPTION(cipher_empty, true, "unknown cipher ''");
CORRUPTION(sector_size, true, "sector size 1024 is not 512 or 4096");
CORRUPTION(flags, true, "unknown flags 0x1");
CORRUPTION(data_offset_unaligned, true, "data offset 1049088 is not");
CORRUPTION(data_offset_low, true, "data offset 16384 is not");
CORRUPTION(label_unterminated, true, "label is not NUL-terminated");
CORRUPTION(label_padding, true, "label has non-zero bytes after its NUL");
CORRUPTION(fixed_reserved, true, "reserved bytes 160..511 are not zero");
CORRUPTION(slot_state, true, "slot 3 has unknown state 2");
CORRUPTION(slot_reserved, true, "slot 3: reserved byte is not zero");
CORRUPTION(slot_cmk_version, true, "slot 3: CMK version 0");
CORRUPTION(slot_wrapped_len_zero, true,
	   "slot 3: wrapped key length 0 not in 1..512");
CORRUPTION(slot_wrapped_len_long, true,
	   "slot 3: wrapped key length 513 not in 1..512");
CORRUPTION(slot_wrapped_padding, true,
	   "slot 3: non-zero bytes after the wrapped key");
CORRUPTION(slot_uri_empty, true, "slot 3: empty kms_uri");
CORRUPTION(slot_uri_unterminated, true,
	   "slot 3: kms_uri is not NUL-terminated");
CORRUPTION(slot_uri_padding, true,
	   "slot 3: kms_uri has non-zero bytes after its NUL");
CORRUPTION(slot_id_empty, true, "slot 3: empty cmk_id");
CORRUPTION(slot_id_unterminated, true,
	   "slot 3: cmk_id is not NUL-terminated");
CORRUPTION(slot_id_padding, true,
	   "slot 3: cmk_id has non-zero bytes after its NUL");
CORRUPTION(slot_alias_unterminated, true,
	   "slot 3: cmk_alias is not NUL-terminated");
CORRUPTION(slot_alias_padding, true,
	   "slot 3: cmk_alias has non-zero bytes after its NUL");
CORRUPTION(slot_empty_not_zero, true, "slot 3 is empty but not zero");
CORRUPTION(tail_reserved, true, "reserved bytes 8704..16351 are not zero");
CORRUPTION(no_active_slot, true, "no active wrap slot");
CORRUPTION(raw_label, false, "checksum mismatch");
CORRUPTION(raw_checksum, false, "checksum mismatch");
CORRUPTION(raw_seq, false, "checksum mismatch");

static int setup_corruption(void **state)
{
	const struct corruption *c = *state;
	struct fixture *f;

	if (setup(state))
		return -1;
	f = *state;
	f->corruption = c;
	return 0;
}

static void test_decode_refuses_field(void **state)
{
	struct fixture *f = *state;
	const struct corruption *c = f->corruption;
	struct ec_header out;

	assert_int_equal(ec_header_encode(&f->hdr, 0, f->buf), 0);
	assert_int_equal(ec_header_decode(f->buf, 0, &out), 0);
	c->corrupt(f->buf);
	if (c->reseal)
		reseal(f->buf);
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(ec_header_decode(f->buf, 0, &out), -EUCLEAN);
	assert_msg_contains(c->message);
	/* Nothing of a refused copy is handed out. */
	assert_int_equal(out.seq, 0);
	assert_false(out.slots[0].active);
}

#define CORRUPTION_TEST(name) { \
	"test_decode_refuses_" #name, test_decode_refuses_field, \
	setup_corruption, teardown, (void *)&corruption_##name }

/* ---- two copies on a file -------------------------------------------- */

static void test_read_takes_newest_of_two_good_copies(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 9);
	put_copy(f, &f->hdr, 1, 9);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 9);
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_OK);
	f->hdr.seq = 9;
	assert_header_equal(&hdr, &f->hdr);
}

static void test_read_takes_newer_copy_0_after_interruption(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 1, 9);
	strcpy(f->hdr.label, "new");
	put_copy(f, &f->hdr, 0, 10);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 10);
	assert_string_equal(hdr.label, "new");
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_STALE);

	assert_int_equal(ec_header_repair(f->fd, &hdr, &load), 0);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 10);
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_OK);
	assert_copies_same(f);
}

static void test_read_prefers_copy_1_when_newer(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 3);
	strcpy(f->hdr.label, "new");
	put_copy(f, &f->hdr, 1, 4);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 4);
	assert_string_equal(hdr.label, "new");
	assert_int_equal(load.copy[0], EC_COPY_STALE);
	assert_int_equal(load.copy[1], EC_COPY_OK);
}

static void damaged_copy_is_used_and_repaired(struct fixture *f,
					      unsigned int bad)
{
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	put_copy(f, &f->hdr, 1, 7);
	damage_copy(f, bad);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 7);
	assert_int_equal(load.copy[bad], EC_COPY_DAMAGED);
	assert_int_equal(load.copy[!bad], EC_COPY_OK);
	assert_string_equal(load.why[bad], "checksum mismatch");

	assert_int_equal(ec_header_repair(f->fd, &hdr, &load), 0);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 7);
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_OK);
	assert_copies_same(f);
}

static void test_read_falls_back_to_copy_1_and_repairs_0(void **state)
{
	damaged_copy_is_used_and_repaired(*state, 0);
}

static void test_read_falls_back_to_copy_0_and_repairs_1(void **state)
{
	damaged_copy_is_used_and_repaired(*state, 1);
}

static void test_read_fails_when_both_copies_damaged(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	put_copy(f, &f->hdr, 1, 7);
	damage_copy(f, 0);
	read_raw_copy(f, 1, f->buf);
	put_le(f->buf + F_SECTOR_SIZE, 999, 4);
	reseal(f->buf);
	assert_int_equal(pwrite(f->fd, f->buf, EC_HDR_COPY_SIZE,
				EC_HDR_COPY_SIZE), EC_HDR_COPY_SIZE);

	assert_int_equal(ec_header_read(f->fd, &hdr, &load), -EUCLEAN);
	assert_msg_contains("copy 0: checksum mismatch");
	assert_msg_contains("copy 1: sector size 999 is not 512 or 4096");
	assert_int_equal(load.copy[0], EC_COPY_DAMAGED);
	assert_int_equal(load.copy[1], EC_COPY_DAMAGED);
	assert_int_equal(hdr.seq, 0);
}

static void test_read_fails_when_same_seq_differs(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	f->hdr.slots[5].created++;
	put_copy(f, &f->hdr, 1, 7);
	assert_int_equal(ec_header_read(f->fd, &hdr, NULL), -EUCLEAN);
	assert_msg_contains("both header copies have sequence 7 but differ; restore one from a backup");
}

static void test_read_reports_no_header_on_zeros(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	assert_int_equal(ftruncate(f->fd, 4 * EC_HDR_COPY_SIZE), 0);
	assert_int_equal(ec_header_read(f->fd, &hdr, NULL), -ENODATA);
	assert_string_equal(ec_err_msg(), "not an envcrypt volume (no header)");
}

static void test_read_reports_no_header_on_empty_file(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	assert_int_equal(ec_header_read(f->fd, &hdr, NULL), -ENODATA);
}

static void test_read_uses_copy_0_when_device_ends_in_copy_1(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	put_copy(f, &f->hdr, 1, 7);
	assert_int_equal(ftruncate(f->fd, EC_HDR_COPY_SIZE + 100), 0);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_DAMAGED);
	assert_string_equal(load.why[1],
			    "device too small (100 of 16384 bytes)");
}

static void test_read_fails_cleanly_when_device_too_small(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	assert_int_equal(ftruncate(f->fd, 1000), 0);
	assert_int_equal(ec_header_read(f->fd, &hdr, NULL), -EUCLEAN);
	assert_msg_contains("copy 0: device too small (1000 of 16384 bytes)");
	assert_msg_contains("copy 1: device too small (0 of 16384 bytes)");
}

static void test_read_uses_copy_0_when_copy_1_unreadable(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	put_copy(f, &f->hdr, 1, 7);
	fault.fail_read_at = EC_HDR_COPY_SIZE;
	fault.read_errno = EIO;
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 7);
	assert_int_equal(load.copy[1], EC_COPY_DAMAGED);
	assert_string_equal(load.why[1], "read failed: Input/output error");
}

static void test_read_fails_when_device_unreadable(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	assert_int_equal(close(f->fd), 0);
	f->fd = open(f->path, O_WRONLY);
	assert_true(f->fd >= 0);
	assert_int_equal(ec_header_read(f->fd, &hdr, NULL), -EBADF);
	assert_msg_contains("cannot read the header");
}

static void test_write_raises_seq_and_writes_both_copies(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	f->hdr.seq = 41;
	assert_int_equal(ec_header_write(f->fd, &f->hdr), 0);
	assert_int_equal(f->hdr.seq, 42);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_header_equal(&hdr, &f->hdr);
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_OK);
	assert_copies_same(f);
	assert_int_equal(fault.syncs, 2);

	assert_int_equal(ec_header_write(f->fd, &hdr), 0);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 43);
}

static void test_write_survives_short_writes_and_eintr(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	fault.short_writes = true;
	assert_int_equal(ec_header_write(f->fd, &f->hdr), 0);
	fault.short_writes = false;
	assert_int_equal(ec_header_read(f->fd, &hdr, NULL), 0);
	assert_header_equal(&hdr, &f->hdr);
	assert_copies_same(f);
}

static void test_write_of_invalid_header_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	f->hdr.sector_size = 1024;
	assert_int_equal(ec_header_write(f->fd, &f->hdr), -EINVAL);
	assert_msg_contains("cannot write header: sector size 1024");
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_size, 0);
}

/* The update is interrupted after copy 0: the new state opens. */
static void test_write_failing_on_copy_1_opens_new_state(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	f->hdr.seq = 10;
	assert_int_equal(ec_header_write(f->fd, &f->hdr), 0);
	strcpy(f->hdr.label, "new");
	fault.fail_write_at = EC_HDR_COPY_SIZE;
	fault.write_errno = ENOSPC;
	assert_int_equal(ec_header_write(f->fd, &f->hdr), -ENOSPC);
	assert_msg_contains("header copy 1: write failed: No space left on device");
	fault_reset();

	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 12);
	assert_string_equal(hdr.label, "new");
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_STALE);
}

/* The update fails on copy 0: the old state still opens, unchanged. */
static void test_write_failing_on_copy_0_opens_old_state(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	f->hdr.seq = 10;
	assert_int_equal(ec_header_write(f->fd, &f->hdr), 0);
	strcpy(f->hdr.label, "new");
	fault.fail_write_at = 0;
	fault.write_errno = EIO;
	assert_int_equal(ec_header_write(f->fd, &f->hdr), -EIO);
	assert_msg_contains("header copy 0: write failed: Input/output error; the header on the device is unchanged");
	fault_reset();

	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(hdr.seq, 11);
	assert_string_not_equal(hdr.label, "new");
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_OK);
}

static void test_write_reports_failed_sync(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	fault.fail_sync_after = 2;
	assert_int_equal(ec_header_write(f->fd, &f->hdr), -EIO);
	assert_msg_contains("header copy 1: write failed");
	fault_reset();
	assert_int_equal(ec_header_read(f->fd, &hdr, NULL), 0);
}

static void test_repair_failing_reports_and_keeps_good_copy(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	put_copy(f, &f->hdr, 1, 7);
	damage_copy(f, 1);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	fault.fail_write_at = EC_HDR_COPY_SIZE;
	fault.write_errno = EIO;
	assert_int_equal(ec_header_repair(f->fd, &hdr, &load), -EIO);
	assert_msg_contains("header copy 1: repair failed");
	fault_reset();
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_DAMAGED);
}

static void test_repair_writes_nothing_when_both_ok(void **state)
{
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;

	put_copy(f, &f->hdr, 0, 7);
	put_copy(f, &f->hdr, 1, 7);
	assert_int_equal(ec_header_read(f->fd, &hdr, &load), 0);
	fault.fail_write_at = 0;
	fault.write_errno = EIO;
	assert_int_equal(ec_header_repair(f->fd, &hdr, &load), 0);
	assert_int_equal(fault.syncs, 0);
}

/* ---- encryption context ---------------------------------------------- */

static const char known_context[] =
	"envcrypt-context-v1 volume=00112233-4455-6677-8899-aabbccddeeff "
	"cipher=aes-xts-plain64 sector_size=512 data_offset=1048576 "
	"cmk=key-1";

static void test_context_is_exact_text(void **state)
{
	struct fixture *f = *state;
	char buf[512];

	small_header(&f->hdr);
	assert_int_equal(ec_header_context(&f->hdr, &f->hdr.slots[0], buf,
					   sizeof(buf)),
			 strlen(known_context));
	assert_string_equal(buf, known_context);
}

static void test_context_refuses_small_buffer(void **state)
{
	struct fixture *f = *state;
	size_t len = strlen(known_context);
	char buf[512];

	small_header(&f->hdr);
	assert_int_equal(ec_header_context(&f->hdr, &f->hdr.slots[0], buf,
					   len), -ENAMETOOLONG);
	assert_int_equal(ec_header_context(&f->hdr, &f->hdr.slots[0], buf,
					   len + 1), len);
	assert_string_equal(buf, known_context);
}

static void test_context_of_longest_fields_fits_context_max(void **state)
{
	struct fixture *f = *state;
	char buf[EC_HDR_CONTEXT_MAX];

	/* docs/FORMAT.md: the longest context is 268 bytes. */
	f->hdr.data_offset = UINT64_MAX;
	assert_int_equal(ec_header_context(&f->hdr, &f->hdr.slots[0], buf,
					   sizeof(buf)), 268);
	assert_int_equal(strlen(buf), 268);
}

static void assert_context_differs(const struct ec_header *hdr,
				   const struct ec_header *changed)
{
	char a[512], b[512];

	assert_true(ec_header_context(hdr, &hdr->slots[0], a, sizeof(a)) > 0);
	assert_true(ec_header_context(changed, &changed->slots[0], b,
				      sizeof(b)) > 0);
	assert_string_not_equal(a, b);
}

static void test_context_binds_uuid_cipher_sector_offset_cmk(void **state)
{
	struct fixture *f = *state;
	struct ec_header h;

	small_header(&f->hdr);
	h = f->hdr;
	h.uuid[15] ^= 1;
	assert_context_differs(&f->hdr, &h);
	h = f->hdr;
	strcpy(h.cipher, ENVCRYPT_CIPHER_SM4_XTS);
	assert_context_differs(&f->hdr, &h);
	h = f->hdr;
	h.sector_size = 4096;
	assert_context_differs(&f->hdr, &h);
	h = f->hdr;
	h.data_offset += 4096;
	assert_context_differs(&f->hdr, &h);
	h = f->hdr;
	strcpy(h.slots[0].cmk_id, "key-2");
	assert_context_differs(&f->hdr, &h);
}

static void test_context_ignores_seq_label_and_slot_details(void **state)
{
	struct fixture *f = *state;
	char a[512], b[512];
	struct ec_header h;

	small_header(&f->hdr);
	h = f->hdr;
	h.seq++;
	h.created++;
	strcpy(h.label, "other");
	h.kcv[0] ^= 1;
	h.slots[0].cmk_version = 2;
	strcpy(h.slots[0].cmk_alias, "alias/other");
	assert_true(ec_header_context(&f->hdr, &f->hdr.slots[0], a,
				      sizeof(a)) > 0);
	assert_true(ec_header_context(&h, &h.slots[0], b, sizeof(b)) > 0);
	assert_string_equal(a, b);
}

/* ---- cipher, key check value, UUID ----------------------------------- */

static void test_cipher_key_size_knows_both_ciphers(void **state)
{
	(void)state;
	assert_int_equal(ec_cipher_key_size("aes-xts-plain64"), 64);
	assert_int_equal(ec_cipher_key_size("sm4-xts-plain64"), 32);
	assert_int_equal(ec_cipher_key_size("aes-xts-plain"), 0);
	assert_int_equal(ec_cipher_key_size(""), 0);
}

static void test_kcv_matches_known_answer(void **state)
{
	/* printf 'dm-envcrypt key check value v1' | cat - key | sha256sum */
	static const uint8_t expected64[EC_HDR_KCV_SIZE] = {
		0x11, 0x4d, 0xad, 0xe0, 0x87, 0xd9, 0x17, 0xc8,
		0x2c, 0xfc, 0x81, 0x5e, 0x0e, 0x62, 0x3b, 0xfe,
	};
	static const uint8_t expected32[EC_HDR_KCV_SIZE] = {
		0x28, 0x5a, 0x58, 0x6f, 0x7e, 0x1e, 0x17, 0xe6,
		0xc9, 0x4b, 0xdc, 0x65, 0xea, 0x6c, 0x2b, 0x7a,
	};
	uint8_t dk[64], kcv[EC_HDR_KCV_SIZE];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(dk); i++)
		dk[i] = i;
	ec_kcv(dk, 64, kcv);
	assert_memory_equal(kcv, expected64, sizeof(kcv));
	ec_kcv(dk, 32, kcv);
	assert_memory_equal(kcv, expected32, sizeof(kcv));
	dk[63] ^= 1;
	ec_kcv(dk, 64, kcv);
	assert_memory_not_equal(kcv, expected64, ENVCRYPT_KCV_SIZE);
}

static void test_uuid_format_and_parse_round_trip(void **state)
{
	static const uint8_t uuid[EC_UUID_SIZE] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	};
	uint8_t out[EC_UUID_SIZE];
	char text[37];

	(void)state;
	ec_uuid_format(uuid, text);
	assert_string_equal(text, "01234567-89ab-cdef-fedc-ba9876543210");
	assert_int_equal(ec_uuid_parse(text, out), 0);
	assert_memory_equal(out, uuid, EC_UUID_SIZE);
	memset(out, 0, sizeof(out));
	assert_int_equal(ec_uuid_parse("01234567-89AB-CDEF-FEDC-BA9876543210",
				       out), 0);
	assert_memory_equal(out, uuid, EC_UUID_SIZE);
}

static void test_uuid_parse_rejects_bad_text(void **state)
{
	static const char *const bad[] = {
		"",
		"01234567-89ab-cdef-fedc-ba987654321",
		"01234567-89ab-cdef-fedc-ba98765432100",
		"01234567-89ab-cdef-fedc-ba987654321g",
		"0123456789ab-cdef-fedc-ba9876543210-",
		"01234567-89abcdef-fedc-ba9876543210",
		"01234567-89ab-cdef-fedcba9876543210",
		"{01234567-89ab-cdef-fedc-ba9876543210}",
		"01234567-89ab-cdef-fedc-ba9876543210 ",
		" 01234567-89ab-cdef-fedc-ba9876543210",
		"01234567_89ab_cdef_fedc_ba9876543210",
		"0123456789abcdeffedcba9876543210",
		"01234567-89ab-cdef-fedc-ba98765432-0",
		"+1234567-89ab-cdef-fedc-ba9876543210",
	};
	uint8_t out[EC_UUID_SIZE], zero[EC_UUID_SIZE] = { 0 };
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0, sizeof(out));
		ec_err_clear();
		if (ec_uuid_parse(bad[i], out) != -EINVAL)
			fail_msg("UUID '%s' was accepted", bad[i]);
		assert_memory_equal(out, zero, sizeof(out));
		assert_msg_contains("invalid UUID");
	}
}

#define HEADER_TEST(f) \
	cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		HEADER_TEST(test_round_trip_keeps_full_aes_header),
		HEADER_TEST(test_round_trip_keeps_full_sm4_header),
		HEADER_TEST(test_round_trip_keeps_small_header),
		HEADER_TEST(test_encode_places_fields_at_documented_offsets),
		HEADER_TEST(test_encode_writes_inactive_slot_as_zeros),
		HEADER_TEST(test_encode_pads_strings_with_zeros),
		HEADER_TEST(test_encode_refuses_unknown_cipher),
		HEADER_TEST(test_encode_refuses_header_without_active_slot),
		HEADER_TEST(test_encode_refuses_overlong_wrapped_key),
		HEADER_TEST(test_encode_refuses_cmk_version_mismatch),
		HEADER_TEST(test_encode_refuses_copy_index_2),
		HEADER_TEST(test_decode_refuses_copy_read_at_other_place),
		CORRUPTION_TEST(magic),
		CORRUPTION_TEST(version),
		CORRUPTION_TEST(copy_index),
		CORRUPTION_TEST(copy_size),
		CORRUPTION_TEST(cipher_unknown),
		CORRUPTION_TEST(cipher_unterminated),
		CORRUPTION_TEST(cipher_padding),
		CORRUPTION_TEST(cipher_empty),
		CORRUPTION_TEST(sector_size),
		CORRUPTION_TEST(flags),
		CORRUPTION_TEST(data_offset_unaligned),
		CORRUPTION_TEST(data_offset_low),
		CORRUPTION_TEST(label_unterminated),
		CORRUPTION_TEST(label_padding),
		CORRUPTION_TEST(fixed_reserved),
		CORRUPTION_TEST(slot_state),
		CORRUPTION_TEST(slot_reserved),
		CORRUPTION_TEST(slot_cmk_version),
		CORRUPTION_TEST(slot_wrapped_len_zero),
		CORRUPTION_TEST(slot_wrapped_len_long),
		CORRUPTION_TEST(slot_wrapped_padding),
		CORRUPTION_TEST(slot_uri_empty),
		CORRUPTION_TEST(slot_uri_unterminated),
		CORRUPTION_TEST(slot_uri_padding),
		CORRUPTION_TEST(slot_id_empty),
		CORRUPTION_TEST(slot_id_unterminated),
		CORRUPTION_TEST(slot_id_padding),
		CORRUPTION_TEST(slot_alias_unterminated),
		CORRUPTION_TEST(slot_alias_padding),
		CORRUPTION_TEST(slot_empty_not_zero),
		CORRUPTION_TEST(tail_reserved),
		CORRUPTION_TEST(no_active_slot),
		CORRUPTION_TEST(raw_label),
		CORRUPTION_TEST(raw_checksum),
		CORRUPTION_TEST(raw_seq),
		HEADER_TEST(test_read_takes_newest_of_two_good_copies),
		HEADER_TEST(test_read_takes_newer_copy_0_after_interruption),
		HEADER_TEST(test_read_prefers_copy_1_when_newer),
		HEADER_TEST(test_read_falls_back_to_copy_1_and_repairs_0),
		HEADER_TEST(test_read_falls_back_to_copy_0_and_repairs_1),
		HEADER_TEST(test_read_fails_when_both_copies_damaged),
		HEADER_TEST(test_read_fails_when_same_seq_differs),
		HEADER_TEST(test_read_reports_no_header_on_zeros),
		HEADER_TEST(test_read_reports_no_header_on_empty_file),
		HEADER_TEST(test_read_uses_copy_0_when_device_ends_in_copy_1),
		HEADER_TEST(test_read_fails_cleanly_when_device_too_small),
		HEADER_TEST(test_read_uses_copy_0_when_copy_1_unreadable),
		HEADER_TEST(test_read_fails_when_device_unreadable),
		HEADER_TEST(test_write_raises_seq_and_writes_both_copies),
		HEADER_TEST(test_write_survives_short_writes_and_eintr),
		HEADER_TEST(test_write_of_invalid_header_writes_nothing),
		HEADER_TEST(test_write_failing_on_copy_1_opens_new_state),
		HEADER_TEST(test_write_failing_on_copy_0_opens_old_state),
		HEADER_TEST(test_write_reports_failed_sync),
		HEADER_TEST(test_repair_failing_reports_and_keeps_good_copy),
		HEADER_TEST(test_repair_writes_nothing_when_both_ok),
		HEADER_TEST(test_context_is_exact_text),
		HEADER_TEST(test_context_refuses_small_buffer),
		HEADER_TEST(test_context_of_longest_fields_fits_context_max),
		HEADER_TEST(test_context_binds_uuid_cipher_sector_offset_cmk),
		HEADER_TEST(test_context_ignores_seq_label_and_slot_details),
		cmocka_unit_test(test_cipher_key_size_knows_both_ciphers),
		cmocka_unit_test(test_kcv_matches_known_answer),
		cmocka_unit_test(test_uuid_format_and_parse_round_trip),
		cmocka_unit_test(test_uuid_parse_rejects_bad_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
