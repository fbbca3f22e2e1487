// SPDX-License-Identifier: GPL-2.0
/*
 * The connection of the PKCS#11 KMS to its token (pkcs11-session.h): the
 * module is loaded with dlopen() at the first operation, not at open;
 * one session per struct ec_kms, logged in as the user with the PIN from
 * pin-source= or $ENVCRYPT_PKCS11_PIN, kept until close.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckr.h"
#include "error.h"
#include "pkcs11-session.h"
#include "secmem.h"

#define PIN_MAX			256
#define FIND_BATCH		64

/* The loaded modules (struct p11_module). */
static struct p11_module *p11_modules;

int p11_fail(struct pkcs11_kms *pk, CK_RV rv, const char *what)
{
	char name[48];
	int r = ec_ckr_errno(rv);

	ec_ckr_format(rv, name, sizeof(name));
	if (r == -EAGAIN) {
		p11_disconnect(pk);
		return ec_err_set(r,
				  "%s: %s failed (%s): the token or its session went away; retry when the token is back",
				  pk->kms.name, what, name);
	}
	if (r == -EOPNOTSUPP)
		return ec_err_set(r,
				  "%s: %s failed (%s): the token does not support it",
				  pk->kms.name, what, name);
	return ec_err_set(r, "%s: %s failed (%s)", pk->kms.name, what, name);
}

/* ---- the module ------------------------------------------------------ */

/* Drop a user of @m: the last one finalizes (if we did init) and unloads. */
static void module_put(struct p11_module *m)
{
	struct p11_module **p;

	if (!m || --m->users)
		return;
	for (p = &p11_modules; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			break;
		}
	}
	if (m->finalize)
		m->f->C_Finalize(NULL);
	dlclose(m->dl);
	free(m);
}

/* Load and initialize the module of @pk's URI, or share it when loaded. */
static int module_get(struct pkcs11_kms *pk)
{
	const char *path = pk->uri.module_path;
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
	CK_C_GetFunctionList get_function_list;
	struct p11_module *m;
	struct stat st;
	char name[48];
	CK_RV rv;

	for (m = p11_modules; m; m = m->next) {
		if (!strcmp(m->path, path)) {
			m->users++;
			pk->mod = m;
			return 0;
		}
	}
	if (stat(path, &st) < 0)
		return ec_err_set(errno == ENOENT ? -ENOENT : -ELIBACC,
				  "%s: PKCS#11 module %s: %s; install the module (SoftHSM2: apt install softhsm2) or correct module-path= in the KMS URI",
				  pk->kms.name, path, strerror(errno));
	m = calloc(1, sizeof(*m));
	if (!m)
		return ec_err_set(-ENOMEM, "out of memory");
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!m->dl) {
		ec_err_set(-ELIBBAD, "%s: cannot load PKCS#11 module %s: %s",
			   pk->kms.name, path, dlerror());
		free(m);
		return -ELIBBAD;
	}
	get_function_list = (CK_C_GetFunctionList)dlsym(m->dl,
							"C_GetFunctionList");
	if (!get_function_list || get_function_list(&m->f) != CKR_OK ||
	    !m->f) {
		ec_err_set(-ELIBBAD,
			   "%s: %s is not a PKCS#11 module: C_GetFunctionList is missing or failed",
			   pk->kms.name, path);
		dlclose(m->dl);
		free(m);
		return -ELIBBAD;
	}
	rv = m->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		ec_err_set(-EIO,
			   "%s: PKCS#11 module %s failed to initialize (C_Initialize: %s); check its configuration (SoftHSM2: the file SOFTHSM2_CONF names, and its token directory)",
			   pk->kms.name, path,
			   ec_ckr_format(rv, name, sizeof(name)));
		dlclose(m->dl);
		free(m);
		return -EIO;
	}
	/* someone else in this process initialized it: they finalize */
	m->finalize = rv == CKR_OK;
	m->users = 1;
	m->next = p11_modules;
	p11_modules = m;
	pk->mod = m;
	return 0;
}

/* ---- the token --------------------------------------------------------- */

/* A blank-padded CK_TOKEN_INFO field as a string. */
static void padded(char *out, const CK_UTF8CHAR *in, size_t len)
{
	while (len && (in[len - 1] == ' ' || !in[len - 1]))
		len--;
	memcpy(out, in, len);
	out[len] = '\0';
}

/* Whether token @ti in @slot is the one @u names; its label into @label. */
static bool token_matches(const struct ec_p11_uri *u, CK_SLOT_ID slot,
			  const CK_TOKEN_INFO *ti, char *label)
{
	char s[EC_P11_MANUFACTURER_MAX];

	padded(label, ti->label, sizeof(ti->label));
	if ((u->has & EC_P11_HAS_TOKEN) && strcmp(u->token, label))
		return false;
	padded(s, ti->manufacturerID, sizeof(ti->manufacturerID));
	if ((u->has & EC_P11_HAS_MANUFACTURER) && strcmp(u->manufacturer, s))
		return false;
	padded(s, ti->serialNumber, sizeof(ti->serialNumber));
	if ((u->has & EC_P11_HAS_SERIAL) && strcmp(u->serial, s))
		return false;
	padded(s, ti->model, sizeof(ti->model));
	if ((u->has & EC_P11_HAS_MODEL) && strcmp(u->model, s))
		return false;
	return !(u->has & EC_P11_HAS_SLOT_ID) || u->slot_id == slot;
}

/* Find the one initialized token the URI names. */
static int find_token(struct pkcs11_kms *pk)
{
	char label[EC_P11_LABEL_MAX], present[256] = "";
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i, matches = 0;
	size_t used = 0;
	CK_TOKEN_INFO ti;
	CK_RV rv;
	int r = 0;

	for (;;) {
		rv = fn(pk)->C_GetSlotList(CK_TRUE, NULL, &n);
		free(slots);
		slots = NULL;
		if (rv != CKR_OK)
			return p11_fail(pk, rv, "C_GetSlotList");
		slots = calloc(n ? n : 1, sizeof(*slots));
		if (!slots)
			return ec_err_set(-ENOMEM, "out of memory");
		rv = fn(pk)->C_GetSlotList(CK_TRUE, slots, &n);
		if (rv != CKR_BUFFER_TOO_SMALL)
			break;
	}
	if (rv != CKR_OK) {
		free(slots);
		return p11_fail(pk, rv, "C_GetSlotList");
	}
	for (i = 0; i < n; i++) {
		if (fn(pk)->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (token_matches(&pk->uri, slots[i], &ti, label)) {
			if (!matches++) {
				pk->slot = slots[i];
				pk->token_flags = ti.flags;
			}
		}
		if (used < sizeof(present)) {
			char serial[EC_P11_SERIAL_MAX];
			int len;

			padded(serial, ti.serialNumber,
			       sizeof(ti.serialNumber));
			len = snprintf(present + used, sizeof(present) - used,
				       "%s'%s' (serial %s, slot-id %lu)",
				       used ? ", " : "", label, serial,
				       (unsigned long)slots[i]);
			used += len > 0 ? (size_t)len : 0;
		}
	}
	free(slots);
	if (!matches)
		r = ec_err_set(-ENODEV,
			       "%s: module %s has no initialized token that matches the KMS URI; tokens present: %s",
			       pk->kms.name, pk->uri.module_path,
			       present[0] ? present : "none");
	else if (matches > 1)
		r = ec_err_set(-EINVAL,
			       "%s: %lu tokens of module %s match the KMS URI (%s); add serial= to name one",
			       pk->kms.name, (unsigned long)matches,
			       pk->uri.module_path, present);
	return r;
}

/*
 * The first line of PIN file @path into @pin (@size bytes), refusing a
 * file that anyone but its owner may read or write.
 */
static int read_pin_file(struct pkcs11_kms *pk, const char *path,
			 char *pin, size_t size, size_t *len)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *nl;
	int fd, r = 0;

	/* O_NONBLOCK: a FIFO must not block open() before fstat() refuses it */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
		  O_NONBLOCK);
	if (fd < 0)
		return ec_err_set(-EACCES,
				  "%s: cannot open PIN file %s (pin-source= of the KMS URI): %s",
				  pk->kms.name, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = ec_err_set(-EACCES, "%s: PIN file %s is not a regular file",
			       pk->kms.name, path);
		goto out;
	}
	if (st.st_mode & 077) {
		r = ec_err_set(-EACCES,
			       "%s: PIN file %s may be read or written by others (mode %04o): refused; run chmod 600 %s",
			       pk->kms.name, path,
			       (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		r = ec_err_set(-EACCES,
			       "%s: PIN file %s belongs to uid %u, not to root or to this user (uid %u): refused; chown it",
			       pk->kms.name, path, (unsigned int)st.st_uid,
			       (unsigned int)geteuid());
		goto out;
	}
	while (got < size - 1) {
		n = read(fd, pin + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ec_err_set(-EACCES, "%s: cannot read PIN file %s: %s",
				       pk->kms.name, path, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	pin[got] = '\0';
	nl = memchr(pin, '\n', got);
	if (!nl && got == size - 1) {
		r = ec_err_set(-EACCES,
			       "%s: the first line of PIN file %s is longer than %d bytes",
			       pk->kms.name, path, PIN_MAX - 1);
		goto out;
	}
	*len = nl ? (size_t)(nl - pin) : got;
	if (*len && pin[*len - 1] == '\r')
		(*len)--;
	if (!*len)
		r = ec_err_set(-EACCES,
			       "%s: PIN file %s is empty: write the user PIN on its first line",
			       pk->kms.name, path);
out:
	close(fd);
	return r;
}

/* Log in as the user; the PIN is wiped before this returns. */
static int login(struct pkcs11_kms *pk)
{
	char source[EC_KMS_URI_MAX + 16], name[48];
	const char *env = getenv(EC_P11_PIN_ENV);
	char *pin = NULL;
	size_t len = 0;
	CK_RV rv;
	int r = 0;

	if (pk->uri.pin_file[0] || (env && *env)) {
		pin = ec_secure_alloc(PIN_MAX);
		if (!pin)
			return -errno;
	}
	if (pk->uri.pin_file[0]) {
		snprintf(source, sizeof(source), "PIN file %s",
			 pk->uri.pin_file);
		r = read_pin_file(pk, pk->uri.pin_file, pin, PIN_MAX, &len);
	} else if (env && *env) {
		snprintf(source, sizeof(source), "%s", EC_P11_PIN_ENV);
		len = strlen(env);
		if (len >= PIN_MAX)
			r = ec_err_set(-EACCES,
				       "%s: the PIN in %s is longer than %d bytes",
				       pk->kms.name, EC_P11_PIN_ENV,
				       PIN_MAX - 1);
		else
			memcpy(pin, env, len);
	} else if (pk->token_flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		snprintf(source, sizeof(source), "the token's PIN pad");
	} else if (!(pk->token_flags & CKF_LOGIN_REQUIRED)) {
		return 0;
	} else {
		return ec_err_set(-EACCES,
				  "%s: no PIN to log in with: set the environment variable %s, or add pin-source=file:/path (a file of mode 0600) to the KMS URI",
				  pk->kms.name, EC_P11_PIN_ENV);
	}
	if (!r) {
		rv = fn(pk)->C_Login(pk->session, CKU_USER,
				     (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len);
		if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
			r = 0;
		else if (ec_ckr_errno(rv) == -EACCES)
			r = ec_err_set(-EACCES,
				       "%s refused the PIN from %s (%s): check the PIN; a token locks it after too many wrong tries",
				       pk->kms.name, source,
				       ec_ckr_format(rv, name, sizeof(name)));
		else
			r = p11_fail(pk, rv, "C_Login");
	}
	ec_secure_free(pin);	/* wipes it */
	return r;
}

void p11_disconnect(struct pkcs11_kms *pk)
{
	if (!pk->mod)
		return;
	if (pk->session_open) {
		/* the login state is the process's: only the last user */
		if (pk->mod->users == 1)
			fn(pk)->C_Logout(pk->session);
		fn(pk)->C_CloseSession(pk->session);
		pk->session_open = false;
	}
	module_put(pk->mod);
	pk->mod = NULL;
}

int p11_connect(struct pkcs11_kms *pk)
{
	CK_FLAGS flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
	CK_RV rv;
	int r;

	if (pk->session_open)
		return 0;
	r = module_get(pk);
	if (r)
		return r;
	r = find_token(pk);
	if (r)
		goto fail;
	rv = fn(pk)->C_OpenSession(pk->slot, flags, NULL, NULL, &pk->session);
	if (rv == CKR_TOKEN_WRITE_PROTECTED)
		rv = fn(pk)->C_OpenSession(pk->slot, CKF_SERIAL_SESSION, NULL,
					   NULL, &pk->session);
	if (rv != CKR_OK) {
		r = p11_fail(pk, rv, "C_OpenSession");
		goto fail;
	}
	pk->session_open = true;
	r = login(pk);
	if (!r)
		return 0;
fail:
	p11_disconnect(pk);
	return r;
}

/* ---- objects ----------------------------------------------------------- */

int p11_find_objects(struct pkcs11_kms *pk, CK_ATTRIBUTE *tmpl,
		     CK_ULONG count, CK_ULONG max,
		     CK_OBJECT_HANDLE **found, CK_ULONG *n)
{
	CK_OBJECT_HANDLE *list = NULL, *grown;
	CK_ULONG got, cap = 0;
	CK_RV rv;

	*found = NULL;
	*n = 0;
	rv = fn(pk)->C_FindObjectsInit(pk->session, tmpl, count);
	if (rv != CKR_OK)
		return p11_fail(pk, rv, "C_FindObjectsInit");
	for (;;) {
		if (*n + FIND_BATCH > cap) {
			cap += FIND_BATCH;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				fn(pk)->C_FindObjectsFinal(pk->session);
				free(list);
				return ec_err_set(-ENOMEM, "out of memory");
			}
			list = grown;
		}
		rv = fn(pk)->C_FindObjects(pk->session, list + *n, FIND_BATCH,
					   &got);
		if (rv != CKR_OK) {
			fn(pk)->C_FindObjectsFinal(pk->session);
			free(list);
			*n = 0;
			return p11_fail(pk, rv, "C_FindObjects");
		}
		*n += got;
		if (!got || (max && *n >= max))
			break;
	}
	fn(pk)->C_FindObjectsFinal(pk->session);
	*found = list;
	return 0;
}
