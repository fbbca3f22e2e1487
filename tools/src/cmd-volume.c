// SPDX-License-Identifier: GPL-2.0
/*
 * The volume commands: format, open, close, status, dump, list.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "dm-envcrypt.h"
#include "error.h"
#include "json.h"
#include "volume.h"

static void print_time(const char *label, int64_t t)
{
	char buf[32];
	time_t tt = t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))		/* a hostile header's time */
		snprintf(buf, sizeof(buf), "%lld", (long long)t);
	else
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("%s%s\n", label, buf);
}

static void print_hex(const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", data[i]);
}

static void print_slots(const struct ec_header *hdr)
{
	int i;

	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &hdr->slots[i];

		if (!s->active)
			continue;
		printf("wrap slot %d:\n", i);
		printf("  KMS:         %s\n", s->kms_uri);
		printf("  CMK:         %s%s%s%s\n", s->cmk_id,
		       s->cmk_alias[0] ? " (" : "", s->cmk_alias,
		       s->cmk_alias[0] ? ")" : "");
		printf("  CMK version: %u\n", s->cmk_version);
		printf("  wrapped key: %u bytes\n", s->wrapped.len);
		print_time("  created:     ", s->created);
	}
}

static void json_slots(struct json *j, const struct ec_header *hdr)
{
	int i;

	json_array_begin(j, "wrap_slots");
	for (i = 0; i < EC_HDR_SLOTS; i++) {
		const struct ec_wrap_slot *s = &hdr->slots[i];

		if (!s->active)
			continue;
		json_object_begin(j, NULL);
		json_int(j, "slot", i);
		json_string(j, "kms", s->kms_uri);
		json_string(j, "cmk_id", s->cmk_id);
		json_string(j, "cmk_alias", s->cmk_alias);
		json_int(j, "cmk_version", s->cmk_version);
		json_int(j, "wrapped_key_bytes", s->wrapped.len);
		json_time(j, "created", s->created);
		json_object_end(j);
	}
	json_array_end(j);
}

int cmd_format(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_format_params p = {
		.kms_uri = o->kms,
		.cmk = o->key,
		.cipher = o->cipher,
		.sector_size = o->sector_size,
		.label = o->label,
	};
	struct ec_header hdr;
	char uuid[37];
	int r;

	(void)argc;
	r = cli_confirm(o, argv[0], "format it as an encrypted volume");
	if (r)
		return r;
	r = ec_volume_format(argv[0], &p, &hdr);
	if (r)
		return r;
	ec_uuid_format(hdr.uuid, uuid);
	printf("%s: formatted: volume %s, %s, sector size %u, CMK %s%s%s%s in %s\n",
	       argv[0], uuid, hdr.cipher, hdr.sector_size, hdr.slots[0].cmk_id,
	       hdr.slots[0].cmk_alias[0] ? " (" : "", hdr.slots[0].cmk_alias,
	       hdr.slots[0].cmk_alias[0] ? ")" : "", hdr.slots[0].kms_uri);
	return 0;
}

int cmd_open(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_open_params p = {
		.readonly = o->readonly,
		.verify_only = o->verify_only,
	};
	struct ec_open_result *res;
	const struct ec_wrap_slot *s;
	int r;

	if (o->refresh)
		return cmd_refresh(o, argc, argv);
	r = cli_on_revoke(o, &p.on_revoke_error);
	if (r)
		return r;
	if (argc < 2 && !o->verify_only)
		return ec_err_set(-EINVAL, "open: give a NAME for the device (or --verify-only)");
	res = malloc(sizeof(*res));
	if (!res)
		return ec_err_set(-ENOMEM, "out of memory");
	r = ec_volume_open(argv[0], argc > 1 ? argv[1] : NULL, &p, res);
	if (res->repaired)
		fprintf(stderr, "envcryptctl: %s: a damaged or stale header copy was repaired\n",
			argv[0]);
	if (!r && o->verify_only) {
		s = &res->hdr.slots[res->slot];
		printf("%s: data key unwrapped through wrap slot %d (CMK %s in %s); key check value matches\n",
		       argv[0], res->slot, s->cmk_id, s->kms_uri);
	}
	free(res);
	return r;
}

int cmd_close(const struct cli_opts *o, int argc, char **argv)
{
	(void)o;
	(void)argc;
	return ec_volume_close(argv[0]);
}

static void status_json(const struct ec_volume_status *st)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "name", st->name);
	json_string(&j, "volume_uuid", st->volume_uuid);
	json_string(&j, "device", st->device);
	json_string(&j, "cipher", st->cipher);
	json_int(&j, "sector_size", st->sector_size);
	json_int(&j, "data_offset", st->data_offset);
	json_int(&j, "size_sectors", st->dm.length);
	json_bool(&j, "suspended", st->dm.suspended);
	json_bool(&j, "readonly", st->dm.readonly);
	json_int(&j, "open_count", st->dm.open_count);
	json_bool(&j, "key_loaded", st->key_loaded);
	json_string(&j, "kcv", st->kcv);
	if (st->have_header) {
		json_bool(&j, "kcv_matches_header", st->kcv_matches);
		json_string(&j, "label", st->hdr.label);
		json_slots(&j, &st->hdr);
	}
	json_object_end(&j);
}

int cmd_status(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_volume_status *st;
	int r;

	(void)argc;
	st = malloc(sizeof(*st));
	if (!st)
		return ec_err_set(-ENOMEM, "out of memory");
	r = ec_volume_status(argv[0], st);
	if (r)
		goto out;
	if (o->json) {
		status_json(st);
		goto out;
	}
	printf("/dev/mapper/%s is active%s%s%s.\n", st->name,
	       st->dm.suspended ? ", suspended" : "",
	       st->dm.readonly ? ", read-only" : "",
	       st->dm.open_count ? " and in use" : "");
	printf("volume:       %s\n", st->volume_uuid);
	if (st->have_header && st->hdr.label[0])
		printf("label:        %s\n", st->hdr.label);
	printf("cipher:       %s\n", st->cipher);
	printf("sector size:  %u\n", st->sector_size);
	printf("device:       %s\n", st->device);
	printf("data offset:  %" PRIu64 " bytes\n", st->data_offset);
	printf("size:         %" PRIu64 " sectors\n", st->dm.length);
	printf("on revoke:    %s\n",
	       strstr(st->dm.table, ENVCRYPT_OPT_ON_KEY_WIPE "error") ?
	       "error (I/O fails with EIO)" : "queue (I/O waits)");
	if (!st->key_loaded)
		printf("key:          none (revoked: 'envcryptctl open --refresh %s' loads it again)\n",
		       st->name);
	else if (!st->have_header)
		printf("key:          loaded, kcv %s (header not readable)\n",
		       st->kcv);
	else
		printf("key:          loaded, kcv %s, %s\n", st->kcv,
		       st->kcv_matches ? "matches the header" :
					 "DOES NOT match the header");
	if (st->have_header)
		print_slots(&st->hdr);
out:
	free(st);
	return r;
}

static const char *copy_state(enum ec_copy_state s)
{
	switch (s) {
	case EC_COPY_OK:
		return "ok";
	case EC_COPY_STALE:
		return "stale";
	default:
		return "damaged";
	}
}

static void dump_json(const char *device, const struct ec_header *hdr,
		      const struct ec_header_load *load)
{
	char uuid[37];
	struct json j;
	int i;

	ec_uuid_format(hdr->uuid, uuid);
	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "device", device);
	json_int(&j, "version", EC_HDR_VERSION);
	json_string(&j, "volume_uuid", uuid);
	json_string(&j, "label", hdr->label);
	json_string(&j, "cipher", hdr->cipher);
	json_int(&j, "sector_size", hdr->sector_size);
	json_int(&j, "data_offset", hdr->data_offset);
	json_int(&j, "sequence", hdr->seq);
	json_time(&j, "created", hdr->created);
	json_hex(&j, "kcv", hdr->kcv, sizeof(hdr->kcv));
	json_array_begin(&j, "copies");
	for (i = 0; i < EC_HDR_COPIES; i++) {
		json_object_begin(&j, NULL);
		json_int(&j, "copy", i);
		json_string(&j, "state", copy_state(load->copy[i]));
		if (load->copy[i] == EC_COPY_DAMAGED)
			json_string(&j, "problem", load->why[i]);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_slots(&j, hdr);
	json_object_end(&j);
}

int cmd_dump(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_header_load load;
	struct ec_header *hdr;
	char uuid[37];
	int i, r;

	(void)argc;
	hdr = malloc(sizeof(*hdr));
	if (!hdr)
		return ec_err_set(-ENOMEM, "out of memory");
	r = ec_volume_dump(argv[0], hdr, &load);
	if (r)
		goto out;
	if (o->json) {
		dump_json(argv[0], hdr, &load);
		goto out;
	}
	ec_uuid_format(hdr->uuid, uuid);
	printf("envcrypt volume header of %s\n", argv[0]);
	printf("version:      %d\n", EC_HDR_VERSION);
	printf("volume:       %s\n", uuid);
	printf("label:        %s\n", hdr->label);
	printf("cipher:       %s\n", hdr->cipher);
	printf("sector size:  %u\n", hdr->sector_size);
	printf("data offset:  %" PRIu64 " bytes\n", hdr->data_offset);
	printf("sequence:     %" PRIu64 "\n", hdr->seq);
	print_time("created:      ", hdr->created);
	printf("kcv:          ");
	print_hex(hdr->kcv, sizeof(hdr->kcv));
	printf("\n");
	for (i = 0; i < EC_HDR_COPIES; i++) {
		printf("header copy %d: %s", i, copy_state(load.copy[i]));
		if (load.copy[i] == EC_COPY_DAMAGED)
			printf(" (%s)", load.why[i]);
		printf("\n");
	}
	print_slots(hdr);
out:
	free(hdr);
	return r;
}

int cmd_list(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_volume_status *st;
	struct json j;
	char **names;
	size_t i, n;
	int r;

	(void)argc;
	(void)argv;
	r = ec_dm_list(&names, &n);
	if (r)
		return r;
	st = malloc(sizeof(*st));
	if (!st) {
		ec_dm_list_free(names, n);
		return ec_err_set(-ENOMEM, "out of memory");
	}
	if (o->json) {
		json_init(&j, stdout);
		json_array_begin(&j, NULL);
	} else {
		printf("%-16s %-16s %-16s %-6s %s\n", "NAME", "DEVICE",
		       "CIPHER", "KEY", "VOLUME");
	}
	for (i = 0; i < n; i++) {
		if (ec_volume_status(names[i], st))
			continue;	/* gone meanwhile */
		if (o->json) {
			json_object_begin(&j, NULL);
			json_string(&j, "name", st->name);
			json_string(&j, "device", st->device);
			json_string(&j, "cipher", st->cipher);
			json_bool(&j, "key_loaded", st->key_loaded);
			json_string(&j, "volume_uuid", st->volume_uuid);
			json_object_end(&j);
		} else {
			printf("%-16s %-16s %-16s %-6s %s\n", st->name,
			       st->device, st->cipher,
			       st->key_loaded ? "loaded" : "none",
			       st->volume_uuid);
		}
	}
	if (o->json)
		json_array_end(&j);
	ec_err_clear();
	free(st);
	ec_dm_list_free(names, n);
	return 0;
}
