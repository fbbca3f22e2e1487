// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the deletion records of the KMIP provider
 * (tools/lib/kms/kmip-pending.c), "key ID DATE [CREATED]" lines between
 * a format line and "end".  The input is the file of one server, in the
 * state directory $ENVCRYPT_KMIP_STATE_DIR.  A file that loads must give
 * records that kmip_pending_get() finds again; writing one record back
 * unchanged must give a file that loads to the same records.  A corrupt
 * file must be refused with -EIO and a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kms/kmip-pending.h"

#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct kmip_pending_record *a, size_t na,
		 const struct kmip_pending_record *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].uid, b[i].uid) || a[i].date != b[i].date ||
		    a[i].created != b[i].created)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512];
	struct kmip_pending_record *recs, *again, rec;
	struct kmip_pending p;
	size_t n, m, i;
	int r;

	ec_err_clear();
	if (size > 64 * 1024)
		return 0;
	setenv("ENVCRYPT_KMIP_STATE_DIR", fuzz_dir(), 1);
	if (kmip_pending_init(&p, "kms.example", "5696", "fuzz"))
		abort();
	fuzz_file("kms.example_5696.pending", data, size, path, sizeof(path));
	if (strcmp(path, p.path))
		abort();
	r = kmip_pending_load(&p, &recs, &n);
	if (r) {
		if (r != -EIO || !ec_err_msg()[0])
			abort();
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!recs[i].uid[0] || recs[i].date <= 0)
			abort();
		if (kmip_pending_get(&p, recs[i].uid, &rec) != 1)
			abort();
	}
	/* the same record written back: the same records read */
	for (i = 0; i < n; i++) {
		size_t j, dup = 0;

		for (j = 0; j < n; j++)
			dup += !strcmp(recs[j].uid, recs[i].uid);
		if (dup != 1)
			break;	/* a uid twice: set() keeps one */
	}
	if (n && i == n) {
		if (kmip_pending_set(&p, recs[0].uid, recs[0].date,
				     recs[0].created) ||
		    kmip_pending_load(&p, &again, &m))
			abort();
		if (!same(recs, n, again, m))
			abort();
		free(again);
	}
	free(recs);
	return 0;
}
