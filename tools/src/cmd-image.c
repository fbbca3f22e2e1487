// SPDX-License-Identifier: GPL-2.0
/*
 * The commands that write whole images: convert, copy, snapshot.
 */
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "image.h"

static bool is_blockdev(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISBLK(st.st_mode);
}

/* A block device destination is overwritten: ask first. */
static int confirm_dest(const struct cli_opts *o, const char *dst)
{
	return is_blockdev(dst) ?
	       cli_confirm(o, dst, "write a new encrypted volume over it") : 0;
}

/*
 * The parameters of @o for the image library, and a result for it to fill
 * (both malloc'd: free them with image_free()).
 */
static int image_alloc(const struct cli_opts *o, struct ec_image_params **pp,
		       struct ec_image_result **resp)
{
	struct ec_image_params *p = calloc(1, sizeof(*p));
	struct ec_image_result *res = malloc(sizeof(*res));

	if (!p || !res) {
		free(p);
		free(res);
		return ec_err_set(-ENOMEM, "out of memory");
	}
	p->fmt.kms_uri = o->kms;
	p->fmt.cmk = o->key;
	p->fmt.cipher = o->cipher;
	p->fmt.sector_size = o->sector_size;
	p->fmt.label = o->label;
	p->reencrypt = o->reencrypt;
	p->progress = isatty(STDERR_FILENO);
	*pp = p;
	*resp = res;
	return 0;
}

static void image_free(struct ec_image_params *p, struct ec_image_result *res)
{
	free(p);
	free(res);
}

/* copy and snapshot, with one destination: confirm it, then image_alloc(). */
static int begin_one(const struct cli_opts *o, const char *dst,
		     struct ec_image_params **p, struct ec_image_result **res)
{
	int r = confirm_dest(o, dst);

	return r ? r : image_alloc(o, p, res);
}

static void print_rate(const struct ec_image_result *res)
{
	double mib = (res->bytes - res->resumed_at) / 1048576.0;

	printf("%.1f MiB in %.1f s", mib, res->seconds);
	if (res->seconds > 0)
		printf(" (%.0f MB/s)", mib * 1.048576 / res->seconds);
	if (res->resumed_at)
		printf(", resumed at %.1f MiB",
		       res->resumed_at / 1048576.0);
}

static void print_volume(const struct ec_image_result *res)
{
	const struct ec_wrap_slot *s = &res->hdr.slots[0];
	char uuid[37];

	ec_uuid_format(res->hdr.uuid, uuid);
	printf("volume %s, %s, sector size %u, CMK %s%s%s%s in %s", uuid,
	       res->hdr.cipher, res->hdr.sector_size, s->cmk_id,
	       s->cmk_alias[0] ? " (" : "", s->cmk_alias,
	       s->cmk_alias[0] ? ")" : "", s->kms_uri);
}

int cmd_convert(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_image_params *p;
	struct ec_image_result *res;
	char dst[PATH_MAX];
	int i, n, r, first = 0, ok = 0;

	if (!o->to_dir && argc != 2)
		return ec_err_set(-EINVAL, "convert: give SOURCE DEST, or --to-dir DIR SOURCE...");
	n = o->to_dir ? argc : 1;
	r = image_alloc(o, &p, &res);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		char *copy = strdup(argv[i]);

		if (o->to_dir)
			snprintf(dst, sizeof(dst), "%s/%s", o->to_dir,
				 copy ? basename(copy) : argv[i]);
		else
			snprintf(dst, sizeof(dst), "%s", argv[1]);
		free(copy);
		ec_err_clear();
		r = confirm_dest(o, dst);
		if (!r)
			r = ec_image_convert(argv[i], dst, p, res);
		if (!r) {
			ok++;
			printf("%s -> %s: converted: ", argv[i], dst);
			print_volume(res);
			printf("; ");
			print_rate(res);
			putchar('\n');
			fflush(stdout);
			continue;
		}
		if (!o->to_dir) {
			first = r;	/* cli_main prints the message */
			break;
		}
		fprintf(stderr, "envcryptctl: %s -> %s: failed: %s\n",
			argv[i], dst,
			ec_err_msg()[0] ? ec_err_msg() : strerror(-r));
		if (!first)
			first = r;
	}
	image_free(p, res);
	if (o->to_dir) {
		printf("converted %d of %d\n", ok, n);
		return first ? (int)ec_exit_code(first) : 0;
	}
	return first;
}

int cmd_copy(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_image_params *p;
	struct ec_image_result *res;
	int r;

	(void)argc;
	if (!o->key)
		return ec_err_set(-EINVAL, "copy: give the CMK of the copy with --key CMK");
	if (o->cipher && !o->reencrypt)
		return ec_err_set(-EINVAL, "copy: --cipher needs --reencrypt (without it the data is copied as ciphertext)");
	if (o->sector_size && !o->reencrypt)
		return ec_err_set(-EINVAL, "copy: --sector-size needs --reencrypt (without it the data is copied as ciphertext)");
	r = begin_one(o, argv[1], &p, &res);
	if (r)
		return r;
	r = ec_image_copy(argv[0], argv[1], p, res);
	if (!r) {
		printf("%s -> %s: copied%s: ", argv[0], argv[1],
		       o->reencrypt ? " with a new data key" : "");
		print_volume(res);
		printf(", from volume %s; ", res->src_uuid);
		print_rate(res);
		putchar('\n');
	}
	image_free(p, res);
	return r;
}

int cmd_snapshot(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_image_params *p;
	struct ec_image_result *res;
	char uuid[37];
	int i, r;

	(void)argc;
	r = begin_one(o, argv[1], &p, &res);
	if (r)
		return r;
	r = ec_image_snapshot(argv[0], argv[1], p, res);
	for (i = 0; i < res->dropped; i++)
		fprintf(stderr, "envcryptctl: %s: %s; not in the snapshot: share it again with 'envcryptctl share'\n",
			argv[1], res->dropped_why[i]);
	if (!r) {
		ec_uuid_format(res->hdr.uuid, uuid);
		printf("%s -> %s: snapshot: volume %s of volume %s, %s, sector size %u; ",
		       argv[0], argv[1], uuid, res->src_uuid, res->hdr.cipher,
		       res->hdr.sector_size);
		print_rate(res);
		if (res->dm_name[0])
			printf("; '%s' was suspended for %.3f s",
			       res->dm_name, res->suspended);
		putchar('\n');
	}
	image_free(p, res);
	return r;
}
