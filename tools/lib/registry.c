// SPDX-License-Identifier: GPL-2.0
/*
 * The host registry of volumes (registry.h): JSON lines rewritten whole
 * under an flock, as the local keystore is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"
#include "error.h"
#include "json-escape.h"
#include "json-read.h"
#include "registry.h"
#include "statefile.h"

const char *ec_registry_path(void)
{
	const char *path = getenv("ENVCRYPT_REGISTRY");

	if (!path || !*path)
		return EC_REGISTRY_DEFAULT;
	if (!strcmp(path, "off"))
		return NULL;
	return path;
}

/* ---- lines ---------------------------------------------------------- */

struct line {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct line *l, const char *s, size_t n)
{
	char *p;

	if (l->oom)
		return;
	if (l->len + n + 1 > l->cap) {
		size_t cap = (l->len + n + 1) * 2;

		p = realloc(l->buf, cap);
		if (!p) {
			l->oom = true;
			return;
		}
		l->buf = p;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void put_escaped(void *l, const char *s, size_t n)
{
	put(l, s, n);
}

/* "name":"value" with JSON escapes (a leading comma when @comma) */
static void put_field(struct line *l, bool comma, const char *name,
		      const char *value)
{
	if (comma)
		put(l, ",", 1);
	put(l, "\"", 1);
	put_str(l, name);
	put(l, "\":\"", 3);
	ec_json_escape(value, SIZE_MAX, put_escaped, l);
	put(l, "\"", 1);
}

static void put_int(struct line *l, const char *name, int64_t v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), ",\"%s\":%lld", name, (long long)v);
	put_str(l, buf);
}

/* One entry as a line, with its newline; NULL when out of memory. */
static char *entry_line(const struct ec_registry_entry *e)
{
	struct line l = { 0 };
	int i;

	put(&l, "{", 1);
	put_field(&l, false, "volume", e->volume);
	put_field(&l, true, "device", e->device);
	put_field(&l, true, "label", e->label);
	put_field(&l, true, "cipher", e->cipher);
	put_int(&l, "seen", e->seen);
	put_str(&l, ",\"slots\":[");
	for (i = 0; i < e->nslots; i++) {
		const struct ec_registry_slot *s = &e->slots[i];

		put_str(&l, i ? ",{" : "{");
		put_str(&l, "\"slot\":");
		{
			char n[16];

			snprintf(n, sizeof(n), "%d", s->slot);
			put_str(&l, n);
		}
		put_field(&l, true, "cmk", s->cmk_id);
		put_field(&l, true, "alias", s->cmk_alias);
		put_field(&l, true, "kms", s->kms_uri);
		put(&l, "}", 1);
	}
	put_str(&l, "]}\n");
	if (l.oom) {
		free(l.buf);
		return NULL;
	}
	return l.buf;
}

static int get_str(const struct ec_json *doc, int obj, const char *key,
		   char *buf, size_t size)
{
	int node = ec_json_get(doc, obj, key);

	if (node < 0)
		return -EPROTO;
	return ec_json_string(doc, node, key, buf, size, NULL);
}

/* Parse one line; -EPROTO when it is not an entry. */
static int entry_parse(const char *text, size_t len,
		       struct ec_registry_entry *e)
{
	struct ec_json doc;
	int64_t v;
	int node, s, r;

	memset(e, 0, sizeof(*e));
	r = ec_json_parse(&doc, text, len);
	if (r)
		return r;
	r = get_str(&doc, EC_JSON_ROOT, "volume", e->volume,
		    sizeof(e->volume));
	if (!r)
		r = get_str(&doc, EC_JSON_ROOT, "device", e->device,
			    sizeof(e->device));
	if (!r)
		r = get_str(&doc, EC_JSON_ROOT, "label", e->label,
			    sizeof(e->label));
	if (!r)
		r = get_str(&doc, EC_JSON_ROOT, "cipher", e->cipher,
			    sizeof(e->cipher));
	if (!r) {
		node = ec_json_get(&doc, EC_JSON_ROOT, "seen");
		r = node < 0 ? -EPROTO :
			ec_json_int(&doc, node, "seen", 0, INT64_MAX,
				    &e->seen);
	}
	node = ec_json_get(&doc, EC_JSON_ROOT, "slots");
	if (!r && (node < 0 || ec_json_type(&doc, node) != EC_JSON_ARRAY))
		r = -EPROTO;
	for (s = r ? -1 : ec_json_first(&doc, node); s >= 0 && !r;
	     s = ec_json_next(&doc, s)) {
		struct ec_registry_slot *slot;
		int n;

		if (e->nslots >= EC_HDR_SLOTS) {
			r = -EPROTO;
			break;
		}
		slot = &e->slots[e->nslots++];
		n = ec_json_get(&doc, s, "slot");
		r = n < 0 ? -EPROTO :
			ec_json_int(&doc, n, "slot", 0, EC_HDR_SLOTS - 1, &v);
		slot->slot = (int)v;
		if (!r)
			r = get_str(&doc, s, "cmk", slot->cmk_id,
				    sizeof(slot->cmk_id));
		if (!r)
			r = get_str(&doc, s, "alias", slot->cmk_alias,
				    sizeof(slot->cmk_alias));
		if (!r)
			r = get_str(&doc, s, "kms", slot->kms_uri,
				    sizeof(slot->kms_uri));
	}
	ec_json_free(&doc);
	if (!r && (!e->volume[0] || e->device[0] != '/'))
		r = -EPROTO;
	return r ? -EPROTO : 0;
}

/* ---- the file ------------------------------------------------------- */

/* The whole file (NUL-terminated, malloc'd); "" when it does not exist. */
static int read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, r = 0;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		*text = calloc(1, 1);
		return *text ? 0 : ec_err_set(-ENOMEM, "out of memory");
	}
	if (fd < 0)
		return ec_err_set(-errno, "cannot open the registry %s: %s",
				  path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > EC_REGISTRY_FILE_MAX) {
		close(fd);
		return ec_err_set(-EFBIG, "the registry %s is not a regular file of at most %d MiB",
				  path, EC_REGISTRY_FILE_MAX >> 20);
	}
	*text = malloc(st.st_size + 1);
	if (!*text) {
		close(fd);
		return ec_err_set(-ENOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, *text + got, st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = ec_err_set(-errno, "cannot read the registry %s: %s",
				       path, strerror(errno));
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	if (r) {
		free(*text);
		*text = NULL;
		return r;
	}
	(*text)[got] = '\0';
	*len = got;
	return 0;
}

/* Call @fn for each line of @text (without its newline). */
static int each_line(const char *text, size_t len,
		     int (*fn)(const char *line, size_t n, void *arg),
		     void *arg)
{
	const char *p = text, *end = text + len, *nl;
	int r;

	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		if (nl > p) {
			r = fn(p, nl - p, arg);
			if (r)
				return r;
		}
		p = nl + 1;
	}
	return 0;
}

struct load_ctx {
	struct ec_registry_entry *v;
	size_t n, cap;
};

static int load_line(const char *line, size_t n, void *arg)
{
	struct load_ctx *c = arg;
	struct ec_registry_entry *v;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		v = realloc(c->v, c->cap * sizeof(*v));
		if (!v)
			return ec_err_set(-ENOMEM, "out of memory");
		c->v = v;
	}
	if (n <= EC_REGISTRY_LINE_MAX && !entry_parse(line, n, &c->v[c->n]))
		c->n++;
	return 0;
}

int ec_registry_load(struct ec_registry_entry **entries, size_t *n)
{
	const char *path = ec_registry_path();
	struct load_ctx c = { 0 };
	size_t len;
	char *text;
	int r;

	*entries = NULL;
	*n = 0;
	if (!path)
		return 0;
	r = read_file(path, &text, &len);
	if (r)
		return r;
	r = each_line(text, len, load_line, &c);
	free(text);
	if (r) {
		free(c.v);
		return r;
	}
	*entries = c.v;
	*n = c.n;
	return 0;
}

/* mkdir -p of the directory part of @path, new directories 0700. */
static void make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *s;

	snprintf(dir, sizeof(dir), "%s", path);
	s = strrchr(dir, '/');
	if (!s || s == dir)
		return;
	*s = '\0';
	for (s = dir + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(dir, 0700);
		*s = '/';
	}
	mkdir(dir, 0700);
}

/* What the rewrite keeps of the old file, and the new line. */
struct rewrite_ctx {
	const struct ec_registry_entry *add;
	struct line out;
};

static int rewrite_line(const char *line, size_t n, void *arg)
{
	struct rewrite_ctx *c = arg;
	struct ec_registry_entry *e;

	e = malloc(sizeof(*e));
	if (!e)
		return ec_err_set(-ENOMEM, "out of memory");
	/*
	 * Dropped: the same volume on the same device (replaced), and any
	 * other volume on that device (it holds one header).  Kept: the
	 * rest, and lines this version does not understand.
	 */
	if (n > EC_REGISTRY_LINE_MAX || entry_parse(line, n, e) ||
	    strcmp(e->device, c->add->device)) {
		put(&c->out, line, n);
		put(&c->out, "\n", 1);
	}
	free(e);
	return 0;
}

/* Under the lock: the old file without @add's device, then @add. */
static int rewrite(const char *path, const struct ec_registry_entry *add)
{
	struct rewrite_ctx c = { .add = add };
	char tmp[PATH_MAX + 8];
	char *text, *line;
	size_t len;
	int r;

	r = read_file(path, &text, &len);
	if (r)
		return r;
	r = each_line(text, len, rewrite_line, &c);
	free(text);
	line = entry_line(add);
	if (!line)
		c.out.oom = true;
	else
		put_str(&c.out, line);
	free(line);
	if (!r && c.out.oom)
		r = ec_err_set(-ENOMEM, "out of memory");
	if (r)
		goto out;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	r = ec_statefile_replace(path, tmp, 0600, c.out.buf, c.out.len, NULL);
out:
	free(c.out.buf);
	return r;
}

void ec_registry_entry_fill(struct ec_registry_entry *e, const char *device,
			    const struct ec_header *hdr)
{
	char *abs = realpath(device, NULL);
	int i;

	memset(e, 0, sizeof(*e));
	ec_uuid_format(hdr->uuid, e->volume);
	snprintf(e->device, sizeof(e->device), "%s", abs ? abs : device);
	free(abs);
	snprintf(e->label, sizeof(e->label), "%s", hdr->label);
	snprintf(e->cipher, sizeof(e->cipher), "%s", hdr->cipher);
	e->seen = time(NULL);
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &hdr->slots[i];
		struct ec_registry_slot *rs;

		if (!s->active)
			continue;
		rs = &e->slots[e->nslots++];
		rs->slot = i;
		snprintf(rs->cmk_id, sizeof(rs->cmk_id), "%s", s->cmk_id);
		snprintf(rs->cmk_alias, sizeof(rs->cmk_alias), "%s",
			 s->cmk_alias);
		snprintf(rs->kms_uri, sizeof(rs->kms_uri), "%s", s->kms_uri);
	}
}

static void warn_once(const char *msg)
{
	static bool warned;

	if (warned)
		return;
	warned = true;
	fprintf(stderr,
		"envcryptctl: warning: the volume registry was not updated: %s; set ENVCRYPT_REGISTRY to a writable file (or off)\n",
		msg);
}

static int note(const char *path, const char *device,
		const struct ec_header *hdr)
{
	struct ec_registry_entry *e;
	char lock[PATH_MAX + 8];
	char *line;
	int fd, r;

	e = malloc(sizeof(*e));
	if (!e)
		return ec_err_set(-ENOMEM, "out of memory");
	ec_registry_entry_fill(e, device, hdr);
	if (e->device[0] != '/') {
		free(e);
		return ec_err_set(-EINVAL, "cannot resolve the path of %s",
				  device);
	}
	/* a path or label that is not UTF-8 could not be read back */
	line = entry_line(e);
	r = line ? entry_parse(line, strlen(line) - 1,
			       &(struct ec_registry_entry){ 0 }) : -ENOMEM;
	free(line);
	if (r) {
		free(e);
		return ec_err_set(r, "%s: its path or label is not valid UTF-8",
				  device);
	}

	make_parent(path);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	r = ec_statefile_lock(lock, true, &fd, NULL);
	if (!r) {
		r = rewrite(path, e);
		close(fd);
	}
	free(e);
	return r;
}

int ec_registry_note(const char *device, const struct ec_header *hdr)
{
	const char *path = ec_registry_path();
	char saved[EC_ERR_MAX];
	int r;

	if (!path)
		return 0;
	snprintf(saved, sizeof(saved), "%s", ec_err_msg());
	r = note(path, device, hdr);
	if (r)
		warn_once(ec_err_msg());
	if (saved[0])
		ec_err_set(0, "%s", saved);
	else
		ec_err_clear();
	return r;
}

bool ec_registry_uses(const struct ec_registry_entry *e, const char *cmk_id,
		      const char *kms_uri)
{
	int i;

	for (i = 0; i < e->nslots; i++)
		if (!strcmp(e->slots[i].cmk_id, cmk_id) &&
		    (!kms_uri || !strcmp(e->slots[i].kms_uri, kms_uri)))
			return true;
	return false;
}

enum ec_registry_state ec_registry_check(const struct ec_registry_entry *e,
					 const char *cmk_id,
					 const char *kms_uri, char *why,
					 size_t why_size)
{
	struct ec_blockdev dev;
	struct ec_header *hdr;
	char saved[EC_ERR_MAX], uuid[37];
	enum ec_registry_state st = EC_REG_CURRENT;
	int i, r;

	why[0] = '\0';
	snprintf(saved, sizeof(saved), "%s", ec_err_msg());
	hdr = malloc(sizeof(*hdr));
	if (!hdr) {
		snprintf(why, why_size, "out of memory");
		return EC_REG_UNKNOWN;
	}
	r = ec_blockdev_open(e->device, false, false, &dev);
	if (r == -ENOENT || r == -ENODEV) {
		snprintf(why, why_size, "%s is gone", e->device);
		st = EC_REG_STALE;
		goto out;
	}
	if (r) {
		snprintf(why, why_size, "%s", ec_err_msg());
		st = EC_REG_UNKNOWN;
		goto out;
	}
	r = ec_header_read(dev.fd, hdr, NULL);
	ec_blockdev_close(&dev);
	if (r == -ENODATA) {
		snprintf(why, why_size, "%s has no envcrypt header now",
			 e->device);
		st = EC_REG_STALE;
		goto out;
	}
	if (r) {
		snprintf(why, why_size, "%s: %s", e->device, ec_err_msg());
		st = EC_REG_UNKNOWN;
		goto out;
	}
	ec_uuid_format(hdr->uuid, uuid);
	if (strcmp(uuid, e->volume)) {
		snprintf(why, why_size, "%s holds volume %s now", e->device,
			 uuid);
		st = EC_REG_STALE;
		goto out;
	}
	if (!cmk_id)
		goto out;
	for (i = 0; i < EC_HDR_SLOTS; i++)
		if (hdr->slots[i].active &&
		    !strcmp(hdr->slots[i].cmk_id, cmk_id) &&
		    (!kms_uri || !strcmp(hdr->slots[i].kms_uri, kms_uri)))
			goto out;
	snprintf(why, why_size, "the header on %s has no wrap slot for this CMK now",
		 e->device);
	st = EC_REG_STALE;
out:
	free(hdr);
	if (saved[0])
		ec_err_set(0, "%s", saved);
	else
		ec_err_clear();
	return st;
}
