// SPDX-License-Identifier: GPL-2.0
/*
 * The bulk data path (bulk.h).
 *
 * Workers claim chunks in order from a shared counter; each reads its
 * chunk, transforms it in an aligned buffer, writes it, and reads it back
 * through a second descriptor (O_DIRECT where the destination allows it,
 * so that the check reads what reached the device, not the page cache).
 * The calling thread waits on a condition variable: it draws the
 * progress bar, and once a second syncs the destination and passes the
 * contiguous watermark of checked chunks to the checkpoint callback.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"
#include "bulk.h"
#include "error.h"
#include "secmem.h"
#include "xts.h"

struct bulk_run {
	const struct ec_bulk *b;
	int verify_fd;			/* O_DIRECT, or dst_fd */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t nchunks, next;		/* chunks from b->start */
	uint8_t *complete;		/* per chunk */
	uint64_t watermark;		/* chunks complete from the first */
	uint64_t bytes;			/* done in this run */
	unsigned int running;
	int err;
	char msg[EC_ERR_MAX];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read @len bytes at @off; past the end of the file, zeros. */
static int read_full(int fd, uint8_t *buf, size_t len, uint64_t off,
		     const char *name)
{
	ssize_t n = ec_pread_full(fd, buf, len, off);

	if (n < 0)
		return ec_err_set((int)n, "%s: read error at byte %" PRIu64 ": %s",
				  name, off, strerror((int)-n));
	memset(buf + n, 0, len - (size_t)n);
	return 0;
}

int ec_bulk_write(int fd, const void *buf, size_t len, uint64_t off,
		  const char *name)
{
	int r = ec_pwrite_full(fd, buf, len, off);

	if (r)
		return ec_err_set(r, "%s: write error at byte %" PRIu64 ": %s",
				  name, off, strerror(-r));
	return 0;
}

struct worker {
	struct bulk_run *run;
	struct ec_xts *from, *to, *tail;
	uint8_t *buf, *check;
};

static int new_xts(const struct ec_bulk_key *k, struct ec_xts **x)
{
	*x = NULL;
	return k->cipher ? ec_xts_new(k->cipher, k->dk, k->dk_len,
				      k->sector_size, x) : 0;
}

/* One chunk at @off (from the data start) of @len bytes. */
static int do_chunk(struct worker *w, uint64_t off, size_t len)
{
	const struct ec_bulk *b = w->run->b;
	size_t have = 0;
	int r;

	if (off < b->src_len)
		have = b->src_len - off < len ? b->src_len - off : len;
	r = read_full(b->src_fd, w->buf, have, b->src_off + off, b->src_name);
	if (r)
		return r;
	memset(w->buf + have, 0, len - have);
	if (w->from && have) {
		r = ec_xts_crypt(w->from, false, w->buf, w->buf, have,
				 off / b->from.sector_size);
		if (r)
			return r;
	}
	if (w->to)
		r = ec_xts_crypt(w->to, true, w->buf, w->buf, len,
				 off / b->to.sector_size);
	else if (w->tail && have < len)
		r = ec_xts_crypt(w->tail, true, w->buf + have, w->buf + have,
				 len - have, (off + have) / b->tail.sector_size);
	if (r)
		return r;
	r = ec_bulk_write(b->dst_fd, w->buf, len, b->dst_off + off, b->dst_name);
	if (r)
		return r;
	r = read_full(w->run->verify_fd, w->check, len, b->dst_off + off,
		      b->dst_name);
	if (r == -EINVAL && w->run->verify_fd != b->dst_fd)
		r = read_full(b->dst_fd, w->check, len, b->dst_off + off,
			      b->dst_name);
	if (r)
		return r;
	if (memcmp(w->buf, w->check, len))
		return ec_err_set(-EIO, "%s: the data read back at byte %" PRIu64 " differs from what was written; the device is failing",
				  b->dst_name, b->dst_off + off);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct bulk_run *run = w->run;
	const struct ec_bulk *b = run->b;
	uint64_t i, off;
	size_t len;
	int r;

	for (;;) {
		pthread_mutex_lock(&run->lock);
		if (run->err || run->next >= run->nchunks) {
			pthread_mutex_unlock(&run->lock);
			break;
		}
		i = run->next++;
		pthread_mutex_unlock(&run->lock);

		off = b->start + i * EC_BULK_CHUNK;
		len = b->len - off < EC_BULK_CHUNK ? b->len - off :
						     EC_BULK_CHUNK;
		r = do_chunk(w, off, len);

		pthread_mutex_lock(&run->lock);
		if (r && !run->err) {
			run->err = r;
			snprintf(run->msg, sizeof(run->msg), "%s",
				 ec_err_msg());
		}
		if (!r) {
			run->complete[i] = 1;
			while (run->watermark < run->nchunks &&
			       run->complete[run->watermark])
				run->watermark++;
			run->bytes += len;
		}
		pthread_cond_signal(&run->cond);
		pthread_mutex_unlock(&run->lock);
		if (r)
			break;
	}
	pthread_mutex_lock(&run->lock);
	run->running--;
	pthread_cond_signal(&run->cond);
	pthread_mutex_unlock(&run->lock);
	return NULL;
}

static uint64_t done_bytes(const struct bulk_run *run, uint64_t chunks)
{
	const struct ec_bulk *b = run->b;
	uint64_t d = b->start + chunks * EC_BULK_CHUNK;

	return d < b->len ? d : b->len;
}

static void human(char *buf, size_t size, double bytes)
{
	if (bytes >= 1024.0 * 1024 * 1024)
		snprintf(buf, size, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
	else
		snprintf(buf, size, "%.1f MiB", bytes / (1024.0 * 1024));
}

/* "[#####.....]  45%  460.0 MiB / 1.0 GiB  850.3 MB/s  ETA 0:01" */
static void draw(const struct bulk_run *run, double t0, bool last)
{
	const struct ec_bulk *b = run->b;
	uint64_t done = b->start + run->bytes;
	double el = now() - t0, rate = el > 0 ? run->bytes / el : 0;
	char bar[31], d[32], t[32];
	unsigned int pct = b->len ? done * 100 / b->len : 100, i;
	long eta = rate > 0 ? (long)((b->len - done) / rate) : 0;

	for (i = 0; i < 30; i++)
		bar[i] = i < pct * 30 / 100 ? '#' : '.';
	bar[30] = '\0';
	human(d, sizeof(d), done);
	human(t, sizeof(t), b->len);
	fprintf(stderr, "\r[%s] %3u%%  %s / %s  %.1f MB/s  ETA %ld:%02ld ",
		bar, pct, d, t, rate / 1e6, eta / 60, eta % 60);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Sync the destination and pass the watermark on. */
static int checkpoint(struct bulk_run *run, uint64_t chunks,
		      uint64_t *saved)
{
	const struct ec_bulk *b = run->b;

	if (chunks == *saved)
		return 0;
	if (fdatasync(b->dst_fd) < 0)
		return ec_err_set(-errno, "%s: cannot sync: %s", b->dst_name,
				  strerror(errno));
	*saved = chunks;
	return b->checkpoint ? b->checkpoint(b->arg, done_bytes(run, chunks)) :
			       0;
}

static void free_worker(struct worker *w)
{
	ec_xts_free(w->from);
	ec_xts_free(w->to);
	ec_xts_free(w->tail);
	if (w->buf) {
		ec_wipe(w->buf, EC_BULK_CHUNK);	/* plaintext */
		free(w->buf);
	}
	free(w->check);
}

int ec_bulk_run(const struct ec_bulk *b, uint64_t *done)
{
	unsigned int nthreads = b->threads ? b->threads : EC_BULK_THREADS;
	struct worker w[8];
	pthread_t tid[8];
	struct bulk_run run;
	uint64_t saved = 0, wm;
	double t0 = now(), last_cp = t0, last_draw = 0;
	unsigned int i, started = 0;
	int r = 0;

	if (done)
		*done = b->start;
	if (nthreads > 8)
		nthreads = 8;
	if (b->start >= b->len)
		return 0;
	memset(&run, 0, sizeof(run));
	memset(w, 0, sizeof(w));
	run.b = b;
	run.nchunks = (b->len - b->start + EC_BULK_CHUNK - 1) / EC_BULK_CHUNK;
	run.complete = calloc(run.nchunks, 1);
	if (!run.complete)
		return ec_err_set(-ENOMEM, "out of memory");
	run.verify_fd = -1;
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", b->dst_fd);
		run.verify_fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (run.verify_fd < 0)
			run.verify_fd = b->dst_fd;
	}
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.cond, NULL);

	for (i = 0; i < nthreads && !r; i++) {
		w[i].run = &run;
		r = new_xts(&b->from, &w[i].from);
		if (!r)
			r = new_xts(&b->to, &w[i].to);
		if (!r && !b->to.cipher)
			r = new_xts(&b->tail, &w[i].tail);
		if (r)
			break;
		if (posix_memalign((void **)&w[i].buf, 4096, EC_BULK_CHUNK) ||
		    posix_memalign((void **)&w[i].check, 4096,
				   EC_BULK_CHUNK)) {
			r = ec_err_set(-ENOMEM, "out of memory");
			break;
		}
	}
	pthread_mutex_lock(&run.lock);
	for (i = 0; i < nthreads && !r; i++) {
		if (pthread_create(&tid[i], NULL, worker_main, &w[i])) {
			r = ec_err_set(-EAGAIN, "cannot start a worker thread");
			run.err = r;
			snprintf(run.msg, sizeof(run.msg), "%s", ec_err_msg());
			break;
		}
		started++;
		run.running++;
	}
	while (run.running) {
		struct timespec ts;
		double t = now();

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&run.cond, &run.lock, &ts);
		t = now();
		if (b->progress && t - last_draw >= 0.2) {
			draw(&run, t0, false);
			last_draw = t;
		}
		if (t - last_cp >= 1.0 && !run.err) {
			wm = run.watermark;
			pthread_mutex_unlock(&run.lock);
			r = checkpoint(&run, wm, &saved);
			pthread_mutex_lock(&run.lock);
			last_cp = t;
			if (r && !run.err) {
				run.err = r;
				snprintf(run.msg, sizeof(run.msg), "%s",
					 ec_err_msg());
			}
		}
	}
	wm = run.watermark;
	pthread_mutex_unlock(&run.lock);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (b->progress && started)
		draw(&run, t0, true);
	if (run.err) {
		/* the workers' message, in this thread */
		r = ec_err_set(run.err, "%s", run.msg);
		/* what is complete still counts, for a resume */
		if (checkpoint(&run, wm, &saved))
			ec_err_set(r, "%s", run.msg);
	} else if (!r) {
		r = checkpoint(&run, wm, &saved);
	}
	if (done)
		*done = done_bytes(&run, saved);
	for (i = 0; i < nthreads; i++)
		free_worker(&w[i]);
	if (run.verify_fd != b->dst_fd)
		close(run.verify_fd);
	pthread_mutex_destroy(&run.lock);
	pthread_cond_destroy(&run.cond);
	free(run.complete);
	return r;
}
