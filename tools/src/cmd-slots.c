// SPDX-License-Identifier: GPL-2.0
/*
 * The wrap slot commands: rewrap, share, unshare.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "error.h"
#include "slots.h"

/* --slot N, or -1 when not given. */
static int slot_arg(const struct cli_opts *o)
{
	if (!o->has_slot)
		return -1;
	return o->slot > INT_MAX ? INT_MAX : (int)o->slot;
}

static void print_cmk(const struct ec_wrap_slot *s)
{
	printf("CMK %s%s%s%s version %u in %s", s->cmk_id,
	       s->cmk_alias[0] ? " (" : "", s->cmk_alias,
	       s->cmk_alias[0] ? ")" : "", s->cmk_version, s->kms_uri);
}

int cmd_rewrap(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_rewrap_params p = {
		.slot = slot_arg(o),
		.kms_uri = o->kms,
		.cmk = o->key,
		.rotate = o->rotate,
	};
	struct ec_slot_change *res;
	int r;

	(void)argc;
	res = malloc(sizeof(*res));
	if (!res)
		return ec_err_set(-ENOMEM, "out of memory");
	r = ec_volume_rewrap(argv[0], &p, res);
	if (!r) {
		printf("%s: wrap slot %d rewrapped: ", argv[0], res->slot);
		print_cmk(&res->old);
		printf(" -> ");
		print_cmk(&res->hdr.slots[res->slot]);
		printf("; data key unwrapped through wrap slot %d, the data is unchanged\n",
		       res->unwrapped_by);
	}
	free(res);
	return r;
}

int cmd_share(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_slot_change *res;
	int r;

	(void)argc;
	if (!o->key)
		return ec_err_set(-EINVAL, "share: give the recipient's CMK with --key");
	res = malloc(sizeof(*res));
	if (!res)
		return ec_err_set(-ENOMEM, "out of memory");
	r = ec_volume_share(argv[0], o->kms, o->key, res);
	if (!r) {
		printf("%s: shared in wrap slot %d: ", argv[0], res->slot);
		print_cmk(&res->hdr.slots[res->slot]);
		printf("\n");
	}
	free(res);
	return r;
}

int cmd_unshare(const struct cli_opts *o, int argc, char **argv)
{
	struct ec_slot_change *res;
	int r;

	(void)argc;
	res = malloc(sizeof(*res));
	if (!res)
		return ec_err_set(-ENOMEM, "out of memory");
	r = ec_volume_unshare(argv[0], slot_arg(o), o->key, res);
	if (!r) {
		printf("%s: wrap slot %d removed: ", argv[0], res->slot);
		print_cmk(&res->old);
		printf("\n");
	}
	free(res);
	return r;
}
