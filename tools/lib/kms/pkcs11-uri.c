// SPDX-License-Identifier: GPL-2.0
/*
 * The PKCS#11 provider's KMS URI: parse it (RFC 7512 path attributes
 * naming the token, query attributes naming the module, the PIN file and
 * the mechanism) and write it back in canonical form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "pkcs11-uri.h"
#include "uri.h"

#define PIN_FILE_PREFIX		"file:"

static const char *const path_attrs[] = {
	"token", "manufacturer", "serial", "model", "slot-id", NULL,
};

static const char *const query_attrs[] = {
	"module-path", "pin-source", "mechanism", "timeout", NULL,
};

const char *ec_p11_mech_name(enum ec_p11_mech mech)
{
	switch (mech) {
	case EC_P11_MECH_AES_GCM:
		return "aes-gcm";
	case EC_P11_MECH_AES_KWP:
		return "aes-key-wrap-pad";
	}
	return "unknown";
}

/*
 * Whether one attribute of @s (a path or query list) is named pin-value.
 * Checked before anything else, so that no message repeats such a URI.
 */
static bool has_pin_value(const char *s)
{
	static const char name[] = "pin-value";
	const char *p = s;

	for (;;) {
		/* any case: no message may repeat a PIN */
		if (!strncasecmp(p, name, strlen(name)) &&
		    (p[strlen(name)] == '=' || !p[strlen(name)] ||
		     strchr(";?&", p[strlen(name)])))
			return true;
		p += strcspn(p, ";?&");
		if (!*p)
			return false;
		p++;
	}
}

/*
 * The value of attribute @name into @value (@size with the NUL), which
 * must hold at most @max - 1 bytes; @what names it in messages.
 * 1 found, 0 absent, -EINVAL.
 */
static int attr(const char *uri, const char *list, char sep,
		const char *name, char *value, size_t size, size_t max,
		const char *what)
{
	char buf[EC_KMS_URI_MAX];
	int r;

	r = ec_uri_param(uri, list, sep, name, buf, sizeof(buf));
	if (r <= 0) {
		value[0] = '\0';
		return r;
	}
	if (strlen(buf) >= max || strlen(buf) >= size)
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': %s '%s' is longer than %zu bytes, the most a PKCS#11 token has",
				  uri, what, buf, max - 1);
	memcpy(value, buf, strlen(buf) + 1);
	return 1;
}

static int parse_slot_id(const char *uri, const char *path,
			 struct ec_p11_uri *u)
{
	char buf[32], *end;
	int r;

	r = ec_uri_param(uri, path, ';', "slot-id", buf, sizeof(buf));
	if (r <= 0)
		return r;
	errno = 0;
	u->slot_id = strtoul(buf, &end, 10);
	if (errno || end == buf || *end || buf[0] < '0' || buf[0] > '9')
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': slot-id '%s' is not a decimal slot number",
				  uri, buf);
	u->has |= EC_P11_HAS_SLOT_ID;
	return 0;
}

static int parse_token(const char *uri, const char *path,
		       struct ec_p11_uri *u)
{
	int r;

	r = attr(uri, path, ';', "token", u->token, sizeof(u->token),
		 EC_P11_LABEL_MAX, "token label");
	if (r < 0)
		return r;
	if (r)
		u->has |= EC_P11_HAS_TOKEN;
	r = attr(uri, path, ';', "manufacturer", u->manufacturer,
		 sizeof(u->manufacturer), EC_P11_MANUFACTURER_MAX,
		 "token manufacturer");
	if (r < 0)
		return r;
	if (r)
		u->has |= EC_P11_HAS_MANUFACTURER;
	r = attr(uri, path, ';', "serial", u->serial, sizeof(u->serial),
		 EC_P11_SERIAL_MAX, "token serial number");
	if (r < 0)
		return r;
	if (r)
		u->has |= EC_P11_HAS_SERIAL;
	r = attr(uri, path, ';', "model", u->model, sizeof(u->model),
		 EC_P11_MODEL_MAX, "token model");
	if (r < 0)
		return r;
	if (r)
		u->has |= EC_P11_HAS_MODEL;
	r = parse_slot_id(uri, path, u);
	if (r < 0)
		return r;
	if (!(u->has & (EC_P11_HAS_TOKEN | EC_P11_HAS_SERIAL |
			EC_P11_HAS_SLOT_ID)))
		return ec_err_set(-EINVAL,
				  "KMS URI '%s' names no token: add token=LABEL (or serial=, slot-id=) before the '?'; softhsm2-util --show-slots lists the tokens of SoftHSM2",
				  uri);
	return 0;
}

static int parse_module(const char *uri, const char *query,
			struct ec_p11_uri *u)
{
	int r;

	r = ec_uri_param(uri, query, '&', "module-path", u->module_path,
			 sizeof(u->module_path));
	if (r < 0)
		return r;
	if (!r || !u->module_path[0])
		return ec_err_set(-EINVAL,
				  "KMS URI '%s' has no module-path=: name the PKCS#11 module to load, e.g. '?module-path=/usr/lib/softhsm/libsofthsm2.so'",
				  uri);
	if (u->module_path[0] != '/')
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': module-path '%s' is not an absolute path; give the module's full path (a bare name would be searched for in the library path)",
				  uri, u->module_path);
	return 0;
}

/* pin-source=file:/ABS, file:///ABS or /ABS; not "|program". */
static int parse_pin_source(const char *uri, const char *query,
			    struct ec_p11_uri *u)
{
	char buf[EC_KMS_URI_MAX];
	const char *path = buf;
	int r;

	r = ec_uri_param(uri, query, '&', "pin-source", buf, sizeof(buf));
	if (r <= 0)
		return r;
	if (!strncmp(path, PIN_FILE_PREFIX, strlen(PIN_FILE_PREFIX))) {
		path += strlen(PIN_FILE_PREFIX);
		if (!strncmp(path, "///", 3))
			path += 2;
	}
	if (path[0] == '|')
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': pin-source '%s' would run a program; envcryptctl only reads the PIN from a file: use pin-source=file:/path (mode 0600) or the environment variable %s",
				  uri, buf, EC_P11_PIN_ENV);
	if (path[0] != '/')
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': pin-source '%s' is not an absolute file name; use pin-source=file:/path",
				  uri, buf);
	/*
	 * One leading '/': the same file, and the canonical "file:/PATH"
	 * parses back to it ("file:" "///x" would come back as "/x").
	 */
	while (path[1] == '/')
		path++;
	snprintf(u->pin_file, sizeof(u->pin_file), "%s", path);
	return 0;
}

static int parse_query(const char *uri, const char *query,
		       struct ec_p11_uri *u)
{
	char mech[32];
	int r;

	r = parse_module(uri, query, u);
	if (!r)
		r = parse_pin_source(uri, query, u);
	if (r)
		return r;
	u->mech = EC_P11_MECH_AES_GCM;
	r = ec_uri_param(uri, query, '&', "mechanism", mech, sizeof(mech));
	if (r < 0)
		return r;
	if (r && !strcmp(mech, ec_p11_mech_name(EC_P11_MECH_AES_KWP)))
		u->mech = EC_P11_MECH_AES_KWP;
	else if (r && strcmp(mech, ec_p11_mech_name(EC_P11_MECH_AES_GCM)))
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': unknown mechanism '%s'; use aes-gcm (the default) or aes-key-wrap-pad",
				  uri, mech);
	r = ec_uri_param(uri, query, '&', "timeout", mech, sizeof(mech));
	if (r < 0)
		return r;
	u->has_timeout = r;
	return ec_uri_timeout_ms(uri, query, &u->timeout_ms);
}

int ec_p11_uri_parse(const char *uri, struct ec_p11_uri *u)
{
	static const char prefix[] = EC_P11_SCHEME ":";
	char path[EC_KMS_URI_MAX];
	const char *rest, *query;
	size_t len;
	int r;

	memset(u, 0, sizeof(*u));
	if (strncmp(uri, prefix, strlen(prefix)))
		return ec_err_set(-EINVAL, "KMS URI '%s' is not a %s URI",
				  uri, prefix);
	rest = uri + strlen(prefix);
	if (has_pin_value(rest))
		return ec_err_set(-EINVAL,
				  "the PKCS#11 KMS URI has a pin-value= attribute: refused, because the URI is stored in volume headers and shows in the process list; put the PIN in a file no one else can read (chmod 600) named by pin-source=file:/path, or in the environment variable %s",
				  EC_P11_PIN_ENV);
	query = strchr(rest, '?');
	len = query ? (size_t)(query - rest) : strlen(rest);
	if (len >= sizeof(path))
		return ec_err_set(-EINVAL, "KMS URI '%s' is too long", uri);
	memcpy(path, rest, len);
	path[len] = '\0';
	query = query ? query + 1 : "";
	if (strchr(path, '/') || strchr(query, '#'))
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': a '/' before the '?' or a '#' anywhere must be percent-encoded (%%2F, %%23)",
				  uri);

	r = ec_uri_check_params(uri, path, ';', path_attrs);
	if (!r)
		r = ec_uri_check_params(uri, query, '&', query_attrs);
	if (!r)
		r = parse_token(uri, path, u);
	if (!r)
		r = parse_query(uri, query, u);
	return r;
}

/* Percent-encode @value after @name= into @buf at *@used. */
static int put_attr(char *buf, size_t size, size_t *used, char sep,
		    const char *name, const char *value, bool query)
{
	static const char safe[] = "-._~:@!$'()*+,";
	const unsigned char *v = (const unsigned char *)value;
	int n;

	if (sep)
		n = snprintf(buf + *used, size - *used, "%c%s=", sep, name);
	else
		n = snprintf(buf + *used, size - *used, "%s=", name);
	if (n < 0 || (size_t)n >= size - *used)
		return -EINVAL;
	*used += n;
	for (; *v; v++) {
		if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		    (*v >= '0' && *v <= '9') || strchr(safe, *v) ||
		    (query && *v == '/'))
			n = snprintf(buf + *used, size - *used, "%c", *v);
		else
			n = snprintf(buf + *used, size - *used, "%%%02X", *v);
		if (n < 0 || (size_t)n >= size - *used)
			return -EINVAL;
		*used += n;
	}
	return 0;
}

int ec_p11_uri_format(const struct ec_p11_uri *u, char *buf, size_t size)
{
	size_t used = 0;
	char sep = '\0', slot[24];
	int r = 0;

	if (size <= strlen(EC_P11_SCHEME ":"))
		return -EINVAL;
	used = (size_t)snprintf(buf, size, "%s:", EC_P11_SCHEME);
#define PUT_PATH(flag, name, value)					\
	do {								\
		if (!r && (u->has & (flag))) {				\
			r = put_attr(buf, size, &used, sep, name, value,\
				     false);				\
			sep = ';';					\
		}							\
	} while (0)
	snprintf(slot, sizeof(slot), "%lu", u->slot_id);
	PUT_PATH(EC_P11_HAS_TOKEN, "token", u->token);
	PUT_PATH(EC_P11_HAS_MANUFACTURER, "manufacturer", u->manufacturer);
	PUT_PATH(EC_P11_HAS_SERIAL, "serial", u->serial);
	PUT_PATH(EC_P11_HAS_MODEL, "model", u->model);
	PUT_PATH(EC_P11_HAS_SLOT_ID, "slot-id", slot);
#undef PUT_PATH
	if (!r)
		r = put_attr(buf, size, &used, '?', "module-path",
			     u->module_path, true);
	if (!r && u->pin_file[0]) {
		char pin_source[EC_KMS_URI_MAX + sizeof(PIN_FILE_PREFIX)];

		snprintf(pin_source, sizeof(pin_source), "%s%s",
			 PIN_FILE_PREFIX, u->pin_file);
		r = put_attr(buf, size, &used, '&', "pin-source", pin_source,
			     true);
	}
	if (!r && u->mech != EC_P11_MECH_AES_GCM)
		r = put_attr(buf, size, &used, '&', "mechanism",
			     ec_p11_mech_name(u->mech), true);
	if (!r && u->has_timeout) {
		snprintf(slot, sizeof(slot), "%d", u->timeout_ms / 1000);
		r = put_attr(buf, size, &used, '&', "timeout", slot, true);
	}
	if (r)
		return ec_err_set(-EINVAL,
				  "the canonical form of PKCS#11 KMS URI for module %s is longer than %zu characters; use a shorter token label, module or PIN file path",
				  u->module_path, size - 1);
	return 0;
}
