// SPDX-License-Identifier: GPL-2.0
/*
 * Wrap slots: rewrap, share and unshare on image files with local
 * keystores, their refusals with exact messages, the audit records, and
 * crash safety: pwrite and fdatasync on the image fail (or tear) on
 * request through -Wl,--wrap, at every write of each command in turn, and
 * the volume must then open (unwrap and key check) with the old or the
 * new wrap slots.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "header.h"
#include "kms.h"
#include "registry.h"
#include "slots.h"
#include "tools-util.h"
#include "volume.h"

/* ---- faults on the image's descriptor only --------------------------- */

ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t offset);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t offset);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

enum fault_mode {
	FAULT_NONE,
	FAULT_WRITE,		/* the Nth pwrite fails, nothing written */
	FAULT_TORN,		/* the Nth pwrite writes half, then fails */
	FAULT_SYNC,		/* the Nth fdatasync fails */
};

static struct {
	enum fault_mode mode;
	int n;			/* 1.. */
	int writes, syncs;	/* on the image */
	bool hit;		/* the fault happened */
	ino_t ino;		/* the image's inode */
	dev_t dev;
} fault;

static bool on_image(int fd)
{
	struct stat st;

	return fault.mode != FAULT_NONE && !fstat(fd, &st) &&
	       st.st_ino == fault.ino && st.st_dev == fault.dev;
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t offset)
{
	if (on_image(fd) && ++fault.writes == fault.n &&
	    fault.mode != FAULT_SYNC) {
		fault.hit = true;
		if (fault.mode == FAULT_TORN)
			__real_pwrite(fd, buf, n / 2, offset);
		errno = EIO;
		return -1;
	}
	return __real_pwrite(fd, buf, n, offset);
}

int __wrap_fdatasync(int fd)
{
	if (on_image(fd) && fault.mode == FAULT_SYNC &&
	    ++fault.syncs == fault.n) {
		fault.hit = true;
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}

static void fault_set(const char *image, enum fault_mode mode, int n)
{
	struct stat st;

	memset(&fault, 0, sizeof(fault));
	assert_int_equal(stat(image, &st), 0);
	fault.ino = st.st_ino;
	fault.dev = st.st_dev;
	fault.mode = mode;
	fault.n = n;
}

/* ---- fixtures -------------------------------------------------------- */

struct fixture {
	char *dir;
	char *kms;		/* local:DIR/kms */
	char *kms2;		/* local:DIR/kms2, another KMS */
	char *image;
	char *audit;
	char *registry;
	struct ec_kms *k;
	struct ec_key_info a, b, c;	/* alias/a, alias/b, alias/c */
	struct ec_header hdr;		/* as formatted */
	struct ec_slot_change res;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	memset(&fault, 0, sizeof(fault));
	f->dir = scratch_dir();
	assert_true(asprintf(&f->kms, "local:%s/kms", f->dir) > 0);
	assert_true(asprintf(&f->kms2, "local:%s/kms2", f->dir) > 0);
	f->image = path_in(f->dir, "disk.img");
	f->audit = path_in(f->dir, "audit.log");
	setenv("ENVCRYPT_AUDIT_LOG", f->audit, 1);
	f->registry = path_in(f->dir, "registry");
	setenv("ENVCRYPT_REGISTRY", f->registry, 1);
	make_file(f->image, 3 << 20);
	assert_int_equal(ec_kms_open(f->kms, &f->k), 0);
	assert_int_equal(ec_kms_create_key(f->k, EC_SPEC_AES_256, "a", &f->a),
			 0);
	assert_int_equal(ec_kms_create_key(f->k, EC_SPEC_AES_256, "b", &f->b),
			 0);
	assert_int_equal(ec_kms_create_key(f->k, EC_SPEC_SM4, "c", &f->c), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	memset(&fault, 0, sizeof(fault));
	ec_kms_close(f->k);
	rm_tree(f->dir);
	free(f->dir);
	free(f->kms);
	free(f->kms2);
	free(f->image);
	free(f->audit);
	free(f->registry);
	free(f);
	return 0;
}

/* Format the image with @cmk (NULL: the service key) in f->kms. */
static void format(struct fixture *f, const char *cmk)
{
	struct ec_format_params p = { .kms_uri = f->kms, .cmk = cmk };

	assert_int_equal(ec_volume_format(f->image, &p, &f->hdr), 0);
}

/* The volume opens (unwrap and key check); the slot that unwrapped. */
static int opens(struct fixture *f)
{
	struct ec_open_params p = { .verify_only = true };
	struct ec_open_result *res = malloc(sizeof(*res));
	int r, slot;

	r = ec_volume_open(f->image, NULL, &p, res);
	if (r)
		fail_msg("%s does not open: %s", f->image, ec_err_msg());
	slot = res->slot;
	free(res);
	return slot;
}

static void read_hdr(struct fixture *f, struct ec_header *hdr)
{
	int fd = open(f->image, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(ec_header_read(fd, hdr, NULL), 0);
	close(fd);
}

static void share(struct fixture *f, const char *cmk, int slot)
{
	assert_int_equal(ec_volume_share(f->image, NULL, cmk, &f->res), 0);
	assert_int_equal(f->res.slot, slot);
}

static void rewrap(struct fixture *f, int slot, const char *kms,
		   const char *cmk, bool rotate)
{
	struct ec_rewrap_params p = {
		.slot = slot, .kms_uri = kms, .cmk = cmk, .rotate = rotate,
	};

	assert_int_equal(ec_volume_rewrap(f->image, &p, &f->res), 0);
}

/* ec_volume_rewrap must fail with @r and exactly message @fmt. */
__attribute__((format(printf, 7, 8)))
static void rewrap_refused(struct fixture *f, int slot, const char *kms,
			   const char *cmk, bool rotate, int r,
			   const char *fmt, ...)
{
	struct ec_rewrap_params p = {
		.slot = slot, .kms_uri = kms, .cmk = cmk, .rotate = rotate,
	};
	struct ec_header before, after;
	char want[EC_ERR_MAX];
	va_list ap;

	read_hdr(f, &before);
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_int_equal(ec_volume_rewrap(f->image, &p, &f->res), r);
	assert_string_equal(ec_err_msg(), want);
	/* nothing written */
	read_hdr(f, &after);
	assert_int_equal(after.seq, before.seq);
}

static const char *audit_text(struct fixture *f)
{
	static char buf[65536];
	ssize_t n;
	int fd = open(f->audit, O_RDONLY);

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The registry's entry of the image uses CMK @k (or not). */
static void registry_has(struct fixture *f, const struct ec_key_info *k,
			 bool uses)
{
	struct ec_registry_entry *e;
	size_t i, n;
	int found = 0;

	assert_int_equal(ec_registry_load(&e, &n), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(e[i].device, f->image))
			continue;
		found++;
		assert_int_equal(ec_registry_uses(&e[i], k->id, NULL), uses);
	}
	assert_int_equal(found, 1);
	free(e);
}

/* ---- rewrap ---------------------------------------------------------- */

static void test_rewrap_to_another_cmk(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;
	char want[2048], uuid[37];

	format(f, "alias/a");
	rewrap(f, -1, NULL, "alias/b", false);
	assert_int_equal(f->res.slot, 0);
	assert_int_equal(f->res.unwrapped_by, 0);
	assert_string_equal(f->res.old.cmk_id, f->a.id);
	read_hdr(f, &hdr);
	assert_int_equal(hdr.seq, f->hdr.seq + 1);
	assert_true(hdr.slots[0].active);
	assert_false(hdr.slots[1].active);
	assert_string_equal(hdr.slots[0].cmk_id, f->b.id);
	assert_string_equal(hdr.slots[0].cmk_alias, "alias/b");
	assert_string_equal(hdr.slots[0].kms_uri, f->hdr.slots[0].kms_uri);
	/* same data key: same key check value, nothing else changed */
	assert_memory_equal(hdr.kcv, f->hdr.kcv, sizeof(hdr.kcv));
	assert_memory_equal(hdr.uuid, f->hdr.uuid, sizeof(hdr.uuid));
	assert_int_equal(opens(f), 0);
	/* the host registry knows the new CMK, and not the old one */
	registry_has(f, &f->b, true);
	registry_has(f, &f->a, false);
	/* the old CMK no longer matters */
	assert_int_equal(ec_kms_disable_key(f->k, "alias/a", &f->a), 0);
	assert_int_equal(opens(f), 0);

	ec_uuid_format(hdr.uuid, uuid);
	snprintf(want, sizeof(want), "\"op\":\"rewrap\",\"volume\":\"%s\",\"device\":\"%s\",\"cmk\":\"%s\",\"kms\":\"%s\",\"detail\":\"slot 0: CMK %s version 1 in %s -> CMK %s version 1 in %s\",\"result\":\"ok\"",
		 uuid, f->image, f->b.id, hdr.slots[0].kms_uri, f->a.id,
		 hdr.slots[0].kms_uri, f->b.id, hdr.slots[0].kms_uri);
	if (!strstr(audit_text(f), want))
		fail_msg("audit log lacks %s:\n%s", want, audit_text(f));
}

static void test_rewrap_rotate_uses_newest_version(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	format(f, "alias/a");
	rewrap_refused(f, -1, NULL, NULL, true, -EINVAL,
		       "%s: wrap slot 0 is already wrapped by the newest version (1) of CMK %s (alias/a); rotate the CMK first with 'envcryptctl kms rotate-key'",
		       f->image, f->a.id);
	assert_int_equal(ec_kms_rotate_key(f->k, "alias/a", &f->a), 0);
	assert_int_equal(f->a.versions, 2);
	rewrap(f, 0, NULL, NULL, true);
	read_hdr(f, &hdr);
	assert_string_equal(hdr.slots[0].cmk_id, f->a.id);
	assert_int_equal(hdr.slots[0].cmk_version, 2);
	assert_int_equal(f->res.old.cmk_version, 1);
	assert_int_equal(opens(f), 0);
	assert_non_null(strstr(audit_text(f),
			       "\"detail\":\"slot 0 (rotate): CMK "));
}

static void test_rewrap_refusals(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info none;
	const char *uri;

	format(f, "alias/a");
	uri = f->hdr.slots[0].kms_uri;
	rewrap_refused(f, -1, NULL, "alias/a", false, -EINVAL,
		       "%s: wrap slot 0 is already wrapped by CMK %s (alias/a) in %s; choose another CMK, or give --rotate to wrap under its newest version",
		       f->image, f->a.id, uri);
	rewrap_refused(f, 3, NULL, "alias/b", false, -ENOENT,
		       "%s: wrap slot 3 is empty; see 'envcryptctl dump %s'",
		       f->image, f->image);
	rewrap_refused(f, 8, NULL, "alias/b", false, -EINVAL,
		       "wrap slot 8 does not exist: slots are 0 to 7");
	rewrap_refused(f, -1, NULL, "alias/b", true, -EINVAL,
		       "rewrap: --rotate keeps the slot's CMK; give either --key or --rotate");
	rewrap_refused(f, -1, f->kms2, NULL, true, -EINVAL,
		       "rewrap: --rotate keeps the slot's KMS; --kms goes with --key");
	rewrap_refused(f, -1, NULL, NULL, false, -EINVAL,
		       "rewrap: give --key CMK (wrap under another CMK) or --rotate (under the newest version of the slot's CMK)");

	assert_int_equal(ec_kms_disable_key(f->k, "alias/b", &f->b), 0);
	rewrap_refused(f, -1, NULL, "alias/b", false, -EKEYREVOKED,
		       "%s: CMK %s (alias/b) is Disabled in local KMS %s; enable it, or choose another CMK",
		       f->image, f->b.id, uri + strlen("local:"));
	assert_int_equal(ec_kms_schedule_deletion(f->k, "alias/b", 7, &f->b),
			 0);
	rewrap_refused(f, -1, NULL, "alias/b", false, -EKEYEXPIRED,
		       "%s: CMK %s (alias/b) is PendingDeletion in local KMS %s; cancel its deletion and enable it first",
		       f->image, f->b.id, uri + strlen("local:"));
	assert_int_equal(ec_kms_describe_key(f->k, "alias/nope", &none),
			 -ENOKEY);
	{
		char msg[EC_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", ec_err_msg());
		rewrap_refused(f, -1, NULL, "alias/nope", false, -ENOKEY,
			       "%s: %s; check the key id or alias, and that this host uses the KMS that holds it",
			       f->image, msg);
	}
	/* the refusals are in the audit log too */
	assert_non_null(strstr(audit_text(f),
			       "\"op\":\"rewrap\",\"volume\""));
	assert_non_null(strstr(audit_text(f),
			       "\"result\":\"error\",\"error\":\"EKEYREVOKED\""));
	assert_int_equal(opens(f), 0);
}

static void test_rewrap_with_several_slots(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	format(f, "alias/a");
	share(f, "alias/b", 1);
	rewrap_refused(f, -1, NULL, "alias/c", false, -EINVAL,
		       "%s: the volume has 2 wrap slots (0, 1); choose one with --slot",
		       f->image);
	rewrap_refused(f, 0, NULL, "alias/b", false, -EEXIST,
		       "%s: CMK %s (alias/b) in %s already wraps this volume in wrap slot 1; to drop wrap slot 0 instead, use 'envcryptctl unshare %s --slot 0'",
		       f->image, f->b.id, f->hdr.slots[0].kms_uri, f->image);
	/* slot 0's CMK disabled: the data key comes through slot 1 */
	assert_int_equal(ec_kms_disable_key(f->k, "alias/a", &f->a), 0);
	rewrap(f, 0, NULL, "alias/c", false);
	assert_int_equal(f->res.unwrapped_by, 1);
	read_hdr(f, &hdr);
	assert_string_equal(hdr.slots[0].cmk_id, f->c.id);
	assert_string_equal(hdr.slots[1].cmk_id, f->b.id);
	assert_int_equal(ec_kms_disable_key(f->k, "alias/b", &f->b), 0);
	assert_int_equal(opens(f), 0);
}

/* To another KMS: the old one can go away entirely. */
static void test_rewrap_to_another_kms(void **state)
{
	struct fixture *f = *state;
	struct ec_kms *k2;
	struct ec_key_info d;
	struct ec_header hdr;
	char *moved;

	assert_int_equal(ec_kms_open(f->kms2, &k2), 0);
	assert_int_equal(ec_kms_create_key(k2, EC_SPEC_AES_256, "d", &d), 0);
	format(f, "alias/a");
	rewrap(f, -1, f->kms2, "alias/d", false);
	read_hdr(f, &hdr);
	assert_string_equal(hdr.slots[0].kms_uri, k2->uri);
	assert_string_equal(hdr.slots[0].cmk_id, d.id);
	ec_kms_close(k2);
	moved = path_in(f->dir, "kms.gone");
	assert_int_equal(rename(f->kms + strlen("local:"), moved), 0);
	assert_int_equal(opens(f), 0);
	free(moved);
}

/* ---- share ----------------------------------------------------------- */

static void test_share_adds_a_slot(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	format(f, "alias/a");
	share(f, "alias/c", 1);
	assert_int_equal(f->res.unwrapped_by, 0);
	read_hdr(f, &hdr);
	assert_string_equal(hdr.slots[0].cmk_id, f->a.id);
	assert_string_equal(hdr.slots[1].cmk_id, f->c.id);
	assert_string_equal(hdr.slots[1].kms_uri, hdr.slots[0].kms_uri);
	/* either CMK opens it alone */
	assert_int_equal(ec_kms_disable_key(f->k, "alias/a", &f->a), 0);
	assert_int_equal(opens(f), 1);
	assert_int_equal(ec_kms_enable_key(f->k, "alias/a", &f->a), 0);
	assert_int_equal(ec_kms_disable_key(f->k, "alias/c", &f->c), 0);
	assert_int_equal(opens(f), 0);
	assert_non_null(strstr(audit_text(f), "\"op\":\"share\""));
}

static void test_share_same_cmk_twice(void **state)
{
	struct fixture *f = *state;
	char want[1024];

	format(f, "alias/a");
	share(f, "alias/b", 1);
	assert_int_equal(ec_volume_share(f->image, NULL, f->b.id, &f->res),
			 -EEXIST);
	snprintf(want, sizeof(want),
		 "%s: CMK %s (alias/b) in %s already wraps this volume in wrap slot 1",
		 f->image, f->b.id, f->hdr.slots[0].kms_uri);
	assert_string_equal(ec_err_msg(), want);
}

static void test_share_service_key_volume(void **state)
{
	struct fixture *f = *state;
	char want[1024];

	format(f, NULL);
	assert_int_equal(ec_volume_share(f->image, NULL, "alias/b", &f->res),
			 -EPERM);
	snprintf(want, sizeof(want),
		 "%s: the volume is wrapped only by the service key alias/envcrypt/service of %s, which cannot be shared with another account; copy it under a CMK first: envcryptctl copy %s DEST --key CMK",
		 f->image, f->hdr.slots[0].kms_uri, f->image);
	assert_string_equal(ec_err_msg(), want);
	/* once copied under a CMK (here: rewrapped), sharing works */
	rewrap(f, -1, NULL, "alias/a", false);
	share(f, "alias/b", 1);
}

static void test_share_to_service_key_refused(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info svc;
	char want[1024];

	format(f, "alias/a");
	assert_int_equal(ec_kms_service_key(f->k, &svc), 0);
	assert_int_equal(ec_volume_share(f->image, NULL,
					 "alias/envcrypt/service", &f->res),
			 -EPERM);
	snprintf(want, sizeof(want),
		 "%s: CMK %s (alias/envcrypt/service) is the service key of %s and cannot be a share's recipient; give a CMK the recipient created",
		 f->image, svc.id, f->k->name);
	assert_string_equal(ec_err_msg(), want);
}

static void test_share_disabled_recipient(void **state)
{
	struct fixture *f = *state;
	char want[1024];

	format(f, "alias/a");
	assert_int_equal(ec_kms_disable_key(f->k, "alias/b", &f->b), 0);
	assert_int_equal(ec_volume_share(f->image, NULL, "alias/b", &f->res),
			 -EKEYREVOKED);
	snprintf(want, sizeof(want),
		 "%s: CMK %s (alias/b) is Disabled in %s; enable it, or choose another CMK",
		 f->image, f->b.id, f->k->name);
	assert_string_equal(ec_err_msg(), want);
}

static void test_share_until_full(void **state)
{
	struct fixture *f = *state;
	struct ec_key_info k;
	struct ec_header before, after;
	char name[16], want[1024];
	int i;

	format(f, "alias/a");
	for (i = 1; i < EC_HDR_SLOTS; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		assert_int_equal(ec_kms_create_key(f->k, EC_SPEC_AES_256, name,
						   &k), 0);
		share(f, k.id, i);
	}
	read_hdr(f, &before);
	assert_int_equal(ec_volume_share(f->image, NULL, "alias/b", &f->res),
			 -ENOSPC);
	snprintf(want, sizeof(want),
		 "%s: all 8 wrap slots are in use; remove one with 'envcryptctl unshare %s --slot N' first",
		 f->image, f->image);
	assert_string_equal(ec_err_msg(), want);
	read_hdr(f, &after);
	assert_int_equal(after.seq, before.seq);
	/* a freed slot is reused */
	assert_int_equal(ec_volume_unshare(f->image, 3, NULL, &f->res), 0);
	share(f, "alias/b", 3);
}

/* ---- unshare --------------------------------------------------------- */

static void test_unshare_by_slot_and_by_key(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;

	format(f, "alias/a");
	share(f, "alias/b", 1);
	share(f, "alias/c", 2);
	assert_int_equal(ec_volume_unshare(f->image, 1, NULL, &f->res), 0);
	assert_int_equal(f->res.slot, 1);
	assert_string_equal(f->res.old.cmk_id, f->b.id);
	assert_int_equal(ec_volume_unshare(f->image, -1, "alias/c", &f->res),
			 0);
	assert_int_equal(f->res.slot, 2);
	registry_has(f, &f->a, true);
	registry_has(f, &f->b, false);
	registry_has(f, &f->c, false);
	read_hdr(f, &hdr);
	assert_true(hdr.slots[0].active);
	assert_false(hdr.slots[1].active);
	assert_false(hdr.slots[2].active);
	/* removed means removed: b alone no longer opens it */
	assert_int_equal(ec_kms_disable_key(f->k, "alias/a", &f->a), 0);
	{
		struct ec_open_params p = { .verify_only = true };
		struct ec_open_result *res = malloc(sizeof(*res));

		assert_int_equal(ec_volume_open(f->image, NULL, &p, res),
				 -EKEYREVOKED);
		free(res);
	}
	assert_non_null(strstr(audit_text(f), "\"op\":\"unshare\""));
}

/* ec_volume_unshare must fail with @r and exactly the message. */
__attribute__((format(printf, 5, 6)))
static void unshare_refused(struct fixture *f, int slot, const char *cmk,
			    int r, const char *fmt, ...)
{
	struct ec_header before, after;
	char want[EC_ERR_MAX];
	va_list ap;

	read_hdr(f, &before);
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_int_equal(ec_volume_unshare(f->image, slot, cmk, &f->res), r);
	assert_string_equal(ec_err_msg(), want);
	read_hdr(f, &after);
	assert_int_equal(after.seq, before.seq);
}

static void test_unshare_refusals(void **state)
{
	struct fixture *f = *state;
	char msg[EC_ERR_MAX];

	format(f, "alias/a");
	unshare_refused(f, 0, NULL, -EINVAL,
			"%s: wrap slot 0 is the volume's only wrap slot; removing it would lose the data",
			f->image);
	unshare_refused(f, -1, "alias/a", -EINVAL,
			"%s: wrap slot 0 is the volume's only wrap slot; removing it would lose the data",
			f->image);
	unshare_refused(f, 4, NULL, -ENOENT,
			"%s: wrap slot 4 is empty; see 'envcryptctl dump %s'",
			f->image, f->image);
	unshare_refused(f, 12, NULL, -EINVAL,
			"wrap slot 12 does not exist: slots are 0 to 7");
	unshare_refused(f, -1, "alias/zzz", -ENOENT,
			"%s: no wrap slot of this volume uses CMK alias/zzz; see 'envcryptctl dump %s'",
			f->image, f->image);
	unshare_refused(f, 1, "alias/a", -EINVAL,
			"unshare: give --slot N or --key CMK, not both");
	unshare_refused(f, -1, NULL, -EINVAL,
			"unshare: give the wrap slot to remove with --slot N or --key CMK");

	/* two slots, but the other one's CMK is disabled */
	share(f, "alias/b", 1);
	assert_int_equal(ec_kms_disable_key(f->k, "alias/b", &f->b), 0);
	assert_int_equal(ec_volume_unshare(f->image, 0, NULL, &f->res),
			 -EINVAL);
	snprintf(msg, sizeof(msg),
		 "%s: wrap slot 0 is the last usable wrap slot: no other slot unwraps the data key (%s: CMK %s (alias/b) is Disabled in %s; enable it to open this volume); removing it would lose the data",
		 f->image, f->image, f->b.id, f->k->name);
	assert_string_equal(ec_err_msg(), msg);
	/* the unusable one may go */
	assert_int_equal(ec_volume_unshare(f->image, 1, NULL, &f->res), 0);
	assert_int_equal(opens(f), 0);
}

/* ---- crash safety ---------------------------------------------------- */

enum op { OP_REWRAP, OP_ROTATE, OP_SHARE, OP_UNSHARE };

static int run_op(struct fixture *f, enum op op)
{
	struct ec_rewrap_params p = { .slot = 0 };

	switch (op) {
	case OP_REWRAP:
		p.cmk = "alias/c";
		return ec_volume_rewrap(f->image, &p, &f->res);
	case OP_ROTATE:
		p.rotate = true;
		return ec_volume_rewrap(f->image, &p, &f->res);
	case OP_SHARE:
		return ec_volume_share(f->image, NULL, "alias/c", &f->res);
	case OP_UNSHARE:
		return ec_volume_unshare(f->image, 1, NULL, &f->res);
	}
	return -EINVAL;
}

static bool same_slot(const struct ec_wrap_slot *x,
		      const struct ec_wrap_slot *y)
{
	if (x->active != y->active)
		return false;
	if (!x->active)
		return true;
	return x->cmk_version == y->cmk_version &&
	       !strcmp(x->cmk_id, y->cmk_id) &&
	       !strcmp(x->kms_uri, y->kms_uri) &&
	       x->wrapped.len == y->wrapped.len &&
	       !memcmp(x->wrapped.data, y->wrapped.data, x->wrapped.len);
}

static bool same_slots(const struct ec_header *x, const struct ec_header *y)
{
	int i;

	for (i = 0; i < EC_HDR_SLOTS; i++)
		if (!same_slot(&x->slots[i], &y->slots[i]))
			return false;
	return true;
}

/* Is @hdr the state after @op from @old? */
static bool is_new(struct fixture *f, enum op op, const struct ec_header *old,
		   const struct ec_header *hdr)
{
	int i;

	/* a in 0, b in 1 before; share adds c in 2 */
	for (i = op == OP_SHARE ? 3 : 2; i < EC_HDR_SLOTS; i++)
		if (hdr->slots[i].active)
			return false;
	switch (op) {
	case OP_REWRAP:
		return !strcmp(hdr->slots[0].cmk_id, f->c.id) &&
		       same_slot(&hdr->slots[1], &old->slots[1]);
	case OP_ROTATE:
		return !strcmp(hdr->slots[0].cmk_id, f->a.id) &&
		       hdr->slots[0].cmk_version == 2 &&
		       same_slot(&hdr->slots[1], &old->slots[1]);
	case OP_SHARE:
		return same_slot(&hdr->slots[0], &old->slots[0]) &&
		       same_slot(&hdr->slots[1], &old->slots[1]) &&
		       hdr->slots[2].active &&
		       !strcmp(hdr->slots[2].cmk_id, f->c.id);
	case OP_UNSHARE:
		return same_slot(&hdr->slots[0], &old->slots[0]) &&
		       !hdr->slots[1].active;
	}
	return false;
}

static void save_header(struct fixture *f, uint8_t *buf, size_t len)
{
	int fd = open(f->image, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, 0), (ssize_t)len);
	close(fd);
}

static void restore_header(struct fixture *f, const uint8_t *buf,
			   size_t len)
{
	int fd = open(f->image, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
	close(fd);
}

static const char *const op_names[] = { "rewrap", "rewrap --rotate",
					"share", "unshare" };
static const char *const mode_names[] = { "none", "pwrite", "torn pwrite",
					  "fdatasync" };

/*
 * For each fault mode, N = 1, 2, ...: restore the header, fail the Nth
 * write (or sync) of @op, and check that the volume opens with the old
 * or the new slots; until @op no longer reaches an Nth write.
 */
static void crash_every_write(struct fixture *f, enum op op)
{
	static uint8_t saved[EC_HDR_COPIES * EC_HDR_COPY_SIZE];
	struct ec_header *old = malloc(sizeof(*old));
	struct ec_header *hdr = malloc(sizeof(*hdr));
	enum fault_mode mode;
	int n, r, olds = 0, news = 0;

	read_hdr(f, old);
	save_header(f, saved, sizeof(saved));
	for (mode = FAULT_WRITE; mode <= FAULT_SYNC; mode++) {
		for (n = 1; ; n++) {
			restore_header(f, saved, sizeof(saved));
			fault_set(f->image, mode, n);
			r = run_op(f, op);
			fault.mode = FAULT_NONE;
			if (!fault.hit) {
				/* past the last write: it went through */
				if (r)
					fail_msg("%s: %s", op_names[op],
						 ec_err_msg());
				read_hdr(f, hdr);
				assert_true(is_new(f, op, old, hdr));
				assert_true(n > 2);	/* two copies */
				break;
			}
			if (!r)
				fail_msg("%s succeeded though %s %d failed",
					 op_names[op], mode_names[mode], n);
			assert_non_null(strstr(ec_err_msg(),
					       "writing the header"));
			opens(f);
			read_hdr(f, hdr);
			if (same_slots(hdr, old))
				olds++;
			else if (is_new(f, op, old, hdr))
				news++;
			else
				fail_msg("%s, %s %d failed: neither the old nor the new slots",
					 op_names[op], mode_names[mode], n);
		}
	}
	/* a failure on copy 0 leaves the old state, on copy 1 the new */
	assert_true(olds > 0);
	assert_true(news > 0);
	free(old);
	free(hdr);
}

/* Two slots: a in 0, b in 1; a rotated to version 2. */
static void crash_setup(struct fixture *f)
{
	format(f, "alias/a");
	share(f, "alias/b", 1);
	assert_int_equal(ec_kms_rotate_key(f->k, "alias/a", &f->a), 0);
}

static void test_crash_rewrap(void **state)
{
	struct fixture *f = *state;

	crash_setup(f);
	crash_every_write(f, OP_REWRAP);
}

static void test_crash_rotate(void **state)
{
	struct fixture *f = *state;

	crash_setup(f);
	crash_every_write(f, OP_ROTATE);
}

static void test_crash_share(void **state)
{
	struct fixture *f = *state;

	crash_setup(f);
	crash_every_write(f, OP_SHARE);
}

static void test_crash_unshare(void **state)
{
	struct fixture *f = *state;

	crash_setup(f);
	crash_every_write(f, OP_UNSHARE);
}

/*
 * Copy 1 damaged by an earlier interruption: a change that is interrupted
 * while it writes copy 0 must not leave the volume without a whole copy.
 */
static void test_crash_with_copy_1_damaged(void **state)
{
	static uint8_t saved[EC_HDR_COPIES * EC_HDR_COPY_SIZE];
	struct fixture *f = *state;
	struct ec_header_load load;
	struct ec_header hdr;
	int fd, n, r;

	crash_setup(f);
	save_header(f, saved, sizeof(saved));
	memset(saved + EC_HDR_COPY_SIZE + 100, 0x5a, 64);
	for (n = 1; ; n++) {
		restore_header(f, saved, sizeof(saved));
		fault_set(f->image, FAULT_TORN, n);
		r = run_op(f, OP_SHARE);
		fault.mode = FAULT_NONE;
		if (!fault.hit) {
			assert_int_equal(r, 0);
			break;
		}
		assert_int_not_equal(r, 0);
		opens(f);
	}
	fd = open(f->image, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ec_header_read(fd, &hdr, &load), 0);
	close(fd);
	assert_int_equal(load.copy[0], EC_COPY_OK);
	assert_int_equal(load.copy[1], EC_COPY_OK);
	assert_true(hdr.slots[2].active);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_rewrap_to_another_cmk),
		T(test_rewrap_rotate_uses_newest_version),
		T(test_rewrap_refusals),
		T(test_rewrap_with_several_slots),
		T(test_rewrap_to_another_kms),
		T(test_share_adds_a_slot),
		T(test_share_same_cmk_twice),
		T(test_share_service_key_volume),
		T(test_share_to_service_key_refused),
		T(test_share_disabled_recipient),
		T(test_share_until_full),
		T(test_unshare_by_slot_and_by_key),
		T(test_unshare_refusals),
		T(test_crash_rewrap),
		T(test_crash_rotate),
		T(test_crash_share),
		T(test_crash_unshare),
		T(test_crash_with_copy_1_damaged),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
