// SPDX-License-Identifier: GPL-2.0
/*
 * "kms usage KEY": the volumes whose data key a CMK wraps, from the host
 * registry (registry.h) and from scanned headers; and the guard that
 * keeps "kms disable-key" and "kms schedule-deletion" from locking out
 * volumes still in use.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "blockdev.h"
#include "cli.h"
#include "error.h"
#include "json.h"
#include "kms.h"
#include "registry.h"

#define SCAN_DEPTH_MAX	8
#define GUARD_LIST_MAX	10

struct usage_vol {
	struct ec_registry_entry e;
	int slots[EC_HDR_SLOTS];	/* the wrap slots with this CMK */
	int nslots;
	bool in_registry, scanned;
	enum ec_registry_state state;
	char why[PATH_MAX + 128];
};

struct usage {
	/* the key asked for, and what the KMS said it is */
	const char *key;
	char cmk_id[EC_CMK_ID_MAX];
	char cmk_alias[EC_CMK_ALIAS_MAX];
	char kms_uri[EC_KMS_URI_MAX];	/* "": any KMS (not reachable) */
	bool resolved, service;
	enum ec_key_state state;
	char resolve_err[EC_ERR_MAX];
	struct usage_vol *v;
	size_t n, cap;
};

/* Find KEY's id through --kms; without the KMS, match it as written. */
static int usage_resolve(const struct cli_opts *o, const char *key,
			 struct usage *u)
{
	struct ec_key_info info;
	struct ec_kms *kms;
	int r;

	memset(u, 0, sizeof(*u));
	u->key = key;
	r = ec_kms_open(o->kms, &kms);
	if (r == -EINVAL)
		return r;
	if (!r) {
		snprintf(u->kms_uri, sizeof(u->kms_uri), "%s", kms->uri);
		r = ec_kms_describe_key(kms, key, &info);
		ec_kms_close(kms);
	}
	if (!r) {
		u->resolved = true;
		u->service = info.service;
		u->state = info.state;
		snprintf(u->cmk_id, sizeof(u->cmk_id), "%s", info.id);
		snprintf(u->cmk_alias, sizeof(u->cmk_alias), "%s",
			 info.alias);
		return 0;
	}
	snprintf(u->resolve_err, sizeof(u->resolve_err), "%s", ec_err_msg());
	ec_err_clear();
	if (!strncmp(key, EC_ALIAS_PREFIX, strlen(EC_ALIAS_PREFIX)))
		snprintf(u->cmk_alias, sizeof(u->cmk_alias), "%s", key);
	else
		snprintf(u->cmk_id, sizeof(u->cmk_id), "%s", key);
	return 0;
}

static bool slot_matches(const struct usage *u, const char *cmk_id,
			 const char *cmk_alias, const char *kms_uri)
{
	if (u->kms_uri[0] && strcmp(u->kms_uri, kms_uri))
		return false;
	if (u->cmk_id[0])
		return !strcmp(u->cmk_id, cmk_id);
	return cmk_alias[0] && !strcmp(u->cmk_alias, cmk_alias);
}

/* The slots of @e with the key; 0 when none. */
static int matching_slots(const struct usage *u,
			  const struct ec_registry_entry *e, int *slots)
{
	int i, n = 0;

	for (i = 0; i < e->nslots; i++)
		if (slot_matches(u, e->slots[i].cmk_id, e->slots[i].cmk_alias,
				 e->slots[i].kms_uri))
			slots[n++] = e->slots[i].slot;
	return n;
}

static struct usage_vol *usage_find(struct usage *u, const char *volume,
				    const char *device)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (!strcmp(u->v[i].e.volume, volume) &&
		    !strcmp(u->v[i].e.device, device))
			return &u->v[i];
	return NULL;
}

static struct usage_vol *usage_add(struct usage *u)
{
	struct usage_vol *v;

	if (u->n == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 8;
		v = realloc(u->v, u->cap * sizeof(*v));
		if (!v)
			return NULL;
		u->v = v;
	}
	v = &u->v[u->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

static int usage_registry(struct usage *u)
{
	struct ec_registry_entry *entries;
	struct usage_vol *v;
	int slots[EC_HDR_SLOTS], ns;
	size_t i, n;
	int r;

	r = ec_registry_load(&entries, &n);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		const struct ec_registry_entry *e = &entries[i];
		const struct ec_registry_slot *s;
		int k;

		ns = matching_slots(u, e, slots);
		if (!ns)
			continue;
		v = usage_add(u);
		if (!v) {
			free(entries);
			return ec_err_set(-ENOMEM, "out of memory");
		}
		v->e = *e;
		memcpy(v->slots, slots, sizeof(slots));
		v->nslots = ns;
		v->in_registry = true;
		/* check against the slot as recorded: its id and KMS */
		for (k = 0, s = NULL; k < e->nslots && !s; k++)
			if (e->slots[k].slot == slots[0])
				s = &e->slots[k];
		v->state = ec_registry_check(e, s->cmk_id, s->kms_uri,
					     v->why, sizeof(v->why));
	}
	free(entries);
	return 0;
}

/* The header of @path, if it has one that uses the key. */
static int scan_one(struct usage *u, const char *path)
{
	struct ec_registry_entry *e;
	struct ec_blockdev dev;
	struct ec_header *hdr;
	struct usage_vol *v;
	int slots[EC_HDR_SLOTS], ns, r;

	hdr = malloc(sizeof(*hdr));
	e = malloc(sizeof(*e));
	if (!hdr || !e) {
		free(hdr);
		free(e);
		return ec_err_set(-ENOMEM, "out of memory");
	}
	r = ec_blockdev_open(path, false, false, &dev);
	if (!r) {
		r = ec_header_read(dev.fd, hdr, NULL);
		ec_blockdev_close(&dev);
	}
	ec_err_clear();
	if (r) {
		/* not a volume, or unreadable: not one the key wraps */
		r = 0;
		goto out;
	}
	ec_registry_entry_fill(e, path, hdr);
	ns = matching_slots(u, e, slots);
	if (!ns)
		goto out;
	v = usage_find(u, e->volume, e->device);
	if (!v) {
		v = usage_add(u);
		if (!v) {
			r = ec_err_set(-ENOMEM, "out of memory");
			goto out;
		}
		v->e = *e;
	}
	memcpy(v->slots, slots, sizeof(slots));
	v->nslots = ns;
	v->scanned = true;
	v->state = EC_REG_CURRENT;
	v->why[0] = '\0';
out:
	free(hdr);
	free(e);
	return r;
}

static int scan_path(struct usage *u, const char *path, int depth)
{
	struct dirent *d;
	struct stat st;
	char *sub;
	DIR *dir;
	int r = 0;

	if (lstat(path, &st) < 0)
		return ec_err_set(-errno, "--scan %s: %s", path,
				  strerror(errno));
	if (S_ISLNK(st.st_mode) && depth == 0 && stat(path, &st) < 0)
		return ec_err_set(-errno, "--scan %s: %s", path,
				  strerror(errno));
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return scan_one(u, path);
	if (!S_ISDIR(st.st_mode) || depth >= SCAN_DEPTH_MAX)
		return 0;
	dir = opendir(path);
	if (!dir) {
		if (depth)
			return 0;
		return ec_err_set(-errno, "--scan %s: %s", path,
				  strerror(errno));
	}
	while (!r && (d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (asprintf(&sub, "%s/%s", path, d->d_name) < 0) {
			r = ec_err_set(-ENOMEM, "out of memory");
			break;
		}
		r = scan_path(u, sub, depth + 1);
		free(sub);
	}
	closedir(dir);
	return r;
}

static int usage_collect(const struct cli_opts *o, const char *key,
			 struct usage *u)
{
	unsigned int i;
	int r;

	r = usage_resolve(o, key, u);
	if (r)
		return r;
	r = usage_registry(u);
	for (i = 0; !r && i < o->n_scan; i++)
		r = scan_path(u, o->scan[i], 0);
	return r;
}

static void key_name(const struct usage *u, char *buf, size_t size)
{
	snprintf(buf, size, "CMK %s%s%s%s", u->cmk_id[0] ? u->cmk_id : u->key,
		 u->cmk_alias[0] && u->cmk_id[0] ? " (" : "",
		 u->cmk_id[0] ? u->cmk_alias : "",
		 u->cmk_alias[0] && u->cmk_id[0] ? ")" : "");
}

static const char *state_name(enum ec_registry_state st)
{
	switch (st) {
	case EC_REG_CURRENT:
		return "current";
	case EC_REG_STALE:
		return "stale";
	default:
		return "unknown";
	}
}

static const char *source_name(const struct usage_vol *v)
{
	return v->in_registry && v->scanned ? "registry+scan" :
	       v->in_registry ? "registry" : "scan";
}

static void slots_text(const struct usage_vol *v, char *buf, size_t size)
{
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < v->nslots && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%d", i ? "," : "",
				v->slots[i]);
}

static void usage_json(const struct usage *u)
{
	const char *reg = ec_registry_path();
	struct json j;
	size_t i;
	int k;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "key", u->key);
	json_string(&j, "cmk_id", u->cmk_id);
	json_string(&j, "cmk_alias", u->cmk_alias);
	json_string(&j, "kms", u->kms_uri);
	json_bool(&j, "resolved", u->resolved);
	if (!u->resolved)
		json_string(&j, "resolve_error", u->resolve_err);
	json_string(&j, "registry", reg ? reg : "off");
	json_array_begin(&j, "volumes");
	for (i = 0; i < u->n; i++) {
		const struct usage_vol *v = &u->v[i];

		json_object_begin(&j, NULL);
		json_string(&j, "volume", v->e.volume);
		json_string(&j, "device", v->e.device);
		json_string(&j, "label", v->e.label);
		json_array_begin(&j, "slots");
		for (k = 0; k < v->nslots; k++)
			json_int(&j, NULL, v->slots[k]);
		json_array_end(&j);
		json_string(&j, "source", source_name(v));
		json_string(&j, "state", state_name(v->state));
		if (v->why[0])
			json_string(&j, "why", v->why);
		if (v->in_registry)
			json_time(&j, "last_seen", v->e.seen);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
}

int cmd_kms_usage(const struct cli_opts *o, int argc, char **argv)
{
	struct usage u;
	char name[EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8], slots[32];
	size_t i, stale = 0;
	int r;

	(void)argc;
	r = usage_collect(o, argv[0], &u);
	if (r)
		goto out;
	if (!u.resolved)
		fprintf(stderr, "envcryptctl: warning: %s; matching %s as the wrap slots recorded it%s\n",
			u.resolve_err, argv[0],
			u.kms_uri[0] ? "" : ", in any KMS");
	if (o->json) {
		usage_json(&u);
		goto out;
	}
	for (i = 0; i < u.n; i++)
		stale += u.v[i].state == EC_REG_STALE;
	key_name(&u, name, sizeof(name));
	printf("%s in %s: %zu volume%s", name,
	       u.kms_uri[0] ? u.kms_uri : "any KMS", u.n - stale,
	       u.n - stale == 1 ? "" : "s");
	if (stale)
		printf(", %zu stale registry entr%s", stale,
		       stale == 1 ? "y" : "ies");
	printf("\n");
	if (!u.n)
		goto out;
	printf("%-36s %-5s %-13s %-7s %s\n", "VOLUME", "SLOTS", "SOURCE",
	       "STATE", "DEVICE");
	for (i = 0; i < u.n; i++) {
		const struct usage_vol *v = &u.v[i];

		slots_text(v, slots, sizeof(slots));
		printf("%-36s %-5s %-13s %-7s %s%s%s%s\n", v->e.volume, slots,
		       source_name(v), state_name(v->state), v->e.device,
		       v->why[0] ? " (" : "", v->why, v->why[0] ? ")" : "");
	}
out:
	free(u.v);
	return r;
}

int cli_key_in_use_guard(const struct cli_opts *o, const char *key,
			 const char *what)
{
	struct usage u;
	char name[EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8];
	char detail[1024];
	size_t i, used = 0, shown = 0, len = 0;
	struct ec_audit a;
	int r;

	r = usage_resolve(o, key, &u);
	/*
	 * A key the KMS cannot describe cannot be changed either: the
	 * operation itself says why.  Neither can the service key, nor a key
	 * PendingDeletion; and disabling a Disabled key changes nothing.
	 */
	if (r || !u.resolved || u.service ||
	    u.state == EC_KEY_PENDING_DELETION ||
	    (u.state == EC_KEY_DISABLED && !strcmp(what, "disable-key"))) {
		ec_err_clear();
		return 0;
	}
	r = usage_registry(&u);
	if (r) {
		fprintf(stderr, "envcryptctl: warning: cannot read the volume registry: %s\n",
			ec_err_msg());
		ec_err_clear();
		r = 0;
		goto out;
	}
	for (i = 0; i < u.n; i++)
		used += u.v[i].state != EC_REG_STALE;
	if (!used)
		goto out;
	key_name(&u, name, sizeof(name));
	fprintf(stderr, "envcryptctl: %s in %s wraps the data key of %zu volume%s:\n",
		name, u.kms_uri, used, used == 1 ? "" : "s");
	for (i = 0; i < u.n; i++) {
		const struct usage_vol *v = &u.v[i];

		if (v->state == EC_REG_STALE)
			continue;
		if (shown < GUARD_LIST_MAX) {
			fprintf(stderr, "  volume %s on %s%s%s%s\n", v->e.volume,
				v->e.device,
				v->state == EC_REG_UNKNOWN ? " (cannot be read: " : "",
				v->state == EC_REG_UNKNOWN ? v->why : "",
				v->state == EC_REG_UNKNOWN ? ")" : "");
			if (len < sizeof(detail))
				len += snprintf(detail + len,
						sizeof(detail) - len,
						"%s%s on %s", shown ? ", " : "",
						v->e.volume, v->e.device);
		}
		shown++;
	}
	if (used > GUARD_LIST_MAX)
		fprintf(stderr, "  and %zu more (see 'envcryptctl kms usage %s')\n",
			used - GUARD_LIST_MAX, key);
	if (!o->force) {
		r = ec_err_set(-EBUSY, "kms %s: refused: %s is in use by %zu volume%s; rewrap %s under another CMK first ('envcryptctl rewrap DEVICE --key CMK'), or give --force",
			       what, name, used, used == 1 ? "" : "s",
			       used == 1 ? "it" : "them");
		goto out;
	}
	fprintf(stderr, "envcryptctl: --force: going on with %s\n", what);
	memset(&a, 0, sizeof(a));
	a.op = "force-key-change";
	a.cmk = u.cmk_id;
	a.kms = u.kms_uri;
	{
		char text[1200];

		snprintf(text, sizeof(text), "%s while in use by %zu volume%s: %s%s",
			 what, used, used == 1 ? "" : "s", detail,
			 used > GUARD_LIST_MAX ? ", ..." : "");
		a.detail = text;
		ec_audit_log(&a, 0);
	}
out:
	free(u.v);
	return r;
}
