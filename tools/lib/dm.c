// SPDX-License-Identifier: GPL-2.0
/*
 * Device-mapper through libdevmapper: the envcrypt devices of this host.
 *
 * libdevmapper prints its errors on stderr by default; here they become
 * the library's error message instead, so the CLI prints one line that
 * names the volume.
 */
#include <inttypes.h>
#include <libdevmapper.h>
#include <libkmod.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm-envcrypt.h"
#include "dm.h"
#include "error.h"

#define EC_MODULE_NAME	"dm-envcrypt"

static char dm_last_error[256];

__attribute__((format(printf, 5, 6)))
static void dm_log(int level, const char *file, int line, int dm_errno,
		   const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	if (level > 3)		/* _LOG_ERR; keep warnings and debug out */
		return;
	va_start(ap, fmt);
	vsnprintf(dm_last_error, sizeof(dm_last_error), fmt, ap);
	va_end(ap);
}

static void dm_setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	dm_log_with_errno_init(dm_log);
}

static struct dm_task *dm_task_for(int type, const char *name)
{
	struct dm_task *dmt;

	dm_setup();
	dm_last_error[0] = '\0';
	dmt = dm_task_create(type);
	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

/* Run @dmt; on failure return -errno with a message about @what. */
static int dm_run(struct dm_task *dmt, const char *what, const char *name)
{
	int r;

	if (dm_task_run(dmt))
		return 0;
	r = dm_task_get_errno(dmt);
	r = r > 0 ? -r : -EIO;
	return ec_err_set(r, "device-mapper %s of '%s' failed: %s",
			  what, name ? name : "-",
			  dm_last_error[0] ? dm_last_error : strerror(-r));
}

int ec_dm_create(const char *name, const char *dm_uuid, uint64_t sectors,
		 const char *params, bool readonly)
{
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int r = -ENOMEM;

	dmt = dm_task_for(DM_DEVICE_CREATE, name);
	if (!dmt)
		goto out;
	if (!dm_task_set_uuid(dmt, dm_uuid) ||
	    !dm_task_add_target(dmt, 0, sectors, ENVCRYPT_TARGET_NAME,
				params) ||
	    !dm_task_secure_data(dmt))
		goto out;
	if (readonly && !dm_task_set_ro(dmt))
		goto out;
	if (!dm_task_set_cookie(dmt, &cookie, 0))
		goto out;
	r = dm_run(dmt, "create", name);
	dm_udev_wait(cookie);
	if (r == -EBUSY)
		r = -EEXIST;
out:
	if (r == -ENOMEM)
		ec_err_set(r, "device-mapper: out of memory creating '%s'",
			   name);
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

int ec_dm_remove(const char *name)
{
	struct ec_dm_info info;
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int r;

	r = ec_dm_info(name, &info);
	if (r)
		return r;
	if (!info.exists)
		return ec_err_set(-ENXIO, "no device-mapper device '%s'", name);
	if (info.open_count > 0)
		return ec_err_set(-EBUSY, "'%s' is in use (open %d times): unmount or close it first",
				  name, info.open_count);
	dmt = dm_task_for(DM_DEVICE_REMOVE, name);
	if (!dmt)
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	dm_task_retry_remove(dmt);
	if (!dm_task_set_cookie(dmt, &cookie, 0)) {
		dm_task_destroy(dmt);
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	}
	r = dm_run(dmt, "remove", name);
	dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	return r;
}

/* First target's type and params of the table or status of @name. */
static int dm_first_target(const char *name, int type, char *target,
			   size_t target_size, uint64_t *length,
			   char *params_out, size_t params_size)
{
	struct dm_task *dmt;
	uint64_t start, len;
	char *ttype = NULL, *params = NULL;
	int r;

	dmt = dm_task_for(type, name);
	if (!dmt)
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	if (type == DM_DEVICE_TABLE)
		dm_task_secure_data(dmt);
	r = dm_run(dmt, type == DM_DEVICE_TABLE ? "table" : "status", name);
	if (!r) {
		dm_get_next_target(dmt, NULL, &start, &len, &ttype, &params);
		snprintf(target, target_size, "%s", ttype ? ttype : "");
		snprintf(params_out, params_size, "%s", params ? params : "");
		if (length)
			*length = len;
	}
	dm_task_destroy(dmt);
	return r;
}

int ec_dm_info(const char *name, struct ec_dm_info *info)
{
	struct dm_task *dmt;
	struct dm_info di;
	const char *uuid;
	int r;

	memset(info, 0, sizeof(*info));
	dmt = dm_task_for(DM_DEVICE_INFO, name);
	if (!dmt)
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	r = dm_run(dmt, "info", name);
	if (r)
		goto out;
	if (!dm_task_get_info(dmt, &di)) {
		r = ec_err_set(-EIO, "device-mapper info of '%s' failed",
			       name);
		goto out;
	}
	if (!di.exists)
		goto out;
	info->exists = true;
	info->suspended = di.suspended;
	info->readonly = di.read_only;
	info->open_count = di.open_count;
	info->major = di.major;
	info->minor = di.minor;
	uuid = dm_task_get_uuid(dmt);
	snprintf(info->uuid, sizeof(info->uuid), "%s", uuid ? uuid : "");
	if (di.target_count < 1)
		goto out;
	r = dm_first_target(name, DM_DEVICE_TABLE, info->target,
			    sizeof(info->target), &info->length,
			    info->table, sizeof(info->table));
	if (!r)
		r = dm_first_target(name, DM_DEVICE_STATUS, info->target,
				    sizeof(info->target), NULL,
				    info->status, sizeof(info->status));
out:
	dm_task_destroy(dmt);
	return r;
}

int ec_dm_find_uuid(const char *dm_uuid, char *name, size_t size)
{
	struct dm_task *dmt;
	struct dm_info di;
	int r;

	dmt = dm_task_for(DM_DEVICE_INFO, NULL);
	if (!dmt || !dm_task_set_uuid(dmt, dm_uuid)) {
		if (dmt)
			dm_task_destroy(dmt);
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	}
	r = dm_run(dmt, "info", dm_uuid);
	if (!r) {
		r = dm_task_get_info(dmt, &di) && di.exists;
		if (r)
			snprintf(name, size, "%s", dm_task_get_name(dmt));
	}
	dm_task_destroy(dmt);
	return r;
}

void ec_dm_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int ec_dm_list(char ***names_out, size_t *n_out)
{
	struct dm_task *dmt;
	struct dm_names *dn;
	struct ec_dm_info info;
	char **names = NULL, **grown;
	size_t n = 0;
	uint32_t next = 0;
	int r;

	*names_out = NULL;
	*n_out = 0;
	dmt = dm_task_for(DM_DEVICE_LIST, NULL);
	if (!dmt)
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	r = dm_run(dmt, "list", NULL);
	if (r)
		goto out;
	dn = dm_task_get_names(dmt);
	if (!dn || !dn->dev)
		goto out;
	do {
		dn = (struct dm_names *)((char *)dn + next);
		next = dn->next;
		r = ec_dm_info(dn->name, &info);
		if (r)
			goto out;
		if (!info.exists || strncmp(info.uuid, EC_DM_UUID_PREFIX,
					    strlen(EC_DM_UUID_PREFIX)))
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown || !(grown[n] = strdup(dn->name))) {
			names = grown ? grown : names;
			r = ec_err_set(-ENOMEM, "out of memory");
			goto out;
		}
		names = grown;
		n++;
	} while (next);
out:
	dm_task_destroy(dmt);
	if (r) {
		ec_dm_list_free(names, n);
		return r;
	}
	*names_out = names;
	*n_out = n;
	return 0;
}

int ec_dm_message(const char *name, const char *msg)
{
	struct dm_task *dmt;
	int r;

	dmt = dm_task_for(DM_DEVICE_TARGET_MSG, name);
	if (!dmt)
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg) ||
	    !dm_task_secure_data(dmt)) {
		dm_task_destroy(dmt);
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	}
	r = dm_run(dmt, "message", name);
	dm_task_destroy(dmt);
	return r;
}

int ec_dm_suspend(const char *name)
{
	struct dm_task *dmt;
	int r;

	dmt = dm_task_for(DM_DEVICE_SUSPEND, name);
	if (!dmt)
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	r = dm_run(dmt, "suspend", name);
	dm_task_destroy(dmt);
	return r;
}

int ec_dm_resume(const char *name)
{
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int r;

	dmt = dm_task_for(DM_DEVICE_RESUME, name);
	if (!dmt)
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	if (!dm_task_set_cookie(dmt, &cookie, 0)) {
		dm_task_destroy(dmt);
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	}
	r = dm_run(dmt, "resume", name);
	dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	return r;
}

/* Does device-mapper know the envcrypt target?  1, 0, or -errno. */
static int dm_has_target(void)
{
	struct dm_task *dmt;
	struct dm_versions *v;
	uint32_t next = 0;
	int r, found = 0;

	dmt = dm_task_for(DM_DEVICE_LIST_VERSIONS, NULL);
	if (!dmt)
		return ec_err_set(-ENOMEM, "device-mapper: out of memory");
	r = dm_run(dmt, "target list", NULL);
	if (r) {
		dm_task_destroy(dmt);
		return r;
	}
	v = dm_task_get_versions(dmt);
	do {
		v = (struct dm_versions *)((char *)v + next);
		if (!strcmp(v->name, ENVCRYPT_TARGET_NAME))
			found = 1;
		next = v->next;
	} while (next && !found);
	dm_task_destroy(dmt);
	return found;
}

static int dm_load_module(void)
{
	struct kmod_ctx *ctx;
	struct kmod_module *mod = NULL;
	int r;

	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return ec_err_set(-ENOMEM, "kmod: cannot start libkmod");
	r = kmod_module_new_from_name(ctx, EC_MODULE_NAME, &mod);
	if (!r)
		r = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL,
						    NULL);
	if (r == -ENOENT || (r == 0 && !kmod_module_get_path(mod)))
		r = ec_err_set(-ENOENT, "the kernel has no envcrypt target and module %s is not installed for this kernel: install it (make -C kernel modules_install) or insmod dm-envcrypt.ko",
			       EC_MODULE_NAME);
	else if (r)
		r = ec_err_set(r < 0 ? r : -EIO,
			       "cannot load module %s: %s; see dmesg",
			       EC_MODULE_NAME, strerror(r < 0 ? -r : EIO));
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return r;
}

int ec_dm_load_target(void)
{
	int r;

	r = dm_has_target();
	if (r != 0)
		return r < 0 ? r : 0;
	r = dm_load_module();
	if (r)
		return r;
	r = dm_has_target();
	if (r < 0)
		return r;
	if (!r)
		return ec_err_set(-ENOENT, "module %s loaded but device-mapper has no %s target; see dmesg",
				  EC_MODULE_NAME, ENVCRYPT_TARGET_NAME);
	return 0;
}
