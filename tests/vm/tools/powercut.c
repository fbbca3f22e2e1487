// SPDX-License-Identifier: GPL-2.0
/*
 * powercut.so: an LD_PRELOAD shim for the power-cut tests
 * (tests/vm/guest/t_powercut.sh).  It counts the calls of the program it
 * is preloaded into that write to one block device or make its writes
 * durable, and runs a command right before one of them, the "power cut"
 * (which makes the device drop every write from then on):
 *
 *   POWERCUT_DEV=PATH   the block device whose calls count (by st_rdev)
 *   POWERCUT_AT=N       before the Nth such call, run POWERCUT_HOOK
 *                       (system(3)) and wait for it; meanwhile the calls
 *                       of other threads wait too (0 or unset: never)
 *   POWERCUT_HOOK=CMD   the command; if it fails, the program exits at
 *                       once with status 125
 *   POWERCUT_LOG=FILE   one line per counted call appended to FILE:
 *                       "N CALL OFFSET LENGTH" (OFFSET -1: the file
 *                       position; LENGTH 0 for the syncs), and "N cut"
 *                       once the hook ran before call N
 *
 * The calls: write, pwrite, pwrite64, writev, pwritev, fdatasync, fsync,
 * sync_file_range, on a descriptor of that device (not ioctls).  The
 * shim takes these variables and LD_PRELOAD out of the environment, so
 * the hook and other children run without it.  No ptrace: the guest
 * needs no strace, and the hook runs exactly before the call (a signal
 * injected at syscall entry is only delivered after the call).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static dev_t target;
static int have_target;
static long cut_at;
static char *hook;
static int log_fd = -1;
static long calls;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void powercut_init(void)
{
	const char *dev = getenv("POWERCUT_DEV");
	const char *at = getenv("POWERCUT_AT");
	const char *cmd = getenv("POWERCUT_HOOK");
	const char *log = getenv("POWERCUT_LOG");
	struct stat st;

	if (dev && !stat(dev, &st) && S_ISBLK(st.st_mode)) {
		target = st.st_rdev;
		have_target = 1;
	}
	if (at)
		cut_at = strtol(at, NULL, 10);
	if (cmd)
		hook = strdup(cmd);
	if (log)
		log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);
	unsetenv("POWERCUT_DEV");
	unsetenv("POWERCUT_AT");
	unsetenv("POWERCUT_HOOK");
	unsetenv("POWERCUT_LOG");
	unsetenv("LD_PRELOAD");
}

static int on_target(int fd)
{
	struct stat st;

	return have_target && !fstat(fd, &st) && S_ISBLK(st.st_mode) &&
	       st.st_rdev == target;
}

/* log_line: a line into the log, through the raw system call */
static void log_line(const char *line, int len)
{
	/* write() here would be this shim's */
	if (log_fd >= 0 && syscall(SYS_write, log_fd, line, (size_t)len) < 0)
		abort();
}

/* Count a call on @fd; the power cut before it when it is the chosen one. */
static void before(int fd, const char *call, long long off, size_t len)
{
	static const char failed[] = "powercut: the hook failed\n";
	char line[96];
	long n, w;

	if (!on_target(fd))
		return;
	pthread_mutex_lock(&lock);
	n = ++calls;
	log_line(line, snprintf(line, sizeof(line), "%ld %s %lld %zu\n", n,
				call, off, len));
	/* the lock, held meanwhile, keeps the other threads' calls */
	if (n == cut_at) {
		if (!hook || system(hook) != 0) {
			w = syscall(SYS_write, 2, failed, sizeof(failed) - 1);
			(void)w;
			_exit(125);
		}
		log_line(line, snprintf(line, sizeof(line), "%ld cut\n", n));
	}
	pthread_mutex_unlock(&lock);
}

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(write);
	before(fd, "write", -1, len);
	return real_write(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite);
	before(fd, "pwrite", off, len);
	return real_pwrite(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	REAL(pwrite64);
	before(fd, "pwrite64", off, len);
	return real_pwrite64(fd, buf, len, off);
}

static size_t iov_len(const struct iovec *iov, int n)
{
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev);
	before(fd, "writev", -1, iov_len(iov, n));
	return real_writev(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	REAL(pwritev);
	before(fd, "pwritev", off, iov_len(iov, n));
	return real_pwritev(fd, iov, n, off);
}

int fdatasync(int fd)
{
	REAL(fdatasync);
	before(fd, "fdatasync", -1, 0);
	return real_fdatasync(fd);
}

int fsync(int fd)
{
	REAL(fsync);
	before(fd, "fsync", -1, 0);
	return real_fsync(fd);
}

int sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags)
{
	REAL(sync_file_range);
	before(fd, "sync_file_range", off, 0);
	return real_sync_file_range(fd, off, len, flags);
}
