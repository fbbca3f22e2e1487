// SPDX-License-Identifier: GPL-2.0
/*
 * The message of the current failure, and the exit code of an errno.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static __thread char err_msg[EC_ERR_MAX];

int ec_err_set(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	return r;
}

int ec_err_prefix(int r, const char *fmt, ...)
{
	char old[EC_ERR_MAX];
	const char *rest;
	size_t n;
	va_list ap;

	memcpy(old, err_msg, sizeof(old));
	rest = old[0] ? old : strerror(r < 0 ? -r : r);
	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	/* "<prefix>: <message>", cut at EC_ERR_MAX */
	n = strlen(err_msg);
	if (n + 2 < sizeof(err_msg)) {
		memcpy(err_msg + n, ": ", 2);
		n += 2;
		snprintf(err_msg + n, sizeof(err_msg) - n, "%s", rest);
	}
	return r;
}

const char *ec_err_msg(void)
{
	return err_msg;
}

void ec_err_clear(void)
{
	err_msg[0] = '\0';
}

enum ec_exit ec_exit_code(int r)
{
	switch (r) {
	case 0:
		return EC_EXIT_OK;
	case -EKEYREVOKED:
	case -EKEYEXPIRED:
	case -ENOKEY:
	case -EKEYREJECTED:
		return EC_EXIT_KEY_UNUSABLE;
	case -EHOSTUNREACH:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ETIMEDOUT:
	case -EAGAIN:
		return EC_EXIT_KMS_UNREACHABLE;
	case -EUCLEAN:
	case -EBADMSG:
	case -ENODATA:
		return EC_EXIT_HEADER;
	case -EBUSY:
	case -EEXIST:
		return EC_EXIT_BUSY;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return EC_EXIT_NOT_FOUND;
	case -EINVAL:
		return EC_EXIT_USAGE;
	default:
		return EC_EXIT_FAILED;
	}
}
