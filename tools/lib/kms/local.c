// SPDX-License-Identifier: GPL-2.0
/*
 * The local KMS: an embedded keystore in a directory of this host, the
 * default provider ("local:" is $ENVCRYPT_KMS_DIR or /var/lib/envcrypt/kms,
 * "local:/some/dir" is that directory).
 *
 * The directory holds one keystore file of CMKs and a lock file.  Every
 * operation reads the whole keystore under flock() on the lock file
 * (shared to read, exclusive to change it); a change writes a new file
 * next to it and renames it over the old one.  Key material lives only in
 * locked memory while the keystore is loaded, and is wiped after.  The
 * file format and the format of wrapped keys: docs/KMS-LOCAL.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "aead.h"
#include "error.h"
#include "hex.h"
#include "key-name.h"
#include "kms.h"
#include "secmem.h"
#include "statefile.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define LOCAL_SCHEME		"local"
#define LOCAL_DEFAULT_DIR	"/var/lib/envcrypt/kms"
#define LOCAL_DIR_ENV		"ENVCRYPT_KMS_DIR"
#define KEYSTORE_FILE		"keystore"
#define KEYSTORE_LOCK		"keystore.lock"
#define KEYSTORE_TEMP		".keystore.new"
#define KEYSTORE_MAGIC		"envcrypt-local-keystore 1"
#define KEYSTORE_MAX_SIZE	(16 * 1024 * 1024)
/* Room in the arena for the material one change adds (one version). */
#define ARENA_SPARE		256

#define CMK_ID_LEN		36		/* UUID text */
#define MATERIAL_MAX		32
#define DELETION_DAYS_MIN	7
#define DELETION_DAYS_MAX	30
#define DAY_SECONDS		86400

/* AAD of a wrap: WRAP_AAD_LABEL id ":" version ":" context */
#define WRAP_AAD_LABEL		"envcrypt-local-wrap:1:"
#define WRAP_OVERHEAD		(EC_AEAD_IV_SIZE + EC_AEAD_TAG_SIZE)

struct cmk_version {
	int64_t created;
	uint8_t *material;		/* in the keystore's locked arena */
};

struct cmk {
	char id[CMK_ID_LEN + 1];
	char alias[EC_CMK_ALIAS_MAX];	/* "alias/NAME" or "" */
	enum ec_key_spec spec;
	enum ec_key_state state;
	int64_t created;
	int64_t deletion_date;		/* PendingDeletion: when, or 0 */
	uint32_t nversions;
	struct cmk_version *versions;	/* [0] is version 1 */
};

/* The keystore as loaded for one operation. */
struct keystore {
	struct cmk *keys;
	size_t n, cap;
	uint8_t *arena;			/* locked; all key material */
	size_t arena_size, arena_used;
	int64_t now;
	int lock_fd;			/* -1: not locked */
};

struct local_kms {
	struct ec_kms kms;		/* first: the generic part */
	char dir[EC_KMS_URI_MAX];
	char path[EC_KMS_URI_MAX + sizeof(KEYSTORE_FILE) + 1];
	char lock_path[EC_KMS_URI_MAX + sizeof(KEYSTORE_LOCK) + 1];
};

static struct local_kms *to_local(struct ec_kms *kms)
{
	return (struct local_kms *)kms;
}

static size_t spec_material_size(enum ec_key_spec spec)
{
	return spec == EC_SPEC_SM4 ? 16 : 32;
}

static enum ec_aead spec_aead(enum ec_key_spec spec)
{
	return spec == EC_SPEC_SM4 ? EC_AEAD_SM4_GCM : EC_AEAD_AES_256_GCM;
}

static bool cmk_is_service(const struct cmk *cmk)
{
	return !strcmp(cmk->alias, EC_SERVICE_KEY_ALIAS);
}

/* "CMK <id> (alias/NAME)" or "CMK <id>", for messages. */
static const char *cmk_label(const struct cmk *cmk, char *buf, size_t size)
{
	return ec_key_label(cmk->id, cmk->alias, buf, size);
}

static void cmk_info(const struct cmk *cmk, struct ec_key_info *info)
{
	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	snprintf(info->id, sizeof(info->id), "%s", cmk->id);
	snprintf(info->alias, sizeof(info->alias), "%s", cmk->alias);
	info->spec = cmk->spec;
	info->state = cmk->state;
	info->versions = cmk->nversions;
	info->created = cmk->created;
	info->deletion_date = cmk->deletion_date;
	info->service = cmk_is_service(cmk);
}

/* ---- names ------------------------------------------------------------- */

static bool valid_cmk_id(const char *s)
{
	int i;

	if (strlen(s) != CMK_ID_LEN)
		return false;
	for (i = 0; i < CMK_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

/* A random (version 4) UUID, lowercase. */
static int new_cmk_id(char id[CMK_ID_LEN + 1])
{
	uint8_t b[16];
	int i, j = 0;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return ec_err_set(-EIO,
				  "OpenSSL's random generator failed to make a CMK id");
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			id[j++] = '-';
		snprintf(id + j, 3, "%02x", b[i]);
		j += 2;
	}
	id[j] = '\0';
	return 0;
}

/* ---- the keystore in memory ------------------------------------------ */

static void keystore_free(struct keystore *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		free(ks->keys[i].versions);
	free(ks->keys);
	ec_secure_free(ks->arena);	/* wipes the key material */
	ks->keys = NULL;
	ks->arena = NULL;
	ks->n = ks->cap = 0;
}

/* @len bytes of locked memory for key material. */
static uint8_t *arena_take(struct keystore *ks, size_t len)
{
	uint8_t *p;

	if (ks->arena_size - ks->arena_used < len)
		return NULL;
	p = ks->arena + ks->arena_used;
	ks->arena_used += len;
	return p;
}

static int arena_alloc(struct keystore *ks, size_t size)
{
	ks->arena = ec_secure_alloc(size);
	if (!ks->arena)
		return -errno;
	ks->arena_size = size;
	ks->arena_used = 0;
	return 0;
}

static struct cmk *keystore_add(struct keystore *ks)
{
	struct cmk *keys;
	size_t cap;

	if (ks->n == ks->cap) {
		cap = ks->cap ? ks->cap * 2 : 16;
		keys = realloc(ks->keys, cap * sizeof(*keys));
		if (!keys)
			return NULL;
		ks->keys = keys;
		ks->cap = cap;
	}
	memset(&ks->keys[ks->n], 0, sizeof(ks->keys[0]));
	return &ks->keys[ks->n++];
}

static struct cmk *find_by_id(struct keystore *ks, const char *id)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (!strcasecmp(ks->keys[i].id, id))
			return &ks->keys[i];
	return NULL;
}

static struct cmk *find_by_alias(struct keystore *ks, const char *alias)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (ks->keys[i].alias[0] && !strcmp(ks->keys[i].alias, alias))
			return &ks->keys[i];
	return NULL;
}

/* @key: an id or "alias/NAME". */
static int keystore_find(struct local_kms *lk, struct keystore *ks,
			 const char *key, struct cmk **cmk)
{
	if (!key || !*key)
		return ec_err_set(-EINVAL, "no CMK given for %s",
				  lk->kms.name);
	if (!strncmp(key, EC_ALIAS_PREFIX, strlen(EC_ALIAS_PREFIX)))
		*cmk = find_by_alias(ks, key);
	else
		*cmk = find_by_id(ks, key);
	if (!*cmk)
		return ec_err_set(-ENOKEY,
				  "CMK %s not found in %s",
				  key, lk->kms.name);
	return 0;
}

/* Add a new version of fresh key material to @cmk. */
static int cmk_add_version(struct keystore *ks, struct cmk *cmk)
{
	size_t size = spec_material_size(cmk->spec);
	struct cmk_version *versions;
	uint8_t *material;

	material = arena_take(ks, size);
	if (!material)
		return ec_err_set(-ENOMEM, "no room for new key material");
	versions = realloc(cmk->versions,
			   (cmk->nversions + 1) * sizeof(*versions));
	if (!versions)
		return ec_err_set(-ENOMEM, "out of memory");
	cmk->versions = versions;
	if (RAND_priv_bytes(material, (int)size) != 1)
		return ec_err_set(-EIO,
				  "OpenSSL's random generator failed to make key material");
	versions[cmk->nversions].created = ks->now;
	versions[cmk->nversions].material = material;
	cmk->nversions++;
	return 0;
}

/* A new Enabled CMK with one version; @alias is "alias/NAME" or "". */
static int keystore_new_cmk(struct keystore *ks, enum ec_key_spec spec,
			    const char *alias, struct cmk **out)
{
	char id[CMK_ID_LEN + 1];
	struct cmk *cmk;
	int r;

	do {
		r = new_cmk_id(id);
		if (r)
			return r;
	} while (find_by_id(ks, id));

	cmk = keystore_add(ks);
	if (!cmk)
		return ec_err_set(-ENOMEM, "out of memory");
	memcpy(cmk->id, id, sizeof(cmk->id));
	snprintf(cmk->alias, sizeof(cmk->alias), "%s", alias);
	cmk->spec = spec;
	cmk->state = EC_KEY_ENABLED;
	cmk->created = ks->now;
	r = cmk_add_version(ks, cmk);
	if (r) {
		free(cmk->versions);
		ks->n--;
		return r;
	}
	*out = cmk;
	return 0;
}

/* A key whose deletion date has passed is gone: drop it. */
static void keystore_purge(struct keystore *ks)
{
	struct cmk *cmk;
	uint32_t v;
	size_t i = 0;

	while (i < ks->n) {
		cmk = &ks->keys[i];
		if (cmk->state != EC_KEY_PENDING_DELETION ||
		    cmk->deletion_date > ks->now) {
			i++;
			continue;
		}
		for (v = 0; v < cmk->nversions; v++)
			ec_wipe(cmk->versions[v].material,
				spec_material_size(cmk->spec));
		free(cmk->versions);
		memmove(cmk, cmk + 1, (ks->n - i - 1) * sizeof(*cmk));
		ks->n--;
	}
}

/* ---- the keystore file: parse ------------------------------------------ */

struct parser {
	const char *path;
	unsigned int line;
};

static int corrupt(const struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int corrupt(const struct parser *p, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ec_err_set(-EIO,
			  "local KMS keystore %s line %u: %s; restore the file from a backup",
			  p->path, p->line, what);
}

/* Split @line at single spaces into at most @max tokens; -1 if malformed. */
static int split(char *line, char **tok, int max)
{
	int n = 0;

	if (!*line)
		return -1;
	for (;;) {
		if (n == max || *line == ' ' || !*line)
			return -1;
		tok[n++] = line;
		line = strchr(line, ' ');
		if (!line)
			return n;
		*line++ = '\0';
	}
}

/* A non-negative decimal without sign or leading zeros. */
static bool parse_i64(const char *s, int64_t *v)
{
	int64_t x = 0;
	size_t i, len = strlen(s);

	if (!len || len > 18 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

/* lowercase only, as written */
static int hex_value(char c)
{
	return c >= 'A' && c <= 'F' ? -1 : ec_hex_value(c);
}

static bool parse_hex(const char *s, uint8_t *out, size_t len)
{
	int hi, lo;
	size_t i;

	if (strlen(s) != 2 * len)
		return false;
	for (i = 0; i < len; i++) {
		hi = hex_value(s[2 * i]);
		lo = hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int parse_state(const char *s, enum ec_key_state *state)
{
	static const enum ec_key_state states[] = {
		EC_KEY_ENABLED, EC_KEY_DISABLED, EC_KEY_PENDING_DELETION,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(states); i++) {
		if (!strcmp(s, ec_key_state_name(states[i]))) {
			*state = states[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* "key ID SPEC STATE CREATED DELETION ALIAS" */
static int parse_key_line(struct parser *p, struct keystore *ks,
			  char **tok, int ntok)
{
	struct cmk *cmk;
	const char *alias;

	if (ntok != 7)
		return corrupt(p, "a key line has 7 fields, this one %d", ntok);
	if (!valid_cmk_id(tok[1]))
		return corrupt(p, "'%.40s' is not a CMK id", tok[1]);
	if (find_by_id(ks, tok[1]))
		return corrupt(p, "CMK %s appears twice", tok[1]);
	alias = strcmp(tok[6], "-") ? tok[6] : "";
	if (*alias && (strncmp(alias, EC_ALIAS_PREFIX,
			       strlen(EC_ALIAS_PREFIX)) ||
		       !ec_alias_name_valid(alias + strlen(EC_ALIAS_PREFIX),
					    strlen(alias) -
					    strlen(EC_ALIAS_PREFIX))))
		return corrupt(p, "'%.120s' is not an alias", alias);
	if (*alias && find_by_alias(ks, alias))
		return corrupt(p, "alias %s appears twice", alias);

	cmk = keystore_add(ks);
	if (!cmk)
		return ec_err_set(-ENOMEM, "out of memory");
	memcpy(cmk->id, tok[1], sizeof(cmk->id));
	snprintf(cmk->alias, sizeof(cmk->alias), "%s", alias);
	if (ec_key_spec_parse(tok[2], &cmk->spec))
		return corrupt(p, "unknown key spec '%.20s'", tok[2]);
	if (parse_state(tok[3], &cmk->state))
		return corrupt(p, "unknown key state '%.20s'", tok[3]);
	if (!parse_i64(tok[4], &cmk->created))
		return corrupt(p, "bad creation time '%.24s'", tok[4]);
	if (!parse_i64(tok[5], &cmk->deletion_date))
		return corrupt(p, "bad deletion date '%.24s'", tok[5]);
	if ((cmk->state == EC_KEY_PENDING_DELETION) != !!cmk->deletion_date)
		return corrupt(p, "deletion date %s a PendingDeletion key",
			       cmk->deletion_date ? "without" : "missing for");
	return 0;
}

/* "version N CREATED HEX" after its key line; never echoes the HEX. */
static int parse_version_line(struct parser *p, struct keystore *ks,
			      char **tok, int ntok)
{
	struct cmk_version *versions;
	struct cmk *cmk;
	uint8_t *material;
	int64_t number, created;
	size_t size;

	if (!ks->n)
		return corrupt(p, "a version line before any key line");
	cmk = &ks->keys[ks->n - 1];
	if (ntok != 4)
		return corrupt(p, "a version line has 4 fields, this one %d",
			       ntok);
	if (!parse_i64(tok[1], &number) || number != cmk->nversions + 1)
		return corrupt(p, "CMK %s: expected version %u", cmk->id,
			       cmk->nversions + 1);
	if (!parse_i64(tok[2], &created))
		return corrupt(p, "CMK %s version %u: bad creation time",
			       cmk->id, cmk->nversions + 1);
	size = spec_material_size(cmk->spec);
	material = arena_take(ks, size);
	if (!material || !parse_hex(tok[3], material, size))
		return corrupt(p,
			       "CMK %s version %u: key material is not %zu bytes of lowercase hex",
			       cmk->id, cmk->nversions + 1, size);
	versions = realloc(cmk->versions,
			   (cmk->nversions + 1) * sizeof(*versions));
	if (!versions)
		return ec_err_set(-ENOMEM, "out of memory");
	cmk->versions = versions;
	versions[cmk->nversions].created = created;
	versions[cmk->nversions].material = material;
	cmk->nversions++;
	return 0;
}

/* Parse the keystore file in @buf (NUL-terminated, @len bytes). */
static int keystore_parse(struct keystore *ks, const char *path, char *buf,
			  size_t len)
{
	struct parser p = { .path = path, .line = 0 };
	bool ended = false;
	char *line = buf, *nl, *tok[8];
	int ntok, r;

	while ((size_t)(line - buf) < len) {
		p.line++;
		nl = memchr(line, '\n', len - (line - buf));
		if (!nl)
			return corrupt(&p, "the last line has no newline");
		*nl = '\0';
		if (strlen(line) != (size_t)(nl - line))
			return corrupt(&p, "a NUL byte in the line");
		if (ended)
			return corrupt(&p, "a line after 'end'");
		if (p.line == 1) {
			if (strcmp(line, KEYSTORE_MAGIC))
				return corrupt(&p,
					       "not a keystore of format '%s'",
					       KEYSTORE_MAGIC);
			line = nl + 1;
			continue;
		}
		ntok = split(line, tok, 8);
		if (ntok < 0)
			return corrupt(&p, "not one of: key, version, end");
		if (!strcmp(tok[0], "key")) {
			if (ks->n && !ks->keys[ks->n - 1].nversions)
				return corrupt(&p, "CMK %s has no version",
					       ks->keys[ks->n - 1].id);
			r = parse_key_line(&p, ks, tok, ntok);
		} else if (!strcmp(tok[0], "version")) {
			r = parse_version_line(&p, ks, tok, ntok);
		} else if (!strcmp(tok[0], "end") && ntok == 1) {
			if (ks->n && !ks->keys[ks->n - 1].nversions)
				return corrupt(&p, "CMK %s has no version",
					       ks->keys[ks->n - 1].id);
			ended = true;
			r = 0;
		} else {
			r = corrupt(&p, "not one of: key, version, end");
		}
		if (r)
			return r;
		line = nl + 1;
	}
	if (!ended) {
		p.line++;
		return corrupt(&p, "the file ends before its 'end' line");
	}
	return 0;
}

/*
 * The keystore file is missing: in an existing directory that is an
 * empty keystore (nothing was ever written), 0.  A missing directory is
 * not: its storage is not mounted, or it was moved away, and reading it
 * as empty would call every CMK "not found" (final, exit 3).  It is a
 * KMS that cannot be reached now: -EHOSTUNREACH (retried, exit 4).
 */
static int keystore_dir_present(struct local_kms *lk)
{
	struct stat st;

	if (stat(lk->dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
	}
	switch (errno) {
	case ENOENT:
	case ESTALE:
	case EIO:
	case ENOTCONN:
	case EHOSTDOWN:
		return ec_err_set(-EHOSTUNREACH,
				  "%s: the keystore directory %s is missing (%s): mount its storage or put it back",
				  lk->kms.name, lk->dir, strerror(errno));
	default:
		return ec_err_set(-errno,
				  "%s: cannot use the keystore directory %s: %s",
				  lk->kms.name, lk->dir, strerror(errno));
	}
}

/*
 * Load the keystore file; a missing file in an existing directory is an
 * empty keystore.
 */
static int keystore_read(struct local_kms *lk, struct keystore *ks)
{
	struct stat st;
	char *buf = NULL;
	size_t done = 0;
	ssize_t n;
	int fd, r;

	fd = open(lk->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		r = keystore_dir_present(lk);
		return r ? r : arena_alloc(ks, ARENA_SPARE);
	}
	if (fd < 0)
		return ec_err_set(-errno, "%s: cannot open keystore %s: %s",
				  lk->kms.name, lk->path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = ec_err_set(-errno, "%s: cannot stat keystore %s: %s",
			       lk->kms.name, lk->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEYSTORE_MAX_SIZE) {
		r = ec_err_set(-EIO,
			       "local KMS keystore %s is not a regular file of at most %d bytes; restore the file from a backup",
			       lk->path, KEYSTORE_MAX_SIZE);
		goto out;
	}
	buf = ec_secure_alloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -errno;
		goto out;
	}
	n = ec_statefile_read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		r = ec_err_set(n < 0 ? -errno : -EIO,
			       "%s: cannot read keystore %s: %s",
			       lk->kms.name, lk->path,
			       n < 0 ? strerror(errno) : "short read");
		goto out;
	}
	done = (size_t)n;
	/* Hex is two characters a byte: the file bounds the material. */
	r = arena_alloc(ks, done / 2 + ARENA_SPARE);
	if (r)
		goto out;
	r = keystore_parse(ks, lk->path, buf, done);
	if (!r)
		keystore_purge(ks);
out:
	if (buf)
		ec_secure_free(buf);
	close(fd);
	return r;
}

/* ---- the keystore file: write ------------------------------------------ */

static size_t keystore_text_size(const struct keystore *ks)
{
	size_t i, size = sizeof(KEYSTORE_MAGIC) + sizeof("end\n");

	for (i = 0; i < ks->n; i++)
		size += 256 + ks->keys[i].nversions * (64 + 2 * MATERIAL_MAX);
	return size;
}

/* The file's text into @buf (locked memory); returns its length. */
static size_t keystore_format(const struct keystore *ks, char *buf,
			      size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const struct cmk *cmk;
	size_t i, j, len, mlen;
	const uint8_t *m;
	uint32_t v;

	len = snprintf(buf, size, "%s\n", KEYSTORE_MAGIC);
	for (i = 0; i < ks->n; i++) {
		cmk = &ks->keys[i];
		len += snprintf(buf + len, size - len,
				"key %s %s %s %" PRId64 " %" PRId64 " %s\n",
				cmk->id, ec_key_spec_name(cmk->spec),
				ec_key_state_name(cmk->state), cmk->created,
				cmk->deletion_date,
				cmk->alias[0] ? cmk->alias : "-");
		mlen = spec_material_size(cmk->spec);
		for (v = 0; v < cmk->nversions; v++) {
			len += snprintf(buf + len, size - len,
					"version %u %" PRId64 " ", v + 1,
					cmk->versions[v].created);
			m = cmk->versions[v].material;
			for (j = 0; j < mlen; j++) {
				buf[len++] = hex[m[j] >> 4];
				buf[len++] = hex[m[j] & 15];
			}
			buf[len++] = '\n';
		}
	}
	len += snprintf(buf + len, size - len, "end\n");
	return len;
}

/*
 * Replace the keystore file: write a temporary file in the same
 * directory, fsync it, rename it over the keystore, fsync the directory.
 * A crash leaves the old or the new keystore, never a mix.
 */
static int keystore_write(struct local_kms *lk, struct keystore *ks)
{
	char tmp[sizeof(lk->dir) + sizeof(KEYSTORE_TEMP) + 1];
	enum ec_statefile_step step;
	size_t size, len;
	char *text;
	int r;

	size = keystore_text_size(ks);
	text = ec_secure_alloc(size);
	if (!text)
		return -errno;
	len = keystore_format(ks, text, size);

	snprintf(tmp, sizeof(tmp), "%s/%s", lk->dir, KEYSTORE_TEMP);
	/*
	 * One fixed name, written only under the exclusive lock: a copy
	 * left by a crash is truncated by the next write, and removed by
	 * the next keystore_begin(exclusive).
	 */
	r = ec_statefile_replace(lk->path, tmp, 0600, text, len, &step);
	ec_secure_free(text);
	if (!r)
		return 0;
	if (step == EC_STATEFILE_CREATE)
		return ec_err_set(r, "%s: cannot create a file in %s: %s",
				  lk->kms.name, lk->dir, strerror(-r));
	if (step == EC_STATEFILE_WRITE)
		return ec_err_set(r, "%s: cannot write %s: %s", lk->kms.name,
				  tmp, strerror(-r));
	if (step == EC_STATEFILE_RENAME)
		return ec_err_set(r, "%s: cannot replace keystore %s: %s",
				  lk->kms.name, lk->path, strerror(-r));
	return ec_err_set(r, "%s: cannot sync directory %s: %s",
			  lk->kms.name, lk->dir, strerror(-r));
}

/* ---- locking ------------------------------------------------------------ */

/* mkdir -p, each missing directory 0700. */
static int make_dir(struct local_kms *lk)
{
	char path[sizeof(lk->dir)];
	struct stat st;
	char *s;

	snprintf(path, sizeof(path), "%s", lk->dir);
	for (s = path + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		if (s[-1] != '/') {
			char c = *s;

			*s = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST)
				return ec_err_set(-errno,
						  "%s: cannot create directory %s: %s",
						  lk->kms.name, path,
						  strerror(errno));
			*s = c;
		}
		if (!*s)
			break;
	}
	if (stat(lk->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ec_err_set(-ENOTDIR, "%s: %s is not a directory",
				  lk->kms.name, lk->dir);
	return 0;
}

/*
 * Lock the keystore and load it.  @exclusive for a change: the directory
 * and the lock file are created if missing.  To read, a missing lock file
 * means an empty keystore (nothing to lock: the file is only ever
 * replaced by rename).
 */
static int keystore_begin(struct local_kms *lk, struct keystore *ks,
			  bool exclusive)
{
	enum ec_statefile_step step;
	int r;

	memset(ks, 0, sizeof(*ks));
	ks->lock_fd = -1;
	ks->now = (int64_t)time(NULL);

	if (exclusive) {
		r = make_dir(lk);
		if (r)
			return r;
	}
	r = ec_statefile_lock(lk->lock_path, exclusive, &ks->lock_fd, &step);
	if (r && step == EC_STATEFILE_OPEN_LOCK)
		return ec_err_set(r,
				  "%s: cannot open lock file %s: %s; run as root or check the directory's owner",
				  lk->kms.name, lk->lock_path, strerror(-r));
	if (r)
		return ec_err_prefix(r, "%s", lk->kms.name);
	if (ks->lock_fd < 0) {
		/* no lock file to read under: an empty keystore */
		r = keystore_read(lk, ks);
		if (r)
			keystore_free(ks);
		return r;
	}
	if (exclusive) {
		/* a next keystore left half-written by a crash */
		char tmp[sizeof(lk->dir) + sizeof(KEYSTORE_TEMP) + 1];

		snprintf(tmp, sizeof(tmp), "%s/%s", lk->dir, KEYSTORE_TEMP);
		unlink(tmp);
	}
	r = keystore_read(lk, ks);
	if (r) {
		keystore_free(ks);
		close(ks->lock_fd);
		ks->lock_fd = -1;
	}
	return r;
}

/* Forget the keystore (wiping the key material) and unlock. */
static void keystore_end(struct keystore *ks)
{
	keystore_free(ks);
	if (ks->lock_fd >= 0)
		close(ks->lock_fd);
	ks->lock_fd = -1;
}

/* ---- open and close --------------------------------------------------- */

static int local_open(const char *uri, struct ec_kms **out)
{
	const char *dir = uri + strlen(LOCAL_SCHEME ":");
	struct local_kms *lk;
	size_t len;

	if (!*dir) {
		dir = getenv(LOCAL_DIR_ENV);
		if (!dir || !*dir)
			dir = LOCAL_DEFAULT_DIR;
	}
	if (dir[0] != '/')
		return ec_err_set(-EINVAL,
				  "local KMS directory '%s' (from %s) is not an absolute path",
				  dir, uri[strlen(LOCAL_SCHEME ":")] ?
				  "the URI" : LOCAL_DIR_ENV);
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len + strlen(LOCAL_SCHEME ":") >= EC_KMS_URI_MAX)
		return ec_err_set(-EINVAL,
				  "local KMS directory '%.40s...' is too long (at most %zu characters)",
				  dir, EC_KMS_URI_MAX - 1 - strlen(LOCAL_SCHEME ":"));

	lk = calloc(1, sizeof(*lk));
	if (!lk)
		return ec_err_set(-ENOMEM, "out of memory");
	memcpy(lk->dir, dir, len);
	lk->dir[len] = '\0';
	snprintf(lk->path, sizeof(lk->path), "%s/%s",
		 len > 1 ? lk->dir : "", KEYSTORE_FILE);
	snprintf(lk->lock_path, sizeof(lk->lock_path), "%s/%s",
		 len > 1 ? lk->dir : "", KEYSTORE_LOCK);
	lk->kms.ops = &ec_kms_local_ops;
	/* canonical: a wrap slot names this directory, whatever the
	 * environment of a later open */
	memcpy(lk->kms.uri, LOCAL_SCHEME ":", strlen(LOCAL_SCHEME ":"));
	memcpy(lk->kms.uri + strlen(LOCAL_SCHEME ":"), lk->dir, len + 1);
	snprintf(lk->kms.name, sizeof(lk->kms.name), "local KMS %s", lk->dir);
	*out = &lk->kms;
	return 0;
}

static void local_close(struct ec_kms *kms)
{
	free(to_local(kms));
}

/* ---- key use: wrap and unwrap ------------------------------------------ */

/*
 * Wrap and unwrap need an Enabled CMK.  The message says what is wrong;
 * the caller, who knows what was being done, adds what to do about it.
 */
static int cmk_usable(struct local_kms *lk, const struct cmk *cmk)
{
	return ec_key_usable(cmk->id, cmk->alias, cmk->state,
			     cmk->deletion_date, "in", lk->kms.name);
}

/* The AAD: WRAP_AAD_LABEL id ":" version ":" context; malloc'd. */
static uint8_t *wrap_aad(const struct cmk *cmk, uint32_t version,
			 const char *context, size_t *len)
{
	size_t size = strlen(WRAP_AAD_LABEL) + CMK_ID_LEN + 16 +
		      strlen(context) + 1;
	char *aad = malloc(size);

	if (!aad) {
		ec_err_set(-ENOMEM, "out of memory");
		return NULL;
	}
	*len = (size_t)snprintf(aad, size, "%s%s:%u:%s", WRAP_AAD_LABEL,
				cmk->id, version, context);
	return (uint8_t *)aad;
}

static int local_wrap(struct ec_kms *kms, const char *key_id,
		      const uint8_t *dk, size_t dk_len, const char *context,
		      struct ec_wrapped *out)
{
	struct local_kms *lk = to_local(kms);
	const struct cmk_version *version;
	struct keystore ks;
	uint8_t *aad = NULL;
	struct cmk *cmk;
	size_t aad_len;
	int r;

	if (!dk || !dk_len || dk_len > EC_WRAPPED_MAX - WRAP_OVERHEAD ||
	    !context || !out)
		return ec_err_set(-EINVAL,
				  "%s: a data key of %zu bytes with a context cannot be wrapped",
				  kms->name, dk_len);
	r = keystore_begin(lk, &ks, false);
	if (r)
		return r;
	r = keystore_find(lk, &ks, key_id, &cmk);
	if (r)
		goto out;
	r = cmk_usable(lk, cmk);
	if (r)
		goto out;
	aad = wrap_aad(cmk, cmk->nversions, context, &aad_len);
	if (!aad) {
		r = -ENOMEM;
		goto out;
	}

	memset(out, 0, sizeof(*out));
	if (RAND_bytes(out->data, EC_AEAD_IV_SIZE) != 1) {
		r = ec_err_set(-EIO,
			       "OpenSSL's random generator failed to make an IV");
		goto out;
	}
	version = &cmk->versions[cmk->nversions - 1];
	r = ec_aead_seal(spec_aead(cmk->spec), version->material, out->data,
			 aad, aad_len, dk, dk_len,
			 out->data + EC_AEAD_IV_SIZE,
			 out->data + EC_AEAD_IV_SIZE + dk_len);
	if (r) {
		ec_err_prefix(r, "%s: wrapping with CMK %s", kms->name,
			      cmk->id);
		memset(out, 0, sizeof(*out));
		goto out;
	}
	out->cmk_version = cmk->nversions;
	out->len = (uint32_t)(dk_len + WRAP_OVERHEAD);
out:
	free(aad);
	keystore_end(&ks);
	return r;
}

static int local_unwrap(struct ec_kms *kms, const char *key_id,
			const struct ec_wrapped *in, const char *context,
			uint8_t *dk, size_t dk_len)
{
	char label[EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8];
	struct local_kms *lk = to_local(kms);
	struct keystore ks;
	uint8_t *aad = NULL;
	struct cmk *cmk;
	size_t aad_len;
	int r;

	if (!in || !dk || !dk_len || !context)
		return ec_err_set(-EINVAL, "%s: nothing to unwrap", kms->name);
	if (in->len != dk_len + WRAP_OVERHEAD)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key is %u bytes, a wrapped %zu-byte data key is %zu: the header is damaged",
				  kms->name, in->len, dk_len,
				  dk_len + WRAP_OVERHEAD);
	r = keystore_begin(lk, &ks, false);
	if (r)
		return r;
	r = keystore_find(lk, &ks, key_id, &cmk);
	if (r)
		goto out;
	r = cmk_usable(lk, cmk);
	if (r)
		goto out;
	cmk_label(cmk, label, sizeof(label));
	if (in->cmk_version == 0) {
		r = ec_err_set(-EBADMSG,
			       "%s: the wrapped key names no version of %s: the header is damaged",
			       kms->name, label);
		goto out;
	}
	if (in->cmk_version > cmk->nversions) {
		r = ec_err_set(-ENOKEY,
			       "%s has no version %u in %s (the newest is %u); the keystore is older than the volume: restore a newer keystore",
			       label, in->cmk_version, kms->name,
			       cmk->nversions);
		goto out;
	}
	aad = wrap_aad(cmk, in->cmk_version, context, &aad_len);
	if (!aad) {
		r = -ENOMEM;
		goto out;
	}
	r = ec_aead_open(spec_aead(cmk->spec),
			 cmk->versions[in->cmk_version - 1].material,
			 in->data, aad, aad_len,
			 in->data + EC_AEAD_IV_SIZE, dk_len, dk,
			 in->data + EC_AEAD_IV_SIZE + dk_len);
	if (r == -EBADMSG)
		ec_err_set(r,
			   "the data key wrapped by %s version %u in %s does not authenticate: the header was changed, or the wrapped key belongs to another volume",
			   label, in->cmk_version, kms->name);
	else if (r)
		ec_err_prefix(r, "%s: unwrapping with %s", kms->name, label);
out:
	free(aad);
	keystore_end(&ks);
	return r;
}

/* ---- administration ----------------------------------------------------- */

static int local_describe_key(struct ec_kms *kms, const char *key,
			      struct ec_key_info *info)
{
	struct local_kms *lk = to_local(kms);
	struct keystore ks;
	struct cmk *cmk;
	int r;

	r = keystore_begin(lk, &ks, false);
	if (r)
		return r;
	r = keystore_find(lk, &ks, key, &cmk);
	if (!r)
		cmk_info(cmk, info);
	keystore_end(&ks);
	return r;
}

static int local_service_key(struct ec_kms *kms, struct ec_key_info *info)
{
	struct local_kms *lk = to_local(kms);
	struct keystore ks;
	struct cmk *cmk;
	int r;

	/*
	 * Usually it exists: a shared lock is enough to find it.  Without
	 * a keystore directory (first use on this host), make it below.
	 */
	r = keystore_begin(lk, &ks, false);
	if (r && r != -EHOSTUNREACH)
		return r;
	if (!r) {
		cmk = find_by_alias(&ks, EC_SERVICE_KEY_ALIAS);
		if (cmk)
			cmk_info(cmk, info);
		keystore_end(&ks);
		if (cmk)
			return 0;
	}

	/* Create it; another process may have done so in between. */
	r = keystore_begin(lk, &ks, true);
	if (r)
		return r;
	cmk = find_by_alias(&ks, EC_SERVICE_KEY_ALIAS);
	if (!cmk) {
		r = keystore_new_cmk(&ks, EC_SPEC_AES_256,
				     EC_SERVICE_KEY_ALIAS, &cmk);
		if (!r)
			r = keystore_write(lk, &ks);
	}
	if (!r)
		cmk_info(cmk, info);
	keystore_end(&ks);
	return r;
}

static int local_create_key(struct ec_kms *kms, enum ec_key_spec spec,
			    const char *alias, struct ec_key_info *info)
{
	struct local_kms *lk = to_local(kms);
	char full[EC_CMK_ALIAS_MAX] = "";
	struct keystore ks;
	struct cmk *cmk;
	int r;

	if (spec != EC_SPEC_AES_256 && spec != EC_SPEC_SM4)
		return ec_err_set(-EINVAL, "%s: unknown key spec %d",
				  kms->name, (int)spec);
	if (alias) {
		r = ec_alias_full(alias, full, sizeof(full));
		if (r)
			return r;
	}

	r = keystore_begin(lk, &ks, true);
	if (r)
		return r;
	cmk = full[0] ? find_by_alias(&ks, full) : NULL;
	if (cmk) {
		r = ec_err_set(-EEXIST,
			       "%s is already taken by CMK %s in %s; choose another alias",
			       full, cmk->id, kms->name);
		goto out;
	}
	r = keystore_new_cmk(&ks, spec, full, &cmk);
	if (r)
		goto out;
	r = keystore_write(lk, &ks);
	if (r)
		goto out;
	cmk_info(cmk, info);
out:
	keystore_end(&ks);
	return r;
}

static int local_list_keys(struct ec_kms *kms, struct ec_key_info **keys,
			   size_t *n)
{
	struct local_kms *lk = to_local(kms);
	struct ec_key_info *list = NULL;
	struct keystore ks;
	size_t i;
	int r;

	*keys = NULL;
	*n = 0;
	r = keystore_begin(lk, &ks, false);
	if (r)
		return r;
	if (ks.n) {
		list = calloc(ks.n, sizeof(*list));
		if (!list) {
			r = ec_err_set(-ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < ks.n; i++)
			cmk_info(&ks.keys[i], &list[i]);
		ec_key_info_sort(list, ks.n);
	}
	*keys = list;
	*n = ks.n;
out:
	keystore_end(&ks);
	return r;
}

/*
 * A change of one CMK under the exclusive lock.  @change returns 1 when
 * it changed the key (the keystore is then written), 0 when there was
 * nothing to do, or a negative errno.
 */
struct change {
	unsigned int days;		/* schedule_deletion */
};

typedef int change_fn(struct local_kms *lk, struct keystore *ks,
		      struct cmk *cmk, const struct change *arg);

static int local_change(struct ec_kms *kms, const char *key,
			change_fn *change, const struct change *arg,
			struct ec_key_info *info)
{
	struct local_kms *lk = to_local(kms);
	struct keystore ks;
	struct cmk *cmk;
	int r;

	/* a key to change is in a directory that exists: make none */
	r = keystore_dir_present(lk);
	if (r)
		return r;
	r = keystore_begin(lk, &ks, true);
	if (r)
		return r;
	r = keystore_find(lk, &ks, key, &cmk);
	if (r)
		goto out;
	r = change(lk, &ks, cmk, arg);
	if (r > 0)
		r = keystore_write(lk, &ks);
	if (!r)
		cmk_info(cmk, info);
out:
	keystore_end(&ks);
	return r;
}

static int refuse_service_key(struct local_kms *lk, const struct cmk *cmk,
			      const char *what)
{
	return ec_key_refuse_service(cmk->id, cmk->alias, lk->kms.name, what);
}

/* The message for an admin operation on a PendingDeletion key. */
static int pending_deletion(struct local_kms *lk, const struct cmk *cmk,
			    const char *what)
{
	return ec_key_pending_deletion(cmk->id, cmk->alias, cmk->deletion_date,
				       "in", lk->kms.name, what);
}

static int change_enable(struct local_kms *lk, struct keystore *ks,
			 struct cmk *cmk, const struct change *arg)
{
	(void)ks;
	(void)arg;
	if (cmk->state == EC_KEY_PENDING_DELETION)
		return pending_deletion(lk, cmk, "enable");
	if (cmk->state == EC_KEY_ENABLED)
		return 0;
	cmk->state = EC_KEY_ENABLED;
	return 1;
}

static int change_disable(struct local_kms *lk, struct keystore *ks,
			  struct cmk *cmk, const struct change *arg)
{
	(void)ks;
	(void)arg;
	if (cmk_is_service(cmk))
		return refuse_service_key(lk, cmk, "disable");
	if (cmk->state == EC_KEY_PENDING_DELETION)
		return pending_deletion(lk, cmk, "disable");
	if (cmk->state == EC_KEY_DISABLED)
		return 0;
	cmk->state = EC_KEY_DISABLED;
	return 1;
}

static int change_rotate(struct local_kms *lk, struct keystore *ks,
			 struct cmk *cmk, const struct change *arg)
{
	int r;

	(void)arg;
	r = cmk_usable(lk, cmk);
	if (r)
		return r;
	r = cmk_add_version(ks, cmk);
	return r ? r : 1;
}

static int change_schedule_deletion(struct local_kms *lk,
				    struct keystore *ks, struct cmk *cmk,
				    const struct change *arg)
{
	char label[EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8];

	if (cmk_is_service(cmk))
		return refuse_service_key(lk, cmk, "delete");
	if (arg->days < DELETION_DAYS_MIN || arg->days > DELETION_DAYS_MAX)
		return ec_err_set(-EINVAL,
				  "%s: the waiting period before deletion must be %d to %d days, not %u",
				  cmk_label(cmk, label, sizeof(label)),
				  DELETION_DAYS_MIN, DELETION_DAYS_MAX,
				  arg->days);
	if (cmk->state == EC_KEY_PENDING_DELETION)
		return pending_deletion(lk, cmk, "schedule");
	cmk->state = EC_KEY_PENDING_DELETION;
	cmk->deletion_date = ks->now + (int64_t)arg->days * DAY_SECONDS;
	return 1;
}

/* As AWS KMS does, a key whose deletion is cancelled is Disabled. */
static int change_cancel_deletion(struct local_kms *lk, struct keystore *ks,
				  struct cmk *cmk, const struct change *arg)
{
	char label[EC_CMK_ID_MAX + EC_CMK_ALIAS_MAX + 8];

	(void)ks;
	(void)arg;
	if (cmk->state != EC_KEY_PENDING_DELETION)
		return ec_err_set(-EINVAL,
				  "%s is %s in %s, not PendingDeletion: there is no deletion to cancel",
				  cmk_label(cmk, label, sizeof(label)),
				  ec_key_state_name(cmk->state), lk->kms.name);
	cmk->state = EC_KEY_DISABLED;
	cmk->deletion_date = 0;
	return 1;
}

static int local_enable_key(struct ec_kms *kms, const char *key,
			    struct ec_key_info *info)
{
	return local_change(kms, key, change_enable, NULL, info);
}

static int local_disable_key(struct ec_kms *kms, const char *key,
			     struct ec_key_info *info)
{
	return local_change(kms, key, change_disable, NULL, info);
}

static int local_rotate_key(struct ec_kms *kms, const char *key,
			    struct ec_key_info *info)
{
	return local_change(kms, key, change_rotate, NULL, info);
}

static int local_schedule_deletion(struct ec_kms *kms, const char *key,
				   unsigned int days,
				   struct ec_key_info *info)
{
	const struct change arg = { .days = days };

	return local_change(kms, key, change_schedule_deletion, &arg, info);
}

static int local_cancel_deletion(struct ec_kms *kms, const char *key,
				 struct ec_key_info *info)
{
	return local_change(kms, key, change_cancel_deletion, NULL, info);
}

const struct ec_kms_ops ec_kms_local_ops = {
	.scheme			= LOCAL_SCHEME,
	.open			= local_open,
	.close			= local_close,
	.describe_key		= local_describe_key,
	.wrap			= local_wrap,
	.unwrap			= local_unwrap,
	.service_key		= local_service_key,
	.create_key		= local_create_key,
	.list_keys		= local_list_keys,
	.enable_key		= local_enable_key,
	.disable_key		= local_disable_key,
	.rotate_key		= local_rotate_key,
	.schedule_deletion	= local_schedule_deletion,
	.cancel_deletion	= local_cancel_deletion,
};
