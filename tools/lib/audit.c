// SPDX-License-Identifier: GPL-2.0
/*
 * The audit log (audit.h): JSON lines appended under an flock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "error.h"
#include "json-escape.h"

/*
 * A value is cut at FIELD_MAX bytes; escaped it takes at most six times
 * that, so a line of a dozen fields always fits AUDIT_LINE_MAX whole.
 */
#define FIELD_MAX	1024
#define FIELDS		12
#define AUDIT_LINE_MAX	(FIELDS * (FIELD_MAX * 6 + 32) + 64)

struct line {
	char buf[AUDIT_LINE_MAX];
	size_t len;
};

/* Never more than AUDIT_LINE_MAX by construction (see above). */
static void put(struct line *l, const char *s, size_t n)
{
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void put_escaped(void *l, const char *s, size_t n)
{
	put(l, s, n);
}

/* ,"name":"value" with JSON escapes; nothing for a NULL value */
static void field(struct line *l, const char *name, const char *value)
{
	if (!value)
		return;
	put(l, ",\"", 2);
	put(l, name, strlen(name));
	put(l, "\":\"", 3);
	ec_json_escape(value, FIELD_MAX, put_escaped, l);
	put(l, "\"", 1);
}

/* The errno's name for the record: "EKEYREVOKED", or its number. */
static const char *errno_name(int err, char *buf, size_t size)
{
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, size, "%d", err);
	return buf;
}

static void warn_once(const char *path, int err)
{
	static bool warned;

	if (warned)
		return;
	warned = true;
	fprintf(stderr,
		"envcryptctl: warning: cannot write the audit log %s: %s; set ENVCRYPT_AUDIT_LOG to a writable file (or off)\n",
		path, strerror(err));
}

static int append(const char *path, const struct line *l)
{
	char dir[4096], *slash;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			mkdir(dir, 0700);
			fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
				  O_CLOEXEC, 0600);
		}
	}
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0)
		err = errno;
	/* one write of the whole line: O_APPEND keeps it in one piece */
	n = write(fd, l->buf, l->len);
	if (!err && n != (ssize_t)l->len)
		err = n < 0 ? errno : EIO;
	if (!err && fdatasync(fd) < 0)
		err = errno;
	close(fd);
	return -err;
}

int ec_audit_log(const struct ec_audit *a, int result)
{
	const char *path = getenv("ENVCRYPT_AUDIT_LOG");
	char when[32], host[256], num[16], uid[16];
	struct line *l;
	struct tm tm;
	time_t now;
	int r;

	if (!path || !*path)
		path = EC_AUDIT_LOG_DEFAULT;
	if (!strcmp(path, "off"))
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l) {
		warn_once(path, ENOMEM);
		return -ENOMEM;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(uid, sizeof(uid), "%u", (unsigned int)getuid());

	put(l, "{\"time\":\"", 9);
	put(l, when, strlen(when));
	put(l, "\"", 1);
	field(l, "host", host);
	field(l, "uid", uid);
	field(l, "op", a->op);
	field(l, "volume", a->volume);
	field(l, "device", a->device);
	field(l, "cmk", a->cmk);
	field(l, "kms", a->kms);
	field(l, "detail", a->detail);
	field(l, "result", result ? "error" : "ok");
	if (result) {
		field(l, "error", errno_name(-result, num, sizeof(num)));
		field(l, "message", ec_err_msg());
	}
	put(l, "}\n", 2);

	r = append(path, l);
	free(l);
	if (r)
		warn_once(path, -r);
	return r;
}
