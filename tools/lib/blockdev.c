// SPDX-License-Identifier: GPL-2.0
/*
 * Opening the device under a volume, and loop devices for image files.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blockdev.h"
#include "error.h"

ssize_t ec_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

int ec_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done,
			   off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

int ec_blockdev_open(const char *path, bool write, bool excl,
		     struct ec_blockdev *dev)
{
	struct stat st;
	int flags = (write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	int r;

	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	if (stat(path, &st) < 0) {
		r = -errno;
		return ec_err_set(r, "%s: %s", path, strerror(-r));
	}
	if (S_ISBLK(st.st_mode)) {
		if (excl)
			flags |= O_EXCL;
	} else if (!S_ISREG(st.st_mode)) {
		return ec_err_set(-ENODEV, "%s: not a block device or an image file",
				  path);
	}
	dev->fd = open(path, flags);
	if (dev->fd < 0) {
		r = -errno;
		if (r == -EBUSY)
			return ec_err_set(r, "%s: device is in use (mounted, or open as a volume or by another program)",
					  path);
		return ec_err_set(r, "%s: cannot open: %s", path,
				  strerror(-r));
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(dev->fd, BLKGETSIZE64, &dev->size) < 0) {
			r = -errno;
			ec_blockdev_close(dev);
			return ec_err_set(r, "%s: cannot read the size: %s",
					  path, strerror(-r));
		}
		dev->major = major(st.st_rdev);
		dev->minor = minor(st.st_rdev);
	} else {
		dev->is_file = true;
		dev->size = st.st_size;
	}
	return 0;
}

void ec_blockdev_close(struct ec_blockdev *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

int ec_loop_attach(const char *path, bool readonly, int *loop_fd,
		   char *loop, size_t loop_size, uint32_t *major_out,
		   uint32_t *minor_out)
{
	struct loop_config cfg;
	struct stat st;
	int ctl, file_fd, fd = -1, n, tries, r;

	*loop_fd = -1;
	file_fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (file_fd < 0) {
		r = -errno;
		return ec_err_set(r, "%s: cannot open: %s", path,
				  strerror(-r));
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = -errno;
		ec_err_set(r, "%s: no loop devices (/dev/loop-control: %s); load the loop module",
			   path, strerror(-r));
		goto out;
	}
	/* another program may take the free device first: try again */
	for (tries = 0; tries < 16; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			r = -errno;
			ec_err_set(r, "%s: no free loop device: %s", path,
				   strerror(-r));
			goto out;
		}
		snprintf(loop, loop_size, "/dev/loop%d", n);
		fd = open(loop, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			ec_err_set(r, "%s: cannot open %s: %s", path, loop,
				   strerror(-r));
			goto out;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = file_fd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR |
				    (readonly ? LO_FLAGS_READ_ONLY : 0);
		snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s",
			 path);
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0)
			break;
		r = -errno;
		close(fd);
		fd = -1;
		if (r != -EBUSY) {
			ec_err_set(r, "%s: cannot attach %s: %s", path, loop,
				   strerror(-r));
			goto out;
		}
	}
	if (fd < 0) {
		r = ec_err_set(-EBUSY, "%s: every free loop device was taken first; try again",
			       path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		ec_err_set(r, "%s: %s", loop, strerror(-r));
		goto out;
	}
	*major_out = major(st.st_rdev);
	*minor_out = minor(st.st_rdev);
	*loop_fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ctl >= 0)
		close(ctl);
	close(file_fd);
	return r;
}

int ec_blockdev_path(uint32_t major_nr, uint32_t minor_nr, char *path,
		     size_t size)
{
	char sys[64], line[256];
	FILE *f;
	int r = -ENOENT;

	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/uevent", major_nr,
		 minor_nr);
	f = fopen(sys, "re");
	if (!f)
		goto fallback;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, size, "/dev/%s", line + 8);
			r = 0;
			break;
		}
	}
	fclose(f);
	if (!r)
		return 0;
fallback:
	snprintf(path, size, "%u:%u", major_nr, minor_nr);
	return 0;
}
