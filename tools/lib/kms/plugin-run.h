/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a KMS plugin program once, with a deadline (the exec: provider,
 * tools/lib/kms/exec.c; the protocol is docs/KMS-PLUGINS.md).
 *
 * The program is run directly: no shell, argv is only its path, the
 * environment is ours less ENVCRYPT_PKCS11_PIN.  It runs in its own
 * process group, dies with us, and is fed the request on stdin while its
 * stdout and stderr are collected, each up to a cap.  The whole run
 * (start, request, reply, exit) has a deadline, after which its process
 * group is killed (SIGKILL) and reaped; what it left behind in its group
 * is killed when it exits.  This file knows nothing of JSON: what the
 * reply means is the caller's business.
 */
#ifndef ENVCRYPT_PLUGIN_RUN_H
#define ENVCRYPT_PLUGIN_RUN_H

#include <stddef.h>

#define EC_PLUGIN_STDERR_MAX	4096	/* of its stderr kept for messages */

/*
 * What the plugin gave back.  @reply is the caller's, because a reply may
 * carry a data key: the caller allocates it (locked memory) and frees it.
 */
struct ec_plugin_output {
	char *reply;			/* the caller's, reply_max + 1 bytes */
	size_t reply_max;
	size_t reply_len;
	char err[EC_PLUGIN_STDERR_MAX];	/* the start of its stderr */
	size_t err_len;
	int status;			/* of waitpid: how it ended */
};

/*
 * Run program @path with @req[0..@req_len) on its stdin, within
 * @timeout_ms; fill @output's reply, stderr and status (@output->reply
 * and @output->reply_max set by the caller, the rest zero).  @name (the
 * plugin's KMS name) and @what (what it was asked, "wrap of CMK db") are
 * for the messages.
 *
 * Returns 0 when the plugin ran and exited, whatever its status and
 * reply; else, with the message set (error.h), -ETIMEDOUT past the
 * deadline, -EPROTO for a reply longer than @output->reply_max, -EIO
 * when the program cannot be executed, or the -errno of pipe, fork or
 * poll.  Either way no process of the run is left.
 */
int ec_plugin_run(const char *path, const char *name, const char *what,
		  int timeout_ms, const char *req, size_t req_len,
		  struct ec_plugin_output *output);

#endif /* ENVCRYPT_PLUGIN_RUN_H */
