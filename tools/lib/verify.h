/* SPDX-License-Identifier: GPL-2.0 */
/*
 * verify-at-rest: evidence that what lies on a device is ciphertext.
 *
 * Statistics.  Sectors of the data area (the header's sector size) are
 * sampled: evenly spaced positions (the first and the last sector among
 * them) and some random ones.  A sector of zeros was never written (a
 * fresh device reads zeros, and so do discarded sectors): it is counted
 * apart, as unwritten, not as plaintext.  Every other sector is tested
 * alone: its byte histogram's chi-square (255 degrees of freedom) must
 * lie within the band random data falls in but for a chance of 1e-12 on
 * either side, and no two of its 16-byte blocks may be equal (in XTS
 * ciphertext they are never).  A sector that fails either is non-random:
 * plaintext, or data the volume did not write (what was on the device
 * before format, in sectors not written since).  The written sectors
 * together give the byte entropy (bits per byte, beside what random data
 * of that length gives) and the chi-square of their histogram with its
 * p-value, which must lie in the same band.
 *
 * Compressed or already encrypted plaintext looks random too: statistics
 * cannot tell it from ciphertext.  For that, the plaintext search.
 *
 * Plaintext search.  The file's 16-byte blocks at offsets that are
 * multiples of 16 * stride (stride 1 unless the file has more than
 * EC_VERIFY_BLOCKS_MAX blocks) go into a table, except blocks with fewer
 * than 4 distinct byte values (zeros, padding: they would match unwritten
 * sectors).  The whole raw device is read once, and at every byte offset
 * the 16 bytes there are looked up (a rolling hash, then a compare); a hit
 * is extended both ways against the file.  Every run of at least
 * max(64, 16 * stride + 15) bytes of the file found on the device, at any
 * alignment, is reported with its device offset, file offset and length.
 */
#ifndef ENVCRYPT_VERIFY_H
#define ENVCRYPT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "header.h"

#define EC_VERIFY_SAMPLES_DEFAULT	256
#define EC_VERIFY_SAMPLES_MAX		(1u << 24)
#define EC_VERIFY_P_BAND		1e-12	/* each side */
#define EC_VERIFY_MIN_RUN		64
#define EC_VERIFY_BLOCKS_MAX		(4u << 20)
#define EC_VERIFY_OFFSETS_MAX		16	/* offsets kept per finding */

/* One sector's statistics. */
struct ec_sector_stats {
	bool zero;			/* all zeros: unwritten */
	double chi2;			/* of the byte histogram, 255 dof */
	double p;			/* upper-tail p-value of chi2 */
	double entropy;			/* bits per byte */
	unsigned int dup_blocks;	/* 16-byte blocks seen before */
	bool random;			/* within the band, no duplicates */
};

struct ec_verify_stats {
	uint32_t sector_size;
	uint64_t start, sectors;	/* data area: byte offset, count */
	uint64_t sampled, spaced, random_picks;
	uint64_t zero;			/* unwritten sectors among them */
	uint64_t written;
	double entropy;			/* over the written sectors */
	double entropy_random;		/* what random data of that size gives */
	double chi2, p;			/* of their histogram, 255 dof */
	bool aggregate_random;		/* p within the band */
	uint64_t nonrandom;		/* sectors that failed */
	uint64_t nonrandom_off[EC_VERIFY_OFFSETS_MAX];	/* byte offsets */
	double nonrandom_chi2[EC_VERIFY_OFFSETS_MAX];
};

struct ec_verify_match {
	uint64_t dev_off, file_off, len;
};

struct ec_verify_plain {
	const char *path;
	uint64_t size;			/* of the file */
	uint64_t blocks;		/* in the table */
	uint64_t min_run;		/* shortest run that is found */
	uint64_t found;			/* runs found */
	struct ec_verify_match match[EC_VERIFY_OFFSETS_MAX];
};

/* The upper-tail p-value of @chi2 with @dof degrees of freedom. */
double ec_chi2_p(double chi2, unsigned int dof);

/* The statistics of one sector of @len bytes. */
void ec_sector_stats(const uint8_t *buf, size_t len,
		     struct ec_sector_stats *st);

/*
 * Which sectors to sample among @sectors for @n samples: sorted, no
 * duplicates, @n - @n / 4 evenly spaced (the first and the last among
 * them) and @n / 4 from @seed (all sectors when @sectors <= @n).  Returns
 * how many went to @pos (at most @n), *@spaced of them evenly spaced.
 */
size_t ec_verify_positions(uint64_t sectors, size_t n, uint64_t seed,
			   uint64_t *pos, uint64_t *spaced);

/*
 * Sample @samples sectors of @sector_size bytes of @fd in the data area
 * from byte @start, @sectors of them.  -EIO with a message on a read
 * error.
 */
int ec_verify_sample(int fd, const char *device, uint64_t start,
		     uint64_t sectors, uint32_t sector_size,
		     unsigned int samples, struct ec_verify_stats *st);

/*
 * Search @fd (@dev_size bytes) for the content of the file @p->path.
 * -ENOENT etc. with a message when the file cannot be read, -EINVAL when
 * it has no block worth searching for (shorter than the shortest run, or
 * nothing but low-information bytes).
 */
int ec_verify_plaintext(int fd, const char *device, uint64_t dev_size,
			struct ec_verify_plain *p);

/* The search on memory, for the tests: @dev of @dev_len bytes. */
int ec_verify_plaintext_buf(const uint8_t *dev, size_t dev_len,
			    const uint8_t *file, size_t file_len,
			    struct ec_verify_plain *p);

#endif /* ENVCRYPT_VERIFY_H */
