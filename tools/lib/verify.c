// SPDX-License-Identifier: GPL-2.0
/*
 * verify-at-rest (verify.h): sector statistics against random data, and
 * the search for a plaintext file on the raw device.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "error.h"
#include "verify.h"

#define DOF		255
#define BLOCK		16
#define LOW_INFO	4		/* distinct bytes a block needs */
#define CHUNK		(4u << 20)	/* the scan reads this much at once */

/* ---- statistics ----------------------------------------------------- */

/*
 * Both tails of the chi-square distribution by the Wilson-Hilferty cube
 * root transform (within a few percent of the exact tails out to 1e-15
 * for 255 degrees of freedom, which is all a pass band needs).
 */
static void chi2_tails(double chi2, unsigned int dof, double *upper,
		       double *lower)
{
	double k = dof, v = 2.0 / (9.0 * k), z;

	if (chi2 <= 0) {
		*upper = 1.0;
		*lower = 0.0;
		return;
	}
	z = (cbrt(chi2 / k) - (1.0 - v)) / sqrt(v);
	*upper = 0.5 * erfc(z / M_SQRT2);
	*lower = 0.5 * erfc(-z / M_SQRT2);
}

double ec_chi2_p(double chi2, unsigned int dof)
{
	double upper, lower;

	chi2_tails(chi2, dof, &upper, &lower);
	return upper;
}

static double chi2_of(const uint64_t hist[256], uint64_t n)
{
	double e = (double)n / 256, chi2 = 0, d;
	int i;

	for (i = 0; i < 256; i++) {
		d = (double)hist[i] - e;
		chi2 += d * d / e;
	}
	return chi2;
}

static double entropy_of(const uint64_t hist[256], uint64_t n)
{
	double h = 0, q;
	int i;

	for (i = 0; i < 256; i++) {
		if (!hist[i])
			continue;
		q = (double)hist[i] / n;
		h -= q * log2(q);
	}
	return h;
}

/* The plug-in entropy random bytes give, on average, for @n of them. */
static double entropy_random(uint64_t n)
{
	return n ? 8.0 - 255.0 / (2.0 * (double)n * M_LN2) : 0;
}

static int cmp_block(const void *a, const void *b)
{
	return memcmp(a, b, BLOCK);
}

static bool in_band(double upper, double lower)
{
	return upper >= EC_VERIFY_P_BAND && lower >= EC_VERIFY_P_BAND;
}

void ec_sector_stats(const uint8_t *buf, size_t len,
		     struct ec_sector_stats *st)
{
	uint64_t hist[256] = { 0 };
	uint8_t blocks[4096];
	double lower;
	size_t i, nb;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < len; i++)
		hist[buf[i]]++;
	st->zero = hist[0] == len;
	if (st->zero)
		return;
	st->chi2 = chi2_of(hist, len);
	chi2_tails(st->chi2, DOF, &st->p, &lower);
	st->entropy = entropy_of(hist, len);
	nb = (len < sizeof(blocks) ? len : sizeof(blocks)) / BLOCK;
	memcpy(blocks, buf, nb * BLOCK);
	qsort(blocks, nb, BLOCK, cmp_block);
	for (i = 1; i < nb; i++)
		if (!memcmp(blocks + (i - 1) * BLOCK, blocks + i * BLOCK,
			    BLOCK))
			st->dup_blocks++;
	st->random = in_band(st->p, lower) && !st->dup_blocks;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* xorshift64*: positions only, nothing secret */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

size_t ec_verify_positions(uint64_t sectors, size_t n, uint64_t seed,
			   uint64_t *pos, uint64_t *spaced)
{
	size_t m, i, k = 0;
	int tries;

	*spaced = 0;
	if (!sectors || !n)
		return 0;
	if (sectors <= n) {
		for (i = 0; i < sectors; i++)
			pos[i] = i;
		*spaced = sectors;
		return sectors;
	}
	m = n - n / 4;
	for (i = 0; i < m; i++)
		pos[k++] = m == 1 ? 0 :
			(uint64_t)((unsigned __int128)i * (sectors - 1) /
				   (m - 1));
	seed = (seed ^ (seed >> 31)) * 0xbf58476d1ce4e5b9ULL + 1;
	if (!seed)
		seed = 1;
	/*
	 * Random picks until there are @n distinct positions (there are
	 * more sectors than @n): draw the missing ones, sort, drop repeats.
	 */
	for (tries = 0; k < n && tries < 64; tries++) {
		while (k < n)
			pos[k++] = next_rand(&seed) % sectors;
		qsort(pos, k, sizeof(*pos), cmp_u64);
		for (i = 1, m = 1; i < k; i++)
			if (pos[i] != pos[m - 1])
				pos[m++] = pos[i];
		k = m;
	}
	*spaced = n - n / 4;
	return k;
}

/* @len bytes at @off: the end of the device before them is -EIO. */
static int pread_all(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	ssize_t n = ec_pread_full(fd, buf, len, off);

	if (n < 0)
		return (int)n;
	return (size_t)n < len ? -EIO : 0;
}

int ec_verify_sample(int fd, const char *device, uint64_t start,
		     uint64_t sectors, uint32_t sector_size,
		     unsigned int samples, struct ec_verify_stats *st)
{
	struct ec_sector_stats ss;
	uint64_t hist[256] = { 0 }, seed = 0, *pos, off, total = 0;
	double lower;
	uint8_t *buf;
	size_t n, i, j;
	int r = 0;

	memset(st, 0, sizeof(*st));
	st->sector_size = sector_size;
	st->start = start;
	st->sectors = sectors;
	pos = calloc(samples ? samples : 1, sizeof(*pos));
	buf = malloc(sector_size);
	if (!pos || !buf) {
		r = ec_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
	n = ec_verify_positions(sectors, samples, seed, pos, &st->spaced);
	st->sampled = n;
	st->random_picks = n - st->spaced;
	/* what the raw device's page cache holds may be older than the disk */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (i = 0; i < n; i++) {
		off = start + pos[i] * sector_size;
		r = pread_all(fd, buf, sector_size, off);
		if (r) {
			r = ec_err_set(-EIO, "%s: cannot read the sector at byte %llu: %s",
				       device, (unsigned long long)off,
				       strerror(-r));
			goto out;
		}
		ec_sector_stats(buf, sector_size, &ss);
		if (ss.zero) {
			st->zero++;
			continue;
		}
		st->written++;
		for (j = 0; j < sector_size; j++)
			hist[buf[j]]++;
		total += sector_size;
		if (ss.random)
			continue;
		if (st->nonrandom < EC_VERIFY_OFFSETS_MAX) {
			st->nonrandom_off[st->nonrandom] = off;
			st->nonrandom_chi2[st->nonrandom] = ss.chi2;
		}
		st->nonrandom++;
	}
	if (total) {
		st->entropy = entropy_of(hist, total);
		st->entropy_random = entropy_random(total);
		st->chi2 = chi2_of(hist, total);
		chi2_tails(st->chi2, DOF, &st->p, &lower);
		st->aggregate_random = in_band(st->p, lower);
	} else {
		st->aggregate_random = true;
	}
out:
	free(pos);
	free(buf);
	return r;
}

/* ---- plaintext search ----------------------------------------------- */

#define HASH_B		0x100000001b3ULL	/* odd: rolls mod 2^64 */
#define MIX		0x9e3779b97f4a7c15ULL	/* bitmap index */
#define MIX2		0xc2b2ae3d27d4eb4fULL	/* table index */
#define EMPTY		UINT64_MAX
#define SAME_MAX	4	/* file offsets kept per distinct block */

struct table {
	uint64_t *hash, *off;		/* off EMPTY: a free entry */
	uint64_t mask;
	unsigned int shift;
	uint8_t *bits;
	unsigned int bits_shift;
	uint64_t b16;			/* HASH_B^16 */
};

static uint64_t block_hash(const uint8_t *p)
{
	uint64_t h = 0;
	int i;

	for (i = 0; i < BLOCK; i++)
		h = h * HASH_B + p[i];
	return h;
}

static uint64_t slot_of(const struct table *t, uint64_t h)
{
	return (h * MIX2) >> t->shift;
}

static bool bit_test(const struct table *t, uint64_t h)
{
	uint64_t b = (h * MIX) >> t->bits_shift;

	return t->bits[b >> 3] & (1u << (b & 7));
}

static bool low_info(const uint8_t *p)
{
	uint8_t seen[256] = { 0 };
	int i, n = 0;

	for (i = 0; i < BLOCK; i++)
		if (!seen[p[i]]++)
			n++;
	return n < LOW_INFO;
}

static void table_free(struct table *t)
{
	free(t->hash);
	free(t->off);
	free(t->bits);
}

static int table_build(struct table *t, const uint8_t *file, size_t len,
		       uint64_t stride, uint64_t *blocks)
{
	uint64_t size = 1, nbits = 1 << 16, want = len / BLOCK / stride + 1;
	uint64_t f, i, h, b, same;
	unsigned int lg = 16, lgs = 1;

	memset(t, 0, sizeof(*t));
	*blocks = 0;
	size = 2;
	while (size < 2 * want) {
		size <<= 1;
		lgs++;
	}
	t->shift = 64 - lgs;
	while (nbits < 64 * want && lg < 30) {
		nbits <<= 1;
		lg++;
	}
	t->mask = size - 1;
	t->bits_shift = 64 - lg;
	t->hash = malloc(size * sizeof(*t->hash));
	t->off = malloc(size * sizeof(*t->off));
	t->bits = calloc(nbits / 8, 1);
	if (!t->hash || !t->off || !t->bits) {
		table_free(t);
		return ec_err_set(-ENOMEM, "out of memory for the plaintext table");
	}
	for (i = 0; i < size; i++)
		t->off[i] = EMPTY;
	t->b16 = 1;
	for (i = 0; i < BLOCK; i++)
		t->b16 *= HASH_B;

	for (f = 0; f + BLOCK <= len; f += BLOCK * stride) {
		if (low_info(file + f))
			continue;
		h = block_hash(file + f);
		same = 0;
		for (i = slot_of(t, h); t->off[i] != EMPTY;
		     i = (i + 1) & t->mask)
			if (t->hash[i] == h &&
			    !memcmp(file + t->off[i], file + f, BLOCK))
				same++;
		if (same >= SAME_MAX)
			continue;
		t->hash[i] = h;
		t->off[i] = f;
		b = (h * MIX) >> t->bits_shift;
		t->bits[b >> 3] |= 1u << (b & 7);
		(*blocks)++;
	}
	return 0;
}

/* Where the device's bytes come from: an fd, or memory (tests). */
struct source {
	const char *name;
	int fd;
	const uint8_t *mem;
	uint64_t size;
};

static int source_read(const struct source *s, uint8_t *buf, size_t len,
		       uint64_t off)
{
	int r;

	if (s->mem) {
		memcpy(buf, s->mem + off, len);
		return 0;
	}
	r = pread_all(s->fd, buf, len, off);
	if (r)
		return ec_err_set(-EIO, "%s: cannot read at byte %llu: %s",
				  s->name, (unsigned long long)off,
				  strerror(-r));
	return 0;
}

/*
 * The run through the 16 bytes at @d that equal the file's at @f:
 * extended backwards and forwards while device and file agree.
 */
static int extend(const struct source *s, const uint8_t *file,
		  size_t file_len, uint64_t d, uint64_t f,
		  struct ec_verify_match *m)
{
	uint8_t buf[4096];
	uint64_t back = 0, fwd = 0, n, i;
	int r;

	/* backwards */
	for (;;) {
		n = d - back < f - back ? d - back : f - back;
		if (n > sizeof(buf))
			n = sizeof(buf);
		if (!n)
			break;
		r = source_read(s, buf, n, d - back - n);
		if (r)
			return r;
		for (i = 0; i < n; i++)
			if (buf[n - 1 - i] != file[f - back - 1 - i])
				break;
		back += i;
		if (i < n)
			break;
	}
	/* forwards */
	for (;;) {
		uint64_t dp = d + BLOCK + fwd, fp = f + BLOCK + fwd;

		n = s->size - dp < file_len - fp ? s->size - dp :
						   file_len - fp;
		if (n > sizeof(buf))
			n = sizeof(buf);
		if (!n)
			break;
		r = source_read(s, buf, n, dp);
		if (r)
			return r;
		for (i = 0; i < n; i++)
			if (buf[i] != file[fp + i])
				break;
		fwd += i;
		if (i < n)
			break;
	}
	m->dev_off = d - back;
	m->file_off = f - back;
	m->len = back + BLOCK + fwd;
	return 0;
}

/* The longest run through device offset @d whose 16 bytes hash to @h. */
static int lookup(const struct table *t, const struct source *s,
		  const uint8_t *win, const uint8_t *file, size_t file_len,
		  uint64_t d, uint64_t h, struct ec_verify_match *best)
{
	struct ec_verify_match m;
	uint64_t i;
	int r;

	best->len = 0;
	for (i = slot_of(t, h); t->off[i] != EMPTY; i = (i + 1) & t->mask) {
		if (t->hash[i] != h || memcmp(file + t->off[i], win, BLOCK))
			continue;
		r = extend(s, file, file_len, d, t->off[i], &m);
		if (r)
			return r;
		if (m.len > best->len)
			*best = m;
	}
	return 0;
}

static void record(struct ec_verify_plain *p, const struct ec_verify_match *m)
{
	if (p->found < EC_VERIFY_OFFSETS_MAX)
		p->match[p->found] = *m;
	p->found++;
}

static int search(const struct source *s, const uint8_t *file,
		  size_t file_len, struct ec_verify_plain *p)
{
	struct ec_verify_match m;
	struct table t;
	uint64_t stride = 1, pos, d, end, h = 0, next = 0;
	uint8_t *buf;
	size_t len, i;
	int r;

	p->size = file_len;
	p->found = 0;
	while (file_len / BLOCK / stride > EC_VERIFY_BLOCKS_MAX)
		stride++;
	p->min_run = BLOCK * stride + BLOCK - 1;
	if (p->min_run < EC_VERIFY_MIN_RUN)
		p->min_run = EC_VERIFY_MIN_RUN;
	if (file_len < p->min_run)
		return ec_err_set(-EINVAL, "%s: %zu bytes is too short to search for; give at least %llu bytes",
				  p->path, file_len,
				  (unsigned long long)p->min_run);
	r = table_build(&t, file, file_len, stride, &p->blocks);
	if (r)
		return r;
	if (!p->blocks) {
		table_free(&t);
		return ec_err_set(-EINVAL, "%s: nothing to search for: every 16-byte block has fewer than %d distinct byte values",
				  p->path, LOW_INFO);
	}
	buf = malloc(CHUNK + BLOCK);
	if (!buf) {
		table_free(&t);
		return ec_err_set(-ENOMEM, "out of memory");
	}
	if (!s->mem)
		posix_fadvise(s->fd, 0, 0, POSIX_FADV_DONTNEED);
	for (pos = 0; pos + BLOCK <= s->size; pos += CHUNK) {
		/* windows starting in [pos, pos + CHUNK) */
		len = s->size - pos < CHUNK + BLOCK - 1 ? s->size - pos :
							 CHUNK + BLOCK - 1;
		r = source_read(s, buf, len, pos);
		if (r)
			break;
		h = 0;
		for (i = 0; i < BLOCK - 1; i++)
			h = h * HASH_B + buf[i];
		end = len - (BLOCK - 1);
		for (i = 0; i < end; i++) {
			h = h * HASH_B + buf[i + BLOCK - 1];
			if (i)
				h -= t.b16 * buf[i - 1];
			d = pos + i;
			if (d < next || !bit_test(&t, h))
				continue;
			r = lookup(&t, s, buf + i, file, file_len, d, h, &m);
			if (r)
				goto out;
			if (m.len < p->min_run)
				continue;
			record(p, &m);
			next = m.dev_off + m.len;
		}
	}
out:
	free(buf);
	table_free(&t);
	return r;
}

int ec_verify_plaintext_buf(const uint8_t *dev, size_t dev_len,
			    const uint8_t *file, size_t file_len,
			    struct ec_verify_plain *p)
{
	struct source s = { .name = "memory", .fd = -1, .mem = dev,
			    .size = dev_len };

	if (!p->path)
		p->path = "plaintext";
	return search(&s, file, file_len, p);
}

int ec_verify_plaintext(int fd, const char *device, uint64_t dev_size,
			struct ec_verify_plain *p)
{
	struct source s = { .name = device, .fd = fd, .size = dev_size };
	struct stat st;
	uint8_t *file = NULL;
	int ffd, r;

	ffd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (ffd < 0)
		return ec_err_set(-errno, "%s: %s", p->path, strerror(errno));
	if (fstat(ffd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(ffd);
		return ec_err_set(-EINVAL, "%s: not a regular file", p->path);
	}
	file = malloc(st.st_size ? st.st_size : 1);
	if (!file) {
		close(ffd);
		return ec_err_set(-ENOMEM, "%s: out of memory for %lld bytes",
				  p->path, (long long)st.st_size);
	}
	r = pread_all(ffd, file, st.st_size, 0);
	close(ffd);
	if (r) {
		free(file);
		return ec_err_set(r, "%s: cannot read: %s", p->path,
				  strerror(-r));
	}
	r = search(&s, file, st.st_size, p);
	free(file);
	return r;
}
