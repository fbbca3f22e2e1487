/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Errors in the envcryptctl library.
 *
 * Every function returns 0 or a negative errno.  The errno says what kind
 * of failure it was (the CLI turns it into an exit code, see
 * ec_exit_code()); the message, set with ec_err_set(), says which object
 * failed and what to do.  The message of the last failure in this thread
 * is kept until the next ec_err_set() or ec_err_clear().
 *
 * The errno values that carry a meaning of their own here:
 *
 *   KMS key not usable   -EKEYREVOKED   the CMK is Disabled
 *                        -EKEYEXPIRED   the CMK is PendingDeletion
 *                        -ENOKEY        no such CMK (or deleted)
 *                        -EKEYREJECTED  the KMS denied access to the CMK
 *   KMS unreachable      -EHOSTUNREACH, -ECONNREFUSED, -ECONNRESET,
 *                        -ETIMEDOUT, -EAGAIN (retryable)
 *   header invalid or    -EUCLEAN       a header that does not parse
 *   tampered             -EBADMSG       authentication failed: wrapped key
 *                                       and encryption context disagree,
 *                                       or the key check value is wrong
 *   device busy          -EBUSY, -EEXIST
 */
#ifndef ENVCRYPT_ERROR_H
#define ENVCRYPT_ERROR_H

#include <errno.h>

#define EC_ERR_MAX	1024

/* Set the message of the current failure (printf format); returns @r. */
int ec_err_set(int r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Put "@prefix: " in front of the current message; returns @r. */
int ec_err_prefix(int r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The current message, "" when none was set. */
const char *ec_err_msg(void);
void ec_err_clear(void);

/* Documented exit codes (docs/ENVCRYPTCTL.md, "Exit codes"). */
enum ec_exit {
	EC_EXIT_OK		= 0,
	EC_EXIT_USAGE		= 1,	/* wrong arguments, or refused to ask */
	EC_EXIT_FAILED		= 2,	/* any other failure (I/O, memory) */
	EC_EXIT_KEY_UNUSABLE	= 3,	/* CMK disabled, pending deletion,
					 * not found, access denied */
	EC_EXIT_KMS_UNREACHABLE	= 4,	/* retry later */
	EC_EXIT_HEADER		= 5,	/* header invalid or tampered */
	EC_EXIT_BUSY		= 6,	/* device in use or name taken */
	EC_EXIT_NOT_FOUND	= 7,	/* no such device or volume */
};

/* The exit code for a negative errno returned by the library. */
enum ec_exit ec_exit_code(int r);

#endif /* ENVCRYPT_ERROR_H */
