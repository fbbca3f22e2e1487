/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For targets whose parser reads a file by name (and refuses a symbolic
 * link, so /proc/self/fd will not do): a private directory, made once
 * under /dev/shm (memory, so that fsync costs nothing) or $TMPDIR, and
 * the input written to a file in it before each run.  The directory and
 * what the library put in it go at exit.
 */
#ifndef FUZZ_FILE_H
#define FUZZ_FILE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir_path[256];

/* At exit: the files in the directory (it has no subdirectory), then it. */
static inline void fuzz_dir_remove(void)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(fuzz_dir_path);

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir_path,
			 e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(fuzz_dir_path);
}

/* The private directory, made on first use. */
static inline const char *fuzz_dir(void)
{
	const char *base;

	if (fuzz_dir_path[0])
		return fuzz_dir_path;
	base = access("/dev/shm", W_OK) ? getenv("TMPDIR") : "/dev/shm";
	snprintf(fuzz_dir_path, sizeof(fuzz_dir_path),
		 "%s/envcrypt-fuzz.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(fuzz_dir_path))
		abort();
	atexit(fuzz_dir_remove);
	return fuzz_dir_path;
}

/* Write @data to fuzz_dir()/@name (replacing it); its path in @path. */
static inline void fuzz_file(const char *name, const uint8_t *data,
			     size_t size, char *path, size_t path_size)
{
	int fd;

	snprintf(path, path_size, "%s/%s", fuzz_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) ||
	    close(fd))
		abort();
}

#endif /* FUZZ_FILE_H */
