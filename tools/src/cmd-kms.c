// SPDX-License-Identifier: GPL-2.0
/*
 * The "kms" commands: CMKs in the KMS named by --kms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "json.h"
#include "kms.h"

static void key_time(char *buf, size_t size, int64_t t)
{
	time_t tt = t;
	struct tm tm;

	if (!t) {
		snprintf(buf, size, "-");
		return;
	}
	if (!gmtime_r(&tt, &tm))
		snprintf(buf, size, "%lld", (long long)t);
	else
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void key_json(struct json *j, const struct ec_key_info *k)
{
	json_object_begin(j, NULL);
	json_string(j, "id", k->id);
	json_string(j, "alias", k->alias);
	json_string(j, "spec", ec_key_spec_name(k->spec));
	json_string(j, "state", ec_key_state_name(k->state));
	json_int(j, "versions", k->versions);
	json_time(j, "created", k->created);
	json_time(j, "deletion_date", k->deletion_date);
	json_bool(j, "service_key", k->service);
	json_object_end(j);
}

static void key_print(const struct ec_kms *kms, const struct ec_key_info *k)
{
	char when[40];

	printf("id:            %s\n", k->id);
	printf("alias:         %s\n", k->alias[0] ? k->alias : "-");
	printf("spec:          %s\n", ec_key_spec_name(k->spec));
	printf("state:         %s\n", ec_key_state_name(k->state));
	printf("versions:      %u\n", k->versions);
	key_time(when, sizeof(when), k->created);
	printf("created:       %s\n", when);
	if (k->state == EC_KEY_PENDING_DELETION) {
		key_time(when, sizeof(when), k->deletion_date);
		printf("deletion date: %s\n", when);
	}
	if (k->service)
		printf("service key:   yes (cannot be disabled or deleted)\n");
	printf("KMS:           %s\n", kms->name);
}

/* The key an operation returned, as text or with --json. */
static void key_show(const struct cli_opts *o, const struct ec_kms *kms,
		     const struct ec_key_info *info)
{
	struct json j;

	if (o->json) {
		json_init(&j, stdout);
		key_json(&j, info);
	} else {
		key_print(kms, info);
	}
}

/* Open --kms, run @op on it, print the key it returns. */
static int key_command(const struct cli_opts *o, const char *key,
		       int (*op)(struct ec_kms *, const char *,
				 struct ec_key_info *))
{
	struct ec_kms *kms;
	struct ec_key_info info;
	int r;

	r = ec_kms_open(o->kms, &kms);
	if (r)
		return r;
	r = op(kms, key, &info);
	if (!r)
		key_show(o, kms, &info);
	ec_kms_close(kms);
	return r;
}

int cmd_kms_create_key(const struct cli_opts *o, int argc, char **argv)
{
	enum ec_key_spec spec;
	struct ec_kms *kms;
	struct ec_key_info info;
	int r;

	(void)argc;
	(void)argv;
	if (!o->spec)
		return ec_err_set(-EINVAL, "kms create-key: give --spec AES_256 or --spec SM4");
	if (ec_key_spec_parse(o->spec, &spec))
		return ec_err_set(-EINVAL, "kms create-key: unknown key spec '%s'; use AES_256 or SM4",
				  o->spec);
	r = ec_kms_open(o->kms, &kms);
	if (r)
		return r;
	r = ec_kms_create_key(kms, spec, o->alias, &info);
	if (!r)
		key_show(o, kms, &info);
	ec_kms_close(kms);
	return r;
}

int cmd_kms_list_keys(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_key_info *keys = NULL;
	struct ec_kms *kms;
	struct json j;
	char when[40];
	size_t i, n = 0;
	int r;

	(void)argc;
	(void)argv;
	r = ec_kms_open(o->kms, &kms);
	if (r)
		return r;
	r = ec_kms_list_keys(kms, &keys, &n);
	if (r)
		goto out;
	if (o->json) {
		json_init(&j, stdout);
		json_array_begin(&j, NULL);
		for (i = 0; i < n; i++)
			key_json(&j, &keys[i]);
		json_array_end(&j);
		goto out;
	}
	printf("%-36s %-24s %-7s %-15s %-8s %s\n", "ID", "ALIAS", "SPEC",
	       "STATE", "VERSIONS", "DELETION");
	for (i = 0; i < n; i++) {
		key_time(when, sizeof(when), keys[i].deletion_date);
		printf("%-36s %-24s %-7s %-15s %-8u %s\n", keys[i].id,
		       keys[i].alias[0] ? keys[i].alias : "-",
		       ec_key_spec_name(keys[i].spec),
		       ec_key_state_name(keys[i].state), keys[i].versions,
		       when);
	}
out:
	free(keys);
	ec_kms_close(kms);
	return r;
}

int cmd_kms_describe_key(const struct cli_opts *o, int argc, char **argv)
{
	(void)argc;
	return key_command(o, argv[0], ec_kms_describe_key);
}

int cmd_kms_enable_key(const struct cli_opts *o, int argc, char **argv)
{
	(void)argc;
	return key_command(o, argv[0], ec_kms_enable_key);
}

int cmd_kms_disable_key(const struct cli_opts *o, int argc, char **argv)
{
	int r;

	(void)argc;
	r = cli_key_in_use_guard(o, argv[0], "disable-key");
	if (r)
		return r;
	return key_command(o, argv[0], ec_kms_disable_key);
}

int cmd_kms_rotate_key(const struct cli_opts *o, int argc, char **argv)
{
	(void)argc;
	return key_command(o, argv[0], ec_kms_rotate_key);
}

int cmd_kms_cancel_deletion(const struct cli_opts *o, int argc, char **argv)
{
	(void)argc;
	return key_command(o, argv[0], ec_kms_cancel_deletion);
}

int cmd_kms_schedule_deletion(const struct cli_opts *o, int argc,
			      char **argv)
{
	struct ec_kms *kms;
	struct ec_key_info info;
	int r;

	(void)argc;
	if (!o->days)
		return ec_err_set(-EINVAL, "kms schedule-deletion: give --days 7..30");
	r = cli_key_in_use_guard(o, argv[0], "schedule-deletion");
	if (r)
		return r;
	r = ec_kms_open(o->kms, &kms);
	if (r)
		return r;
	r = ec_kms_schedule_deletion(kms, argv[0], o->days, &info);
	if (!r)
		key_show(o, kms, &info);
	ec_kms_close(kms);
	return r;
}
