/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small state files of this host (the local keystore, the KMIP deletion
 * records, the volume registry): read under a shared flock() of a lock
 * file beside them, and replaced whole under an exclusive one by writing
 * a temporary file in the same directory, fsyncing it, renaming it over
 * the file and fsyncing the directory.  A crash leaves the old or the new
 * file, never a mix.
 *
 * Both functions set a message naming the file ("cannot lock PATH: why")
 * and, when @step is not NULL, say which step failed, so that a caller
 * can put the failure in its own words.
 */
#ifndef ENVCRYPT_STATEFILE_H
#define ENVCRYPT_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum ec_statefile_step {
	EC_STATEFILE_OPEN_LOCK,	/* "cannot open LOCK: why" */
	EC_STATEFILE_LOCK,	/* "cannot lock LOCK: why" */
	EC_STATEFILE_CREATE,	/* "cannot create TMP: why" */
	EC_STATEFILE_WRITE,	/* fchmod, write or fsync of TMP:
				 * "cannot write PATH: why" */
	EC_STATEFILE_RENAME,	/* its close or rename over PATH: the same */
	EC_STATEFILE_SYNC_DIR,	/* "cannot sync the directory of PATH: why" */
};

/*
 * flock() @lock_path: @exclusive to change the state (the lock file is
 * created, 0600, in a directory that must exist), else shared to read it.
 * *@fd is the lock: close() it to unlock.  To read, a missing lock file
 * is 0 with *@fd -1: nothing was ever written (the state files are only
 * ever replaced by rename, so there is nothing to lock either).
 */
int ec_statefile_lock(const char *lock_path, bool exclusive, int *fd,
		      enum ec_statefile_step *step);

/*
 * Replace @path with the @len bytes of @buf, mode @mode, through @tmp (a
 * file name in the same directory, which the caller's exclusive lock
 * keeps to itself): created or truncated, written, fsynced, renamed over
 * @path; then the directory is fsynced.  @tmp is removed when the
 * replacement fails before its rename.
 */
int ec_statefile_replace(const char *path, const char *tmp, mode_t mode,
			 const void *buf, size_t len,
			 enum ec_statefile_step *step);

/*
 * Read @len bytes from @fd into @buf, again after EINTR: @len, fewer at
 * the end of the file, or -1 with errno set.  No message.
 */
ssize_t ec_statefile_read(int fd, void *buf, size_t len);

#endif /* ENVCRYPT_STATEFILE_H */
