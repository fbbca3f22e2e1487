// SPDX-License-Identifier: GPL-2.0
/*
 * envcryptctl: the command tables, option parsing, generated help, the
 * confirmation question, and errno to exit code.
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "policy.h"
#include "secmem.h"

#define PROG	"envcryptctl"

struct cli_option {
	const char *name;
	const char *arg;		/* NULL: a flag */
	const char *help;
};

static const struct cli_option cli_options[OPT_COUNT] = {
	[OPT_KMS] = { "kms", "URI",
		"the KMS: local: (default: the local keystore in $ENVCRYPT_KMS_DIR, else /var/lib/envcrypt/kms), local:DIR, kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE, pkcs11:token=LABEL?module-path=FILE, or exec:PROGRAM" },
	[OPT_KEY] = { "key", "CMK",
		"the CMK: a key id or alias/NAME (default: the keystore's service key, alias/envcrypt/service)" },
	[OPT_CIPHER] = { "cipher", "CIPHER",
		"aes-xts-plain64 or sm4-xts-plain64 (default: the one of the CMK's spec)" },
	[OPT_SECTOR_SIZE] = { "sector-size", "BYTES",
		"encryption sector size, 512 or 4096 (default 512)" },
	[OPT_LABEL] = { "label", "TEXT", "a label, up to 47 bytes" },
	[OPT_YES] = { "yes", NULL,
		"do not ask for confirmation (needed without a terminal)" },
	[OPT_READONLY] = { "readonly", NULL, "create a read-only device" },
	[OPT_VERIFY_ONLY] = { "verify-only", NULL,
		"unwrap and check the data key, create no device" },
	[OPT_JSON] = { "json", NULL, "print JSON" },
	[OPT_SPEC] = { "spec", "SPEC", "AES_256 or SM4" },
	[OPT_ALIAS] = { "alias", "NAME", "make the key reachable as alias/NAME" },
	[OPT_DAYS] = { "days", "DAYS", "waiting period before deletion, 7 to 30" },
	[OPT_ON_REVOKE] = { "on-revoke", "MODE",
		"what I/O does once the data key is revoked: queue (wait until refreshed; default) or error (fail with EIO)" },
	[OPT_REFRESH] = { "refresh", NULL,
		"load the data key of revoked volume NAME again and resume it" },
	[OPT_INTERVAL] = { "interval", "SECONDS",
		"time between checks, 1 to 86400 (default 60)" },
	[OPT_ONCE] = { "once", NULL, "check once and exit" },
	[OPT_ROTATE] = { "rotate", NULL,
		"wrap under the newest version of the slot's own CMK (after 'kms rotate-key')" },
	[OPT_SLOT] = { "slot", "N", "the wrap slot, 0 to 7 (see 'dump')" },
	[OPT_PLAINTEXT] = { "plaintext", "FILE",
		"confirm that FILE's content is nowhere on the raw device (may be given up to 16 times)" },
	[OPT_SAMPLES] = { "samples", "N",
		"sectors to sample, 1 to 16777216 (default 256)" },
	[OPT_SCAN] = { "scan", "PATH",
		"also read the headers of this device, image file or directory (may be given up to 16 times)" },
	[OPT_FORCE] = { "force", NULL,
		"go on although volumes still use the key (recorded in the audit log)" },
	[OPT_TO_DIR] = { "to-dir", "DIR",
		"convert every SOURCE into DIR/<its file name>" },
	[OPT_REENCRYPT] = { "reencrypt", NULL,
		"a new data key: every sector decrypted and encrypted again" },
};

static int cmd_help(const struct cli_opts *o, int argc, char **argv);

const struct cli_command cli_commands[] = {
	{ "format", "DEVICE", 1, 1,
	  BIT(OPT_KMS) | BIT(OPT_KEY) | BIT(OPT_CIPHER) |
	  BIT(OPT_SECTOR_SIZE) | BIT(OPT_LABEL) | BIT(OPT_YES),
	  "create an encrypted volume on DEVICE (overwrites it)",
	  "Writes a volume header to DEVICE (a block device or an image file): a new\n"
	  "random data key, wrapped by the CMK in the KMS. The data starts 1 MiB into\n"
	  "the device. Everything on DEVICE is lost.",
	  cmd_format },
	{ "open", "DEVICE [NAME]", 1, 2,
	  BIT(OPT_READONLY) | BIT(OPT_VERIFY_ONLY) | BIT(OPT_ON_REVOKE) |
	  BIT(OPT_REFRESH),
	  "activate the volume on DEVICE as /dev/mapper/NAME",
	  "Unwraps the data key through the KMS named in the header, checks it against\n"
	  "the key check value and creates /dev/mapper/NAME. The data key goes to the\n"
	  "kernel through the keyring and is kept nowhere else. With --verify-only,\n"
	  "NAME is not needed and no device is created. A damaged or stale header\n"
	  "copy is repaired from the good one (not with --readonly).\n"
	  "--on-revoke chooses what I/O does after 'revoke': wait, or fail.\n"
	  "'open --refresh NAME' unwraps the data key of a revoked volume again,\n"
	  "checks it, hands it back to the kernel and resumes the device: I/O that\n"
	  "waited completes.",
	  cmd_open },
	{ "close", "NAME", 1, 1, 0,
	  "deactivate volume NAME",
	  "Removes /dev/mapper/NAME; the kernel wipes the data key.",
	  cmd_close },
	{ "status", "NAME", 1, 1, BIT(OPT_JSON),
	  "show an open volume",
	  "Shows the device, cipher, sector size, whether the kernel holds the data\n"
	  "key (and that its key check value matches the header), and the wrap slots.",
	  cmd_status },
	{ "dump", "DEVICE", 1, 1, BIT(OPT_JSON),
	  "show the header of DEVICE",
	  "Reads the volume header without any KMS: volume UUID, cipher, sector size,\n"
	  "data offset, key check value, both copies' state and every wrap slot.",
	  cmd_dump },
	{ "list", "", 0, 0, BIT(OPT_JSON),
	  "list the open volumes",
	  "Lists the envcrypt devices of this host.",
	  cmd_list },
	{ "revoke", "NAME", 1, 1, 0,
	  "take the data key of open volume NAME out of the kernel now",
	  "Suspends /dev/mapper/NAME and wipes the data key in the kernel. As the\n"
	  "volume was opened (--on-revoke): queue leaves the device suspended, so I/O\n"
	  "waits; error resumes it and every I/O fails with EIO. 'open --refresh NAME'\n"
	  "loads the key again once its CMK is usable.",
	  cmd_revoke },
	{ "watch", "", 0, 0, BIT(OPT_INTERVAL) | BIT(OPT_ONCE),
	  "revoke open volumes whose CMK became unusable",
	  "Checks the CMKs of every open volume's wrap slots and revokes the volumes\n"
	  "whose CMKs are all Disabled or PendingDeletion, logging why on stderr and\n"
	  "in the audit log. A KMS that cannot be asked (unreachable, access denied)\n"
	  "or does not know the CMK revokes nothing. Runs until SIGINT or SIGTERM,\n"
	  "or checks once with --once.",
	  cmd_watch },
	{ "rewrap", "DEVICE", 1, 1,
	  BIT(OPT_KEY) | BIT(OPT_KMS) | BIT(OPT_ROTATE) | BIT(OPT_SLOT),
	  "wrap the data key of DEVICE under another CMK, or --rotate",
	  "Replaces a wrap slot (--slot N; needed when the volume has several) by a\n"
	  "wrap of the same data key under --key CMK (in --kms URI, default the\n"
	  "slot's own KMS), or with --rotate under the newest version of the slot's\n"
	  "CMK. The data is not touched and the volume may be open. The data key is\n"
	  "unwrapped through any usable slot and checked; the new wrap is checked\n"
	  "before the header is written once, so an interruption leaves the old or\n"
	  "the new wrap.",
	  cmd_rewrap },
	{ "share", "DEVICE", 1, 1, BIT(OPT_KEY) | BIT(OPT_KMS),
	  "add a wrap slot for another account's CMK",
	  "Wraps the data key of DEVICE under --key RECIPIENT_CMK (in --kms URI,\n"
	  "default the KMS of the volume's first wrap slot) in a free wrap slot. A\n"
	  "volume wrapped only by a service key cannot be shared: copy it under a CMK\n"
	  "first ('envcryptctl copy SOURCE DEST --key CMK').",
	  cmd_share },
	{ "unshare", "DEVICE", 1, 1, BIT(OPT_SLOT) | BIT(OPT_KEY),
	  "remove a wrap slot (--slot N or --key CMK)",
	  "Removes a wrap slot from the header; refused when no other slot unwraps\n"
	  "the data key (that would lose the data). A recipient who kept a copy of\n"
	  "the header can still unwrap it: to cut them off, copy the volume with\n"
	  "--reencrypt.",
	  cmd_unshare },
	{ "verify-at-rest", "DEVICE", 1, 1,
	  BIT(OPT_PLAINTEXT) | BIT(OPT_SAMPLES) | BIT(OPT_JSON),
	  "show that the data on DEVICE is encrypted at rest",
	  "Reads the raw device, no KMS needed: samples sectors of the data area and\n"
	  "compares their byte statistics with random data (entropy, chi-square);\n"
	  "all-zero sectors were never written and are counted apart. With\n"
	  "--plaintext FILE, searches the whole device for any run of 64 bytes or\n"
	  "more of FILE, at any alignment. Shows each wrap slot's CMK state. Exits 2,\n"
	  "naming the offsets, when a sector is not random or FILE is found.",
	  cmd_verify_at_rest },
	{ "convert", "SOURCE DEST | --to-dir DIR SOURCE...", 1, 256,
	  BIT(OPT_KMS) | BIT(OPT_KEY) | BIT(OPT_CIPHER) |
	  BIT(OPT_SECTOR_SIZE) | BIT(OPT_LABEL) | BIT(OPT_TO_DIR) |
	  BIT(OPT_YES),
	  "encrypt an unencrypted image or disk into a new volume",
	  "Writes a new volume to DEST (a new image file, or a block device: --yes)\n"
	  "holding SOURCE's data encrypted with a new data key wrapped by the CMK, on\n"
	  "all cores, each chunk read back and compared. The volume is 1 MiB bigger\n"
	  "than SOURCE (its last sector padded with zeros). DEST has no header until\n"
	  "all is written, so a half-written DEST never opens; the same command run\n"
	  "again after an interruption resumes it. With --to-dir, each SOURCE goes to\n"
	  "DIR/<its file name>; a failure stops none of the others. SOURCE is only\n"
	  "read. No command writes plaintext back out.",
	  cmd_convert },
	{ "copy", "SOURCE DEST", 2, 2,
	  BIT(OPT_KEY) | BIT(OPT_KMS) | BIT(OPT_REENCRYPT) | BIT(OPT_CIPHER) |
	  BIT(OPT_SECTOR_SIZE) | BIT(OPT_YES),
	  "copy a volume under another CMK (--key), or --reencrypt it",
	  "Writes a new volume to DEST (a new image file, or a block device: --yes)\n"
	  "with a new volume UUID and one wrap slot for --key CMK (in --kms URI).\n"
	  "The data is copied as ciphertext under the same data key, or with\n"
	  "--reencrypt decrypted and encrypted again under a new data key (--cipher\n"
	  "and --sector-size may change then), so that the source's wraps cannot\n"
	  "open it.\n"
	  "SOURCE must not be open (see snapshot). Resumable like convert.",
	  cmd_copy },
	{ "snapshot", "SOURCE DEST", 2, 2, BIT(OPT_YES),
	  "a point-in-time copy of a volume, open or not",
	  "Copies the ciphertext of the volume on SOURCE to DEST (a new image file,\n"
	  "or a block device: --yes) with a new volume UUID and every wrap slot\n"
	  "wrapped again for it, under the same CMKs and the same data key. When the\n"
	  "volume is open, its device is suspended (after a flush) for the time of\n"
	  "the copy and resumed: I/O waits meanwhile.",
	  cmd_snapshot },
	{ "kms", "COMMAND ...", 1, 32, 0,
	  "manage CMKs (see 'envcryptctl kms help')",
	  NULL,
	  NULL },			/* cli_parse: a cli_kms_commands entry */
	{ "help", "[COMMAND]", 0, 2, 0,
	  "show help for envcryptctl or a command",
	  NULL,
	  cmd_help },
	{ NULL }
};

const struct cli_command cli_kms_commands[] = {
	{ "create-key", "", 0, 0,
	  BIT(OPT_KMS) | BIT(OPT_SPEC) | BIT(OPT_ALIAS) | BIT(OPT_JSON),
	  "create a CMK (--spec AES_256|SM4)",
	  "Creates a CMK of the given spec, Enabled, and prints its id.",
	  cmd_kms_create_key },
	{ "list-keys", "", 0, 0, BIT(OPT_KMS) | BIT(OPT_JSON),
	  "list the CMKs",
	  NULL,
	  cmd_kms_list_keys },
	{ "describe-key", "KEY", 1, 1, BIT(OPT_KMS) | BIT(OPT_JSON),
	  "show a CMK's spec, state and versions",
	  NULL,
	  cmd_kms_describe_key },
	{ "enable-key", "KEY", 1, 1, BIT(OPT_KMS) | BIT(OPT_JSON),
	  "enable a Disabled CMK",
	  NULL,
	  cmd_kms_enable_key },
	{ "disable-key", "KEY", 1, 1,
	  BIT(OPT_KMS) | BIT(OPT_JSON) | BIT(OPT_FORCE),
	  "disable a CMK: volumes it wraps can no longer be opened",
	  "Volumes already open stay open; new opens are refused until the key is\n"
	  "enabled again. The service key cannot be disabled. Refused while the\n"
	  "volume registry lists volumes the key wraps (see 'kms usage'), unless\n"
	  "--force.",
	  cmd_kms_disable_key },
	{ "rotate-key", "KEY", 1, 1, BIT(OPT_KMS) | BIT(OPT_JSON),
	  "add a new version of a CMK's key material",
	  "New wraps use the new version; data keys wrapped by older versions still\n"
	  "unwrap.",
	  cmd_kms_rotate_key },
	{ "schedule-deletion", "KEY", 1, 1,
	  BIT(OPT_KMS) | BIT(OPT_DAYS) | BIT(OPT_JSON) | BIT(OPT_FORCE),
	  "delete a CMK after --days 7..30 (volumes it wraps are lost then)",
	  "The key is PendingDeletion until the date, and can be brought back with\n"
	  "cancel-deletion until then. The service key cannot be deleted. Refused\n"
	  "while the volume registry lists volumes the key wraps (see 'kms usage'),\n"
	  "unless --force.",
	  cmd_kms_schedule_deletion },
	{ "cancel-deletion", "KEY", 1, 1, BIT(OPT_KMS) | BIT(OPT_JSON),
	  "cancel a scheduled deletion (the key becomes Disabled)",
	  NULL,
	  cmd_kms_cancel_deletion },
	{ "usage", "KEY", 1, 1,
	  BIT(OPT_KMS) | BIT(OPT_SCAN) | BIT(OPT_JSON),
	  "list the volumes whose data key a CMK wraps",
	  "From the volume registry of this host ($ENVCRYPT_REGISTRY, default\n"
	  "/var/lib/envcrypt/registry, kept by format, open and the commands that\n"
	  "change wrap slots) and from the headers found by --scan. Each registry\n"
	  "entry is checked against its device: one that no longer holds the volume\n"
	  "or a wrap slot for the key is shown as stale.",
	  cmd_kms_usage },
	{ NULL }
};

static const char *const exit_codes =
	"Exit codes:\n"
	"  0  success\n"
	"  1  wrong arguments, or confirmation refused\n"
	"  2  failed (I/O error, out of memory, ...)\n"
	"  3  the CMK is not usable: Disabled, PendingDeletion, not found, or access denied\n"
	"  4  the KMS is unreachable (retry later)\n"
	"  5  the volume header is invalid or has been tampered with\n"
	"  6  the device or name is busy\n"
	"  7  no such device or volume\n";

static void usage_line(FILE *f, const char *prefix,
		       const struct cli_command *c)
{
	int i;

	fprintf(f, "usage: %s %s%s%s%s", PROG, prefix, c->name,
		c->args[0] ? " " : "", c->args);
	for (i = 0; i < OPT_COUNT; i++) {
		if (!(c->opts & BIT(i)))
			continue;
		if (cli_options[i].arg)
			fprintf(f, " [--%s %s]", cli_options[i].name,
				cli_options[i].arg);
		else
			fprintf(f, " [--%s]", cli_options[i].name);
	}
	fputc('\n', f);
}

static void command_help(FILE *f, const char *prefix,
			 const struct cli_command *c)
{
	char opt[64];
	int i;

	usage_line(f, prefix, c);
	fprintf(f, "\n%s.\n", c->summary);
	if (c->help)
		fprintf(f, "\n%s\n", c->help);
	if (c->opts)
		fputs("\nOptions:\n", f);
	for (i = 0; i < OPT_COUNT; i++) {
		if (!(c->opts & BIT(i)))
			continue;
		snprintf(opt, sizeof(opt), "--%s%s%s", cli_options[i].name,
			 cli_options[i].arg ? " " : "",
			 cli_options[i].arg ? cli_options[i].arg : "");
		fprintf(f, "  %-20s %s\n", opt, cli_options[i].help);
	}
	fprintf(f, "  %-20s %s\n", "--help", "show this help");
}

static void table_help(FILE *f, const char *prefix,
		       const struct cli_command *table)
{
	const struct cli_command *c;
	char name[64];

	for (c = table; c->name; c++) {
		snprintf(name, sizeof(name), "%s%s%s%s", prefix, c->name,
			 c->args[0] ? " " : "", c->args);
		fprintf(f, "  %-30s %s\n", name, c->summary);
	}
}

static void program_help(FILE *f)
{
	fprintf(f, "usage: %s COMMAND [ARGS] [OPTIONS]\n\n"
		"Envelope-encrypted volumes: a data key encrypts the sectors in the kernel\n"
		"(dm-envcrypt), a CMK in a KMS wraps the data key.\n\nCommands:\n",
		PROG);
	table_help(f, "", cli_commands);
	fputs("\nKMS commands:\n", f);
	table_help(f, "kms ", cli_kms_commands);
	fprintf(f, "\n'%s COMMAND --help' shows a command's options.\n\n%s",
		PROG, exit_codes);
}

static const struct cli_command *find_command(const struct cli_command *t,
					      const char *name)
{
	for (; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

__attribute__((format(printf, 3, 4)))
static int usage_error(const char *prefix, const struct cli_command *c,
		       const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c)
		usage_line(stderr, prefix, c);
	return EC_EXIT_USAGE;
}

static int parse_uint(const char *s, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || n > 0xffffffffUL)
		return -EINVAL;
	*v = n;
	return 0;
}

static int set_option(struct cli_opts *o, int id, const char *arg)
{
	unsigned int n;

	switch (id) {
	case OPT_KMS:
		o->kms = arg;
		break;
	case OPT_KEY:
		o->key = arg;
		break;
	case OPT_CIPHER:
		o->cipher = arg;
		break;
	case OPT_SECTOR_SIZE:
		if (parse_uint(arg, &n))
			return -EINVAL;
		o->sector_size = n;
		break;
	case OPT_LABEL:
		o->label = arg;
		break;
	case OPT_YES:
		o->yes = true;
		break;
	case OPT_READONLY:
		o->readonly = true;
		break;
	case OPT_VERIFY_ONLY:
		o->verify_only = true;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_SPEC:
		o->spec = arg;
		break;
	case OPT_ALIAS:
		o->alias = arg;
		break;
	case OPT_DAYS:
		if (parse_uint(arg, &n))
			return -EINVAL;
		o->days = n;
		break;
	case OPT_ON_REVOKE:
		o->on_revoke = arg;
		break;
	case OPT_REFRESH:
		o->refresh = true;
		break;
	case OPT_INTERVAL:
		if (parse_uint(arg, &n))
			return -EINVAL;
		o->interval = n;
		o->interval_set = true;
		break;
	case OPT_ONCE:
		o->once = true;
		break;
	case OPT_ROTATE:
		o->rotate = true;
		break;
	case OPT_SLOT:
		if (parse_uint(arg, &n))
			return -EINVAL;
		o->has_slot = true;
		o->slot = n;
		break;
	case OPT_PLAINTEXT:
		if (o->n_plaintext == CLI_MULTI_MAX)
			return -E2BIG;
		o->plaintext[o->n_plaintext++] = arg;
		break;
	case OPT_SAMPLES:
		if (parse_uint(arg, &n))
			return -EINVAL;
		/* 0 is out of range, as anything above the maximum */
		o->samples = n ? n : UINT_MAX;
		break;
	case OPT_SCAN:
		if (o->n_scan == CLI_MULTI_MAX)
			return -E2BIG;
		o->scan[o->n_scan++] = arg;
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case OPT_TO_DIR:
		o->to_dir = arg;
		break;
	case OPT_REENCRYPT:
		o->reencrypt = true;
		break;
	}
	return 0;
}

#define OPT_HELP	OPT_COUNT

/*
 * Parse the options of @c in *@argv (argv[0] is the command name) into
 * @o, and leave *@argc, *@argv at the positional arguments: CLI_RUN, or
 * the exit code (help shown, usage error).
 */
static int parse_command(const char *prefix, const struct cli_command *c,
			 int *argc, char ***argv, struct cli_opts *o)
{
	struct option longopts[OPT_COUNT + 2];
	char **av = *argv;
	int ac = *argc;
	int i, n = 0, id, r;

	for (i = 0; i < OPT_COUNT; i++) {
		if (!(c->opts & BIT(i)))
			continue;
		longopts[n].name = cli_options[i].name;
		longopts[n].has_arg = cli_options[i].arg ? required_argument :
							   no_argument;
		longopts[n].flag = NULL;
		longopts[n].val = i;
		n++;
	}
	longopts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };

	/*
	 * Options may follow the arguments, except for "kms", whose
	 * arguments are a command with options of its own.  optind 0
	 * starts getopt afresh: nothing of an earlier parse is left.
	 */
	optind = 0;
	opterr = 0;
	while ((id = getopt_long(ac, av, c->run ? ":" : "+:", longopts,
				 NULL)) != -1) {
		if (id == OPT_HELP) {
			command_help(stdout, prefix, c);
			return EC_EXIT_OK;
		}
		if (id == ':')
			return usage_error(prefix, c,
					   "option %s needs an argument",
					   av[optind - 1]);
		if (id == '?')
			return usage_error(prefix, c, "unknown option '%s'",
					   av[optind - 1]);
		r = set_option(o, id, optarg);
		if (r == -E2BIG)
			return usage_error(prefix, c,
					   "--%s may be given at most %d times",
					   cli_options[id].name, CLI_MULTI_MAX);
		if (r)
			return usage_error(prefix, c,
					   "'%s' is not a number", optarg);
	}
	ac -= optind;
	av += optind;
	if (ac < c->min_args)
		return usage_error(prefix, c, "%s: missing arguments",
				   c->name);
	if (ac > c->max_args)
		return usage_error(prefix, c, "unexpected argument '%s'",
				   av[c->max_args]);
	*argc = ac;
	*argv = av;
	return CLI_RUN;
}

int cli_parse(int argc, char **argv, struct cli_parsed *p)
{
	const struct cli_command *c;
	int r;

	memset(p, 0, sizeof(*p));
	if (argc < 2) {
		program_help(stderr);
		return EC_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		program_help(stdout);
		return EC_EXIT_OK;
	}
	c = find_command(cli_commands, argv[1]);
	if (!c)
		return usage_error("", NULL,
				   "no command '%s'; see 'envcryptctl help'",
				   argv[1]);
	p->prefix = "";
	argc--;
	argv++;
	r = parse_command(p->prefix, c, &argc, &argv, &p->opts);
	if (r != CLI_RUN)
		return r;
	if (!c->run) {
		/* "kms COMMAND ...": argv[0] is COMMAND (min_args 1) */
		if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help")) {
			fputs("KMS commands:\n", stdout);
			table_help(stdout, "kms ", cli_kms_commands);
			return EC_EXIT_OK;
		}
		c = find_command(cli_kms_commands, argv[0]);
		if (!c)
			return usage_error("", NULL,
					   "no kms command '%s'; see 'envcryptctl kms help'",
					   argv[0]);
		p->prefix = "kms ";
		memset(&p->opts, 0, sizeof(p->opts));
		r = parse_command(p->prefix, c, &argc, &argv, &p->opts);
		if (r != CLI_RUN)
			return r;
	}
	p->cmd = c;
	p->argc = argc;
	p->argv = argv;
	return CLI_RUN;
}

static int cmd_help(const struct cli_opts *o, int argc, char **argv)
{
	const struct cli_command *c;

	(void)o;
	if (argc == 0) {
		program_help(stdout);
		return 0;
	}
	if (!strcmp(argv[0], "kms")) {
		if (argc == 1) {
			fputs("KMS commands:\n", stdout);
			table_help(stdout, "kms ", cli_kms_commands);
			return 0;
		}
		c = find_command(cli_kms_commands, argv[1]);
		if (!c)
			return usage_error("", NULL, "no kms command '%s'",
					   argv[1]);
		command_help(stdout, "kms ", c);
		return 0;
	}
	c = find_command(cli_commands, argv[0]);
	if (!c)
		return usage_error("", NULL, "no command '%s'", argv[0]);
	command_help(stdout, "", c);
	return 0;
}

int cli_confirm(const struct cli_opts *o, const char *device,
		const char *what)
{
	char answer[16];

	if (o->yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return ec_err_set(-EINVAL, "%s: refusing to %s without confirmation: give --yes",
				  device, what);
	fprintf(stderr, "WARNING: this will %s; the data on %s will be lost.\nType YES to continue: ",
		what, device);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin) ||
	    strcmp(answer, "YES\n"))
		return ec_err_set(-EINVAL, "%s: not confirmed; nothing was written",
				  device);
	return 0;
}

int cli_main(int argc, char **argv)
{
	struct cli_parsed p;
	int r;

	r = cli_parse(argc, argv, &p);
	if (r != CLI_RUN)
		return r;
	r = ec_secmem_init();
	/* a broken host policy refuses every command but help */
	if (!r && p.cmd->run != cmd_help)
		r = ec_policy_load();
	if (r) {
		fprintf(stderr, "%s: %s\n", PROG, ec_err_msg());
		return ec_exit_code(r);
	}
	ec_err_clear();
	r = p.cmd->run(&p.opts, p.argc, p.argv);
	if (r > 0)
		return r;
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG,
			ec_err_msg()[0] ? ec_err_msg() : strerror(-r));
		return ec_exit_code(r);
	}
	return EC_EXIT_OK;
}
