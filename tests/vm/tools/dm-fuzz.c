// SPDX-License-Identifier: GPL-2.0
/*
 * envcrypt-dm-fuzz: bad input for the envcrypt target and for the volume
 * header reader, deterministic for a seed.  It talks to device-mapper with
 * raw ioctls on /dev/mapper/control (no fork of dmsetup per case).
 *
 *   envcrypt-dm-fuzz tables SEED FIRST COUNT DEV ALTDEV
 *	table lines FIRST .. FIRST+COUNT-1: random garbage and mutations of
 *	valid lines; each is loaded into a new device; an accepted one is
 *	resumed, written and read back, sometimes reloaded, then removed.
 *   envcrypt-dm-fuzz messages SEED COUNT DEV
 *	COUNT random and mutated messages to four live devices on DEV,
 *	suspended and active, each checked against a model of the key
 *	state; at the end each device gets its key back and must read its
 *	data.
 *   envcrypt-dm-fuzz header SEED INDEX IN OUT
 *	writes case INDEX: a damaged copy of the volume image IN, to OUT;
 *	prints "<kind> <dump exit> <open exit>" (x: any documented code).
 *
 * Case I of a seed is always the same (its generator is seeded from SEED
 * and I alone), so "tables SEED I 1 ..." replays one case; DMFUZZ_VERBOSE=1
 * prints every line and message.  Exit 0 when every invariant held, 1 on
 * a violation (the case, seed and line are printed), 2 on usage errors.
 * Every device it creates (named dmfuzz-<pid>-*) is removed before it
 * exits; a remove that keeps failing is a violation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <linux/keyctl.h>
#include <openssl/evp.h>

#define KCV_LABEL	"dm-envcrypt key check value v1"
#define MAX_TOK		64
#define IO_SIZE		4096
#define MAX_PARAMS	(512 * 1024)

static bool verbose;
static int control_fd = -1;
static uint64_t seed;

/* ---- deterministic random numbers ------------------------------------ */

struct rng {
	uint64_t s;
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The generator of case @index: depends on the seed and the index only. */
static void rng_case(struct rng *r, const char *what, uint64_t index)
{
	uint64_t s = seed;
	const char *p;

	for (p = what; *p; p++)
		s = s * 31 + (unsigned char)*p;
	s ^= splitmix(&s) + index * 0xd1b54a32d192ed03ULL;
	r->s = splitmix(&s);
}

static uint64_t rnd(struct rng *r)
{
	return splitmix(&r->s);
}

/* uniform in 0 .. n-1 (n > 0) */
static uint64_t below(struct rng *r, uint64_t n)
{
	return rnd(r) % n;
}

/* true with probability pct/100 */
static bool chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

static void rnd_bytes(struct rng *r, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)rnd(r);
}

#define PICK(r, arr)	((arr)[below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ---- small helpers --------------------------------------------------- */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "dm-fuzz: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory");
	return s;
}

static void to_hex(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static void sha256(const void *a, size_t alen, const void *b, size_t blen,
		   unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ctx, a, alen) ||
	    (blen && !EVP_DigestUpdate(ctx, b, blen)) ||
	    !EVP_DigestFinal_ex(ctx, out, &n))
		die("SHA-256 failed");
	EVP_MD_CTX_free(ctx);
}

/* The kernel's key check value of @key, 6 hex digits. */
static void kcv_of(const unsigned char *key, size_t len, char out[7])
{
	unsigned char d[32];

	sha256(KCV_LABEL, strlen(KCV_LABEL), key, len, d);
	to_hex(out, d, 3);
}

/* A random XTS key whose two halves differ. */
static void good_key(struct rng *r, unsigned char *key, size_t len)
{
	do {
		rnd_bytes(r, key, len);
	} while (!memcmp(key, key + len / 2, len / 2));
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* milliseconds spent in create, load, resume, I/O, remove */
enum { T_CREATE, T_LOAD, T_RESUME, T_IO, T_REMOVE, T_N };
static double spent[T_N];
static double t_mark;

static void tick(void)
{
	t_mark = now_ms();
}

static void tock(int what)
{
	double t = now_ms();

	spent[what] += t - t_mark;
	t_mark = t;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- device-mapper ioctls ------------------------------------------- */

struct dm_buf {
	struct dm_ioctl *io;
	size_t size;
};

static struct dm_ioctl *dm_prepare(struct dm_buf *b, const char *name,
				   size_t payload)
{
	size_t size = sizeof(struct dm_ioctl) + payload + 16;

	if (size < 16384)
		size = 16384;
	if (b->size < size) {
		free(b->io);
		b->io = xmalloc(size);
		b->size = size;
	}
	memset(b->io, 0, b->size);
	b->io->version[0] = DM_VERSION_MAJOR;
	b->io->version[1] = 0;
	b->io->version[2] = 0;
	b->io->data_size = (uint32_t)b->size;
	b->io->data_start = sizeof(struct dm_ioctl);
	if (name)
		snprintf(b->io->name, sizeof(b->io->name), "%s", name);
	return b->io;
}

/* Run one ioctl; 0 or -errno. */
static int dm_run(struct dm_buf *b, unsigned long cmd)
{
	if (ioctl(control_fd, cmd, b->io) < 0)
		return -errno;
	return 0;
}

static struct dm_buf dmb;

static int dm_create(const char *name, dev_t *dev)
{
	struct dm_ioctl *io = dm_prepare(&dmb, name, 0);
	int r;

	r = dm_run(&dmb, DM_DEV_CREATE);
	if (!r)
		*dev = makedev(major(io->dev), minor(io->dev));
	return r;
}

struct target {
	uint64_t start, len;
	char type[DM_MAX_TYPE_NAME];
	char *params;
};

static int dm_load(const char *name, const struct target *t, int n)
{
	size_t payload = 0, off;
	struct dm_ioctl *io;
	int i;

	for (i = 0; i < n; i++)
		payload += sizeof(struct dm_target_spec) +
			   ((strlen(t[i].params) + 1 + 7) & ~(size_t)7);
	io = dm_prepare(&dmb, name, payload);
	io->target_count = (uint32_t)n;
	io->flags = DM_SECURE_DATA_FLAG;
	off = io->data_start;
	for (i = 0; i < n; i++) {
		struct dm_target_spec *sp = (void *)((char *)io + off);
		size_t len = sizeof(*sp) +
			     ((strlen(t[i].params) + 1 + 7) & ~(size_t)7);

		sp->sector_start = t[i].start;
		sp->length = t[i].len;
		memcpy(sp->target_type, t[i].type, sizeof(sp->target_type));
		strcpy((char *)(sp + 1), t[i].params);
		sp->next = (uint32_t)len;
		off += len;
	}
	return dm_run(&dmb, DM_TABLE_LOAD);
}

static int dm_suspend(const char *name, bool suspend)
{
	struct dm_ioctl *io = dm_prepare(&dmb, name, 0);

	io->flags = suspend ? DM_SUSPEND_FLAG : 0;
	return dm_run(&dmb, DM_DEV_SUSPEND);
}

static int dm_message(const char *name, uint64_t sector, const char *msg)
{
	size_t len = strlen(msg) + 1;
	struct dm_ioctl *io = dm_prepare(&dmb, name,
					 sizeof(struct dm_target_msg) + len);
	struct dm_target_msg *m = (void *)((char *)io + io->data_start);

	io->flags = DM_SECURE_DATA_FLAG;
	m->sector = sector;
	memcpy(m->message, msg, len);
	return dm_run(&dmb, DM_TARGET_MSG);
}

/* The INFO status of the first target, into @out. */
static int dm_status(const char *name, char *out, size_t outlen)
{
	struct dm_ioctl *io = dm_prepare(&dmb, name, 0);
	struct dm_target_spec *sp;
	int r;

	r = dm_run(&dmb, DM_TABLE_STATUS);
	if (r)
		return r;
	if (io->flags & DM_BUFFER_FULL_FLAG || io->target_count < 1)
		return -ENODATA;
	sp = (void *)((char *)io + io->data_start);
	snprintf(out, outlen, "%s", (char *)(sp + 1));
	return 0;
}

/* Remove @name; retry a while if busy.  0, or -errno when it stays. */
static int dm_remove(const char *name)
{
	int i, r = 0;

	for (i = 0; i < 100; i++) {
		dm_prepare(&dmb, name, 0);
		r = dm_run(&dmb, DM_DEV_REMOVE);
		if (r != -EBUSY)
			return r;
		sleep_ms(20);
	}
	return r;
}

/* ---- I/O on a dm device --------------------------------------------- */

static char node_path[64];

static int node_open(dev_t dev)
{
	int fd;

	unlink(node_path);
	if (mknod(node_path, S_IFBLK | 0600, dev))
		die("mknod %s: %s", node_path, strerror(errno));
	fd = open(node_path, O_RDWR | O_DIRECT);
	if (fd < 0)
		die("open %s: %s", node_path, strerror(errno));
	return fd;
}

static void node_close(int fd)
{
	close(fd);
	unlink(node_path);
}

static void *io_buf(void)
{
	void *p;

	if (posix_memalign(&p, IO_SIZE, IO_SIZE))
		die("out of memory");
	return p;
}

/* pread/pwrite of one IO_SIZE block: 0 or -errno (-EIO for short I/O) */
static int block_io(int fd, bool write, void *buf, off_t off)
{
	ssize_t n;

	n = write ? pwrite(fd, buf, IO_SIZE, off) : pread(fd, buf, IO_SIZE, off);
	if (n < 0)
		return -errno;
	return n == IO_SIZE ? 0 : -EIO;
}

/*
 * Write random blocks at the start and the end of the device, read them
 * back, compare.  0, or a description of what went wrong in @why.
 */
static int roundtrip(struct rng *r, dev_t dev, const char **why)
{
	unsigned char *w = io_buf(), *rd = io_buf();
	uint64_t size = 0;
	off_t offs[2];
	int fd, i, n, e;

	fd = node_open(dev);
	if (ioctl(fd, BLKGETSIZE64, &size))
		die("BLKGETSIZE64: %s", strerror(errno));
	n = 0;
	if (size >= IO_SIZE)
		offs[n++] = 0;
	if (size >= 2 * IO_SIZE)
		offs[n++] = (off_t)(size / IO_SIZE - 1) * IO_SIZE;
	*why = NULL;
	for (i = 0; i < n && !*why; i++) {
		rnd_bytes(r, w, IO_SIZE);
		e = block_io(fd, true, w, offs[i]);
		if (e)
			*why = "write failed";
		else if (fsync(fd))
			*why = "fsync failed";
		else if (block_io(fd, false, rd, offs[i]))
			*why = "read failed";
		else if (memcmp(w, rd, IO_SIZE))
			*why = "read back other data than written";
	}
	node_close(fd);
	free(w);
	free(rd);
	return *why ? -1 : 0;
}

/* ---- the keyring ----------------------------------------------------- */

static long add_key(const char *type, const char *desc, const void *data,
		    size_t len)
{
	long id = syscall(SYS_add_key, type, desc, data, len,
			  KEY_SPEC_PROCESS_KEYRING);

	if (id < 0)
		die("add_key %s %s: %s", type, desc, strerror(errno));
	return id;
}

static unsigned char ring_aes[64], ring_sm4[32];

/*
 * Keys in this process's keyring, which goes when the process does: the
 * tables and messages name them as ":<size>:<type>:dmfuzz:<what>".
 */
static void setup_keys(void)
{
	unsigned char weak[64], other[64];
	struct rng r;
	long id;

	rng_case(&r, "keys", 0);
	good_key(&r, ring_aes, sizeof(ring_aes));
	good_key(&r, ring_sm4, sizeof(ring_sm4));
	rnd_bytes(&r, weak, 32);
	memcpy(weak + 32, weak, 32);
	good_key(&r, other, sizeof(other));
	add_key("logon", "dmfuzz:aes", ring_aes, sizeof(ring_aes));
	add_key("logon", "dmfuzz:sm4", ring_sm4, sizeof(ring_sm4));
	add_key("logon", "dmfuzz:weak", weak, sizeof(weak));
	add_key("logon", "dmfuzz:short", other, 17);
	add_key("user", "dmfuzz:user", other, sizeof(other));
	id = add_key("logon", "dmfuzz:revoked", other, sizeof(other));
	if (syscall(SYS_keyctl, KEYCTL_REVOKE, id, 0, 0, 0))
		die("keyctl revoke: %s", strerror(errno));
}

/* ---- tokens for table lines ------------------------------------------ */

static const char *const numbers[] = {
	"0", "1", "-1", "7", "8", "512", "4096", "16383", "16384",
	"2147483648", "4294967295", "4294967296", "9223372036854775807",
	"18446744073709551615", "18446744073709551616",
	"99999999999999999999999999999999", "0x10", "1e3", "+8", "08",
	"8k", "-0", "1.5", "0000000000000000000000000000008",
};

static const char *const ciphers[] = {
	"aes-xts-plain64", "sm4-xts-plain64", "aes-xts-plain", "aes-xts",
	"aes-cbc-essiv:sha256", "AES-XTS-PLAIN64", "sm4", "xts(aes)",
	"capi:xts(aes)-plain64", "cipher_null-ecb", "aes-xts-plain64-",
	"-", "aes-xts-plain64\\", "sm4-xts-plain64:64",
};

static const char *const options[] = {
	"sector_size:512", "sector_size:4096", "sector_size:0",
	"sector_size:1", "sector_size:511", "sector_size:513",
	"sector_size:1024", "sector_size:2048", "sector_size:8192",
	"sector_size:65536", "sector_size:-4096", "sector_size:4096x",
	"sector_size:", "sector_size:99999999999999999999",
	"sector_size", "iv_large_sectors", "iv_large_sectors:1",
	"allow_discards", "on_key_wipe:queue", "on_key_wipe:error",
	"on_key_wipe:", "on_key_wipe:drop", "on_key_wipe:QUEUE",
	"on_key_wipe", "crypto_api", "same_cpu_crypt",
	"integrity:32:aead", "no_read_workqueue", ":", "",
};

static const char *const ring_refs[] = {
	":64:logon:dmfuzz:aes", ":32:logon:dmfuzz:sm4",
	":64:logon:dmfuzz:weak", ":64:logon:dmfuzz:short",
	":64:logon:dmfuzz:revoked", ":64:user:dmfuzz:user",
	":64:logon:dmfuzz:absent", ":32:logon:dmfuzz:aes",
	":64:logon:", ":64:logon", ":64:", "::", ":", ":64::dmfuzz:aes",
	":4294967360:logon:dmfuzz:aes", ":-1:logon:dmfuzz:aes",
	":64:LOGON:dmfuzz:aes", ":0x40:logon:dmfuzz:aes",
	":64:logon:dmfuzz:aes:", ":64:encrypted:dmfuzz:aes",
	":64:logon::", ": 64:logon:x",
};

/*
 * A target type: mostly envcrypt; now and then "error", or a name no
 * target has (rare: dm core runs modprobe for each, slow in a guest).
 */
static const char *random_type(struct rng *r)
{
	static const char *const unknown[] = {
		"envcryp", "envcrypt2", "ENVCRYPT", "crypt_", "", "envcrypt\t",
	};
	uint64_t n = below(r, 100);

	if (n < 2)
		return "error";
	if (n < 3)
		return PICK(r, unknown);
	return "envcrypt";
}

struct fuzz_ctx {
	const char *dev, *alt;
	char dev_mm[32], alt_mm[32];
	uint64_t dev_sectors, alt_sectors;
};

static char *random_printable(struct rng *r, size_t len)
{
	char *s = xmalloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = (char)(33 + below(r, 94));
	return s;
}

/* Any bytes but NUL: spaces, tabs, backslashes, high bytes. */
static char *random_bytes_str(struct rng *r, size_t len)
{
	char *s = xmalloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = (char)(1 + below(r, 255));
	return s;
}

static char *hex_of(const unsigned char *k, size_t len)
{
	char *s = xmalloc(2 * len + 1);

	to_hex(s, k, len);
	return s;
}

/* A key string: right, wrong, or malformed. */
static char *random_key(struct rng *r, size_t size)
{
	unsigned char k[64];
	char *s;
	size_t n;

	switch (below(r, 12)) {
	case 0:
		good_key(r, k, 64);
		return hex_of(k, 64);
	case 1:
		good_key(r, k, 32);
		return hex_of(k, 32);
	case 2:		/* equal halves */
		rnd_bytes(r, k, size / 2);
		memcpy(k + size / 2, k, size / 2);
		return hex_of(k, size);
	case 3:		/* odd length */
		good_key(r, k, size);
		s = hex_of(k, size);
		s[2 * size - 1 - below(r, 2)] = '\0';
		return s;
	case 4:		/* not hex */
		good_key(r, k, size);
		s = hex_of(k, size);
		s[below(r, 2 * size)] = PICK(r, "gxZ-+ :\\");
		return s;
	case 5:		/* upper case: valid */
		good_key(r, k, size);
		s = hex_of(k, size);
		for (n = 0; s[n]; n++)
			if (s[n] >= 'a')
				s[n] = (char)(s[n] - 32);
		return s;
	case 6:		/* over-long */
		n = PICK(r, ((size_t[]){ 65, 128, 1024, 4097, 65536 }));
		s = xmalloc(2 * n + 1);
		for (size_t i = 0; i < 2 * n; i++)
			s[i] = "0123456789abcdef"[below(r, 16)];
		return s;
	case 7:		/* all zero: equal halves */
		s = xmalloc(2 * size + 1);
		memset(s, '0', 2 * size);
		return s;
	case 8:
	case 9:
		return xstrdup(PICK(r, ring_refs));
	case 10:	/* a huge keyring description */
		n = PICK(r, ((size_t[]){ 255, 4095, 4096, 5000, 40000 }));
		s = random_printable(r, n);
		return xasprintf(":%zu:logon:%s", size, s);
	default:
		return xstrdup("-");
	}
}

static const char *random_device(struct rng *r, const struct fuzz_ctx *c)
{
	static char longpath[5000];
	const char *const fixed[] = {
		"/dev/nonexistent", "/dev/null", "/dev/mapper/control",
		"0:0", "999:999", "1:4294967295", "4294967295:1", "/dev/loop7",
		"/", "dev/ram0", "/dev/ram0/", "-", "1:", ":1", "1:0:0",
		"/dev/../dev/ram0",
	};

	switch (below(r, 6)) {
	case 0:
		return c->dev;
	case 1:
		return c->dev_mm;
	case 2:
		return c->alt;
	case 3:
		return c->alt_mm;
	case 4:
		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[below(r, sizeof(longpath) - 1)] = '\0';
		return longpath[1] ? longpath : "/";
	default:
		return PICK(r, fixed);
	}
}

struct line {
	uint64_t start, len;
	char type[DM_MAX_TYPE_NAME];
	int ntok;
	char *tok[MAX_TOK];
	bool pristine;		/* a valid line, not mutated */
};

static void line_free(struct line *l)
{
	int i;

	for (i = 0; i < l->ntok; i++)
		free(l->tok[i]);
	l->ntok = 0;
}

static void add_tok(struct line *l, char *s)
{
	if (l->ntok < MAX_TOK)
		l->tok[l->ntok++] = s;
	else
		free(s);
}

/*
 * A valid line for @dev (@sectors long): random cipher, key, sector size,
 * offsets and options.
 */
static void valid_line(struct rng *r, struct line *l, const char *dev,
		       uint64_t sectors)
{
	const char *opts[5];
	unsigned char k[64];
	bool sm4 = chance(r, 30);
	size_t ksize = sm4 ? 32 : 64;
	unsigned int ss = chance(r, 40) ? 4096 : 512, step = ss / 512;
	uint64_t len, off, ivoff, maxlen;
	int nopt = 0, i;

	memset(l, 0, sizeof(*l));
	strcpy(l->type, "envcrypt");
	l->pristine = true;
	off = below(r, sectors / 2 / step) * step;
	maxlen = (sectors - off) / step;
	if (maxlen > 2048 / step)
		maxlen = 2048 / step;
	len = (1 + below(r, maxlen)) * step;
	if (chance(r, 10))
		ivoff = UINT64_MAX - step + 1;	/* the IV wraps around */
	else
		ivoff = below(r, 1 << 20) * step;
	l->start = 0;
	l->len = len;
	add_tok(l, xstrdup(sm4 ? "sm4-xts-plain64" : "aes-xts-plain64"));
	if (chance(r, 25)) {
		add_tok(l, xstrdup(sm4 ? ":32:logon:dmfuzz:sm4" :
					 ":64:logon:dmfuzz:aes"));
	} else {
		good_key(r, k, ksize);
		add_tok(l, hex_of(k, ksize));
	}
	add_tok(l, xasprintf("%" PRIu64, ivoff));
	add_tok(l, xstrdup(dev));
	add_tok(l, xasprintf("%" PRIu64, off));
	if (ss != 512)
		opts[nopt++] = "sector_size:4096";
	if (ss != 512 && chance(r, 50))
		opts[nopt++] = "iv_large_sectors";
	if (chance(r, 30))
		opts[nopt++] = "allow_discards";
	if (chance(r, 30))
		opts[nopt++] = chance(r, 50) ? "on_key_wipe:error" :
					      "on_key_wipe:queue";
	if (chance(r, 20))
		opts[nopt++] = "crypto_api";
	for (i = nopt - 1; i > 0; i--) {	/* any order */
		int j = (int)below(r, (uint64_t)i + 1);
		const char *t = opts[i];

		opts[i] = opts[j];
		opts[j] = t;
	}
	if (nopt) {
		add_tok(l, xasprintf("%d", nopt));
		for (i = 0; i < nopt; i++)
			add_tok(l, xstrdup(opts[i]));
	}
}

/* A replacement token of any kind. */
static char *random_token(struct rng *r, const struct fuzz_ctx *c)
{
	switch (below(r, 8)) {
	case 0:
		return xstrdup(PICK(r, numbers));
	case 1:
		return xstrdup(PICK(r, ciphers));
	case 2:
		return xstrdup(PICK(r, options));
	case 3:
		return random_key(r, chance(r, 50) ? 64 : 32);
	case 4:
		return xstrdup(random_device(r, c));
	case 5:
		return random_printable(r, 1 + below(r, 40));
	case 6:
		return random_bytes_str(r, 1 + below(r, 40));
	default:
		return xasprintf("%" PRIu64, rnd(r) >> below(r, 64));
	}
}

static uint64_t random_u64_edge(struct rng *r, uint64_t valid)
{
	const uint64_t edges[] = {
		0, 1, 7, 8, 4095, 4096, 16383, 16384, 16385,
		(uint64_t)1 << 31, (uint64_t)1 << 32, ((uint64_t)1 << 32) - 1,
		UINT64_MAX, UINT64_MAX - 7, (uint64_t)1 << 63,
	};

	switch (below(r, 4)) {
	case 0:
		return PICK(r, edges);
	case 1:
		return valid + 1 + below(r, 8);
	case 2:
		return valid ? valid - 1 - below(r, valid < 8 ? valid : 8) : 0;
	default:
		return rnd(r) >> below(r, 64);
	}
}

/* One mutation of @l. */
static void mutate(struct rng *r, struct line *l, const struct fuzz_ctx *c)
{
	int i, j;
	char *t;

	l->pristine = false;
	switch (below(r, 11)) {
	case 0:		/* delete a token */
		if (!l->ntok)
			break;
		i = (int)below(r, (uint64_t)l->ntok);
		free(l->tok[i]);
		memmove(&l->tok[i], &l->tok[i + 1],
			sizeof(char *) * (size_t)(l->ntok - i - 1));
		l->ntok--;
		break;
	case 1:		/* duplicate a token */
		if (!l->ntok || l->ntok >= MAX_TOK)
			break;
		i = (int)below(r, (uint64_t)l->ntok);
		memmove(&l->tok[i + 1], &l->tok[i],
			sizeof(char *) * (size_t)(l->ntok - i));
		l->tok[i] = xstrdup(l->tok[i + 1]);
		l->ntok++;
		break;
	case 2:		/* swap two tokens */
		if (l->ntok < 2)
			break;
		i = (int)below(r, (uint64_t)l->ntok);
		j = (int)below(r, (uint64_t)l->ntok);
		t = l->tok[i];
		l->tok[i] = l->tok[j];
		l->tok[j] = t;
		break;
	case 3:		/* replace a token */
	case 4:
		if (!l->ntok)
			break;
		i = (int)below(r, (uint64_t)l->ntok);
		free(l->tok[i]);
		l->tok[i] = random_token(r, c);
		break;
	case 5:		/* insert a token */
		if (l->ntok >= MAX_TOK)
			break;
		i = (int)below(r, (uint64_t)l->ntok + 1);
		memmove(&l->tok[i + 1], &l->tok[i],
			sizeof(char *) * (size_t)(l->ntok - i));
		l->tok[i] = random_token(r, c);
		l->ntok++;
		break;
	case 6:		/* change one character of a token */
		if (!l->ntok)
			break;
		t = l->tok[below(r, (uint64_t)l->ntok)];
		if (*t)
			t[below(r, strlen(t))] = (char)(1 + below(r, 255));
		break;
	case 7:		/* cut a token short */
		if (!l->ntok)
			break;
		t = l->tok[below(r, (uint64_t)l->ntok)];
		if (strlen(t) > 1)
			t[1 + below(r, strlen(t) - 1)] = '\0';
		break;
	case 8:		/* a numeric field gets an edge value */
		i = (int)below(r, 4);
		if (i == 0 && l->ntok > 2) {		/* iv_offset */
			free(l->tok[2]);
			l->tok[2] = xstrdup(PICK(r, numbers));
		} else if (i == 1 && l->ntok > 4) {	/* offset */
			free(l->tok[4]);
			l->tok[4] = xstrdup(PICK(r, numbers));
		} else if (i == 2 && l->ntok > 5) {	/* option count */
			free(l->tok[5]);
			l->tok[5] = xstrdup(PICK(r, numbers));
		} else {
			l->len = random_u64_edge(r, l->len);
		}
		break;
	case 9:		/* the spec: start, length, type */
		if (chance(r, 30))
			l->start = random_u64_edge(r, 0);
		else if (chance(r, 50))
			l->len = random_u64_edge(r, l->len);
		else
			snprintf(l->type, sizeof(l->type), "%s",
				 random_type(r));
		break;
	default:	/* the option group: count off by one, options added */
		if (l->ntok > 5) {
			long n = strtol(l->tok[5], NULL, 10);

			free(l->tok[5]);
			l->tok[5] = xasprintf("%ld", n + (chance(r, 50) ? 1 : -1));
		} else {
			add_tok(l, xstrdup("1"));
			add_tok(l, xstrdup(PICK(r, options)));
		}
		break;
	}
}

/* Pure garbage: random tokens, any count. */
static void garbage_line(struct rng *r, struct line *l,
			 const struct fuzz_ctx *c)
{
	int n, i;

	memset(l, 0, sizeof(*l));
	l->start = chance(r, 80) ? 0 : random_u64_edge(r, 0);
	l->len = chance(r, 50) ? 8 * (1 + below(r, 256)) :
				 random_u64_edge(r, 800);
	snprintf(l->type, sizeof(l->type), "%s", random_type(r));
	n = (int)below(r, 16);
	if (chance(r, 3))
		n = MAX_TOK;
	for (i = 0; i < n; i++)
		add_tok(l, random_token(r, c));
}

/* The parameter string of @l (separators vary: spaces, tabs). */
static char *join(struct rng *r, const struct line *l)
{
	size_t len = 4, i;
	char *s, *p;

	for (i = 0; i < (size_t)l->ntok; i++)
		len += strlen(l->tok[i]) + 3;
	s = xmalloc(len);
	p = s;
	if (chance(r, 5))
		*p++ = ' ';
	for (i = 0; i < (size_t)l->ntok; i++) {
		if (i) {
			*p++ = chance(r, 95) ? ' ' : '\t';
			if (chance(r, 3))
				*p++ = ' ';
		}
		strcpy(p, l->tok[i]);
		p += strlen(p);
	}
	if (strlen(s) > MAX_PARAMS)
		s[MAX_PARAMS] = '\0';
	return s;
}

/* Print a line for a reproducer, bytes outside printable ASCII escaped. */
static void print_line(FILE *f, const char *what, uint64_t index,
		       const struct target *t, int n)
{
	const unsigned char *p;
	int i;

	for (i = 0; i < n; i++) {
		fprintf(f, "dm-fuzz: %s %" PRIu64 ": %" PRIu64 " %" PRIu64 " %s ",
			what, index, t[i].start, t[i].len, t[i].type);
		for (p = (const unsigned char *)t[i].params; *p; p++) {
			if (p - (const unsigned char *)t[i].params > 300) {
				fprintf(f, "...(%zu bytes)", strlen(t[i].params));
				break;
			}
			if (*p >= 32 && *p < 127)
				fputc(*p, f);
			else
				fprintf(f, "\\x%02x", *p);
		}
		fputc('\n', f);
	}
}

struct table_counts {
	unsigned long tried, accepted, rejected, resumed, resume_failed;
	unsigned long io_ok, reloads, reloads_accepted, pristine, removed;
	unsigned long by_errno[256];
};

/* Generate the table of case @index: one target, sometimes two. */
static int make_table(struct rng *r, const struct fuzz_ctx *c,
		      struct target *t, bool *pristine)
{
	struct line l[2];
	int n = chance(r, 5) ? 2 : 1, i, kind;

	*pristine = n == 1;
	for (i = 0; i < n; i++) {
		/* 25% garbage, 3% valid lines, the rest mutated ones */
		kind = (int)below(r, 100);
		if (kind < 25) {
			garbage_line(r, &l[i], c);
		} else {
			if (i == 0 || chance(r, 50))
				valid_line(r, &l[i], c->dev, c->dev_sectors);
			else
				valid_line(r, &l[i], c->alt, c->alt_sectors);
			if (kind >= 28) {
				int m = 1 + (int)below(r, 3);

				while (m--)
					mutate(r, &l[i], c);
			}
		}
		if (i == 1 && !chance(r, 20))
			l[1].start = l[0].start + l[0].len;
		*pristine = *pristine && l[i].pristine;
		t[i].start = l[i].start;
		t[i].len = l[i].len;
		memcpy(t[i].type, l[i].type, sizeof(t[i].type));
		t[i].params = join(r, &l[i]);
		line_free(&l[i]);
	}
	return n;
}

static bool only_envcrypt(const struct target *t, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].type, "envcrypt"))
			return false;
	return true;
}

static void free_table(struct target *t, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		/* the table carries key bytes: wipe them */
		memset(t[i].params, 0, strlen(t[i].params));
		free(t[i].params);
	}
}

static void mm_of(const char *path, char *out, size_t len)
{
	struct stat st;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		die("%s is not a block device", path);
	snprintf(out, len, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
}

static uint64_t sectors_of(const char *path)
{
	uint64_t size;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size))
		die("%s: %s", path, strerror(errno));
	close(fd);
	return size / 512;
}

static int fuzz_tables(uint64_t first, uint64_t count, const char *dev,
		       const char *alt)
{
	struct table_counts tc = { 0 };
	struct fuzz_ctx c = { .dev = dev, .alt = alt };
	bool have_dev = false;
	dev_t dev_nr = 0;
	char name[64];
	uint64_t i;
	int bad = 0, e;

	mm_of(dev, c.dev_mm, sizeof(c.dev_mm));
	mm_of(alt, c.alt_mm, sizeof(c.alt_mm));
	c.dev_sectors = sectors_of(dev);
	c.alt_sectors = sectors_of(alt);
	if (c.dev_sectors < 64 || c.alt_sectors < 64)
		die("devices too small");
	snprintf(name, sizeof(name), "dmfuzz-%d-t", (int)getpid());

	/*
	 * A refused line leaves the device as it was, without a table: the
	 * next line goes into the same device; one with a table is removed
	 * and the next line gets a new device.
	 */
	for (i = first; i < first + count && !bad; i++) {
		struct target t[2], t2[2];
		struct rng r;
		bool pristine, p2, remove = true;
		const char *why = NULL;
		int n, n2, e, e2;

		rng_case(&r, "tables", i);
		n = make_table(&r, &c, t, &pristine);
		if (verbose)
			print_line(stdout, "table", i, t, n);
		tick();
		if (!have_dev) {
			e = dm_create(name, &dev_nr);
			if (e)
				die("create %s: %s", name, strerror(-e));
			have_dev = true;
		}
		tc.tried++;
		tc.pristine += pristine;
		tock(T_CREATE);
		e = dm_load(name, t, n);
		tock(T_LOAD);
		if (e) {
			tc.rejected++;
			tc.by_errno[-e & 255]++;
			remove = false;
			if (pristine) {
				why = "a valid line was refused";
				print_line(stderr, "table", i, t, n);
				fprintf(stderr, "dm-fuzz: load: %s\n",
					strerror(-e));
			}
		} else {
			tc.accepted++;
			e = dm_suspend(name, false);
			tock(T_RESUME);
			if (e) {
				tc.resume_failed++;
				if (pristine)
					why = "a valid line did not resume";
			} else {
				tc.resumed++;
				/* another target (error) may fail I/O */
				if (only_envcrypt(t, n) &&
				    !roundtrip(&r, dev_nr, &why))
					tc.io_ok++;
				tock(T_IO);
			}
			/* sometimes a second table into the live device */
			if (!e && !why && chance(&r, 15)) {
				n2 = make_table(&r, &c, t2, &p2);
				if (verbose)
					print_line(stdout, "reload", i, t2, n2);
				tc.reloads++;
				e2 = dm_load(name, t2, n2);
				if (!e2 && !dm_suspend(name, false)) {
					tc.reloads_accepted++;
					if (only_envcrypt(t2, n2) &&
					    !roundtrip(&r, dev_nr, &why))
						tc.io_ok++;
				} else if (!e2) {
					/* not resumed: the old table stays */
					dm_suspend(name, false);
				}
				if (why)
					print_line(stderr, "reload", i, t2, n2);
				free_table(t2, n2);
			}
			if (why)
				print_line(stderr, "table", i, t, n);
		}
		tick();
		if (remove || why) {
			e = dm_remove(name);
			have_dev = false;
			tc.removed++;
			if (e) {
				fprintf(stderr, "dm-fuzz: remove %s: %s\n",
					name, strerror(-e));
				why = why ?: "the device cannot be removed";
			}
		}
		tock(T_REMOVE);
		if (why) {
			fprintf(stderr, "dm-fuzz: seed %" PRIu64 " case %" PRIu64
				": %s\n", seed, i, why);
			bad = 1;
		}
		free_table(t, n);
	}
	if (have_dev) {
		e = dm_remove(name);
		tc.removed++;
		if (e) {
			fprintf(stderr, "dm-fuzz: remove %s: %s\n", name,
				strerror(-e));
			bad = 1;
		}
	}

	printf("dm-fuzz: tables seed %" PRIu64 " cases %" PRIu64 "..%" PRIu64
	       ": tried %lu accepted %lu rejected %lu valid %lu resumed %lu"
	       " resume_failed %lu io_ok %lu reloads %lu reloads_accepted %lu"
	       " devices %lu\n",
	       seed, first, first + count - 1, tc.tried, tc.accepted,
	       tc.rejected, tc.pristine, tc.resumed, tc.resume_failed,
	       tc.io_ok, tc.reloads, tc.reloads_accepted, tc.removed);
	printf("dm-fuzz: ms in create %.0f load %.0f resume %.0f io %.0f remove %.0f\n",
	       spent[T_CREATE], spent[T_LOAD], spent[T_RESUME], spent[T_IO],
	       spent[T_REMOVE]);
	printf("dm-fuzz: rejections by errno:");
	for (i = 0; i < 256; i++)
		if (tc.by_errno[i])
			printf(" %s=%lu", strerrorname_np((int)i) ?: "?",
			       tc.by_errno[i]);
	printf("\n");
	return bad;
}

/* ---- messages --------------------------------------------------------- */

enum key_state { KEY_NONE, KEY_RIGHT, KEY_OTHER };

struct live {
	char name[64];
	dev_t dev;
	bool suspended;
	bool error_mode;		/* on_key_wipe:error */
	size_t key_size;
	unsigned char key[64];		/* the right key */
	char kcv_right[7];
	char kcv[7];			/* what the kernel has, "-" if none */
	unsigned char pattern[IO_SIZE];	/* the first block's plaintext */
};

enum msg_class {
	M_WIPE,		/* "key wipe" */
	M_SET_RIGHT,	/* "key set <the right key>" */
	M_SET_OTHER,	/* "key set <another valid key>" */
	M_SET_BAD,	/* "key set <malformed key>" */
	M_UNKNOWN,	/* not a message of the target */
	M_FUZZ,		/* anything */
};

static const char *const class_names[] = {
	"wipe", "set-right", "set-other", "set-bad", "unknown", "fuzz",
};

/* Read the key state of @d from its status: its kcv, "-" without key. */
static void read_kcv(struct live *d, char out[7])
{
	char st[512], *p;
	int e;

	e = dm_status(d->name, st, sizeof(st));
	if (e)
		die("status %s: %s", d->name, strerror(-e));
	p = strstr(st, " key:");
	if (p && !strcmp(p, " key:none kcv:-")) {
		strcpy(out, "-");
	} else if (p && !strncmp(p, " key:loaded kcv:", 16) &&
		   strlen(p + 16) == 6) {
		memcpy(out, p + 16, 6);
		out[6] = '\0';
	} else {
		die("status %s: cannot read '%s'", d->name, st);
	}
}

/*
 * Read the first block of an active device: it must hold the pattern
 * with the right key, other bytes with another key, and fail with EIO
 * without a key.  NULL, or what went wrong.
 */
static const char *check_read(struct live *d)
{
	unsigned char *buf = io_buf();
	const char *why = NULL;
	int fd, e;

	fd = node_open(d->dev);
	e = block_io(fd, false, buf, 0);
	if (!strcmp(d->kcv, "-")) {
		if (e != -EIO)
			why = "a read without key did not fail with EIO";
	} else if (e) {
		why = "a read with a key failed";
	} else if (!strcmp(d->kcv, d->kcv_right)) {
		if (memcmp(buf, d->pattern, IO_SIZE))
			why = "the right key read other data";
	} else if (!memcmp(buf, d->pattern, IO_SIZE)) {
		why = "another key read the plaintext";
	}
	node_close(fd);
	free(buf);
	return why;
}

/* A malformed key for "key set" (refused when suspended). */
static char *bad_key(struct rng *r, size_t size)
{
	unsigned char k[64];
	char *s;

	switch (below(r, 9)) {
	case 0:		/* the other cipher's size */
		good_key(r, k, size == 64 ? 32 : 64);
		return hex_of(k, size == 64 ? 32 : 64);
	case 1:
		good_key(r, k, size);
		s = hex_of(k, size);
		s[2 * size - 1] = '\0';
		return s;
	case 2:
		good_key(r, k, size);
		s = hex_of(k, size);
		s[below(r, 2 * size)] = 'g';
		return s;
	case 3:
		rnd_bytes(r, k, size / 2);
		memcpy(k + size / 2, k, size / 2);
		return hex_of(k, size);
	case 4:
		return xasprintf(":%zu:logon:dmfuzz:absent", size);
	case 5:
		return xasprintf(":%zu:logon:dmfuzz:%s", size,
				 PICK(r, ((const char *[]){ "weak", "short",
							   "revoked" })));
	case 6:
		return xasprintf(":%zu:user:dmfuzz:user", size);
	case 7:
		return xasprintf(":%zu:logon:dmfuzz:%s", size == 64 ? 32 : 64,
				 size == 64 ? "aes" : "sm4");
	default:
		s = xmalloc(2 * 65536 + 1);
		memset(s, 'a', 2 * 65536);
		return s;
	}
}

static const char *const words[] = {
	"key", "wipe", "set", "KEY", "Wipe", "SET", "get", "delete", "load",
	"@cancel_deferred_remove", "@stats_list", "0", "-", "", "key\\ wipe",
	"\"key", "wipe\"", "key_wipe", "keyset",
};

/* A message of class @cls for @d; free the result. */
static char *make_message(struct rng *r, struct live *d, enum msg_class cls,
			  char kcv_new[7])
{
	unsigned char k[64];
	char *s, *h, *p;
	size_t n, i;

	kcv_new[0] = '\0';
	switch (cls) {
	case M_WIPE:
		return xstrdup(PICK(r, ((const char *[]){
			"key wipe", "KEY WIPE", "key Wipe", " key wipe ",
			"key\twipe" })));
	case M_SET_RIGHT:
		strcpy(kcv_new, d->kcv_right);
		if (d->key_size == 64 && !memcmp(d->key, ring_aes, 64) &&
		    chance(r, 50))
			return xstrdup("key set :64:logon:dmfuzz:aes");
		h = hex_of(d->key, d->key_size);
		s = xasprintf("%s %s", chance(r, 80) ? "key set" : "Key SET", h);
		free(h);
		return s;
	case M_SET_OTHER:
		good_key(r, k, d->key_size);
		kcv_of(k, d->key_size, kcv_new);
		h = hex_of(k, d->key_size);
		s = xasprintf("key set %s", h);
		free(h);
		return s;
	case M_SET_BAD:
		h = bad_key(r, d->key_size);
		s = xasprintf("key set %s", h);
		free(h);
		return s;
	case M_UNKNOWN:
		switch (below(r, 6)) {
		case 0:
			return xstrdup(PICK(r, ((const char *[]){
				"key", "key set", "wipe", "set", "hello world",
				"key get", "key delete now", "keys wipe",
				"key wipe now", "key set a b", "wipe key",
				"kcv", "key\\ wipe" })));
		case 1:	/* huge argument counts */
			n = PICK(r, ((size_t[]){ 4, 100, 5000, 60000 }));
			s = xmalloc(8 + 2 * n + 1);
			strcpy(s, chance(r, 50) ? "key set" : "key wipe");
			p = s + strlen(s);
			for (i = 0; i < n; i++) {
				*p++ = ' ';
				*p++ = 'a';
			}
			*p = '\0';
			return s;
		case 2:	/* one long word */
			n = PICK(r, ((size_t[]){ 100, 4096, 65536, 200000 }));
			return random_printable(r, n);
		case 3:	/* the first word is not "key" */
			return xasprintf("%s %s", PICK(r, ((const char *[]){
				"wipe", "set", "get", "0", "-", "keys",
				"key_wipe", "\"key", "key\\ wipe" })),
					 PICK(r, words));
		case 4:	/* three words, not "key set X" */
			return xasprintf("%s %s %s",
					 PICK(r, ((const char *[]){ "set",
						"wipe", "keys", "k" })),
					 PICK(r, words), PICK(r, words));
		default:
			return xasprintf("key %s x",
					 PICK(r, ((const char *[]){ "wipe",
						"get", "sets", "" })));
		}
	default:
		break;
	}

	/* M_FUZZ: garbage, or a valid message with a mutation */
	switch (below(r, 5)) {
	case 0:
		return random_bytes_str(r, 1 + below(r, 200));
	case 1: {
		const char *parts[3] = { PICK(r, words), PICK(r, words),
					 PICK(r, words) };

		return xasprintf("%s %s %s", parts[0], parts[1], parts[2]);
	}
	case 2:
		h = random_key(r, d->key_size);
		s = xasprintf("key set %s", h);
		free(h);
		return s;
	default:
		h = hex_of(d->key, d->key_size);
		s = xasprintf("key set %s", h);
		free(h);
		n = strlen(s);
		for (i = 1 + below(r, 3); i > 0; i--) {
			switch (below(r, 3)) {
			case 0:
				s[below(r, n)] = (char)(1 + below(r, 255));
				break;
			case 1:
				s[1 + below(r, n - 1)] = '\0';
				n = strlen(s);
				break;
			default:
				s[below(r, n)] = ' ';
				break;
			}
		}
		return s;
	}
}

#define EXPECT_ANY	1
#define EXPECT_ERROR	2

struct msg_counts {
	unsigned long sent, accepted, rejected, suspends, resumes;
	unsigned long resumes_refused, reads;
	unsigned long by_class[6][2];
};

static void setup_live(struct live *d, int i, const char *dev)
{
	static const char *const opts[] = {
		"",					/* AES, queue */
		" 2 on_key_wipe:error sector_size:4096",	/* SM4 */
		" 2 crypto_api on_key_wipe:queue",	/* AES, keyring */
		" 4 iv_large_sectors on_key_wipe:error allow_discards sector_size:4096",
	};
	struct target t;
	struct rng r;
	void *buf;
	char *h;
	int e, fd;

	rng_case(&r, "live", (uint64_t)i);
	snprintf(d->name, sizeof(d->name), "dmfuzz-%d-m%d", (int)getpid(), i);
	d->key_size = i == 1 ? 32 : 64;
	d->error_mode = i == 1 || i == 3;
	if (i == 2)
		memcpy(d->key, ring_aes, 64);
	else
		good_key(&r, d->key, d->key_size);
	kcv_of(d->key, d->key_size, d->kcv_right);
	strcpy(d->kcv, d->kcv_right);
	h = i == 2 ? xstrdup(":64:logon:dmfuzz:aes") :
		     hex_of(d->key, d->key_size);
	t.start = 0;
	t.len = 2048;
	strcpy(t.type, "envcrypt");
	t.params = xasprintf("%s %s 0 %s %d%s",
			     i == 1 ? "sm4-xts-plain64" : "aes-xts-plain64",
			     h, dev, i * 2048, opts[i]);
	free(h);
	e = dm_create(d->name, &d->dev);
	if (e)
		die("create %s: %s", d->name, strerror(-e));
	e = dm_load(d->name, &t, 1);
	if (e)
		die("load %s: %s", d->name, strerror(-e));
	free_table(&t, 1);
	e = dm_suspend(d->name, false);
	if (e)
		die("resume %s: %s", d->name, strerror(-e));
	d->suspended = false;
	rnd_bytes(&r, d->pattern, IO_SIZE);
	fd = node_open(d->dev);
	buf = io_buf();
	memcpy(buf, d->pattern, IO_SIZE);
	if (block_io(fd, true, buf, 0) || fsync(fd))
		die("write %s", d->name);
	node_close(fd);
	free(buf);
}

static int fuzz_messages(uint64_t count, const char *dev)
{
	struct live d[4];
	struct msg_counts mc = { 0 };
	const char *why = NULL;
	uint64_t i;
	int j, e;

	if (sectors_of(dev) < 4 * 2048)
		die("%s too small: 4 MiB needed", dev);
	for (j = 0; j < 4; j++)
		setup_live(&d[j], j, dev);

	for (i = 0; i < count && !why; i++) {
		enum msg_class cls;
		struct live *x;
		struct rng r;
		char before[7], after[7], kcv_new[7];
		uint64_t sector = 0;
		char *msg;
		int expect;	/* 0 or -errno, or EXPECT_ANY, EXPECT_ERROR */

		rng_case(&r, "messages", i);
		x = &d[below(&r, 4)];

		/* change state now and then */
		if (chance(&r, 30)) {
			if (!x->suspended) {
				e = dm_suspend(x->name, true);
				if (e)
					die("suspend %s: %s", x->name, strerror(-e));
				x->suspended = true;
				mc.suspends++;
			} else {
				e = dm_suspend(x->name, false);
				mc.resumes++;
				if (!strcmp(x->kcv, "-") && !x->error_mode) {
					if (e != -ENOKEY)
						why = "resume without key did not fail with ENOKEY";
					mc.resumes_refused++;
				} else if (e) {
					why = "resume with a key failed";
				} else {
					x->suspended = false;
				}
			}
		}
		if (!x->suspended && !why) {
			why = check_read(x);
			mc.reads++;
		}
		if (why)
			break;

		cls = (enum msg_class)PICK(&r, ((int[]){ M_WIPE, M_WIPE,
			M_SET_RIGHT, M_SET_RIGHT, M_SET_RIGHT, M_SET_OTHER,
			M_SET_BAD, M_SET_BAD, M_UNKNOWN, M_UNKNOWN, M_FUZZ,
			M_FUZZ, M_FUZZ }));
		msg = make_message(&r, x, cls, kcv_new);
		if (chance(&r, 3))
			sector = random_u64_edge(&r, 2048);
		if (verbose)
			printf("dm-fuzz: message %" PRIu64 " to %s (%s, %s, sector %" PRIu64 "): %.200s\n",
			       i, x->name, class_names[cls],
			       x->suspended ? "suspended" : "active", sector,
			       msg);

		read_kcv(x, before);
		e = dm_message(x->name, sector, msg);
		read_kcv(x, after);
		mc.sent++;
		mc.by_class[cls][!e]++;
		if (e)
			mc.rejected++;
		else
			mc.accepted++;

		/* what the target must have answered */
		expect = EXPECT_ANY;
		if (sector >= 2048 || cls == M_UNKNOWN || !*msg)
			expect = -EINVAL;
		else if (cls != M_FUZZ && !x->suspended)
			expect = -EBUSY;
		else if (cls == M_WIPE || cls == M_SET_RIGHT ||
			 cls == M_SET_OTHER)
			expect = 0;
		else if (cls == M_SET_BAD)
			expect = EXPECT_ERROR;

		if (expect <= 0 && e != expect)
			why = "unexpected answer to a message";
		else if (expect == EXPECT_ERROR && !e)
			why = "a malformed key was accepted";
		else if (e && strcmp(before, after))
			why = "a refused message changed the key";
		else if (!x->suspended && strcmp(before, after))
			why = "the key changed on an active device";
		else if (!e && cls == M_WIPE && strcmp(after, "-"))
			why = "the key is still there after key wipe";
		else if (!e && (cls == M_SET_RIGHT || cls == M_SET_OTHER) &&
			 strcmp(after, kcv_new))
			why = "key set did not load that key";
		if (why) {
			fprintf(stderr, "dm-fuzz: message %" PRIu64 " to %s (%s, %s, sector %" PRIu64 "): %.300s\n",
				i, x->name, class_names[cls],
				x->suspended ? "suspended" : "active", sector,
				msg);
			fprintf(stderr, "dm-fuzz: answer %s (expected %s), kcv %s -> %s\n",
				e ? strerror(-e) : "ok",
				expect == EXPECT_ANY ? "any" :
				expect == EXPECT_ERROR ? "an error" :
				expect ? strerror(-expect) : "ok", before, after);
		}
		strcpy(x->kcv, after);
		memset(msg, 0, strlen(msg));
		free(msg);
	}
	if (why)
		fprintf(stderr, "dm-fuzz: seed %" PRIu64 " message %" PRIu64
			": %s\n", seed, i - 1, why);

	/* every device gets its key back and reads its data */
	for (j = 0; j < 4 && !why; j++) {
		char *h = hex_of(d[j].key, d[j].key_size), *m;

		if (!d[j].suspended && dm_suspend(d[j].name, true))
			why = "cannot suspend at the end";
		d[j].suspended = true;
		m = xasprintf("key set %s", h);
		if (!why && dm_message(d[j].name, 0, m))
			why = "the right key was refused at the end";
		if (!why && dm_suspend(d[j].name, false))
			why = "cannot resume with the right key at the end";
		d[j].suspended = false;
		if (!why) {
			read_kcv(&d[j], d[j].kcv);
			why = check_read(&d[j]);
		}
		if (!why && strcmp(d[j].kcv, d[j].kcv_right))
			why = "the kernel's key is not the right one at the end";
		if (why)
			fprintf(stderr, "dm-fuzz: %s: %s\n", d[j].name, why);
		memset(m, 0, strlen(m));
		free(m);
		free(h);
	}
	for (j = 0; j < 4; j++) {
		e = dm_remove(d[j].name);
		if (e) {
			fprintf(stderr, "dm-fuzz: remove %s: %s\n", d[j].name,
				strerror(-e));
			why = why ?: "a device cannot be removed";
		}
	}

	printf("dm-fuzz: messages seed %" PRIu64 ": sent %lu accepted %lu"
	       " rejected %lu suspends %lu resumes %lu resumes_refused %lu"
	       " reads %lu\n", seed, mc.sent, mc.accepted, mc.rejected,
	       mc.suspends, mc.resumes, mc.resumes_refused, mc.reads);
	printf("dm-fuzz: by class (accepted/rejected):");
	for (j = 0; j < 6; j++)
		printf(" %s %lu/%lu", class_names[j], mc.by_class[j][1],
		       mc.by_class[j][0]);
	printf("\n");
	return why ? 1 : 0;
}

/* ---- headers ---------------------------------------------------------- */

#define COPY		16384
#define SUM_AT		16352
#define SEQ_AT		16
#define LABEL_AT	96
#define DATA_AT		1048576

static void put_sum(unsigned char *copy)
{
	sha256(copy, SUM_AT, NULL, 0, copy + SUM_AT);
}

static void flip(struct rng *r, unsigned char *buf, size_t from, size_t len)
{
	unsigned int n = 1 + (unsigned int)below(r, 16);

	while (n--)
		buf[from + below(r, len)] ^= (unsigned char)(1 + below(r, 255));
}

/* The fields of one copy (docs/FORMAT.md): offset and size. */
static const struct {
	unsigned int off, len;
} fields[] = {
	{ 0, 8 }, { 8, 2 }, { 10, 2 }, { 12, 4 }, { 16, 8 }, { 24, 16 },
	{ 40, 32 }, { 72, 4 }, { 76, 4 }, { 80, 8 }, { 88, 8 }, { 96, 48 },
	{ 144, 16 }, { 160, 352 },
	/* wrap slot 0: state, reserved, length, CMK version, created, URI,
	 * CMK id, alias, wrapped key; then the empty slot 1, the reserved */
	{ 512, 1 }, { 513, 1 }, { 514, 2 }, { 516, 4 }, { 520, 8 },
	{ 528, 256 }, { 784, 128 }, { 912, 112 }, { 1024, 512 },
	{ 1536, 1024 }, { 8704, 7648 },
};

/*
 * Change one field of a copy in @tmp (a zeroed buffer the size of a copy
 * gets the new bytes, @mask which of them): random bytes, all ones, zero,
 * an edge number, or a string without its NUL.  Returns the field.
 */
static unsigned int field_change(struct rng *r, unsigned char *val,
				 unsigned char *mask)
{
	static const uint64_t edges[] = {
		0, 1, 2, 511, 512, 4096, 32768, 1048576, 0xffffffffULL,
		(uint64_t)1 << 63, UINT64_MAX,
	};
	unsigned int f = (unsigned int)below(r, sizeof(fields) /
					     sizeof(fields[0]));
	unsigned int off = fields[f].off, len = fields[f].len, i, n;
	uint64_t v;

	switch (below(r, 5)) {
	case 0:
		n = 1 + (unsigned int)below(r, len < 8 ? len : 8);
		while (n--) {
			i = off + (unsigned int)below(r, len);
			val[i] = (unsigned char)rnd(r);
			mask[i] = 1;
		}
		break;
	case 1:
		memset(val + off, 0xff, len);
		memset(mask + off, 1, len);
		break;
	case 2:
		memset(val + off, 0, len);
		memset(mask + off, 1, len);
		break;
	case 3:
		v = PICK(r, edges);
		for (i = 0; i < len && i < 8; i++) {
			val[off + i] = (unsigned char)(v >> (8 * i));
			mask[off + i] = 1;
		}
		break;
	default:
		for (i = 0; i < len; i++) {
			val[off + i] = (unsigned char)(33 + below(r, 94));
			mask[off + i] = 1;
		}
		break;
	}
	return f;
}

static void apply(unsigned char *copy, const unsigned char *val,
		  const unsigned char *mask)
{
	unsigned int i;

	for (i = 0; i < SUM_AT; i++)
		if (mask[i])
			copy[i] = val[i];
}

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		die("write %s: %s", path, strerror(errno));
	return 0;
}

/*
 * Case @index: a damaged copy of @in in @out.  Prints the kind and the
 * exit codes dump and open must give ('x': any documented code).
 */
static int fuzz_header(uint64_t index, const char *in, const char *out)
{
	static const unsigned char order[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
		15, 16, 2, 4, 15, 16,
	};
	static unsigned char tmp[COPY], val[COPY], mask[COPY];
	unsigned char *img, *c0, *c1;
	const char *kind, *dump = "0", *open = "0";
	size_t size, len;
	struct rng r;
	FILE *f;

	f = fopen(in, "rb");
	if (!f)
		die("%s: %s", in, strerror(errno));
	fseek(f, 0, SEEK_END);
	size = (size_t)ftell(f);
	rewind(f);
	if (size < DATA_AT + 4096)
		die("%s: too small", in);
	img = xmalloc(size);
	if (fread(img, 1, size, f) != size)
		die("%s: short read", in);
	fclose(f);
	c0 = img;
	c1 = img + COPY;
	len = size;
	rng_case(&r, "header", index);

	/* cases 0..17 of a seed bring one of each kind */
	switch (order[index % (sizeof(order) / sizeof(order[0]))]) {
	case 0:
		kind = "random";
		rnd_bytes(&r, img, size);
		dump = open = "5";
		break;
	case 1:		/* the magic and fixed fields right, the rest not */
		kind = "random-with-magic";
		memcpy(tmp, c0, 16);
		rnd_bytes(&r, img, 2 * COPY);
		memcpy(c0, tmp, 16);
		memcpy(c1, tmp, 16);
		c1[10] = 1;
		dump = open = "5";
		break;
	case 2:
		kind = "flip-copy0";
		flip(&r, c0, 0, COPY);
		break;
	case 3:
		kind = "flip-copy1";
		flip(&r, c1, 0, COPY);
		break;
	case 4:
		kind = "flip-both";
		flip(&r, c0, 0, COPY);
		flip(&r, c1, 0, COPY);
		dump = open = "5";
		break;
	case 5:
		kind = "zero-copy0";
		memset(c0, 0, COPY);
		break;
	case 6:
		kind = "zero-copy1";
		memset(c1, 0, COPY);
		break;
	case 7:
		kind = "zero-both";
		memset(img, 0, 2 * COPY);
		dump = open = "5";
		break;
	case 8:
		kind = "garbage-copy0";
		rnd_bytes(&r, c0, COPY);
		break;
	case 9:
		kind = "garbage-copy1";
		rnd_bytes(&r, c1, COPY);
		break;
	case 10:	/* each copy where the other belongs: index refused */
		kind = "swapped";
		memcpy(tmp, c0, COPY);
		memcpy(c0, c1, COPY);
		memcpy(c1, tmp, COPY);
		dump = open = "5";
		break;
	case 11:
		kind = "copy0-twice";
		memcpy(c1, c0, COPY);
		break;
	case 12:	/* no copy whole */
		kind = "truncated-header";
		len = below(&r, COPY);
		dump = open = "5";
		break;
	case 13:	/* copy 0 whole, copy 1 or the data area cut */
		kind = "truncated-data";
		len = chance(&r, 50) ? COPY + below(&r, COPY) :
				       2 * COPY + below(&r, DATA_AT + 512 - 2 * COPY);
		open = "5";
		break;
	case 14:
		kind = "flip-data";
		flip(&r, img, DATA_AT, size - DATA_AT);
		break;
	case 15:
		/*
		 * One field of both copies changed alike, checksums
		 * recomputed: the field checks and the key's binding to the
		 * header must refuse or accept it, never crash.
		 */
		kind = "field-both";
		memset(val, 0, COPY);
		memset(mask, 0, COPY);
		field_change(&r, val, mask);
		apply(c0, val, mask);
		apply(c1, val, mask);
		if (mask[10] || mask[11]) {	/* the copy index itself */
			c1[10] = (unsigned char)(c1[10] + 1);
		}
		put_sum(c0);
		put_sum(c1);
		dump = "x";
		open = "x";
		break;
	case 16:
		/* copy 0 forged with a higher sequence number */
		kind = "field-copy0-newer";
		memset(val, 0, COPY);
		memset(mask, 0, COPY);
		field_change(&r, val, mask);
		apply(c0, val, mask);
		if (!mask[SEQ_AT])
			c0[SEQ_AT]++;
		put_sum(c0);
		dump = "x";
		open = "x";
		break;
	default:
		/* the same sequence number, another label: undecidable */
		kind = "same-sequence-differ";
		memset(c1 + LABEL_AT, 0, 48);
		memcpy(c1 + LABEL_AT, "forged", 6);
		put_sum(c1);
		dump = open = "5";
		break;
	}
	write_file(out, img, len);
	printf("%s %s %s\n", kind, dump, open);
	free(img);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end)
		die("not a number: '%s'", s);
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: envcrypt-dm-fuzz tables SEED FIRST COUNT DEV ALTDEV\n"
		"       envcrypt-dm-fuzz messages SEED COUNT DEV\n"
		"       envcrypt-dm-fuzz header SEED INDEX IN OUT\n");
	exit(2);
}

static void open_control(void)
{
	control_fd = open("/dev/mapper/control", O_RDWR);
	if (control_fd < 0)
		die("/dev/mapper/control: %s", strerror(errno));
	snprintf(node_path, sizeof(node_path), "/tmp/.dmfuzz-%d",
		 (int)getpid());
}

int main(int argc, char **argv)
{
	const char *v = getenv("DMFUZZ_VERBOSE");

	verbose = v && *v && strcmp(v, "0");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	seed = num(argv[2]);
	if (!strcmp(argv[1], "tables") && argc == 7) {
		open_control();
		setup_keys();
		printf("dm-fuzz: seed %" PRIu64 "\n", seed);
		return fuzz_tables(num(argv[3]), num(argv[4]), argv[5],
				   argv[6]);
	}
	if (!strcmp(argv[1], "messages") && argc == 5) {
		open_control();
		setup_keys();
		printf("dm-fuzz: seed %" PRIu64 "\n", seed);
		return fuzz_messages(num(argv[3]), argv[4]);
	}
	if (!strcmp(argv[1], "header") && argc == 6)
		return fuzz_header(num(argv[3]), argv[4], argv[5]);
	usage();
	return 2;
}
