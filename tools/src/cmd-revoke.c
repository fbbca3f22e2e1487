// SPDX-License-Identifier: GPL-2.0
/*
 * revoke, open --refresh and watch: the data key of an open volume taken
 * out of the kernel and put back (tools/lib/revoke.h).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "revoke.h"

#define WATCH_INTERVAL_DEFAULT	60
#define WATCH_INTERVAL_MAX	86400

int cli_on_revoke(const struct cli_opts *o, bool *error)
{
	enum ec_on_revoke mode = EC_ON_REVOKE_QUEUE;

	if (o->on_revoke && ec_on_revoke_parse(o->on_revoke, &mode))
		return ec_err_set(-EINVAL, "open: --on-revoke takes queue or error, not '%s'",
				  o->on_revoke);
	*error = mode == EC_ON_REVOKE_ERROR;
	return 0;
}

/* What I/O of a revoked volume does, and how to undo it. */
static const char *revoked_io(enum ec_on_revoke mode)
{
	return mode == EC_ON_REVOKE_ERROR ?
		"every I/O fails with EIO (on_key_wipe:error)" :
		"the device stays suspended and I/O waits (on_key_wipe:queue)";
}

int cmd_revoke(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_revoke_result res;
	int r;

	(void)o;
	(void)argc;
	r = ec_volume_revoke(argv[0], NULL, &res);
	if (r)
		return r;
	printf("%s: %s: the kernel holds no data key of volume %s; %s until 'envcryptctl open --refresh %s'\n",
	       argv[0], res.already ? "already revoked" : "revoked",
	       res.volume_uuid, revoked_io(res.mode), argv[0]);
	return 0;
}

int cmd_refresh(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_refresh_result res;
	int r;

	if (argc != 1)
		return ec_err_set(-EINVAL, "open --refresh takes the NAME of an open volume only, not '%s %s'",
				  argv[0], argv[1]);
	if (o->readonly || o->verify_only || o->on_revoke)
		return ec_err_set(-EINVAL, "open --refresh: --readonly, --verify-only and --on-revoke do not apply; '%s' stays as it was opened",
				  argv[0]);
	r = ec_volume_refresh(argv[0], &res);
	if (r)
		return r;
	printf("%s: refreshed: the data key of volume %s unwrapped through wrap slot %d of %s, matches the header and the kernel's key check value; the device is resumed\n",
	       argv[0], res.volume_uuid, res.slot, res.device);
	return 0;
}

struct watch_ctx {
	bool once;
};

static void watch_report(const struct ec_watch_event *ev, void *arg)
{
	const struct watch_ctx *w = arg;
	const char *uuid = ev->volume_uuid ? ev->volume_uuid : "?";

	switch (ev->verdict) {
	case EC_WATCH_USABLE:
	case EC_WATCH_ALREADY:
		if (w->once)
			printf("%s: volume %s: %s: %s\n", ev->name, uuid,
			       ev->reason,
			       ev->verdict == EC_WATCH_USABLE ?
			       "kept open" : "already revoked");
		break;
	case EC_WATCH_REVOKED:
		fprintf(stderr, "envcryptctl: watch: %s: volume %s: %s: revoked; %s until 'envcryptctl open --refresh %s'\n",
			ev->name, uuid, ev->reason, revoked_io(ev->mode),
			ev->name);
		break;
	case EC_WATCH_UNKNOWN:
		fprintf(stderr, "envcryptctl: watch: %s: volume %s: not checked: %s; not revoked\n",
			ev->name, uuid, ev->reason);
		break;
	case EC_WATCH_FAILED:
		fprintf(stderr, "envcryptctl: watch: %s: volume %s: %s\n",
			ev->name, uuid, ev->reason);
		break;
	}
	fflush(stdout);
	fflush(stderr);
}

int cmd_watch(const struct cli_opts *o, int argc, char **argv)
{
	struct watch_ctx w = { .once = o->once };
	unsigned int interval = o->interval, revoked, failed;
	struct timespec ts;
	sigset_t set, old;
	int r, sig;

	(void)argc;
	(void)argv;
	if (!o->interval_set)
		interval = WATCH_INTERVAL_DEFAULT;
	if (interval < 1 || interval > WATCH_INTERVAL_MAX)
		return ec_err_set(-EINVAL, "watch: --interval %u is out of range; use 1 to %d seconds",
				  interval, WATCH_INTERVAL_MAX);
	if (o->once) {
		r = ec_volume_watch_once(watch_report, &w, &revoked, &failed);
		if (r)
			return r;
		return failed ? EC_EXIT_FAILED : 0;
	}

	/*
	 * SIGINT and SIGTERM are taken only between checks, so a revoke is
	 * never cut off halfway.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
		return ec_err_set(-errno, "watch: cannot block signals: %s",
				  strerror(errno));
	fprintf(stderr, "envcryptctl: watch: checking the open volumes every %u s\n",
		interval);
	for (;;) {
		r = ec_volume_watch_once(watch_report, &w, &revoked, &failed);
		if (r)
			fprintf(stderr, "envcryptctl: %s\n", ec_err_msg());
		ts.tv_sec = interval;
		ts.tv_nsec = 0;
		do {
			sig = sigtimedwait(&set, NULL, &ts);
		} while (sig < 0 && errno == EINTR);
		if (sig > 0)
			break;
	}
	fprintf(stderr, "envcryptctl: watch: stopped by %s\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM");
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}
