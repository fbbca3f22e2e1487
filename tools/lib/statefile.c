// SPDX-License-Identifier: GPL-2.0
/*
 * State files locked with flock() and replaced atomically (statefile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "statefile.h"

static void set_step(enum ec_statefile_step *step, enum ec_statefile_step s)
{
	if (step)
		*step = s;
}

int ec_statefile_lock(const char *lock_path, bool exclusive, int *fd,
		      enum ec_statefile_step *step)
{
	int r;

	if (exclusive) {
		*fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			   0600);
	} else {
		*fd = open(lock_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (*fd < 0 && errno == ENOENT)
			return 0;	/* nothing was ever written */
	}
	if (*fd < 0) {
		set_step(step, EC_STATEFILE_OPEN_LOCK);
		return ec_err_set(-errno, "cannot open %s: %s", lock_path,
				  strerror(errno));
	}
	while (flock(*fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		r = ec_err_set(-errno, "cannot lock %s: %s", lock_path,
			       strerror(errno));
		close(*fd);
		*fd = -1;
		set_step(step, EC_STATEFILE_LOCK);
		return r;
	}
	return 0;
}

ssize_t ec_statefile_read(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync() the directory that holds @path. */
static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *s;
	int fd, r = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	s = strrchr(dir, '/');
	if (!s)
		snprintf(dir, sizeof(dir), ".");
	else if (s == dir)
		dir[1] = '\0';
	else
		*s = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int ec_statefile_replace(const char *path, const char *tmp, mode_t mode,
			 const void *buf, size_t len,
			 enum ec_statefile_step *step)
{
	int fd, r;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  mode);
	if (fd < 0) {
		set_step(step, EC_STATEFILE_CREATE);
		return ec_err_set(-errno, "cannot create %s: %s", tmp,
				  strerror(errno));
	}
	/* a copy left by a crash keeps its mode through O_TRUNC */
	r = fchmod(fd, mode) < 0 ? -errno : write_all(fd, buf, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (r) {
		close(fd);
		unlink(tmp);
		set_step(step, EC_STATEFILE_WRITE);
		return ec_err_set(r, "cannot write %s: %s", path,
				  strerror(-r));
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		set_step(step, EC_STATEFILE_RENAME);
		return ec_err_set(r, "cannot write %s: %s", path,
				  strerror(-r));
	}
	r = fsync_parent(path);
	if (r) {
		set_step(step, EC_STATEFILE_SYNC_DIR);
		return ec_err_set(r, "cannot sync the directory of %s: %s",
				  path, strerror(-r));
	}
	return 0;
}
