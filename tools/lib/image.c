// SPDX-License-Identifier: GPL-2.0
/*
 * convert, copy and snapshot (image.h): a new volume written whole from
 * another image, through the bulk data path (bulk.h).
 *
 * The order of writes on the destination, so that an interruption at
 * any point leaves it either resumable or a complete volume:
 *
 *   1. the header area [0, data_offset) zeroed, the resume record written
 *      (done = 0), fdatasync: an old header there is gone
 *   2. the data, chunk by chunk, each read back and compared; once a
 *      second an fdatasync and the record's "done" raised
 *   3. the two header copies (ec_header_write, each with fdatasync)
 *   4. the record zeroed, fdatasync
 *
 * A rerun that finds the record after 3 only does 3 and 4 again.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit.h"
#include "blockdev.h"
#include "bulk.h"
#include "dm-envcrypt.h"
#include "error.h"
#include "image.h"
#include "kms.h"
#include "policy.h"
#include "registry.h"
#include "secmem.h"

/* ---- the resume record -------------------------------------------------- */

#define REC_OFF		65536
#define REC_HEAD	4096
#define REC_SIZE	(REC_HEAD + EC_HDR_COPY_SIZE)
#define REC_MAGIC	"ENVCRYPTRESUME1"	/* 16 bytes with the NUL */
#define REC_PATH_OFF	64
#define REC_PATH_MAX	1024
#define REC_SUM_OFF	(REC_HEAD - 32)

enum image_op {
	OP_CONVERT = 1,
	OP_COPY = 2,
	OP_REENCRYPT = 3,
	OP_SNAPSHOT = 4,
};

static const char *op_name(enum image_op op)
{
	switch (op) {
	case OP_CONVERT:
		return "convert";
	case OP_COPY:
		return "copy";
	case OP_REENCRYPT:
		return "copy --reencrypt";
	default:
		return "snapshot";
	}
}

struct record {
	enum image_op op;
	uint64_t done, total, src_size;
	uint8_t src_uuid[EC_UUID_SIZE];
	char src_path[REC_PATH_MAX];
	struct ec_header hdr;
};

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int rec_sum(const uint8_t *buf, uint8_t sum[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, buf, REC_SUM_OFF) &&
	     EVP_DigestUpdate(md, buf + REC_HEAD, EC_HDR_COPY_SIZE) &&
	     EVP_DigestFinal_ex(md, sum, NULL);
	EVP_MD_CTX_free(md);
	return ok ? 0 : ec_err_set(-ENOMEM, "OpenSSL SHA-256 failed");
}

static int rec_write(int fd, const char *name, const struct record *rec)
{
	uint8_t *buf = calloc(1, REC_SIZE);
	int r;

	if (!buf)
		return ec_err_set(-ENOMEM, "out of memory");
	memcpy(buf, REC_MAGIC, sizeof(REC_MAGIC));
	put64(buf + 16, rec->op);
	put64(buf + 24, rec->done);
	put64(buf + 32, rec->total);
	put64(buf + 40, rec->src_size);
	memcpy(buf + 48, rec->src_uuid, EC_UUID_SIZE);
	snprintf((char *)buf + REC_PATH_OFF, REC_PATH_MAX, "%s",
		 rec->src_path);
	r = ec_header_encode(&rec->hdr, 0, buf + REC_HEAD);
	if (!r)
		r = rec_sum(buf, buf + REC_SUM_OFF);
	if (!r)
		r = ec_bulk_write(fd, buf, REC_SIZE, REC_OFF, name);
	if (!r && fdatasync(fd) < 0)
		r = ec_err_set(-errno, "%s: cannot sync: %s", name,
			       strerror(errno));
	free(buf);
	return r;
}

/* 1 when @fd holds a valid record (in @rec), 0 when not, or -errno. */
static int rec_read(int fd, const char *name, struct record *rec)
{
	uint8_t *buf = malloc(REC_SIZE), sum[32];
	ssize_t n;
	int r = 0;

	if (!buf)
		return ec_err_set(-ENOMEM, "out of memory");
	n = pread(fd, buf, REC_SIZE, REC_OFF);
	if (n < 0)
		r = ec_err_set(-errno, "%s: read error: %s", name,
			       strerror(errno));
	if (n != REC_SIZE || memcmp(buf, REC_MAGIC, sizeof(REC_MAGIC)))
		goto out;
	r = rec_sum(buf, sum);
	if (r || CRYPTO_memcmp(sum, buf + REC_SUM_OFF, 32))
		goto out;
	memset(rec, 0, sizeof(*rec));
	rec->op = (enum image_op)get64(buf + 16);
	rec->done = get64(buf + 24);
	rec->total = get64(buf + 32);
	rec->src_size = get64(buf + 40);
	memcpy(rec->src_uuid, buf + 48, EC_UUID_SIZE);
	memcpy(rec->src_path, buf + REC_PATH_OFF, REC_PATH_MAX);
	rec->src_path[REC_PATH_MAX - 1] = '\0';
	if (ec_header_decode(buf + REC_HEAD, 0, &rec->hdr) == 0 &&
	    rec->done <= rec->total)
		r = 1;
	ec_err_clear();
out:
	free(buf);
	return r;
}

/* ---- devices --------------------------------------------------------- */

struct dest {
	const char *path;
	struct ec_blockdev dev;
	bool created;			/* a new file, removed on failure */
};

/*
 * Open @path for writing: a block device (exclusively), or a new file.
 * An existing file is opened only if it holds a resume record.
 */
static int dest_open(const char *path, struct dest *d)
{
	struct stat st;
	struct record *rec;
	int fd, r;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->dev.fd = -1;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return ec_err_set(-errno, "%s: cannot create: %s", path,
					  strerror(errno));
		close(fd);
		d->created = true;
	}
	r = ec_blockdev_open(path, true, true, &d->dev);
	if (r || !d->dev.is_file || d->created)
		return r;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return ec_err_set(-ENOMEM, "out of memory");
	r = rec_read(d->dev.fd, path, rec);
	free(rec);
	if (r == 0)
		r = ec_err_set(-EEXIST, "%s: the file exists; give a new file name (an existing file is never overwritten) or a block device",
			       path);
	return r < 0 ? r : 0;
}

/* Grow a file destination to @size bytes; a device must be as big. */
static int dest_size(struct dest *d, uint64_t size)
{
	if (d->dev.is_file && d->dev.size < size) {
		if (ftruncate(d->dev.fd, size) < 0)
			return ec_err_set(-errno, "%s: cannot grow to %" PRIu64 " bytes: %s",
					  d->path, size, strerror(errno));
		d->dev.size = size;
	}
	if (d->dev.size < size)
		return ec_err_set(-ENOSPC, "%s: too small (%" PRIu64 " bytes); the volume needs %" PRIu64,
				  d->path, d->dev.size, size);
	return 0;
}

static void dest_close(struct dest *d, bool remove_it)
{
	ec_blockdev_close(&d->dev);
	if (remove_it && d->created)
		unlink(d->path);
}

static int zero_range(int fd, const char *name, uint64_t from, uint64_t to)
{
	static const uint8_t zero[65536];
	int r;

	while (from < to) {
		size_t n = to - from < sizeof(zero) ? to - from : sizeof(zero);

		r = ec_bulk_write(fd, zero, n, from, name);
		if (r)
			return r;
		from += n;
	}
	return 0;
}

/* The volume on @src: its header, data length, and its dm device. */
static int src_volume(const char *src, struct ec_blockdev *dev,
		      struct ec_header *hdr, uint64_t *len, char *dm_name,
		      size_t size)
{
	char uuid[37], dm_uuid[64];
	int r;

	r = ec_blockdev_open(src, false, false, dev);
	if (r)
		return r;
	r = ec_volume_read_header(src, dev, hdr, NULL,
				  "use 'envcryptctl convert' for an unencrypted image");
	if (r)
		return r;
	*len = (dev->size - hdr->data_offset) / hdr->sector_size *
	       hdr->sector_size;
	/* a block device's cache may predate what the volume wrote */
	posix_fadvise(dev->fd, 0, 0, POSIX_FADV_DONTNEED);
	ec_uuid_format(hdr->uuid, uuid);
	snprintf(dm_uuid, sizeof(dm_uuid), "%s%s", EC_DM_UUID_PREFIX, uuid);
	dm_name[0] = '\0';
	if (ec_dm_find_uuid(dm_uuid, dm_name, size) <= 0)
		dm_name[0] = '\0';
	ec_err_clear();
	return 0;
}

/* ---- the common path ----------------------------------------------------- */

struct job {
	enum image_op op;
	const char *src, *dst;
	const struct ec_image_params *p;
	struct ec_image_result *res;
	struct ec_blockdev src_dev;
	struct ec_header *src_hdr;	/* copy, snapshot */
	uint64_t src_off, src_len;
	uint8_t *src_dk;		/* copy, snapshot: locked */
	uint8_t *dk;			/* the new volume's: locked */
	struct dest dest;
	struct record rec;
};

static int save_progress(void *arg, uint64_t done)
{
	struct job *j = arg;

	j->rec.done = done;
	return rec_write(j->dest.dev.fd, j->dst, &j->rec);
}

/* A resume: the record's header and its data key through the KMS. */
static int resume(struct job *j, const struct record *found)
{
	char path[REC_PATH_MAX];
	int slot;

	if (found->op != j->op || strcmp(found->src_path, j->rec.src_path) ||
	    found->src_size != j->rec.src_size ||
	    memcmp(found->src_uuid, j->rec.src_uuid, EC_UUID_SIZE)) {
		snprintf(path, sizeof(path), "%s", found->src_path);
		return ec_err_set(-EEXIST, "%s: holds an interrupted '%s' from %s; run that command again to finish it, or remove %s",
				  j->dst, op_name(found->op), path, j->dst);
	}
	j->rec = *found;
	j->res->resumed_at = found->done;
	return ec_volume_unwrap(j->dst, &j->rec.hdr, j->dk,
				ec_cipher_key_size(j->rec.hdr.cipher), &slot);
}

/* Write the data, then the header; the record goes last. */
static int write_volume(struct job *j, struct ec_bulk *b, bool suspend)
{
	struct ec_header *hdr = &j->rec.hdr;
	const char *dm_name = j->res->dm_name;
	sigset_t block, old;
	struct timespec t0, t1;
	uint64_t done = 0;
	int r, r2;

	b->src_name = j->src;
	b->dst_name = j->dst;
	b->src_fd = j->src_dev.fd;
	b->dst_fd = j->dest.dev.fd;
	b->src_off = j->src_off;
	b->src_len = j->src_len;
	b->dst_off = hdr->data_offset;
	b->len = j->rec.total;
	b->start = j->rec.done;
	b->progress = j->p->progress;
	b->checkpoint = save_progress;
	b->arg = j;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/*
	 * A source someone else suspended (or a revoked volume) is already
	 * still: copy it as it is, and leave its resume to them.
	 */
	if (suspend) {
		struct ec_dm_info info;

		r = ec_dm_info(dm_name, &info);
		if (r)
			return ec_err_prefix(r, "%s: '%s'", j->src, dm_name);
		suspend = !info.suspended;
	}
	if (suspend) {
		/* no signal may leave the source suspended */
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGHUP);
		sigaddset(&block, SIGQUIT);
		sigprocmask(SIG_BLOCK, &block, &old);
		r = ec_dm_suspend(dm_name);
		if (r) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			return ec_err_prefix(r, "%s: suspending '%s'", j->src,
					     dm_name);
		}
		/* what the device wrote went around the page cache */
		posix_fadvise(j->src_dev.fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	r = ec_bulk_run(b, &done);
	if (suspend) {
		r2 = ec_dm_resume(dm_name);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		j->res->suspended = t1.tv_sec - t0.tv_sec +
				    (t1.tv_nsec - t0.tv_nsec) / 1e9;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (r2 && !r)
			r = ec_err_prefix(r2, "%s: resuming '%s' (run 'dmsetup resume %s')",
					  j->src, dm_name, dm_name);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	j->res->seconds = t1.tv_sec - t0.tv_sec +
			  (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (r) {
		if (done && j->op != OP_SNAPSHOT) {
			char msg[EC_ERR_MAX];

			snprintf(msg, sizeof(msg), "%s", ec_err_msg());
			ec_err_set(r, "%s; %" PRIu64 " of %" PRIu64 " bytes are done: run the same command again to resume",
				   msg, done, j->rec.total);
		}
		return r;
	}
	r = ec_header_write(j->dest.dev.fd, hdr);
	if (r)
		return ec_err_prefix(r, "%s", j->dst);
	r = zero_range(j->dest.dev.fd, j->dst, REC_OFF, REC_OFF + REC_SIZE);
	if (!r && fdatasync(j->dest.dev.fd) < 0)
		r = ec_err_set(-errno, "%s: cannot sync: %s", j->dst,
			       strerror(errno));
	return r;
}

/* A fresh destination: header area zeroed, the record, the size. */
static int start_dest(struct job *j)
{
	uint64_t size = j->rec.hdr.data_offset + j->rec.total;
	int r;

	/* the record lives between the header and the data */
	if (j->rec.hdr.data_offset < REC_OFF + REC_SIZE)
		return ec_err_set(-EINVAL, "%s: the data would start at byte %" PRIu64 ", inside the area (bytes %d to %d) that keeps the progress record; only volumes whose data starts at %d or later can be written",
				  j->dst, (uint64_t)j->rec.hdr.data_offset,
				  REC_OFF, REC_OFF + REC_SIZE,
				  REC_OFF + REC_SIZE);
	r = dest_size(&j->dest, size);
	if (r)
		return r;
	/* on a bigger device, the volume takes all of it */
	j->rec.total = (j->dest.dev.size - j->rec.hdr.data_offset) /
		       j->rec.hdr.sector_size * j->rec.hdr.sector_size;
	r = zero_range(j->dest.dev.fd, j->dst, 0, j->rec.hdr.data_offset);
	if (!r)
		r = rec_write(j->dest.dev.fd, j->dst, &j->rec);
	return r;
}

static void audit(const struct job *j, int r)
{
	const struct ec_wrap_slot *s = &j->rec.hdr.slots[0];
	char uuid[37], detail[PATH_MAX + 128];
	struct ec_audit a = {
		.op = j->op == OP_CONVERT ? "convert" :
		      j->op == OP_SNAPSHOT ? "snapshot" : "copy",
		.device = j->dst,
	};
	int i;

	if (r && !j->rec.hdr.cipher[0]) {
		a.volume = NULL;
	} else {
		ec_uuid_format(j->rec.hdr.uuid, uuid);
		a.volume = uuid;
	}
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		s = &j->rec.hdr.slots[i];
		if (s->active)
			break;
	}
	if (i < EC_HDR_SLOTS) {
		a.cmk = s->cmk_id;
		a.kms = s->kms_uri;
	}
	if (j->op == OP_CONVERT)
		snprintf(detail, sizeof(detail), "from unencrypted %s",
			 j->src);
	else
		snprintf(detail, sizeof(detail), "from volume %s on %s%s",
			 j->res->src_uuid, j->src,
			 j->op == OP_REENCRYPT ? ", new data key" :
			 j->op == OP_COPY ? ", same data key" : "");
	a.detail = detail;
	ec_audit_log(&a, r);
}

static int job_begin(struct job *j, enum image_op op, const char *src,
		     const char *dst, const struct ec_image_params *p,
		     struct ec_image_result *res)
{
	char *real;

	memset(j, 0, sizeof(*j));
	memset(res, 0, sizeof(*res));
	j->op = op;
	j->src = src;
	j->dst = dst;
	j->p = p;
	j->res = res;
	j->src_dev.fd = -1;
	j->dest.dev.fd = -1;
	j->rec.op = op;
	real = realpath(src, NULL);
	snprintf(j->rec.src_path, sizeof(j->rec.src_path), "%s",
		 real ? real : src);
	free(real);
	j->dk = ec_secure_alloc(ENVCRYPT_MAX_KEY_SIZE);
	if (op != OP_CONVERT) {
		j->src_dk = ec_secure_alloc(ENVCRYPT_MAX_KEY_SIZE);
		j->src_hdr = malloc(sizeof(*j->src_hdr));
	}
	if (!j->dk || (op != OP_CONVERT && !j->src_dk))
		return -errno;		/* the message is set */
	if (op != OP_CONVERT && !j->src_hdr)
		return ec_err_set(-ENOMEM, "out of memory");
	return 0;
}

static int job_end(struct job *j, int r)
{
	audit(j, r);
	if (!r) {
		j->res->hdr = j->rec.hdr;
		j->res->bytes = j->rec.total;
		ec_registry_note(j->dst, &j->rec.hdr);
	}
	/* a new file is kept only when there is something to resume */
	dest_close(&j->dest, r && (j->op == OP_SNAPSHOT || !j->rec.done));
	ec_blockdev_close(&j->src_dev);
	ec_secure_free(j->dk);
	ec_secure_free(j->src_dk);
	free(j->src_hdr);
	return r;
}

/* Open the destination; 1 when it resumes an earlier run. */
static int open_dest(struct job *j)
{
	struct record *found;
	struct stat a, b;
	int r;

	if (!strcmp(j->src, j->dst) ||
	    (!stat(j->src, &a) && !stat(j->dst, &b) &&
	     (S_ISBLK(a.st_mode) ? a.st_rdev == b.st_rdev :
				   a.st_dev == b.st_dev &&
				   a.st_ino == b.st_ino)))
		return ec_err_set(-EINVAL, "%s: the source and the destination are the same",
				  j->src);
	r = dest_open(j->dst, &j->dest);
	if (r)
		return r;
	found = malloc(sizeof(*found));
	if (!found)
		return ec_err_set(-ENOMEM, "out of memory");
	r = rec_read(j->dest.dev.fd, j->dst, found);
	/* a point in time cannot be resumed: a snapshot starts over */
	if (r == 1 && found->op == OP_SNAPSHOT && j->op == OP_SNAPSHOT)
		r = 0;
	if (r == 1)
		r = resume(j, found) ?: 1;
	free(found);
	return r;
}

/* ---- convert ------------------------------------------------------------- */

int ec_image_convert(const char *src, const char *dst,
		     const struct ec_image_params *p,
		     struct ec_image_result *res)
{
	struct ec_bulk b = { 0 };
	struct ec_header *h;
	struct job j;
	int r;

	r = job_begin(&j, OP_CONVERT, src, dst, p, res);
	if (r)
		goto out;
	r = ec_policy_check_convert(src);
	if (r)
		goto out;
	r = ec_blockdev_open(src, false, false, &j.src_dev);
	if (r)
		goto out;
	h = &j.rec.hdr;		/* scratch until the new header is made */
	if (ec_header_read(j.src_dev.fd, h, NULL) == 0) {
		char uuid[37];

		ec_uuid_format(h->uuid, uuid);
		r = ec_err_set(-EINVAL, "%s: already an envcrypt volume (%s); use 'envcryptctl copy' to copy it under another CMK",
			       src, uuid);
		memset(h, 0, sizeof(*h));
		goto out;
	}
	ec_err_clear();
	memset(h, 0, sizeof(*h));
	j.src_len = j.src_dev.size;
	j.rec.src_size = j.src_dev.size;
	if (!j.src_len) {
		r = ec_err_set(-EINVAL, "%s: empty; there is nothing to convert",
			       src);
		goto out;
	}
	r = open_dest(&j);
	if (r < 0)
		goto out;
	if (r == 0) {
		r = ec_volume_new_header(dst, &p->fmt, h, j.dk, true);
		if (r)
			goto out;
		j.rec.total = (j.src_len + h->sector_size - 1) /
			      h->sector_size * h->sector_size;
		r = start_dest(&j);
		if (r)
			goto out;
	}
	b.to = (struct ec_bulk_key){ h->cipher, j.dk,
				     ec_cipher_key_size(h->cipher),
				     h->sector_size };
	r = write_volume(&j, &b, false);
out:
	return job_end(&j, r);
}

/* ---- copy and snapshot: the source volume --------------------------------- */

/*
 * Open the source volume of a copy or snapshot (with @closed_only, refuse
 * one that is open as a dm device) and unwrap its data key into
 * j->src_dk: the key matches the header, so the new volume will open.
 */
static int open_source(struct job *j, bool closed_only)
{
	struct ec_image_result *res = j->res;
	struct ec_header *sh = j->src_hdr;
	int slot, r;

	r = src_volume(j->src, &j->src_dev, sh, &j->src_len, res->dm_name,
		       sizeof(res->dm_name));
	if (r)
		return r;
	ec_uuid_format(sh->uuid, res->src_uuid);
	if (closed_only && res->dm_name[0])
		return ec_err_set(-EBUSY, "%s: volume %s is open as '%s'; close it first, or use 'envcryptctl snapshot' for a copy of an open volume",
				  j->src, res->src_uuid, res->dm_name);
	memcpy(j->rec.src_uuid, sh->uuid, EC_UUID_SIZE);
	j->rec.src_size = j->src_dev.size;
	j->src_off = sh->data_offset;
	return ec_volume_unwrap(j->src, sh, j->src_dk,
				ec_cipher_key_size(sh->cipher), &slot);
}

/* ---- copy ---------------------------------------------------------------- */

int ec_image_copy(const char *src, const char *dst,
		  const struct ec_image_params *p,
		  struct ec_image_result *res)
{
	struct ec_format_params fmt = p->fmt;
	struct ec_bulk b = { 0 };
	struct ec_header *h, *sh;
	size_t dk_len;
	struct job j;
	int r;

	r = job_begin(&j, p->reencrypt ? OP_REENCRYPT : OP_COPY, src, dst, p,
		      res);
	if (r)
		goto out;
	sh = j.src_hdr;
	h = &j.rec.hdr;
	r = open_source(&j, true);
	if (r)
		goto out;
	dk_len = ec_cipher_key_size(sh->cipher);
	r = open_dest(&j);
	if (r < 0)
		goto out;
	if (r == 0) {
		/* the data as it is needs its cipher; a new key may change it */
		if (!p->reencrypt || !fmt.cipher)
			fmt.cipher = sh->cipher;
		if (!p->reencrypt || !fmt.sector_size)
			fmt.sector_size = sh->sector_size;
		if (!p->reencrypt)
			memcpy(j.dk, j.src_dk, dk_len);
		if (!fmt.label)
			fmt.label = sh->label;
		r = ec_volume_new_header(dst, &fmt, h, j.dk, p->reencrypt);
		if (r)
			goto out;
		/* whole sectors of the new size: the last one may be longer */
		j.rec.total = (j.src_len + h->sector_size - 1) /
			      h->sector_size * h->sector_size;
		r = start_dest(&j);
		if (r)
			goto out;
	}
	if (p->reencrypt) {
		b.from = (struct ec_bulk_key){ sh->cipher, j.src_dk, dk_len,
					       sh->sector_size };
		b.to = (struct ec_bulk_key){ h->cipher, j.dk,
					     ec_cipher_key_size(h->cipher),
					     h->sector_size };
	} else {
		b.tail = (struct ec_bulk_key){ h->cipher, j.dk, dk_len,
					       h->sector_size };
	}
	r = write_volume(&j, &b, false);
out:
	return job_end(&j, r);
}

/* ---- snapshot ------------------------------------------------------------ */

/* Wrap slot @i of @h again for @h's new volume UUID (@old: the source). */
static int rebind_slot(const struct ec_header *old, struct ec_header *h,
		       int i, size_t dk_len)
{
	struct ec_wrap_slot *s = &h->slots[i];
	char from[EC_HDR_CONTEXT_MAX], to[EC_HDR_CONTEXT_MAX];
	struct ec_wrapped out;
	struct ec_kms *kms;
	int r;

	r = ec_header_context(old, &old->slots[i], from, sizeof(from));
	if (r >= 0)
		r = ec_header_context(h, s, to, sizeof(to));
	if (r < 0)
		return r;
	r = ec_kms_open(s->kms_uri, &kms);
	if (r)
		return r;
	r = ec_kms_rewrap(kms, s->cmk_id, &old->slots[i].wrapped, from, kms,
			  s->cmk_id, to, dk_len, &out);
	ec_kms_close(kms);
	if (r)
		return r;
	s->wrapped = out;
	s->cmk_version = out.cmk_version;
	s->created = h->created;
	return 0;
}

int ec_image_snapshot(const char *src, const char *dst,
		      const struct ec_image_params *p,
		      struct ec_image_result *res)
{
	struct ec_bulk b = { 0 };
	struct ec_header *h, *sh;
	char first[EC_ERR_MAX] = "";
	int i, r, first_r = 0, bound = 0;
	size_t dk_len;
	struct job j;

	r = job_begin(&j, OP_SNAPSHOT, src, dst, p, res);
	if (r)
		goto out;
	sh = j.src_hdr;
	h = &j.rec.hdr;
	r = open_source(&j, false);
	if (r)
		goto out;
	dk_len = ec_cipher_key_size(sh->cipher);

	*h = *sh;
	h->seq = 0;
	h->created = time(NULL);
	r = ec_volume_new_uuid(h->uuid);
	if (r)
		goto out;
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		if (!h->slots[i].active)
			continue;
		r = rebind_slot(sh, h, i, dk_len);
		if (!r) {
			bound++;
			continue;
		}
		if (!first_r) {
			first_r = r;
			snprintf(first, sizeof(first), "%s", ec_err_msg());
		}
		snprintf(res->dropped_why[res->dropped++],
			 sizeof(res->dropped_why[0]),
			 "wrap slot %d (CMK %s in %s): %s", i,
			 h->slots[i].cmk_id, h->slots[i].kms_uri,
			 ec_err_msg());
		memset(&h->slots[i], 0, sizeof(h->slots[i]));
	}
	if (!bound) {
		r = ec_err_set(first_r, "%s: no wrap slot could be re-bound to the snapshot: %s",
			       src, first);
		goto out;
	}
	r = open_dest(&j);
	if (r < 0)
		goto out;
	j.rec.done = 0;
	j.rec.total = j.src_len;
	r = start_dest(&j);
	if (r)
		goto out;
	b.tail = (struct ec_bulk_key){ h->cipher, j.src_dk, dk_len,
				       h->sector_size };
	r = write_volume(&j, &b, res->dm_name[0] != '\0');
out:
	return job_end(&j, r);
}
