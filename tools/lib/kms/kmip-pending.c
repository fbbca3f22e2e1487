// SPDX-License-Identifier: GPL-2.0
/*
 * The KMIP provider's records of scheduled deletions (kmip-pending.h).
 *
 * The file, text, lines ending in '\n', fields separated by one space:
 *
 *	envcrypt-kmip-pending 1
 *	key <unique identifier, percent-encoded> <deletion date, Unix time> [<Initial Date of the key, Unix time>]
 *	...
 *	end
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "hex.h"
#include "kmip-pending.h"
#include "statefile.h"

#define PENDING_MAGIC		"envcrypt-kmip-pending 1"
#define PENDING_FILE_MAX	(1024 * 1024)
/* "key " + 3 bytes an id character + " " + date + " " + created + "\n" */
#define RECORD_TEXT_MAX		(4 + 3 * EC_CMK_ID_MAX + 1 + 20 + 1 + 20 + 1)

/* ---- paths ---------------------------------------------------------------- */

/* A host name or address as a file name: [A-Za-z0-9.-], others '_'. */
static void file_part(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++) {
		char c = *s;

		out[n++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '-') ?
			   c : '_';
	}
	out[n] = '\0';
}

int kmip_pending_init(struct kmip_pending *p, const char *host,
		      const char *port, const char *kms_name)
{
	const char *dir = getenv(KMIP_STATE_DIR_ENV);
	char base[EC_KMS_URI_MAX];
	char hostpart[EC_KMS_URI_MAX];
	size_t len;

	memset(p, 0, sizeof(*p));
	p->kms_name = kms_name;
	if (!dir || !*dir)
		dir = KMIP_STATE_DIR_DEFAULT;
	if (dir[0] != '/')
		return ec_err_set(-EINVAL,
				  "%s: the state directory '%s' (from %s) is not an absolute path",
				  kms_name, dir, KMIP_STATE_DIR_ENV);
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len >= sizeof(p->dir) - 1)
		return ec_err_set(-EINVAL,
				  "%s: the state directory '%.40s...' is too long (at most %zu characters)",
				  kms_name, dir, sizeof(p->dir) - 2);
	memcpy(p->dir, dir, len);
	p->dir[len] = '\0';
	file_part(hostpart, sizeof(hostpart), host);
	snprintf(base, sizeof(base), "%.200s_%.8s", hostpart, port);
	if (len == 1)
		len = 0;	/* "/" */
	snprintf(p->path, sizeof(p->path), "%.*s/%s.pending", (int)len,
		 p->dir, base);
	snprintf(p->lock_path, sizeof(p->lock_path), "%.*s/%s.lock",
		 (int)len, p->dir, base);
	snprintf(p->tmp_path, sizeof(p->tmp_path), "%.*s/.%s.new", (int)len,
		 p->dir, base);
	return 0;
}

/* ---- the file's text --------------------------------------------------- */

static bool plain_id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
	       c == ':' || c == '/' || c == '~';
}

static void encode_id(char *out, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)id;

	for (; *s; s++) {
		if (plain_id_char((char)*s)) {
			*out++ = (char)*s;
		} else {
			*out++ = '%';
			*out++ = hex[*s >> 4];
			*out++ = hex[*s & 15];
		}
	}
	*out = '\0';
}

/* uppercase only, as written */
static int hex_value(char c)
{
	return c >= 'a' && c <= 'f' ? -1 : ec_hex_value(c);
}

static bool decode_id(const char *s, char *out, size_t size)
{
	size_t n = 0;
	int hi, lo;

	for (; *s; s++) {
		if (n + 1 >= size)
			return false;
		if (*s == '%') {
			hi = hex_value(s[1]);
			lo = hi < 0 ? -1 : hex_value(s[2]);
			if (lo < 0 || (hi == 0 && lo == 0))
				return false;
			out[n++] = (char)(hi << 4 | lo);
			s += 2;
		} else if (plain_id_char(*s)) {
			out[n++] = *s;
		} else {
			return false;
		}
	}
	out[n] = '\0';
	return n > 0;
}

static bool parse_date(const char *s, int64_t *v)
{
	int64_t x = 0;
	size_t i, len = strlen(s);

	if (!len || len > 18 || s[0] == '0')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

static int corrupt(const struct kmip_pending *p, unsigned int line,
		   const char *what)
{
	return ec_err_set(-EIO,
			  "%s: deletion records %s line %u: %s; fix or remove the file (its keys are revoked; only their deletion dates are lost)",
			  p->kms_name, p->path, line, what);
}

static int parse(const struct kmip_pending *p, char *buf, size_t len,
		 struct kmip_pending_record **recs, size_t *n)
{
	struct kmip_pending_record *r = NULL, *grown;
	char *line = buf, *nl, *id, *date, *created;
	unsigned int lineno = 0;
	size_t cap = 0, count = 0;
	bool ended = false;
	int ret;

	while ((size_t)(line - buf) < len) {
		lineno++;
		nl = memchr(line, '\n', len - (size_t)(line - buf));
		if (!nl) {
			ret = corrupt(p, lineno, "the last line has no newline");
			goto fail;
		}
		*nl = '\0';
		if (strlen(line) != (size_t)(nl - line)) {
			ret = corrupt(p, lineno, "a NUL byte in the line");
			goto fail;
		}
		if (ended) {
			ret = corrupt(p, lineno, "a line after 'end'");
			goto fail;
		}
		if (lineno == 1) {
			if (strcmp(line, PENDING_MAGIC)) {
				ret = corrupt(p, lineno,
					      "not a file of format '" PENDING_MAGIC "'");
				goto fail;
			}
		} else if (!strcmp(line, "end")) {
			ended = true;
		} else {
			if (strncmp(line, "key ", 4) ||
			    !(id = line + 4, date = strchr(id, ' '))) {
				ret = corrupt(p, lineno,
					      "not 'key ID DATE' or 'end'");
				goto fail;
			}
			*date++ = '\0';
			created = strchr(date, ' ');
			if (created)
				*created++ = '\0';
			if (count == cap) {
				cap = cap ? 2 * cap : 8;
				grown = realloc(r, cap * sizeof(*r));
				if (!grown) {
					ret = ec_err_set(-ENOMEM,
							 "out of memory");
					goto fail;
				}
				r = grown;
			}
			r[count].created = 0;
			if (!decode_id(id, r[count].uid, sizeof(r[count].uid)) ||
			    !parse_date(date, &r[count].date) ||
			    (created && !parse_date(created, &r[count].created))) {
				ret = corrupt(p, lineno,
					      "a bad key id or deletion date");
				goto fail;
			}
			count++;
		}
		line = nl + 1;
	}
	if (!ended) {
		ret = corrupt(p, lineno + 1, "the file ends before its 'end' line");
		goto fail;
	}
	*recs = r;
	*n = count;
	return 0;
fail:
	free(r);
	return ret;
}

/* ---- reading and writing ------------------------------------------------- */

static int read_file(const struct kmip_pending *p,
		     struct kmip_pending_record **recs, size_t *n)
{
	struct stat st;
	char *buf = NULL;
	size_t done = 0;
	ssize_t got;
	int fd, r;

	*recs = NULL;
	*n = 0;
	fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return ec_err_set(-errno, "%s: cannot open %s: %s",
				  p->kms_name, p->path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > PENDING_FILE_MAX) {
		r = ec_err_set(-EIO,
			       "%s: %s is not a regular file of at most %d bytes; fix or remove it",
			       p->kms_name, p->path, PENDING_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = ec_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	got = ec_statefile_read(fd, buf, (size_t)st.st_size);
	if (got != st.st_size) {
		r = ec_err_set(got < 0 ? -errno : -EIO,
			       "%s: cannot read %s: %s", p->kms_name, p->path,
			       got < 0 ? strerror(errno) : "short read");
		goto out;
	}
	done = (size_t)got;
	buf[done] = '\0';
	r = parse(p, buf, done, recs, n);
out:
	free(buf);
	close(fd);
	return r;
}

/* Replace the file: temporary file, fsync, rename, fsync the directory. */
static int write_file(const struct kmip_pending *p,
		      const struct kmip_pending_record *recs, size_t n)
{
	size_t i, size = sizeof(PENDING_MAGIC) + n * RECORD_TEXT_MAX + 8;
	enum ec_statefile_step step;
	char *text, *s;
	int r;

	text = malloc(size);
	if (!text)
		return ec_err_set(-ENOMEM, "out of memory");
	s = text + sprintf(text, "%s\n", PENDING_MAGIC);
	for (i = 0; i < n; i++) {
		s += sprintf(s, "key ");
		encode_id(s, recs[i].uid);
		s += strlen(s);
		s += sprintf(s, " %" PRId64, recs[i].date);
		if (recs[i].created > 0)
			s += sprintf(s, " %" PRId64, recs[i].created);
		s += sprintf(s, "\n");
	}
	s += sprintf(s, "end\n");

	r = ec_statefile_replace(p->path, p->tmp_path, 0600, text,
				 (size_t)(s - text), &step);
	free(text);
	if (r && step == EC_STATEFILE_SYNC_DIR)
		return ec_err_set(r, "%s: cannot sync %s: %s", p->kms_name,
				  p->dir, strerror(-r));
	if (r)
		return ec_err_prefix(r, "%s", p->kms_name);
	return 0;
}

/* mkdir -p, each missing directory 0700. */
static int make_dir(const struct kmip_pending *p)
{
	char path[sizeof(p->dir)];
	struct stat st;
	char *s;

	snprintf(path, sizeof(path), "%s", p->dir);
	for (s = path + 1; ; s++) {
		if (*s && *s != '/')
			continue;
		if (s[-1] != '/') {
			char c = *s;

			*s = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST)
				return ec_err_set(-errno,
						  "%s: cannot create the state directory %s: %s",
						  p->kms_name, path,
						  strerror(errno));
			*s = c;
		}
		if (!*s)
			break;
	}
	if (stat(p->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ec_err_set(-ENOTDIR, "%s: %s is not a directory",
				  p->kms_name, p->dir);
	return 0;
}

/* Take the lock: -1 when there is no lock file to read under. */
static int lock(const struct kmip_pending *p, bool exclusive, int *fd)
{
	enum ec_statefile_step step;
	int r;

	*fd = -1;
	if (exclusive) {
		r = make_dir(p);
		if (r)
			return r;
	}
	r = ec_statefile_lock(p->lock_path, exclusive, fd, &step);
	if (r && step == EC_STATEFILE_OPEN_LOCK)
		return ec_err_set(r,
				  "%s: cannot open %s: %s; run as root or set %s to a directory of yours",
				  p->kms_name, p->lock_path, strerror(-r),
				  KMIP_STATE_DIR_ENV);
	if (r)
		return ec_err_prefix(r, "%s", p->kms_name);
	return 0;
}

int kmip_pending_load(const struct kmip_pending *p,
		      struct kmip_pending_record **recs, size_t *n)
{
	int fd, r;

	*recs = NULL;
	*n = 0;
	r = lock(p, false, &fd);
	if (r)
		return r;
	r = read_file(p, recs, n);
	if (fd >= 0)
		close(fd);
	return r;
}

int kmip_pending_get(const struct kmip_pending *p, const char *uid,
		     struct kmip_pending_record *rec)
{
	struct kmip_pending_record *recs;
	size_t i, n;
	int r;

	memset(rec, 0, sizeof(*rec));
	r = kmip_pending_load(p, &recs, &n);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		if (!strcmp(recs[i].uid, uid)) {
			*rec = recs[i];
			r = 1;
			break;
		}
	}
	free(recs);
	return r;
}

int kmip_pending_set(const struct kmip_pending *p, const char *uid,
		     int64_t date, int64_t created)
{
	struct kmip_pending_record *recs, *grown;
	size_t i, n;
	int fd, r;

	if (!*uid || strlen(uid) >= sizeof(recs->uid))
		return ec_err_set(-EINVAL, "%s: key id '%.40s' cannot be recorded",
				  p->kms_name, uid);
	r = lock(p, true, &fd);
	if (r)
		return r;
	r = read_file(p, &recs, &n);
	if (r)
		goto out;
	for (i = 0; i < n && strcmp(recs[i].uid, uid); i++)
		;
	if (i < n && !date) {
		memmove(&recs[i], &recs[i + 1], (n - i - 1) * sizeof(*recs));
		n--;
	} else if (i < n) {
		recs[i].date = date;
		recs[i].created = created;
	} else if (date) {
		grown = realloc(recs, (n + 1) * sizeof(*recs));
		if (!grown) {
			r = ec_err_set(-ENOMEM, "out of memory");
			goto out_free;
		}
		recs = grown;
		snprintf(recs[n].uid, sizeof(recs[n].uid), "%s", uid);
		recs[n].date = date;
		recs[n].created = created;
		n++;
	} else {
		goto out_free;	/* nothing to forget */
	}
	unlink(p->tmp_path);	/* a copy left by a crash */
	r = write_file(p, recs, n);
out_free:
	free(recs);
out:
	close(fd);
	return r;
}
