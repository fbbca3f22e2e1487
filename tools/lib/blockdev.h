/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device under a volume: a block device, or a regular file that gets
 * a loop device when it is opened (as cryptsetup does).
 */
#ifndef ENVCRYPT_BLOCKDEV_H
#define ENVCRYPT_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ec_blockdev {
	int fd;
	bool is_file;
	uint64_t size;			/* bytes */
	uint32_t major, minor;		/* block device numbers (not files) */
};

/*
 * Open @path.  @write: read-write; @excl: fail with -EBUSY if a block
 * device is mounted or held by another user.
 */
int ec_blockdev_open(const char *path, bool write, bool excl,
		     struct ec_blockdev *dev);
void ec_blockdev_close(struct ec_blockdev *dev);

/*
 * pread() @len bytes at @off, again after EINTR and short reads: the
 * number of bytes read, fewer than @len only at the end of the device or
 * file, or -errno (no message).
 */
ssize_t ec_pread_full(int fd, void *buf, size_t len, uint64_t off);

/*
 * pwrite() all @len bytes at @off, again after EINTR and short writes: 0,
 * or -errno (no message; -EIO if nothing could be written).
 */
int ec_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Attach the regular file @path to a free loop device that detaches
 * itself when its last user lets go: keep *@loop_fd open until the dm
 * table holds the device, then close it.  @loop gets the device's path,
 * @major/@minor its numbers.
 */
int ec_loop_attach(const char *path, bool readonly, int *loop_fd,
		   char *loop, size_t loop_size, uint32_t *major,
		   uint32_t *minor);

/* "/dev/NAME" of block device @major:@minor, from sysfs. */
int ec_blockdev_path(uint32_t major, uint32_t minor, char *path,
		     size_t size);

#endif /* ENVCRYPT_BLOCKDEV_H */
