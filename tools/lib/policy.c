// SPDX-License-Identifier: GPL-2.0
/*
 * Host policy (policy.h): a "name = value" file, read once per process.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "policy.h"

#define POLICY_LINE_MAX		1024
#define POLICY_WORDS_MAX	16
#define POLICY_WORD_MAX		256

/* One rule of the file: its words and where it was set. */
struct rule {
	bool set;
	int line;
	char text[POLICY_LINE_MAX];	/* the value, for messages */
	int n;
	char words[POLICY_WORDS_MAX][POLICY_WORD_MAX];
};

enum rule_id {
	RULE_CIPHERS,
	RULE_KMS,
	RULE_REQUIRE_CMK,
	RULE_CONVERT,
	RULE_KEY_CHANGES,
	RULE_COUNT,
};

static const char *const rule_names[RULE_COUNT] = {
	[RULE_CIPHERS]		= "allowed-ciphers",
	[RULE_KMS]		= "allowed-kms",
	[RULE_REQUIRE_CMK]	= "require-cmk",
	[RULE_CONVERT]		= "convert",
	[RULE_KEY_CHANGES]	= "key-changes",
};

/* The allowed values of the yes/no rules; NULL: a list of words. */
static const char *const rule_values[RULE_COUNT][2] = {
	[RULE_REQUIRE_CMK]	= { "yes", "no" },
	[RULE_CONVERT]		= { "allow", "refuse" },
	[RULE_KEY_CHANGES]	= { "allow", "deny" },
};

static struct {
	bool loaded;
	int result;
	char path[512];
	struct rule rules[RULE_COUNT];
} policy;

void ec_policy_reset(void)
{
	memset(&policy, 0, sizeof(policy));
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_line(char *line, int lineno)
{
	char *eq, *name, *value, *word, *save;
	struct rule *rule;
	int id;

	line[strcspn(line, "#")] = '\0';
	name = trim(line);
	if (!*name)
		return 0;
	eq = strchr(name, '=');
	if (!eq)
		return ec_err_set(-EINVAL, "%s:%d: '%s' is not 'name = value'; fix the host policy",
				  policy.path, lineno, name);
	*eq = '\0';
	name = trim(name);
	value = trim(eq + 1);
	for (id = 0; id < RULE_COUNT; id++)
		if (!strcmp(name, rule_names[id]))
			break;
	if (id == RULE_COUNT)
		return ec_err_set(-EINVAL, "%s:%d: unknown rule '%s'; the rules are allowed-ciphers, allowed-kms, require-cmk, convert, key-changes",
				  policy.path, lineno, name);
	rule = &policy.rules[id];
	if (rule->set)
		return ec_err_set(-EINVAL, "%s:%d: rule '%s' is set twice (first on line %d)",
				  policy.path, lineno, name, rule->line);
	rule->set = true;
	rule->line = lineno;
	snprintf(rule->text, sizeof(rule->text), "%s", value);
	for (word = strtok_r(value, " \t", &save); word;
	     word = strtok_r(NULL, " \t", &save)) {
		if (rule->n == POLICY_WORDS_MAX ||
		    strlen(word) >= POLICY_WORD_MAX)
			return ec_err_set(-EINVAL, "%s:%d: rule '%s' has too many or too long values (at most %d of %d bytes)",
					  policy.path, lineno, name,
					  POLICY_WORDS_MAX, POLICY_WORD_MAX - 1);
		snprintf(rule->words[rule->n++], POLICY_WORD_MAX, "%s", word);
	}
	if (rule_values[id][0] &&
	    (rule->n != 1 || (strcmp(rule->words[0], rule_values[id][0]) &&
			      strcmp(rule->words[0], rule_values[id][1]))))
		return ec_err_set(-EINVAL, "%s:%d: rule '%s' must be '%s' or '%s', not '%s'",
				  policy.path, lineno, name, rule_values[id][0],
				  rule_values[id][1], rule->text);
	return 0;
}

static int load(void)
{
	const char *path = getenv("ENVCRYPT_POLICY");
	char line[POLICY_LINE_MAX + 2];
	int lineno = 0, r = 0;
	FILE *f;

	if (!path || !*path)
		path = EC_POLICY_PATH_DEFAULT;
	snprintf(policy.path, sizeof(policy.path), "%s", path);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;	/* no policy: no restriction */
		return ec_err_set(-errno, "cannot read the host policy %s: %s",
				  path, strerror(errno));
	}
	while (!r && fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			r = ec_err_set(-EINVAL, "%s:%d: line longer than %d bytes",
				       path, lineno, POLICY_LINE_MAX);
		else
			r = parse_line(line, lineno);
	}
	if (!r && ferror(f))
		r = ec_err_set(-EIO, "cannot read the host policy %s", path);
	fclose(f);
	if (r)
		memset(policy.rules, 0, sizeof(policy.rules));
	return r;
}

int ec_policy_load(void)
{
	if (!policy.loaded) {
		policy.result = load();
		policy.loaded = true;
	}
	return policy.result;
}

/* -EPERM: "<what> is refused by the host policy (FILE:LINE: rule = v)" */
static int refuse(enum rule_id id, const char *what)
{
	const struct rule *rule = &policy.rules[id];

	return ec_err_set(-EPERM, "%s is refused by the host policy (%s:%d: %s = %s)",
			  what, policy.path, rule->line, rule_names[id],
			  rule->text);
}

/* The rule @id, or NULL when it is not set (or the policy is broken). */
static const struct rule *rule_of(enum rule_id id, int *r)
{
	*r = ec_policy_load();
	if (*r || !policy.rules[id].set)
		return NULL;
	return &policy.rules[id];
}

static bool rule_is(const struct rule *rule, const char *value)
{
	return rule && !strcmp(rule->words[0], value);
}

int ec_policy_check_cipher(const char *cipher, const char *what)
{
	const struct rule *rule;
	char msg[512];
	int i, r;

	rule = rule_of(RULE_CIPHERS, &r);
	if (!rule)
		return r;
	for (i = 0; i < rule->n; i++)
		if (!strcmp(rule->words[i], cipher))
			return 0;
	snprintf(msg, sizeof(msg), "%s: cipher %s", what, cipher);
	return refuse(RULE_CIPHERS, msg);
}

/* @uri starts with @prefix, and the prefix ends where a URI part does. */
static bool uri_has_prefix(const char *uri, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(uri, prefix, n))
		return false;
	return prefix[n - 1] == ':' || prefix[n - 1] == '/' ||
	       strchr("?;&/", uri[n]);
}

int ec_policy_check_kms(const char *uri)
{
	const struct rule *rule;
	char msg[512];
	int i, r;

	rule = rule_of(RULE_KMS, &r);
	if (!rule)
		return r;
	for (i = 0; i < rule->n; i++)
		if (uri_has_prefix(uri, rule->words[i]))
			return 0;
	snprintf(msg, sizeof(msg), "KMS %s", uri);
	return refuse(RULE_KMS, msg);
}

int ec_policy_check_service_key(const char *what)
{
	const struct rule *rule;
	char msg[512];
	int r;

	rule = rule_of(RULE_REQUIRE_CMK, &r);
	if (!rule_is(rule, "yes"))
		return r;
	snprintf(msg, sizeof(msg), "%s: wrapping with the service key (give --key CMK)",
		 what);
	return refuse(RULE_REQUIRE_CMK, msg);
}

int ec_policy_check_convert(const char *source)
{
	const struct rule *rule;
	char msg[512];
	int r;

	rule = rule_of(RULE_CONVERT, &r);
	if (!rule_is(rule, "refuse"))
		return r;
	snprintf(msg, sizeof(msg), "%s: converting an unencrypted image",
		 source);
	return refuse(RULE_CONVERT, msg);
}

int ec_policy_check_key_change(const char *op, const char *key)
{
	const struct rule *rule;
	char msg[512];
	int r;

	rule = rule_of(RULE_KEY_CHANGES, &r);
	if (!rule_is(rule, "deny"))
		return r;
	snprintf(msg, sizeof(msg), "%s of CMK %s", op, key ? key : "(new)");
	return refuse(RULE_KEY_CHANGES, msg);
}
