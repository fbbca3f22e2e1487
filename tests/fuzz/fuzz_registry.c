// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the volume registry file (tools/lib/registry.c),
 * JSON lines that every command reads to find which volumes a CMK wraps.
 * The input is the file, named by $ENVCRYPT_REGISTRY; ec_registry_load()
 * must skip what does not parse and give only entries that hold what a
 * registry entry promises: a volume, an absolute device, at most
 * EC_HDR_SLOTS slots with in-range numbers, every string terminated.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "registry.h"

#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct ec_registry_entry *e)
{
	int i;

	if (!e->volume[0] || e->device[0] != '/' || e->seen < 0 ||
	    e->nslots < 0 || e->nslots > EC_HDR_SLOTS ||
	    strnlen(e->volume, sizeof(e->volume)) == sizeof(e->volume) ||
	    strnlen(e->device, sizeof(e->device)) == sizeof(e->device) ||
	    strnlen(e->label, sizeof(e->label)) == sizeof(e->label) ||
	    strnlen(e->cipher, sizeof(e->cipher)) == sizeof(e->cipher))
		abort();
	for (i = 0; i < e->nslots; i++) {
		const struct ec_registry_slot *s = &e->slots[i];

		if (s->slot < 0 || s->slot >= EC_HDR_SLOTS ||
		    strnlen(s->cmk_id, sizeof(s->cmk_id)) ==
		    sizeof(s->cmk_id) ||
		    strnlen(s->cmk_alias, sizeof(s->cmk_alias)) ==
		    sizeof(s->cmk_alias) ||
		    strnlen(s->kms_uri, sizeof(s->kms_uri)) ==
		    sizeof(s->kms_uri))
			abort();
		/* a slot's own CMK is one the entry uses */
		if (!ec_registry_uses(e, s->cmk_id, s->kms_uri) ||
		    !ec_registry_uses(e, s->cmk_id, NULL))
			abort();
	}
	ec_registry_uses(e, "alias/db", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512];
	struct ec_registry_entry *entries;
	size_t n, i, lines = 1;
	int r;

	fuzz_file("registry", data, size, path, sizeof(path));
	setenv("ENVCRYPT_REGISTRY", path, 1);
	r = ec_registry_load(&entries, &n);
	if (r)
		abort();	/* a readable file always loads */
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (n > lines || (n && !entries))
		abort();
	for (i = 0; i < n; i++)
		check_entry(&entries[i]);
	free(entries);
	return 0;
}
