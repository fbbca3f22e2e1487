// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: envcryptctl's command line parser, cli_parse()
 * (tools/src/cli.c), the very function cli_main() calls before it runs
 * anything.  The input is the arguments after the program name, split at
 * NUL or newline bytes, each in a buffer of its own size.
 *
 * A command line that parses must name a runnable command of the tables,
 * with a positional argument count in its bounds, only options the
 * command accepts, and every string pointing at one of the arguments.
 * Each input is parsed twice, on fresh copies: the results must agree,
 * so nothing of one parse (getopt's state) leaks into the next.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define ARGS_MAX	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct line {
	int argc;
	char *argv[ARGS_MAX + 2];
};

static void split(struct line *l, const uint8_t *data, size_t size)
{
	size_t start = 0, i;

	l->argc = 0;
	l->argv[l->argc++] = strdup("envcryptctl");
	for (i = 0; i <= size && l->argc <= ARGS_MAX; i++) {
		char *arg;

		if (i < size && data[i] != '\0' && data[i] != '\n')
			continue;
		arg = malloc(i - start + 1);
		if (!arg)
			abort();
		memcpy(arg, data + start, i - start);
		arg[i - start] = '\0';
		l->argv[l->argc++] = arg;
		start = i + 1;
	}
	l->argv[l->argc] = NULL;
}

static void line_free(struct line *l, char **orig)
{
	int i;

	for (i = 0; i < l->argc; i++)
		free(orig[i]);
}

/*
 * Where @s is in the argument strings (--opt=VALUE: within one), as
 * index * 4096 + offset; aborts if it is in none of them.
 */
static int arg_index(char *const *orig, int argc, const char *s)
{
	int i;

	for (i = 1; i < argc; i++)
		if (s >= orig[i] && s <= orig[i] + strlen(orig[i]))
			return i * 4096 + (int)(s - orig[i]);
	abort();
}

static bool in_table(const struct cli_command *t, const struct cli_command *c)
{
	for (; t->name; t++)
		if (t == c)
			return true;
	return false;
}

/* Option @o, set to @set, must be one @c accepts. */
static void allowed(const struct cli_command *c, int opt, bool set)
{
	if (set && !(c->opts & BIT(opt)))
		abort();
}

/* A summary of one parse, in argument indexes: comparable across runs. */
struct outcome {
	int r;
	const struct cli_command *cmd;
	int argc;
	int args[ARGS_MAX + 2];
	int strs[8];
	int plaintext[CLI_MULTI_MAX], scan[CLI_MULTI_MAX];
	struct cli_opts flags;		/* the options with the strings out */
};

static int str_index(char *const *orig, int argc, const char *s)
{
	return s ? arg_index(orig, argc, s) : 0;
}

static void check(const struct line *l, char *const *orig, int r,
		  const struct cli_parsed *p, struct outcome *out)
{
	const struct cli_opts *o = &p->opts;
	const struct cli_command *c = p->cmd;
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->r = r;
	if (r != CLI_RUN) {
		if (r < 0 || r > 255)
			abort();
		return;
	}
	if (!c || !c->run ||
	    !(in_table(cli_commands, c) || in_table(cli_kms_commands, c)))
		abort();
	if (p->argc < c->min_args || p->argc > c->max_args)
		abort();
	for (i = 0; i < (unsigned int)p->argc; i++)
		out->args[i] = arg_index(orig, l->argc, p->argv[i]);
	allowed(c, OPT_KMS, o->kms);
	allowed(c, OPT_KEY, o->key);
	allowed(c, OPT_CIPHER, o->cipher);
	allowed(c, OPT_SECTOR_SIZE, o->sector_size);
	allowed(c, OPT_LABEL, o->label);
	allowed(c, OPT_YES, o->yes);
	allowed(c, OPT_READONLY, o->readonly);
	allowed(c, OPT_VERIFY_ONLY, o->verify_only);
	allowed(c, OPT_JSON, o->json);
	allowed(c, OPT_SPEC, o->spec);
	allowed(c, OPT_ALIAS, o->alias);
	allowed(c, OPT_DAYS, o->days);
	allowed(c, OPT_ON_REVOKE, o->on_revoke);
	allowed(c, OPT_REFRESH, o->refresh);
	allowed(c, OPT_INTERVAL, o->interval_set);
	allowed(c, OPT_ONCE, o->once);
	allowed(c, OPT_ROTATE, o->rotate);
	allowed(c, OPT_SLOT, o->has_slot);
	allowed(c, OPT_PLAINTEXT, o->n_plaintext);
	allowed(c, OPT_SAMPLES, o->samples);
	allowed(c, OPT_SCAN, o->n_scan);
	allowed(c, OPT_FORCE, o->force);
	allowed(c, OPT_TO_DIR, o->to_dir);
	allowed(c, OPT_REENCRYPT, o->reencrypt);
	if (o->n_plaintext > CLI_MULTI_MAX || o->n_scan > CLI_MULTI_MAX)
		abort();
	out->cmd = c;
	out->argc = p->argc;
	out->strs[0] = str_index(orig, l->argc, o->kms);
	out->strs[1] = str_index(orig, l->argc, o->key);
	out->strs[2] = str_index(orig, l->argc, o->cipher);
	out->strs[3] = str_index(orig, l->argc, o->label);
	out->strs[4] = str_index(orig, l->argc, o->spec);
	out->strs[5] = str_index(orig, l->argc, o->alias);
	out->strs[6] = str_index(orig, l->argc, o->on_revoke);
	out->strs[7] = str_index(orig, l->argc, o->to_dir);
	for (i = 0; i < o->n_plaintext; i++)
		out->plaintext[i] = arg_index(orig, l->argc, o->plaintext[i]);
	for (i = 0; i < o->n_scan; i++)
		out->scan[i] = arg_index(orig, l->argc, o->scan[i]);
	out->flags = *o;
	out->flags.kms = out->flags.key = out->flags.cipher = NULL;
	out->flags.label = out->flags.spec = out->flags.alias = NULL;
	out->flags.on_revoke = out->flags.to_dir = NULL;
	memset(out->flags.plaintext, 0, sizeof(out->flags.plaintext));
	memset(out->flags.scan, 0, sizeof(out->flags.scan));
}

static void parse_once(const uint8_t *data, size_t size, struct outcome *out)
{
	char *orig[ARGS_MAX + 2];
	struct cli_parsed p;
	struct line l;
	int r;

	split(&l, data, size);
	/* getopt reorders l.argv: keep the strings' own order */
	memcpy(orig, l.argv, sizeof(orig));
	r = cli_parse(l.argc, l.argv, &p);
	check(&l, orig, r, &p, out);
	line_free(&l, orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome a, b;

	if (size >= 4096)
		return 0;	/* offsets in arg_index() fit */
	parse_once(data, size, &a);
	parse_once(data, size, &b);
	if (memcmp(&a, &b, sizeof(a)))
		abort();	/* the second parse saw state of the first */
	return 0;
}
