/* SPDX-License-Identifier: GPL-2.0 */
/*
 * envcryptctl's command table and the options every command draws from.
 * The help texts are generated from these tables, so a command and its
 * documentation cannot drift apart.
 */
#ifndef ENVCRYPTCTL_CLI_H
#define ENVCRYPTCTL_CLI_H

#include <stdbool.h>
#include <stdint.h>

enum cli_opt {
	OPT_KMS,
	OPT_KEY,
	OPT_CIPHER,
	OPT_SECTOR_SIZE,
	OPT_LABEL,
	OPT_YES,
	OPT_READONLY,
	OPT_VERIFY_ONLY,
	OPT_JSON,
	OPT_SPEC,
	OPT_ALIAS,
	OPT_DAYS,
	OPT_ON_REVOKE,
	OPT_REFRESH,
	OPT_INTERVAL,
	OPT_ONCE,
	OPT_ROTATE,
	OPT_SLOT,
	OPT_PLAINTEXT,
	OPT_SAMPLES,
	OPT_SCAN,
	OPT_FORCE,
	OPT_TO_DIR,
	OPT_REENCRYPT,
	OPT_COUNT
};

#define BIT(o)		(1u << (o))

/* How many times a repeatable option (--plaintext, --scan) may be given. */
#define CLI_MULTI_MAX	16

/* Parsed options (unset: NULL, 0, false). */
struct cli_opts {
	const char *kms;
	const char *key;
	const char *cipher;
	uint32_t sector_size;
	const char *label;
	bool yes;
	bool readonly;
	bool verify_only;
	bool json;
	const char *spec;
	const char *alias;
	unsigned int days;
	const char *on_revoke;		/* open: queue or error */
	bool refresh;			/* open --refresh NAME */
	unsigned int interval;		/* watch: seconds */
	bool interval_set;
	bool once;
	bool rotate;			/* rewrap */
	bool has_slot;			/* --slot given */
	unsigned int slot;
	const char *plaintext[CLI_MULTI_MAX];	/* verify-at-rest */
	unsigned int n_plaintext;
	unsigned int samples;
	const char *scan[CLI_MULTI_MAX];	/* kms usage */
	unsigned int n_scan;
	bool force;			/* kms disable-key, schedule-deletion */
	const char *to_dir;		/* convert: several sources */
	bool reencrypt;			/* copy */
};

struct cli_command {
	const char *name;
	/* positional arguments, as shown in usage: "DEVICE NAME" */
	const char *args;
	int min_args, max_args;
	uint32_t opts;			/* BIT(OPT_...) it accepts */
	const char *summary;		/* one line, for "help" */
	const char *help;		/* paragraphs, for "COMMAND --help" */
	/*
	 * returns 0, a negative errno, or a positive exit code; NULL for
	 * "kms", whose first argument names a cli_kms_commands entry
	 */
	int (*run)(const struct cli_opts *o, int argc, char **argv);
};

/* The command tables: volume commands, and "kms" subcommands. */
extern const struct cli_command cli_commands[];
extern const struct cli_command cli_kms_commands[];

/* A command line parsed: the command to run, its options and arguments. */
struct cli_parsed {
	const struct cli_command *cmd;	/* never "kms": its subcommand */
	const char *prefix;		/* "" or "kms ", for messages */
	struct cli_opts opts;
	int argc;			/* the positional arguments, */
	char **argv;			/* within min_args..max_args */
};

#define CLI_RUN		(-1)

/*
 * Parse @argv (argv[0] is the program; getopt reorders the rest) against
 * the command tables and nothing else: no policy, no KMS, no device.
 * CLI_RUN with @p filled, or the exit code, after printing the help or
 * the usage error asked for.  Each call starts afresh (getopt's optind).
 */
int cli_parse(int argc, char **argv, struct cli_parsed *p);

/* Parse and run; the exit code.  argv[0] is the program. */
int cli_main(int argc, char **argv);

/*
 * For commands that overwrite @device: ask on a terminal, refuse
 * without one unless --yes.  0 to go on, or a negative errno.
 */
int cli_confirm(const struct cli_opts *o, const char *device,
		const char *what);

/* Volume commands (cmd-volume.c). */
int cmd_format(const struct cli_opts *o, int argc, char **argv);
int cmd_open(const struct cli_opts *o, int argc, char **argv);
int cmd_close(const struct cli_opts *o, int argc, char **argv);
int cmd_status(const struct cli_opts *o, int argc, char **argv);
int cmd_dump(const struct cli_opts *o, int argc, char **argv);
int cmd_list(const struct cli_opts *o, int argc, char **argv);

/* Revoke, refresh, watch (cmd-revoke.c). */
int cmd_revoke(const struct cli_opts *o, int argc, char **argv);
int cmd_refresh(const struct cli_opts *o, int argc, char **argv);
int cmd_watch(const struct cli_opts *o, int argc, char **argv);
/* open's --on-revoke: *error for "error"; -EINVAL for other words. */
int cli_on_revoke(const struct cli_opts *o, bool *error);

/* Wrap slots: rewrap, share, unshare (cmd-slots.c). */
int cmd_rewrap(const struct cli_opts *o, int argc, char **argv);
int cmd_share(const struct cli_opts *o, int argc, char **argv);
int cmd_unshare(const struct cli_opts *o, int argc, char **argv);

/* Whole images: convert, copy, snapshot (cmd-image.c). */
int cmd_convert(const struct cli_opts *o, int argc, char **argv);
int cmd_copy(const struct cli_opts *o, int argc, char **argv);
int cmd_snapshot(const struct cli_opts *o, int argc, char **argv);

/* verify-at-rest (cmd-verify.c). */
int cmd_verify_at_rest(const struct cli_opts *o, int argc, char **argv);

/*
 * kms usage, and the guard of disable-key and schedule-deletion
 * (cmd-usage.c): -EBUSY listing the volumes CMK @key wraps, unless
 * --force (then audited as "force-key-change").
 */
int cmd_kms_usage(const struct cli_opts *o, int argc, char **argv);
int cli_key_in_use_guard(const struct cli_opts *o, const char *key,
			 const char *what);

/* KMS commands (cmd-kms.c). */
int cmd_kms_create_key(const struct cli_opts *o, int argc, char **argv);
int cmd_kms_list_keys(const struct cli_opts *o, int argc, char **argv);
int cmd_kms_describe_key(const struct cli_opts *o, int argc, char **argv);
int cmd_kms_enable_key(const struct cli_opts *o, int argc, char **argv);
int cmd_kms_disable_key(const struct cli_opts *o, int argc, char **argv);
int cmd_kms_rotate_key(const struct cli_opts *o, int argc, char **argv);
int cmd_kms_schedule_deletion(const struct cli_opts *o, int argc,
			      char **argv);
int cmd_kms_cancel_deletion(const struct cli_opts *o, int argc,
			    char **argv);

#endif /* ENVCRYPTCTL_CLI_H */
