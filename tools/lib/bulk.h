/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bulk data path of the commands that write whole images (convert,
 * copy, snapshot): read the source's data in chunks, decrypt and/or
 * encrypt them (xts.h), write them to the destination and read every
 * written chunk back to compare it byte for byte, on worker threads (one
 * per core, two by default), while the calling thread shows progress and
 * records how far the destination is complete, for a resume.
 */
#ifndef ENVCRYPT_BULK_H
#define ENVCRYPT_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EC_BULK_CHUNK		(4u << 20)	/* bytes per unit of work */
#define EC_BULK_THREADS		2

/* A cipher and data key (locked memory, the caller's); NULL: none. */
struct ec_bulk_key {
	const char *cipher;
	const uint8_t *dk;
	size_t dk_len;
	uint32_t sector_size;
};

struct ec_bulk {
	const char *src_name, *dst_name;	/* for messages */
	int src_fd, dst_fd;
	uint64_t src_off;	/* where the source's data starts */
	uint64_t src_len;	/* its bytes; past them the source is zeros */
	uint64_t dst_off;	/* where the destination's data starts */
	uint64_t len;		/* bytes to write: whole sectors */
	uint64_t start;		/* bytes already done (a resume) */
	struct ec_bulk_key from;	/* decrypt the source with this */
	struct ec_bulk_key to;		/* encrypt with this */
	/* without to: the part past src_len is zeros encrypted with this */
	struct ec_bulk_key tail;
	unsigned int threads;	/* 0: EC_BULK_THREADS */
	bool progress;		/* a progress bar on stderr */
	/*
	 * Called by the calling thread about once a second and at the end,
	 * after an fdatasync of the destination, with the bytes from 0 that
	 * are written and checked; a nonzero return stops the run with it.
	 */
	int (*checkpoint)(void *arg, uint64_t done);
	void *arg;
};

/*
 * Run @b; *@done (may be NULL) gets the bytes from 0 that are complete,
 * also on failure.  The first failure stops every worker; its message
 * names the device and the offset.
 */
int ec_bulk_run(const struct ec_bulk *b, uint64_t *done);

/*
 * Write all @len bytes of @buf at @off of @fd: 0, or a negative errno
 * with a message naming @name and the offset.
 */
int ec_bulk_write(int fd, const void *buf, size_t len, uint64_t off,
		  const char *name);

#endif /* ENVCRYPT_BULK_H */
