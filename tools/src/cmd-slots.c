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

/*
 * Run one wrap slot change of @device and, when it is done, report it:
 * @change calls the library, @report prints what it did.
 */
static int change_slots(const struct cli_opts *o, const char *device,
			int (*change)(const struct cli_opts *o,
				      const char *device,
				      struct ec_slot_change *res),
			void (*report)(const char *device,
				       const struct ec_slot_change *res))
{
	struct ec_slot_change *res = malloc(sizeof(*res));
	int r;

	if (!res)
		return ec_err_set(-ENOMEM, "out of memory");
	r = change(o, device, res);
	if (!r)
		report(device, res);
	free(res);
	return r;
}

static int rewrap(const struct cli_opts *o, const char *device,
		  struct ec_slot_change *res)
{
	struct ec_rewrap_params p = {
		.slot = slot_arg(o),
		.kms_uri = o->kms,
		.cmk = o->key,
		.rotate = o->rotate,
	};

	return ec_volume_rewrap(device, &p, res);
}

static void report_rewrap(const char *device, const struct ec_slot_change *res)
{
	printf("%s: wrap slot %d rewrapped: ", device, res->slot);
	print_cmk(&res->old);
	printf(" -> ");
	print_cmk(&res->hdr.slots[res->slot]);
	printf("; data key unwrapped through wrap slot %d, the data is unchanged\n",
	       res->unwrapped_by);
}

int cmd_rewrap(const struct cli_opts *o, int argc, char **argv)
{
	(void)argc;
	return change_slots(o, argv[0], rewrap, report_rewrap);
}

static int share(const struct cli_opts *o, const char *device,
		 struct ec_slot_change *res)
{
	return ec_volume_share(device, o->kms, o->key, res);
}

static void report_share(const char *device, const struct ec_slot_change *res)
{
	printf("%s: shared in wrap slot %d: ", device, res->slot);
	print_cmk(&res->hdr.slots[res->slot]);
	printf("\n");
}

int cmd_share(const struct cli_opts *o, int argc, char **argv)
{
	(void)argc;
	if (!o->key)
		return ec_err_set(-EINVAL, "share: give the recipient's CMK with --key");
	return change_slots(o, argv[0], share, report_share);
}

static int unshare(const struct cli_opts *o, const char *device,
		   struct ec_slot_change *res)
{
	return ec_volume_unshare(device, slot_arg(o), o->key, res);
}

static void report_unshare(const char *device,
			   const struct ec_slot_change *res)
{
	printf("%s: wrap slot %d removed: ", device, res->slot);
	print_cmk(&res->old);
	printf("\n");
}

int cmd_unshare(const struct cli_opts *o, int argc, char **argv)
{
	(void)argc;
	return change_slots(o, argv[0], unshare, report_unshare);
}
