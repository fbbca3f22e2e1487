// SPDX-License-Identifier: GPL-2.0
/*
 * The PKCS#11 KMS: CMKs are AES-256 secret keys on a PKCS#11 token (an
 * HSM, or SoftHSM2), which wraps and unwraps the data keys itself; the
 * key material never leaves the token.
 *
 * "pkcs11:token=LABEL?module-path=/usr/lib/softhsm/libsofthsm2.so" names
 * the token (pkcs11-uri.h).  The module is loaded with dlopen() at the
 * first operation, not at open: one session per struct ec_kms, logged in
 * as the user with the PIN from pin-source= or $ENVCRYPT_PKCS11_PIN, kept
 * until close.  A CMK is a CKO_SECRET_KEY of type CKK_AES: its id is the
 * hex of its CKA_ID, its alias "alias/NAME" its CKA_LABEL "NAME".  State,
 * creation time and deletion date: docs/KMS-PKCS11.md.
 *
 * Wrapped key (ec_wrapped.data), version 1:
 *   1 | 1 (CKM_AES_GCM) | IV (12) | ciphertext | tag (16), AAD = context
 *   1 | 2 (CKM_AES_KEY_WRAP_PAD) | KWP(DK || SHA-256(context)[0..15])
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ckr.h"
#include "error.h"
#include "kms.h"
#include "pkcs11-uri.h"
#include "secmem.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define CMK_ID_BYTES		16
#define CMK_ID_BYTES_MAX	((EC_CMK_ID_MAX - 1) / 2)
#define CMK_KEY_BYTES		32		/* AES-256 */
#define ALIAS_NAME_MAX		100
#define RESERVED_ALIAS		"envcrypt/"
#define SERVICE_LABEL		"envcrypt/service"
#define PIN_MAX			256
#define DELETION_DAYS_MIN	7
#define DELETION_DAYS_MAX	30
#define DAY_SECONDS		86400
#define FIND_BATCH		64

/* The data object that keeps a CMK's creation time and deletion date. */
#define META_APPLICATION	"envcrypt"
#define META_LABEL_PREFIX	"envcrypt-cmk:"
#define META_FORMAT		"envcrypt-cmk 1 created=%" PRId64 " deletion=%" PRId64
#define META_SCAN		"envcrypt-cmk 1 created=%" SCNd64 " deletion=%" SCNd64
#define META_VALUE_MAX		96

/* ec_wrapped.data */
#define WRAP_FORMAT		1
#define WRAP_HEADER		2		/* format, mechanism */
#define GCM_IV_SIZE		12
#define GCM_TAG_SIZE		16
#define KWP_BINDING_SIZE	16		/* SHA-256(context)[0..15] */
#define CMK_VERSION		1		/* token keys have one version */

/*
 * A loaded module, shared by every connection to it in this process:
 * C_Initialize and C_Finalize are per process, so the first user
 * initializes and the last one finalizes.  The CLI is single-threaded;
 * this list has no lock.
 */
struct p11_module {
	struct p11_module *next;
	char path[EC_KMS_URI_MAX];
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	unsigned int users;
	bool finalize;			/* we initialized it */
};

static struct p11_module *p11_modules;

static const CK_BBOOL p11_yes = CK_TRUE, p11_no = CK_FALSE;

struct pkcs11_kms {
	struct ec_kms kms;		/* first: the generic part */
	struct ec_p11_uri uri;
	struct p11_module *mod;		/* NULL: not connected */
	CK_SLOT_ID slot;
	CK_FLAGS token_flags;
	CK_SESSION_HANDLE session;
	bool session_open;
};

/* A CMK as read from the token. */
struct p11_key {
	CK_OBJECT_HANDLE handle;
	char id[EC_CMK_ID_MAX];		/* hex of CKA_ID; "" when none */
	char alias[EC_CMK_ALIAS_MAX];	/* "alias/" CKA_LABEL, or "" */
	CK_ULONG value_len;
	bool enabled;			/* CKA_DECRYPT */
	CK_OBJECT_HANDLE meta;		/* CK_INVALID_HANDLE: none */
	int64_t created;
	int64_t deletion;
};

static struct pkcs11_kms *to_pkcs11(struct ec_kms *kms)
{
	return (struct pkcs11_kms *)kms;
}

static CK_FUNCTION_LIST_PTR fn(struct pkcs11_kms *pk)
{
	return pk->mod->f;
}

/* "CMK <id> (alias/NAME)" or "CMK <id>", for messages. */
static const char *key_label(const struct p11_key *key, char *buf,
			     size_t size)
{
	if (key->alias[0])
		snprintf(buf, size, "CMK %s (%s)", key->id, key->alias);
	else
		snprintf(buf, size, "CMK %s", key->id);
	return buf;
}

#define LABEL_SIZE	(EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8)

static const char *format_date(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, size, "%" PRId64, t);
	return buf;
}

/*
 * Fail with the errno of @rv from @what: "<token>: <what> failed
 * (CKR_X)".  A lost token or session is dropped, so that the next
 * operation connects again.
 */
static void p11_disconnect(struct pkcs11_kms *pk);

static int p11_fail(struct pkcs11_kms *pk, CK_RV rv, const char *what)
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

static void p11_disconnect(struct pkcs11_kms *pk)
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

/* Load the module, find the token, open a session and log in. */
static int p11_connect(struct pkcs11_kms *pk)
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

/*
 * The objects matching @tmpl: a malloc'd array in *@found of *@n handles,
 * at most @max (0: no limit).
 */
static int find_objects(struct pkcs11_kms *pk, CK_ATTRIBUTE *tmpl,
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

static void hex(char *out, const uint8_t *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
	out[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A key id: 2 to 126 hex digits, an even number; into @id. */
static bool parse_key_id(const char *s, uint8_t *id, size_t *len)
{
	size_t i, n = strlen(s);

	if (!n || n % 2 || n / 2 > CMK_ID_BYTES_MAX)
		return false;
	for (i = 0; i < n / 2; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

/* NAME of "alias/NAME": 1..100 of [A-Za-z0-9/_-], as the local KMS. */
static bool valid_alias_name(const char *name, size_t len)
{
	size_t i;

	if (!len || len > ALIAS_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '/' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static void meta_label(char *buf, size_t size, const char *id)
{
	snprintf(buf, size, "%s%s", META_LABEL_PREFIX, id);
}

/* The creation time and deletion date of @key, from its data object. */
static int meta_read(struct pkcs11_kms *pk, struct p11_key *key)
{
	static const CK_OBJECT_CLASS data = CKO_DATA;
	char label[sizeof(META_LABEL_PREFIX) + EC_CMK_ID_MAX];
	char value[META_VALUE_MAX + 1];
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&data, sizeof(data) },
		{ CKA_APPLICATION, META_APPLICATION,
		  sizeof(META_APPLICATION) - 1 },
		{ CKA_LABEL, label, 0 },
	};
	CK_ATTRIBUTE get = { CKA_VALUE, value, META_VALUE_MAX };
	CK_OBJECT_HANDLE *found;
	int64_t created, deletion;
	CK_ULONG n;
	int r, end = 0;

	key->meta = CK_INVALID_HANDLE;
	key->created = key->deletion = 0;
	if (!key->id[0])
		return 0;
	meta_label(label, sizeof(label), key->id);
	tmpl[2].ulValueLen = strlen(label);
	r = find_objects(pk, tmpl, ARRAY_SIZE(tmpl), 1, &found, &n);
	if (r)
		return r;
	if (n)
		key->meta = found[0];
	free(found);
	if (!n || fn(pk)->C_GetAttributeValue(pk->session, key->meta, &get,
					      1) != CKR_OK ||
	    get.ulValueLen > META_VALUE_MAX)
		return 0;
	value[get.ulValueLen] = '\0';
	/* a malformed value is as good as none: the key's own state rules */
	if (sscanf(value, META_SCAN "%n", &created, &deletion, &end) == 2 &&
	    (size_t)end == strlen(value) && created >= 0 && deletion >= 0) {
		key->created = created;
		key->deletion = deletion;
	}
	return 0;
}

/*
 * Write the creation time and deletion date of @key: a new data object
 * replaces the old one (tokens may keep CKA_VALUE read-only, SoftHSM2
 * does), so that a failure leaves the old one.
 */
static int meta_write(struct pkcs11_kms *pk, struct p11_key *key,
		      int64_t created, int64_t deletion)
{
	static const CK_OBJECT_CLASS data = CKO_DATA;
	char label[sizeof(META_LABEL_PREFIX) + EC_CMK_ID_MAX];
	char value[META_VALUE_MAX];
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&data, sizeof(data) },
		{ CKA_TOKEN, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_PRIVATE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_APPLICATION, META_APPLICATION,
		  sizeof(META_APPLICATION) - 1 },
		{ CKA_LABEL, label, 0 },
		{ CKA_VALUE, value, 0 },
	};
	CK_OBJECT_HANDLE meta;
	CK_RV rv;

	meta_label(label, sizeof(label), key->id);
	tmpl[4].ulValueLen = strlen(label);
	snprintf(value, sizeof(value), META_FORMAT, created, deletion);
	tmpl[5].ulValueLen = strlen(value);
	rv = fn(pk)->C_CreateObject(pk->session, tmpl, ARRAY_SIZE(tmpl),
				    &meta);
	if (rv != CKR_OK)
		return p11_fail(pk, rv,
				"C_CreateObject of the CMK's data object");
	if (key->meta != CK_INVALID_HANDLE)
		fn(pk)->C_DestroyObject(pk->session, key->meta);
	key->meta = meta;
	key->created = created;
	key->deletion = deletion;
	return 0;
}

/* Read the attributes of secret key @handle into @key. */
static int key_read(struct pkcs11_kms *pk, CK_OBJECT_HANDLE handle,
		    struct p11_key *key)
{
	uint8_t id[CMK_ID_BYTES_MAX];
	char label[ALIAS_NAME_MAX + 1];
	CK_ULONG value_len = 0;
	CK_BBOOL decrypt = CK_FALSE;
	CK_ATTRIBUTE get[] = {
		{ CKA_ID, id, sizeof(id) },
		{ CKA_LABEL, label, sizeof(label) - 1 },
		{ CKA_VALUE_LEN, &value_len, sizeof(value_len) },
		{ CKA_DECRYPT, &decrypt, sizeof(decrypt) },
	};
	CK_RV rv;

	memset(key, 0, sizeof(*key));
	key->handle = handle;
	rv = fn(pk)->C_GetAttributeValue(pk->session, handle, get,
					 ARRAY_SIZE(get));
	/*
	 * An id or label too long for us is as good as none.  Some modules
	 * answer CKR_BUFFER_TOO_SMALL with the length they need rather than
	 * CK_UNAVAILABLE_INFORMATION: only a length that fits is a value.
	 */
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL &&
	    rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE)
		return p11_fail(pk, rv, "C_GetAttributeValue of a key");
	if (get[0].ulValueLen <= sizeof(id))
		hex(key->id, id, get[0].ulValueLen);
	if (get[1].ulValueLen < sizeof(label) &&
	    valid_alias_name(label, get[1].ulValueLen)) {
		label[get[1].ulValueLen] = '\0';
		snprintf(key->alias, sizeof(key->alias), "%s%s",
			 EC_ALIAS_PREFIX, label);
	}
	if (get[2].ulValueLen == sizeof(value_len))
		key->value_len = value_len;
	key->enabled = get[3].ulValueLen == sizeof(decrypt) && decrypt;
	return meta_read(pk, key);
}

static enum ec_key_state key_state(const struct p11_key *key)
{
	if (key->deletion)
		return EC_KEY_PENDING_DELETION;
	return key->enabled ? EC_KEY_ENABLED : EC_KEY_DISABLED;
}

static bool key_is_service(const struct p11_key *key)
{
	return !strcmp(key->alias, EC_SERVICE_KEY_ALIAS);
}

static void key_info(const struct p11_key *key, struct ec_key_info *info)
{
	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	snprintf(info->id, sizeof(info->id), "%s", key->id);
	snprintf(info->alias, sizeof(info->alias), "%s", key->alias);
	info->spec = EC_SPEC_AES_256;
	info->state = key_state(key);
	info->versions = CMK_VERSION;
	info->created = key->created;
	info->deletion_date = key->deletion;
	info->service = key_is_service(key);
}

/* Destroy @key and its data object. */
static int key_destroy(struct pkcs11_kms *pk, struct p11_key *key)
{
	CK_RV rv;

	rv = fn(pk)->C_DestroyObject(pk->session, key->handle);
	if (rv != CKR_OK)
		return p11_fail(pk, rv, "C_DestroyObject of a CMK");
	if (key->meta != CK_INVALID_HANDLE)
		fn(pk)->C_DestroyObject(pk->session, key->meta);
	key->meta = CK_INVALID_HANDLE;
	return 0;
}

/*
 * A key whose deletion date has passed is gone: destroy it now.  1 when
 * it was, 0 when it is not due, or a negative errno.
 */
static int key_purge(struct pkcs11_kms *pk, struct p11_key *key)
{
	int r;

	if (!key->deletion || key->deletion > (int64_t)time(NULL))
		return 0;
	r = key_destroy(pk, key);
	return r ? r : 1;
}

/*
 * The CMK @name ("alias/NAME" or a hex id) into @key.  -ENOKEY when
 * there is none (or its deletion date has passed: it is destroyed now),
 * -ENOTUNIQ when the alias names more than one key.
 */
static int key_find(struct pkcs11_kms *pk, const char *name,
		    struct p11_key *key)
{
	static const CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	static const CK_KEY_TYPE aes = CKK_AES;
	uint8_t id[CMK_ID_BYTES_MAX];
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_KEY_TYPE, (void *)&aes, sizeof(aes) },
		{ CKA_ID, id, 0 },
	};
	char date[40];
	CK_OBJECT_HANDLE *found;
	size_t len, prefix = strlen(EC_ALIAS_PREFIX);
	CK_ULONG n;
	int r;

	if (!name || !*name)
		return ec_err_set(-EINVAL, "no CMK given for %s",
				  pk->kms.name);
	if (!strncmp(name, EC_ALIAS_PREFIX, prefix)) {
		if (!valid_alias_name(name + prefix, strlen(name + prefix)))
			return ec_err_set(-EINVAL,
					  "'%.120s' is not an alias: use alias/NAME, NAME 1 to %d of A-Z a-z 0-9 / _ -",
					  name, ALIAS_NAME_MAX);
		tmpl[2].type = CKA_LABEL;
		tmpl[2].pValue = (void *)(name + prefix);
		tmpl[2].ulValueLen = strlen(name + prefix);
	} else if (parse_key_id(name, id, &len)) {
		tmpl[2].ulValueLen = len;
	} else {
		return ec_err_set(-EINVAL,
				  "'%.120s' is not a CMK of %s: give the key id (the hex of its CKA_ID, see envcryptctl kms list-keys) or alias/NAME (its CKA_LABEL)",
				  name, pk->kms.name);
	}
	r = find_objects(pk, tmpl, ARRAY_SIZE(tmpl), 2, &found, &n);
	if (r)
		return r;
	if (n == 1)
		r = key_read(pk, found[0], key);
	free(found);
	if (r)
		return r;
	if (!n)
		return ec_err_set(-ENOKEY, "CMK %s not found on %s", name,
				  pk->kms.name);
	if (n > 1)
		return ec_err_set(-ENOTUNIQ,
				  "%s names more than one AES key on %s: give the key id instead (envcryptctl kms list-keys)",
				  name, pk->kms.name);
	format_date(key->deletion, date, sizeof(date));
	r = key_purge(pk, key);
	if (r > 0)
		return ec_err_set(-ENOKEY,
				  "CMK %s was deleted from %s: its deletion date %s has passed",
				  name, pk->kms.name, date);
	if (r)
		return r;
	if (!key->id[0] || key->value_len != CMK_KEY_BYTES)
		return ec_err_set(-EOPNOTSUPP,
				  "the key %s on %s is not a CMK envcrypt can use: it needs a CKA_ID and 256 bits (CKA_VALUE_LEN 32)",
				  name, pk->kms.name);
	return 0;
}

/* Wrap and unwrap need an Enabled key. */
static int key_usable(struct pkcs11_kms *pk, const struct p11_key *key)
{
	char label[LABEL_SIZE], date[40];

	switch (key_state(key)) {
	case EC_KEY_ENABLED:
		return 0;
	case EC_KEY_DISABLED:
		return ec_err_set(-EKEYREVOKED, "%s is Disabled on %s",
				  key_label(key, label, sizeof(label)),
				  pk->kms.name);
	case EC_KEY_PENDING_DELETION:
		return ec_err_set(-EKEYEXPIRED,
				  "%s is PendingDeletion on %s, deleted on %s",
				  key_label(key, label, sizeof(label)),
				  pk->kms.name,
				  format_date(key->deletion, date,
					      sizeof(date)));
	}
	return -EINVAL;
}

/* ---- open and close --------------------------------------------------- */

static int pkcs11_open(const char *uri, struct ec_kms **out)
{
	struct pkcs11_kms *pk;
	int r;

	pk = calloc(1, sizeof(*pk));
	if (!pk)
		return ec_err_set(-ENOMEM, "out of memory");
	r = ec_p11_uri_parse(uri, &pk->uri);
	if (!r)
		r = ec_p11_uri_format(&pk->uri, pk->kms.uri,
				      sizeof(pk->kms.uri));
	if (r) {
		free(pk);
		return r;
	}
	pk->kms.ops = &ec_kms_pkcs11_ops;
	if (pk->uri.has & EC_P11_HAS_TOKEN)
		snprintf(pk->kms.name, sizeof(pk->kms.name),
			 "PKCS#11 token '%s'", pk->uri.token);
	else if (pk->uri.has & EC_P11_HAS_SERIAL)
		snprintf(pk->kms.name, sizeof(pk->kms.name),
			 "PKCS#11 token serial %s", pk->uri.serial);
	else
		snprintf(pk->kms.name, sizeof(pk->kms.name),
			 "PKCS#11 token in slot %lu", pk->uri.slot_id);
	*out = &pk->kms;
	return 0;
}

static void pkcs11_close(struct ec_kms *kms)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);

	p11_disconnect(pk);
	free(pk);
}

/* ---- key use: wrap and unwrap ------------------------------------------ */

/* The KWP output for @len bytes of input (RFC 5649). */
static size_t kwp_size(size_t len)
{
	return (len + 7) / 8 * 8 + 8;
}

/* SHA-256(context)[0..15]: binds a KWP-wrapped key to its context. */
static int context_binding(const char *context, uint8_t *out)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len;

	if (EVP_Digest(context, strlen(context), md, &md_len, EVP_sha256(),
		       NULL) != 1)
		return ec_err_set(-EIO, "OpenSSL's SHA-256 failed");
	memcpy(out, md, KWP_BINDING_SIZE);
	return 0;
}

static int does_not_authenticate(struct pkcs11_kms *pk,
				 const struct p11_key *key, CK_RV rv)
{
	char label[LABEL_SIZE], name[48] = "";

	if (rv != CKR_OK)
		snprintf(name, sizeof(name), " (%s)",
			 ec_ckr_format(rv, label, sizeof(label)));
	return ec_err_set(-EBADMSG,
			  "the data key wrapped by %s on %s does not authenticate%s: the header was changed, or the wrapped key belongs to another volume",
			  key_label(key, label, sizeof(label)), pk->kms.name,
			  name);
}

/* A refusal of the token to use the key, or another failure. */
static int key_op_fail(struct pkcs11_kms *pk, const struct p11_key *key,
		       CK_RV rv, const char *what)
{
	char label[LABEL_SIZE], name[48];

	if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED)
		return ec_err_set(-EKEYREVOKED,
				  "%s refuses %s with %s (%s): the key is disabled on the token",
				  pk->kms.name, what,
				  key_label(key, label, sizeof(label)),
				  ec_ckr_format(rv, name, sizeof(name)));
	if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID ||
	    rv == CKR_WRAPPING_KEY_HANDLE_INVALID ||
	    rv == CKR_UNWRAPPING_KEY_HANDLE_INVALID)
		return ec_err_set(-ENOKEY,
				  "%s was deleted from %s during %s (%s)",
				  key_label(key, label, sizeof(label)),
				  pk->kms.name, what,
				  ec_ckr_format(rv, name, sizeof(name)));
	return p11_fail(pk, rv, what);
}

static int wrap_gcm(struct pkcs11_kms *pk, const struct p11_key *key,
		    const uint8_t *dk, size_t dk_len, const char *context,
		    struct ec_wrapped *out)
{
	uint8_t *iv = out->data + WRAP_HEADER;
	CK_GCM_PARAMS gcm = {
		.pIv = iv,
		.ulIvLen = GCM_IV_SIZE,
		.ulIvBits = GCM_IV_SIZE * 8,
		.pAAD = (CK_BYTE_PTR)context,
		.ulAADLen = strlen(context),
		.ulTagBits = GCM_TAG_SIZE * 8,
	};
	CK_MECHANISM mech = { CKM_AES_GCM, &gcm, sizeof(gcm) };
	CK_ULONG len = EC_WRAPPED_MAX - WRAP_HEADER - GCM_IV_SIZE;
	CK_RV rv;

	if (RAND_bytes(iv, GCM_IV_SIZE) != 1)
		return ec_err_set(-EIO,
				  "OpenSSL's random generator failed to make an IV");
	rv = fn(pk)->C_EncryptInit(pk->session, &mech, key->handle);
	if (rv != CKR_OK)
		return key_op_fail(pk, key, rv, "C_EncryptInit (AES-GCM)");
	rv = fn(pk)->C_Encrypt(pk->session, (CK_BYTE_PTR)dk, dk_len,
			       iv + GCM_IV_SIZE, &len);
	/* the operation is still active: only closing the session ends it */
	if (rv == CKR_BUFFER_TOO_SMALL)
		p11_disconnect(pk);
	if (rv != CKR_OK)
		return key_op_fail(pk, key, rv, "C_Encrypt (AES-GCM)");
	if (len != dk_len + GCM_TAG_SIZE)
		return ec_err_set(-EPROTO,
				  "%s: AES-GCM encrypted %zu bytes into %lu, not %zu",
				  pk->kms.name, dk_len, (unsigned long)len,
				  dk_len + GCM_TAG_SIZE);
	out->len = WRAP_HEADER + GCM_IV_SIZE + len;
	return 0;
}

static int unwrap_gcm(struct pkcs11_kms *pk, const struct p11_key *key,
		      const struct ec_wrapped *in, const char *context,
		      uint8_t *dk, size_t dk_len)
{
	const uint8_t *iv = in->data + WRAP_HEADER;
	CK_GCM_PARAMS gcm = {
		.pIv = (CK_BYTE_PTR)iv,
		.ulIvLen = GCM_IV_SIZE,
		.ulIvBits = GCM_IV_SIZE * 8,
		.pAAD = (CK_BYTE_PTR)context,
		.ulAADLen = strlen(context),
		.ulTagBits = GCM_TAG_SIZE * 8,
	};
	CK_MECHANISM mech = { CKM_AES_GCM, &gcm, sizeof(gcm) };
	CK_ULONG ct_len = dk_len + GCM_TAG_SIZE, len = ct_len;
	uint8_t *plain;
	CK_RV rv;
	int r = 0;

	if (in->len != WRAP_HEADER + GCM_IV_SIZE + ct_len)
		return does_not_authenticate(pk, key, CKR_OK);
	/* modules want room for the tag too (SoftHSM2): a copy that big */
	plain = ec_secure_alloc(ct_len);
	if (!plain)
		return -errno;
	rv = fn(pk)->C_DecryptInit(pk->session, &mech, key->handle);
	if (rv == CKR_OK)
		rv = fn(pk)->C_Decrypt(pk->session,
				       (CK_BYTE_PTR)iv + GCM_IV_SIZE, ct_len,
				       plain, &len);
	/*
	 * CKR_BUFFER_TOO_SMALL leaves the operation active, with the room
	 * the module wants in len: call again with that much.
	 */
	if (rv == CKR_BUFFER_TOO_SMALL && len > ct_len &&
	    len <= EC_WRAPPED_MAX) {
		ec_secure_free(plain);
		plain = ec_secure_alloc(len);
		if (!plain) {
			r = -errno;
			p11_disconnect(pk);	/* the operation is active */
			return r;
		}
		rv = fn(pk)->C_Decrypt(pk->session,
				       (CK_BYTE_PTR)iv + GCM_IV_SIZE, ct_len,
				       plain, &len);
	}
	/* still active: only closing the session ends it */
	if (rv == CKR_BUFFER_TOO_SMALL)
		p11_disconnect(pk);
	if (rv == CKR_GENERAL_ERROR || ec_ckr_errno(rv) == -EBADMSG)
		r = does_not_authenticate(pk, key, rv);
	else if (rv != CKR_OK)
		r = key_op_fail(pk, key, rv, "C_DecryptInit/C_Decrypt (AES-GCM)");
	else if (len != dk_len)
		r = does_not_authenticate(pk, key, CKR_OK);
	else
		memcpy(dk, plain, dk_len);
	ec_secure_free(plain);
	return r;
}

static const CK_OBJECT_CLASS carrier_class = CKO_SECRET_KEY;
static const CK_KEY_TYPE carrier_type = CKK_GENERIC_SECRET;

/*
 * The template of the session key that carries DK || binding through
 * KWP: not on the token, extractable, not sensitive.  CARRIER_VALUE is
 * the slot of its CKA_VALUE, for C_CreateObject.
 */
#define CARRIER_ATTRS	7
#define CARRIER_VALUE	6

static void carrier_template(CK_ATTRIBUTE t[CARRIER_ATTRS])
{
	const CK_ATTRIBUTE tmpl[CARRIER_ATTRS] = {
		{ CKA_CLASS, (void *)&carrier_class, sizeof(carrier_class) },
		{ CKA_KEY_TYPE, (void *)&carrier_type, sizeof(carrier_type) },
		{ CKA_TOKEN, (void *)&p11_no, sizeof(p11_no) },
		{ CKA_PRIVATE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_SENSITIVE, (void *)&p11_no, sizeof(p11_no) },
		{ CKA_EXTRACTABLE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_VALUE, NULL, 0 },
	};

	memcpy(t, tmpl, sizeof(tmpl));
}

static int wrap_kwp(struct pkcs11_kms *pk, const struct p11_key *key,
		    const uint8_t *dk, size_t dk_len, const char *context,
		    struct ec_wrapped *out)
{
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	size_t plain_len = dk_len + KWP_BINDING_SIZE;
	CK_ULONG len = EC_WRAPPED_MAX - WRAP_HEADER;
	CK_ATTRIBUTE tmpl[CARRIER_ATTRS];
	CK_OBJECT_HANDLE carrier;
	uint8_t *plain;
	CK_RV rv;
	int r;

	plain = ec_secure_alloc(plain_len);
	if (!plain)
		return -errno;
	memcpy(plain, dk, dk_len);
	r = context_binding(context, plain + dk_len);
	if (r)
		goto out;
	carrier_template(tmpl);
	tmpl[CARRIER_VALUE].pValue = plain;
	tmpl[CARRIER_VALUE].ulValueLen = plain_len;
	rv = fn(pk)->C_CreateObject(pk->session, tmpl, CARRIER_ATTRS,
				    &carrier);
	if (rv != CKR_OK) {
		r = p11_fail(pk, rv, "C_CreateObject of a session key to wrap");
		goto out;
	}
	rv = fn(pk)->C_WrapKey(pk->session, &mech, key->handle, carrier,
			       out->data + WRAP_HEADER, &len);
	fn(pk)->C_DestroyObject(pk->session, carrier);
	if (rv != CKR_OK)
		r = key_op_fail(pk, key, rv, "C_WrapKey (AES-KWP)");
	else if (len != kwp_size(plain_len))
		r = ec_err_set(-EPROTO,
			       "%s: AES-KWP wrapped %zu bytes into %lu, not %zu",
			       pk->kms.name, plain_len, (unsigned long)len,
			       kwp_size(plain_len));
	else
		out->len = WRAP_HEADER + len;
out:
	ec_secure_free(plain);
	return r;
}

static int unwrap_kwp(struct pkcs11_kms *pk, const struct p11_key *key,
		      const struct ec_wrapped *in, const char *context,
		      uint8_t *dk, size_t dk_len)
{
	CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	size_t plain_len = dk_len + KWP_BINDING_SIZE;
	CK_ATTRIBUTE tmpl[CARRIER_ATTRS];
	uint8_t binding[KWP_BINDING_SIZE];
	CK_ATTRIBUTE value = { CKA_VALUE, NULL, EC_WRAPPED_MAX };
	CK_OBJECT_HANDLE carrier;
	uint8_t *plain;
	CK_RV rv;
	int r;

	if (in->len != WRAP_HEADER + kwp_size(plain_len))
		return does_not_authenticate(pk, key, CKR_OK);
	r = context_binding(context, binding);
	if (r)
		return r;
	carrier_template(tmpl);
	/* all but CKA_VALUE, which the unwrap makes */
	rv = fn(pk)->C_UnwrapKey(pk->session, &mech, key->handle,
				 (CK_BYTE_PTR)in->data + WRAP_HEADER,
				 in->len - WRAP_HEADER, tmpl, CARRIER_VALUE,
				 &carrier);
	if (rv == CKR_GENERAL_ERROR || ec_ckr_errno(rv) == -EBADMSG)
		return does_not_authenticate(pk, key, rv);
	if (rv != CKR_OK)
		return key_op_fail(pk, key, rv, "C_UnwrapKey (AES-KWP)");
	plain = ec_secure_alloc(EC_WRAPPED_MAX);
	if (!plain) {
		r = -errno;
		fn(pk)->C_DestroyObject(pk->session, carrier);
		return r;
	}
	value.pValue = plain;
	rv = fn(pk)->C_GetAttributeValue(pk->session, carrier, &value, 1);
	fn(pk)->C_DestroyObject(pk->session, carrier);
	if (rv != CKR_OK)
		r = p11_fail(pk, rv, "C_GetAttributeValue of the unwrapped key");
	else if (value.ulValueLen != plain_len ||
		 CRYPTO_memcmp(plain + dk_len, binding, KWP_BINDING_SIZE))
		r = does_not_authenticate(pk, key, CKR_OK);
	else
		memcpy(dk, plain, dk_len);
	ec_secure_free(plain);
	return r;
}

static size_t wrapped_size(enum ec_p11_mech mech, size_t dk_len)
{
	if (mech == EC_P11_MECH_AES_KWP)
		return WRAP_HEADER + kwp_size(dk_len + KWP_BINDING_SIZE);
	return WRAP_HEADER + GCM_IV_SIZE + dk_len + GCM_TAG_SIZE;
}

static int pkcs11_wrap(struct ec_kms *kms, const char *key_id,
		       const uint8_t *dk, size_t dk_len, const char *context,
		       struct ec_wrapped *out)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	enum ec_p11_mech mech = pk->uri.mech;
	struct p11_key key;
	int r;

	if (!dk || !dk_len || !context || !out ||
	    wrapped_size(mech, dk_len) > EC_WRAPPED_MAX)
		return ec_err_set(-EINVAL,
				  "%s: a data key of %zu bytes with a context cannot be wrapped",
				  kms->name, dk_len);
	r = p11_connect(pk);
	if (!r)
		r = key_find(pk, key_id, &key);
	if (!r)
		r = key_usable(pk, &key);
	if (r)
		return r;
	memset(out, 0, sizeof(*out));
	out->data[0] = WRAP_FORMAT;
	out->data[1] = (uint8_t)mech;
	if (mech == EC_P11_MECH_AES_KWP)
		r = wrap_kwp(pk, &key, dk, dk_len, context, out);
	else
		r = wrap_gcm(pk, &key, dk, dk_len, context, out);
	if (r) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	out->cmk_version = CMK_VERSION;
	return 0;
}

static int pkcs11_unwrap(struct ec_kms *kms, const char *key_id,
			 const struct ec_wrapped *in, const char *context,
			 uint8_t *dk, size_t dk_len)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	char label[LABEL_SIZE];
	struct p11_key key;
	int r;

	if (!in || !dk || !dk_len || !context)
		return ec_err_set(-EINVAL, "%s: nothing to unwrap", kms->name);
	if (in->len < WRAP_HEADER || in->len > EC_WRAPPED_MAX ||
	    in->data[0] != WRAP_FORMAT)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key of CMK %s is not in format %d of the PKCS#11 KMS: the header is damaged, or a newer envcryptctl wrote it",
				  kms->name, key_id, WRAP_FORMAT);
	if (in->data[1] != EC_P11_MECH_AES_GCM &&
	    in->data[1] != EC_P11_MECH_AES_KWP)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key of CMK %s names mechanism %u, neither AES-GCM (1) nor AES-KWP (2): the header is damaged",
				  kms->name, key_id, in->data[1]);
	r = p11_connect(pk);
	if (!r)
		r = key_find(pk, key_id, &key);
	if (!r)
		r = key_usable(pk, &key);
	if (r)
		return r;
	key_label(&key, label, sizeof(label));
	if (in->cmk_version == 0)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key names no version of %s: the header is damaged",
				  kms->name, label);
	if (in->cmk_version != CMK_VERSION)
		return ec_err_set(-ENOKEY,
				  "%s has no version %u on %s: keys on a PKCS#11 token have version 1 only",
				  label, in->cmk_version, kms->name);
	if (in->data[1] == EC_P11_MECH_AES_KWP)
		r = unwrap_kwp(pk, &key, in, context, dk, dk_len);
	else
		r = unwrap_gcm(pk, &key, in, context, dk, dk_len);
	if (r)
		ec_wipe(dk, dk_len);
	return r;
}

/* ---- administration ----------------------------------------------------- */

static int pkcs11_describe_key(struct ec_kms *kms, const char *key_name,
			       struct ec_key_info *info)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	struct p11_key key;
	int r;

	r = p11_connect(pk);
	if (!r)
		r = key_find(pk, key_name, &key);
	if (!r)
		key_info(&key, info);
	return r;
}

/* A new AES-256 key with a fresh random CKA_ID, label @label or none. */
static int key_generate(struct pkcs11_kms *pk, const char *label,
			struct p11_key *key)
{
	static const CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	static const CK_KEY_TYPE aes = CKK_AES;
	static const CK_ULONG value_len = CMK_KEY_BYTES;
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	uint8_t id[CMK_ID_BYTES];
	CK_ATTRIBUTE find[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_ID, id, sizeof(id) },
	};
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_KEY_TYPE, (void *)&aes, sizeof(aes) },
		{ CKA_VALUE_LEN, (void *)&value_len, sizeof(value_len) },
		{ CKA_TOKEN, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_PRIVATE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_SENSITIVE, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_EXTRACTABLE, (void *)&p11_no, sizeof(p11_no) },
		{ CKA_ENCRYPT, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_DECRYPT, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_WRAP, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_UNWRAP, (void *)&p11_yes, sizeof(p11_yes) },
		{ CKA_ID, id, sizeof(id) },
		{ CKA_LABEL, (void *)label, label ? strlen(label) : 0 },
	};
	CK_OBJECT_HANDLE *found, handle;
	CK_ULONG n;
	CK_RV rv;
	int r;

	do {
		if (RAND_bytes(id, sizeof(id)) != 1)
			return ec_err_set(-EIO,
					  "OpenSSL's random generator failed to make a CMK id");
		r = find_objects(pk, find, ARRAY_SIZE(find), 1, &found, &n);
		if (r)
			return r;
		free(found);
	} while (n);
	rv = fn(pk)->C_GenerateKey(pk->session, &mech, tmpl,
				   ARRAY_SIZE(tmpl) - !label, &handle);
	if (rv != CKR_OK)
		return p11_fail(pk, rv, "C_GenerateKey (AES, 256 bits)");
	memset(key, 0, sizeof(*key));
	key->handle = handle;
	key->meta = CK_INVALID_HANDLE;
	hex(key->id, id, sizeof(id));
	if (label)
		snprintf(key->alias, sizeof(key->alias), "%s%s",
			 EC_ALIAS_PREFIX, label);
	key->value_len = CMK_KEY_BYTES;
	key->enabled = true;
	r = meta_write(pk, key, (int64_t)time(NULL), 0);
	if (r) {
		char msg[EC_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", ec_err_msg());
		if (pk->session_open)
			fn(pk)->C_DestroyObject(pk->session, handle);
		ec_err_set(r, "%s", msg);
	}
	return r;
}

static int pkcs11_create_key(struct ec_kms *kms, enum ec_key_spec spec,
			     const char *alias, struct ec_key_info *info)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	char full[EC_CMK_ALIAS_MAX] = "";
	struct p11_key key;
	int r;

	if (spec == EC_SPEC_SM4)
		return ec_err_set(-EOPNOTSUPP,
				  "%s: the token has no SM4: PKCS#11 names no SM4 mechanism; create an AES_256 key, or keep SM4 CMKs in the local KMS",
				  kms->name);
	if (spec != EC_SPEC_AES_256)
		return ec_err_set(-EINVAL, "%s: unknown key spec %d",
				  kms->name, (int)spec);
	if (alias) {
		/* "NAME"; "alias/NAME" is taken to mean the same. */
		if (!strncmp(alias, EC_ALIAS_PREFIX, strlen(EC_ALIAS_PREFIX)))
			alias += strlen(EC_ALIAS_PREFIX);
		if (!valid_alias_name(alias, strlen(alias)))
			return ec_err_set(-EINVAL,
					  "alias '%.120s' is not valid: use 1 to %d of A-Z a-z 0-9 / _ -",
					  alias, ALIAS_NAME_MAX);
		if (!strncmp(alias, RESERVED_ALIAS, strlen(RESERVED_ALIAS)))
			return ec_err_set(-EINVAL,
					  "alias %s%s is reserved: names under %s%s belong to envcrypt; choose another alias",
					  EC_ALIAS_PREFIX, alias,
					  EC_ALIAS_PREFIX, RESERVED_ALIAS);
		snprintf(full, sizeof(full), "%s%s", EC_ALIAS_PREFIX, alias);
	}
	r = p11_connect(pk);
	if (r)
		return r;
	if (alias) {
		r = key_find(pk, full, &key);
		if (!r || r == -ENOTUNIQ || r == -EOPNOTSUPP)
			return ec_err_set(-EEXIST,
					  "%s is already taken on %s (CKA_LABEL '%s'); choose another alias",
					  full, kms->name, alias);
		if (r != -ENOKEY)
			return r;
	}
	r = key_generate(pk, alias, &key);
	if (!r)
		key_info(&key, info);
	return r;
}

/* The service key: the one labelled envcrypt/service with the lowest id. */
static int find_service_key(struct pkcs11_kms *pk, struct p11_key *best)
{
	static const CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	static const CK_KEY_TYPE aes = CKK_AES;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_KEY_TYPE, (void *)&aes, sizeof(aes) },
		{ CKA_LABEL, SERVICE_LABEL, sizeof(SERVICE_LABEL) - 1 },
	};
	CK_OBJECT_HANDLE *found;
	struct p11_key key;
	CK_ULONG n, i;
	int r, count = 0;

	r = find_objects(pk, tmpl, ARRAY_SIZE(tmpl), 0, &found, &n);
	for (i = 0; !r && i < n; i++) {
		r = key_read(pk, found[i], &key);
		if (r || !key.id[0] || key.value_len != CMK_KEY_BYTES)
			continue;
		if (!count++ || strcmp(key.id, best->id) < 0)
			*best = key;
	}
	free(found);
	return r ? r : count;
}

static int pkcs11_service_key(struct ec_kms *kms, struct ec_key_info *info)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	struct p11_key key, best;
	int r;

	r = p11_connect(pk);
	if (!r)
		r = find_service_key(pk, &best);
	if (r > 0) {
		key_info(&best, info);
		return 0;
	}
	if (r)
		return r;
	r = key_generate(pk, SERVICE_LABEL, &key);
	if (r)
		return r;
	/*
	 * Another process may have made one at the same time: all agree
	 * on the lowest id, and the others destroy their own.
	 */
	r = find_service_key(pk, &best);
	if (r < 0)
		return r;
	if (r > 1 && strcmp(best.id, key.id))
		key_destroy(pk, &key);
	key_info(r > 0 ? &best : &key, info);
	return 0;
}

static int compare_keys(const void *a, const void *b)
{
	const struct ec_key_info *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int pkcs11_list_keys(struct ec_kms *kms, struct ec_key_info **keys,
			    size_t *n)
{
	static const CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	static const CK_KEY_TYPE aes = CKK_AES;
	struct pkcs11_kms *pk = to_pkcs11(kms);
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, (void *)&secret, sizeof(secret) },
		{ CKA_KEY_TYPE, (void *)&aes, sizeof(aes) },
	};
	struct ec_key_info *list = NULL;
	CK_OBJECT_HANDLE *found = NULL;
	struct p11_key key;
	CK_ULONG count = 0, i;
	int r;

	*keys = NULL;
	*n = 0;
	r = p11_connect(pk);
	if (!r)
		r = find_objects(pk, tmpl, ARRAY_SIZE(tmpl), 0, &found,
				 &count);
	if (!r && count) {
		list = calloc(count, sizeof(*list));
		if (!list)
			r = ec_err_set(-ENOMEM, "out of memory");
	}
	for (i = 0; !r && i < count; i++) {
		r = key_read(pk, found[i], &key);
		/* keys envcrypt cannot use are not CMKs */
		if (r || !key.id[0] || key.value_len != CMK_KEY_BYTES)
			continue;
		r = key_purge(pk, &key);
		if (!r)
			key_info(&key, &list[(*n)++]);
		else if (r > 0)
			r = 0;
	}
	free(found);
	if (r) {
		free(list);
		*n = 0;
		return r;
	}
	if (*n)
		qsort(list, *n, sizeof(*list), compare_keys);
	*keys = list;
	return 0;
}

/* Set CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP and CKA_UNWRAP of @key. */
static int key_set_usage(struct pkcs11_kms *pk, struct p11_key *key,
			 bool on)
{
	const CK_BBOOL *v = on ? &p11_yes : &p11_no;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_ENCRYPT, (void *)v, sizeof(*v) },
		{ CKA_DECRYPT, (void *)v, sizeof(*v) },
		{ CKA_WRAP, (void *)v, sizeof(*v) },
		{ CKA_UNWRAP, (void *)v, sizeof(*v) },
	};
	char label[LABEL_SIZE], name[48];
	CK_RV rv;

	rv = fn(pk)->C_SetAttributeValue(pk->session, key->handle, tmpl,
					 ARRAY_SIZE(tmpl));
	if (ec_ckr_errno(rv) == -EPERM)
		return ec_err_set(-EPERM,
				  "%s does not let the usage attributes (CKA_DECRYPT, ...) of %s change (%s): this token cannot %s keys",
				  pk->kms.name, key_label(key, label, sizeof(label)),
				  ec_ckr_format(rv, name, sizeof(name)),
				  on ? "enable" : "disable");
	if (rv != CKR_OK)
		return p11_fail(pk, rv, "C_SetAttributeValue of a CMK");
	key->enabled = on;
	return 0;
}

/*
 * A change of one CMK.  @change returns 1 when it changed the key, 0
 * when there was nothing to do, or a negative errno.
 */
typedef int change_fn(struct pkcs11_kms *pk, struct p11_key *key,
		      unsigned int days);

static int pkcs11_change(struct ec_kms *kms, const char *key_name,
			 change_fn *change, unsigned int days,
			 struct ec_key_info *info)
{
	struct pkcs11_kms *pk = to_pkcs11(kms);
	struct p11_key key;
	int r;

	r = p11_connect(pk);
	if (!r)
		r = key_find(pk, key_name, &key);
	if (!r)
		r = change(pk, &key, days);
	if (r < 0)
		return r;
	key_info(&key, info);
	return 0;
}

static int refuse_service_key(struct pkcs11_kms *pk,
			      const struct p11_key *key, const char *what)
{
	char label[LABEL_SIZE];

	return ec_err_set(-EPERM,
			  "%s is the service key of %s: it can never be disabled or deleted (refused to %s it)",
			  key_label(key, label, sizeof(label)), pk->kms.name,
			  what);
}

static int pending_deletion(struct pkcs11_kms *pk, const struct p11_key *key,
			    const char *what)
{
	char label[LABEL_SIZE], date[40];

	return ec_err_set(-EKEYEXPIRED,
			  "%s is PendingDeletion on %s, deleted on %s; cancel the deletion before you %s it",
			  key_label(key, label, sizeof(label)), pk->kms.name,
			  format_date(key->deletion, date, sizeof(date)), what);
}

static int change_enable(struct pkcs11_kms *pk, struct p11_key *key,
			 unsigned int days)
{
	(void)days;
	if (key->deletion)
		return pending_deletion(pk, key, "enable");
	if (key->enabled)
		return 0;
	return key_set_usage(pk, key, true) ?: 1;
}

static int change_disable(struct pkcs11_kms *pk, struct p11_key *key,
			  unsigned int days)
{
	(void)days;
	if (key_is_service(key))
		return refuse_service_key(pk, key, "disable");
	if (key->deletion)
		return pending_deletion(pk, key, "disable");
	if (!key->enabled)
		return 0;
	return key_set_usage(pk, key, false) ?: 1;
}

/*
 * PKCS#11 has no deletion date: the key is disabled on the token and the
 * date is kept in its data object; the first operation that finds the
 * key after that date destroys it (C_DestroyObject).
 */
static int change_schedule_deletion(struct pkcs11_kms *pk,
				    struct p11_key *key, unsigned int days)
{
	char label[LABEL_SIZE];
	int r;

	if (key_is_service(key))
		return refuse_service_key(pk, key, "delete");
	if (days < DELETION_DAYS_MIN || days > DELETION_DAYS_MAX)
		return ec_err_set(-EINVAL,
				  "%s: the waiting period before deletion must be %d to %d days, not %u",
				  key_label(key, label, sizeof(label)),
				  DELETION_DAYS_MIN, DELETION_DAYS_MAX, days);
	if (key->deletion)
		return pending_deletion(pk, key, "schedule");
	if (key->enabled) {
		r = key_set_usage(pk, key, false);
		if (r)
			return r;
	}
	r = meta_write(pk, key, key->created,
		       (int64_t)time(NULL) + (int64_t)days * DAY_SECONDS);
	return r ? r : 1;
}

/* As AWS KMS does, a key whose deletion is cancelled is Disabled. */
static int change_cancel_deletion(struct pkcs11_kms *pk,
				  struct p11_key *key, unsigned int days)
{
	char label[LABEL_SIZE];
	int r;

	(void)days;
	if (!key->deletion)
		return ec_err_set(-EINVAL,
				  "%s is %s on %s, not PendingDeletion: there is no deletion to cancel",
				  key_label(key, label, sizeof(label)),
				  ec_key_state_name(key_state(key)),
				  pk->kms.name);
	r = meta_write(pk, key, key->created, 0);
	return r ? r : 1;
}

static int pkcs11_enable_key(struct ec_kms *kms, const char *key,
			     struct ec_key_info *info)
{
	return pkcs11_change(kms, key, change_enable, 0, info);
}

static int pkcs11_disable_key(struct ec_kms *kms, const char *key,
			      struct ec_key_info *info)
{
	return pkcs11_change(kms, key, change_disable, 0, info);
}

static int pkcs11_rotate_key(struct ec_kms *kms, const char *key,
			     struct ec_key_info *info)
{
	(void)info;
	return ec_err_set(-EOPNOTSUPP,
			  "%s: CMK %s cannot be rotated: a key on a PKCS#11 token has one version; create a new CMK (envcryptctl kms create-key) for new volumes",
			  kms->name, key);
}

static int pkcs11_schedule_deletion(struct ec_kms *kms, const char *key,
				    unsigned int days,
				    struct ec_key_info *info)
{
	return pkcs11_change(kms, key, change_schedule_deletion, days, info);
}

static int pkcs11_cancel_deletion(struct ec_kms *kms, const char *key,
				  struct ec_key_info *info)
{
	return pkcs11_change(kms, key, change_cancel_deletion, 0, info);
}

const struct ec_kms_ops ec_kms_pkcs11_ops = {
	.scheme			= EC_P11_SCHEME,
	.open			= pkcs11_open,
	.close			= pkcs11_close,
	.describe_key		= pkcs11_describe_key,
	.wrap			= pkcs11_wrap,
	.unwrap			= pkcs11_unwrap,
	.service_key		= pkcs11_service_key,
	.create_key		= pkcs11_create_key,
	.list_keys		= pkcs11_list_keys,
	.enable_key		= pkcs11_enable_key,
	.disable_key		= pkcs11_disable_key,
	.rotate_key		= pkcs11_rotate_key,
	.schedule_deletion	= pkcs11_schedule_deletion,
	.cancel_deletion	= pkcs11_cancel_deletion,
};
