/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The volume header: what envcryptctl keeps at the start of a volume.
 * Byte layout: docs/FORMAT.md.
 *
 * Two copies (copy 0 at byte 0, copy 1 at byte EC_HDR_COPY_SIZE), each
 * with a sequence number and a SHA-256 checksum.  An update writes copy 0
 * then copy 1, each followed by fsync, with the sequence number raised by
 * one; so after any interruption at least one copy is whole, and the
 * newer whole copy wins.  The data starts at data_offset.
 */
#ifndef ENVCRYPT_HEADER_H
#define ENVCRYPT_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms.h"

#define EC_HDR_MAGIC		"ENVCRYPT"	/* 8 bytes, no NUL */
#define EC_HDR_VERSION		1
#define EC_HDR_COPY_SIZE	16384
#define EC_HDR_COPIES		2
#define EC_HDR_SLOTS		8
#define EC_HDR_DATA_OFFSET	(1024 * 1024)	/* default: 1 MiB */
#define EC_UUID_SIZE		16
#define EC_CIPHER_MAX		32		/* with the NUL */
#define EC_LABEL_MAX		48		/* with the NUL */
#define EC_HDR_KCV_SIZE		16
#define EC_HDR_CONTEXT_MAX	512		/* any context, with the NUL */

struct ec_wrap_slot {
	bool active;
	uint32_t cmk_version;			/* in wrapped.cmk_version too */
	int64_t created;			/* Unix time */
	char kms_uri[EC_KMS_URI_MAX];		/* e.g. "local:" */
	char cmk_id[EC_CMK_ID_MAX];		/* canonical key id */
	char cmk_alias[EC_CMK_ALIAS_MAX];	/* alias when wrapped, or "" */
	struct ec_wrapped wrapped;
};

struct ec_header {
	uint64_t seq;				/* sequence number */
	uint8_t uuid[EC_UUID_SIZE];		/* volume UUID */
	char cipher[EC_CIPHER_MAX];		/* "aes-xts-plain64" ... */
	uint32_t sector_size;			/* 512 or 4096 */
	uint64_t data_offset;			/* bytes, a multiple of 4096,
						 * >= 2 * EC_HDR_COPY_SIZE */
	int64_t created;			/* Unix time */
	char label[EC_LABEL_MAX];
	/* first EC_HDR_KCV_SIZE bytes of SHA-256(ENVCRYPT_KCV_LABEL || DK) */
	uint8_t kcv[EC_HDR_KCV_SIZE];
	struct ec_wrap_slot slots[EC_HDR_SLOTS];
};

/* What ec_header_read() found in each copy. */
enum ec_copy_state {
	EC_COPY_OK,		/* valid and the newest */
	EC_COPY_STALE,		/* valid, lower sequence number */
	EC_COPY_DAMAGED,	/* bad magic, checksum or field */
};

struct ec_header_load {
	enum ec_copy_state copy[EC_HDR_COPIES];
	char why[EC_HDR_COPIES][128];	/* for DAMAGED: what was wrong */
};

/*
 * One copy to and from its EC_HDR_COPY_SIZE bytes.  decode checks the
 * magic, version, copy index, checksum, and every field (known cipher,
 * sector size, data offset, strings NUL-terminated, slot lengths) and
 * returns -EUCLEAN with the reason in the message when one is wrong.
 */
int ec_header_encode(const struct ec_header *hdr, unsigned int copy,
		     uint8_t *buf);
int ec_header_decode(const uint8_t *buf, unsigned int copy,
		     struct ec_header *hdr);

/*
 * Read both copies from @fd and return the newest valid one.  -EUCLEAN
 * when neither is valid, or when both are valid with the same sequence
 * number but differ (a message says which).  -ENODATA when neither copy
 * has the magic (not an envcrypt volume).  @load (may be NULL) tells
 * what each copy was, for repair and dump.
 */
int ec_header_read(int fd, struct ec_header *hdr,
		   struct ec_header_load *load);

/*
 * Write @hdr as the next state: hdr->seq is raised by one, then copy 0
 * and copy 1 are written in turn, each followed by fdatasync.
 */
int ec_header_write(int fd, struct ec_header *hdr);

/* Rewrite the copies that @load says are not EC_COPY_OK from @hdr. */
int ec_header_repair(int fd, const struct ec_header *hdr,
		     const struct ec_header_load *load);

/*
 * The encryption context of @slot in @hdr, the AAD every wrap is bound
 * to: a canonical text (docs/FORMAT.md, "Encryption context") of the
 * volume UUID, cipher, sector size, data offset and CMK id.  Returns its
 * length, or -ENAMETOOLONG if @size is too small.
 */
int ec_header_context(const struct ec_header *hdr,
		      const struct ec_wrap_slot *slot, char *buf, size_t size);

/* Data key size for a cipher name, 0 if not a known cipher. */
size_t ec_cipher_key_size(const char *cipher);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; @out has 37 bytes. */
void ec_uuid_format(const uint8_t uuid[EC_UUID_SIZE], char *out);
int ec_uuid_parse(const char *text, uint8_t uuid[EC_UUID_SIZE]);

/* The header's key check value of @dk. */
void ec_kcv(const uint8_t *dk, size_t dk_len, uint8_t kcv[EC_HDR_KCV_SIZE]);

#endif /* ENVCRYPT_HEADER_H */
