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
	OPT_COUNT
};

#define BIT(o)		(1u << (o))

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
};

struct cli_command {
	const char *name;
	/* positional arguments, as shown in usage: "DEVICE NAME" */
	const char *args;
	int min_args, max_args;
	uint32_t opts;			/* BIT(OPT_...) it accepts */
	const char *summary;		/* one line, for "help" */
	const char *help;		/* paragraphs, for "COMMAND --help" */
	/* returns 0, a negative errno, or a positive exit code */
	int (*run)(const struct cli_opts *o, int argc, char **argv);
};

/* The command tables: volume commands, and "kms" subcommands. */
extern const struct cli_command cli_commands[];
extern const struct cli_command cli_kms_commands[];

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
