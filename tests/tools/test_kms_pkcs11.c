// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the PKCS#11 provider's pure parts: its KMS URI (parse and
 * canonical form; tools/lib/kms/pkcs11-uri.c) and the names and errnos
 * of CK_RV values (tools/lib/kms/ckr.c); and how the provider takes
 * lengths from a module that is not SoftHSM2 (a fake one, given by the
 * wrapped dlopen).  The provider itself runs against a real SoftHSM2
 * token in tests/peers/t_pkcs11.sh.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "kms.h"
#include "kms/ckr.h"
#include "kms/pkcs11-uri.h"

#define MODULE	"/usr/lib/softhsm/libsofthsm2.so"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static void assert_msg_has(const char *text)
{
	if (!strstr(ec_err_msg(), text))
		fail_msg("message '%s' lacks '%s'", ec_err_msg(), text);
}

static void assert_msg_lacks(const char *text)
{
	if (strstr(ec_err_msg(), text))
		fail_msg("message '%s' has '%s'", ec_err_msg(), text);
}

static void test_uri_minimal(void **state)
{
	struct ec_p11_uri u;
	char buf[EC_KMS_URI_MAX];

	(void)state;
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=envcrypt?module-path="
					  MODULE, &u), 0);
	assert_int_equal(u.has, EC_P11_HAS_TOKEN);
	assert_string_equal(u.token, "envcrypt");
	assert_string_equal(u.module_path, MODULE);
	assert_string_equal(u.pin_file, "");
	assert_int_equal(u.mech, EC_P11_MECH_AES_GCM);
	assert_false(u.has_timeout);
	assert_int_equal(u.timeout_ms, EC_KMS_TIMEOUT_DEFAULT_MS);
	assert_int_equal(ec_p11_uri_format(&u, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "pkcs11:token=envcrypt?module-path=" MODULE);
}

static void test_uri_all_attributes_canonical_order(void **state)
{
	struct ec_p11_uri u;
	char buf[EC_KMS_URI_MAX];

	(void)state;
	assert_int_equal(ec_p11_uri_parse("pkcs11:slot-id=7;model=SoftHSM%20v2;"
					  "serial=70046c22;manufacturer=SoftHSM%20project;"
					  "token=My%20Token%3bx"
					  "?timeout=9&mechanism=aes-key-wrap-pad"
					  "&pin-source=file:/etc/envcrypt/pin"
					  "&module-path=" MODULE, &u), 0);
	assert_int_equal(u.has, EC_P11_HAS_TOKEN | EC_P11_HAS_MANUFACTURER |
			 EC_P11_HAS_SERIAL | EC_P11_HAS_MODEL |
			 EC_P11_HAS_SLOT_ID);
	assert_string_equal(u.token, "My Token;x");
	assert_string_equal(u.manufacturer, "SoftHSM project");
	assert_string_equal(u.serial, "70046c22");
	assert_string_equal(u.model, "SoftHSM v2");
	assert_int_equal(u.slot_id, 7);
	assert_string_equal(u.pin_file, "/etc/envcrypt/pin");
	assert_int_equal(u.mech, EC_P11_MECH_AES_KWP);
	assert_true(u.has_timeout);
	assert_int_equal(u.timeout_ms, 9000);
	assert_int_equal(ec_p11_uri_format(&u, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
			    "pkcs11:token=My%20Token%3Bx;manufacturer=SoftHSM%20project;"
			    "serial=70046c22;model=SoftHSM%20v2;slot-id=7"
			    "?module-path=" MODULE
			    "&pin-source=file:/etc/envcrypt/pin"
			    "&mechanism=aes-key-wrap-pad&timeout=9");
}

/* The canonical form parses back to the same URI. */
static void test_uri_canonical_round_trip(void **state)
{
	struct ec_p11_uri u, v;
	char a[EC_KMS_URI_MAX], b[EC_KMS_URI_MAX];

	(void)state;
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=a%26b%3Dc%3Fd%2Fe%25"
					  "?module-path=/opt/x%20y/p11.so"
					  "&pin-source=/root/p%26in", &u), 0);
	assert_string_equal(u.token, "a&b=c?d/e%");
	assert_string_equal(u.module_path, "/opt/x y/p11.so");
	assert_string_equal(u.pin_file, "/root/p&in");
	assert_int_equal(ec_p11_uri_format(&u, a, sizeof(a)), 0);
	assert_string_equal(a, "pkcs11:token=a%26b%3Dc%3Fd%2Fe%25"
			    "?module-path=/opt/x%20y/p11.so"
			    "&pin-source=file:/root/p%26in");
	assert_int_equal(ec_p11_uri_parse(a, &v), 0);
	assert_int_equal(ec_p11_uri_format(&v, b, sizeof(b)), 0);
	assert_string_equal(a, b);
}

static void test_uri_pin_source_forms(void **state)
{
	struct ec_p11_uri u;

	(void)state;
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=/m.so"
					  "&pin-source=file:///etc/pin", &u), 0);
	assert_string_equal(u.pin_file, "/etc/pin");
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=/m.so"
					  "&pin-source=/etc/pin", &u), 0);
	assert_string_equal(u.pin_file, "/etc/pin");

	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=/m.so"
					  "&pin-source=pin.txt", &u), -EINVAL);
	assert_msg_has("pin-source 'pin.txt' is not an absolute file name");
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=/m.so"
					  "&pin-source=%7C/bin/askpin", &u),
			 -EINVAL);
	assert_msg_has("would run a program");
	assert_msg_has("ENVCRYPT_PKCS11_PIN");
}

/*
 * Found by fuzz_pkcs11_uri: "file://///c/pin" was "///c/pin", whose
 * canonical "file:///c/pin" parsed back as "/c/pin", so the canonical
 * form of a URI was not its own canonical form.  Leading slashes are
 * one now, and the canonical form is stable.
 */
static void test_uri_pin_source_extra_slashes(void **state)
{
	static const char uri[] =
		"pkcs11:token=My%20Token;manufacturer=SoftHSM%20project;"
		"serial=0123456789abcdef;model=SoftHSM%20v2;slot-id=42"
		"?module-path=/usr/lib/x86_64-linux-gnu/softosm/libsofthsm2.so"
		"&pin-source=file://///c/envcrypt/pin"
		"&mechanism=aes-key-wrap-pad&timeout=15";
	struct ec_p11_uri u, v;
	char a[EC_KMS_URI_MAX], b[EC_KMS_URI_MAX];

	(void)state;
	assert_int_equal(ec_p11_uri_parse(uri, &u), 0);
	assert_string_equal(u.pin_file, "/c/envcrypt/pin");
	assert_int_equal(ec_p11_uri_format(&u, a, sizeof(a)), 0);
	assert_non_null(strstr(a, "&pin-source=file:/c/envcrypt/pin&"));
	assert_int_equal(ec_p11_uri_parse(a, &v), 0);
	assert_string_equal(v.pin_file, u.pin_file);
	assert_int_equal(ec_p11_uri_format(&v, b, sizeof(b)), 0);
	assert_string_equal(a, b);

	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=/m.so"
					  "&pin-source=//etc//pin", &u), 0);
	assert_string_equal(u.pin_file, "/etc//pin");
}

/* pin-value= is refused, and the message never shows the PIN. */
static void test_uri_pin_value_refused(void **state)
{
	static const char *const uris[] = {
		"pkcs11:token=t?module-path=/m.so&pin-value=s3cr3t",
		"pkcs11:token=t?pin-value=s3cr3t&module-path=/m.so",
		"pkcs11:token=t;pin-value=s3cr3t?module-path=/m.so",
		"pkcs11:token=t?module-path=/m.so&pin-value",
		"pkcs11:token=t?module-path=/m.so&PIN-Value=s3cr3t",
	};
	struct ec_p11_uri u;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(uris); i++) {
		ec_err_clear();
		assert_int_equal(ec_p11_uri_parse(uris[i], &u), -EINVAL);
		assert_msg_has("pin-value= attribute: refused");
		assert_msg_has("pin-source=file:/path");
		assert_msg_has("ENVCRYPT_PKCS11_PIN");
		assert_msg_lacks("s3cr3t");
	}
	/* a token named so is not a pin-value attribute */
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=pin-value?module-path=/m.so",
					  &u), 0);
}

static void test_uri_module_path(void **state)
{
	struct ec_p11_uri u;

	(void)state;
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t", &u), -EINVAL);
	assert_msg_has("has no module-path=");
	assert_msg_has("module-path=/usr/lib/softhsm/libsofthsm2.so");
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=", &u),
			 -EINVAL);
	assert_msg_has("has no module-path=");
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=libsofthsm2.so",
					  &u), -EINVAL);
	assert_msg_has("module-path 'libsofthsm2.so' is not an absolute path");
}

static void test_uri_token_required_and_sized(void **state)
{
	struct ec_p11_uri u;

	(void)state;
	assert_int_equal(ec_p11_uri_parse("pkcs11:?module-path=/m.so", &u),
			 -EINVAL);
	assert_msg_has("names no token");
	assert_int_equal(ec_p11_uri_parse("pkcs11:model=x?module-path=/m.so",
					  &u), -EINVAL);
	assert_msg_has("names no token");
	assert_int_equal(ec_p11_uri_parse("pkcs11:serial=1?module-path=/m.so",
					  &u), 0);
	assert_int_equal(ec_p11_uri_parse("pkcs11:slot-id=12?module-path=/m.so",
					  &u), 0);
	assert_int_equal(u.slot_id, 12);
	/* 32 bytes is a token label's most */
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=0123456789abcdef0123456789abcdef"
					  "?module-path=/m.so", &u), 0);
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=0123456789abcdef0123456789abcdefX"
					  "?module-path=/m.so", &u), -EINVAL);
	assert_msg_has("token label '0123456789abcdef0123456789abcdefX' is longer than 32 bytes");
	assert_int_equal(ec_p11_uri_parse("pkcs11:serial=0123456789abcdefX"
					  "?module-path=/m.so", &u), -EINVAL);
	assert_msg_has("longer than 16 bytes");
	assert_int_equal(ec_p11_uri_parse("pkcs11:slot-id=-1?module-path=/m.so",
					  &u), -EINVAL);
	assert_msg_has("slot-id '-1' is not a decimal slot number");
	assert_int_equal(ec_p11_uri_parse("pkcs11:slot-id=1x?module-path=/m.so",
					  &u), -EINVAL);
}

static void test_uri_unknown_and_malformed(void **state)
{
	struct ec_p11_uri u;

	(void)state;
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t;object=k?module-path=/m.so",
					  &u), -EINVAL);
	assert_msg_has("unknown parameter 'object'");
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=/m.so&module-name=softhsm2",
					  &u), -EINVAL);
	assert_msg_has("unknown parameter 'module-name'");
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=/m.so&mechanism=aes-cbc",
					  &u), -EINVAL);
	assert_msg_has("unknown mechanism 'aes-cbc'");
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=/m.so&timeout=0",
					  &u), -EINVAL);
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=a/b?module-path=/m.so",
					  &u), -EINVAL);
	assert_msg_has("must be percent-encoded");
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t%2?module-path=/m.so",
					  &u), -EINVAL);
	assert_int_equal(ec_p11_uri_parse("pkcs11:token?module-path=/m.so",
					  &u), -EINVAL);
	assert_int_equal(ec_p11_uri_parse("local:/x", &u), -EINVAL);
}

static void test_uri_format_too_long(void **state)
{
	struct ec_p11_uri u;
	char buf[48];

	(void)state;
	assert_int_equal(ec_p11_uri_parse("pkcs11:token=t?module-path=" MODULE,
					  &u), 0);
	assert_int_equal(ec_p11_uri_format(&u, buf, sizeof(buf)), -EINVAL);
	assert_msg_has("longer than 47 characters");
}

/* The provider refuses pin-value before anything can echo the URI. */
static void test_open_refuses_pin_value(void **state)
{
	struct ec_kms *kms = (struct ec_kms *)1;

	(void)state;
	assert_int_equal(ec_kms_open("pkcs11:token=t?module-path=/m.so&pin-value=s3cr3t",
				     &kms), -EINVAL);
	assert_null(kms);
	assert_msg_lacks("s3cr3t");
}

/* Open touches no module: a missing one fails only at the first use. */
static void test_open_is_cheap_and_canonical(void **state)
{
	struct ec_kms *kms;
	struct ec_key_info info;

	(void)state;
	assert_int_equal(ec_kms_open("pkcs11:token=t?timeout=3&module-path=/nonexistent/p11.so",
				     &kms), 0);
	assert_string_equal(kms->uri,
			    "pkcs11:token=t?module-path=/nonexistent/p11.so&timeout=3");
	assert_string_equal(kms->name, "PKCS#11 token 't'");
	assert_int_equal(ec_kms_describe_key(kms, "alias/x", &info), -ENOENT);
	assert_msg_has("PKCS#11 module /nonexistent/p11.so");
	assert_msg_has("correct module-path=");
	ec_kms_close(kms);
}

static void test_ckr_names(void **state)
{
	char buf[48];

	(void)state;
	assert_string_equal(ec_ckr_name(CKR_OK), "CKR_OK");
	assert_string_equal(ec_ckr_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
	assert_string_equal(ec_ckr_name(CKR_GENERAL_ERROR), "CKR_GENERAL_ERROR");
	assert_string_equal(ec_ckr_name(CKR_FUNCTION_REJECTED),
			    "CKR_FUNCTION_REJECTED");
	assert_null(ec_ckr_name(0x4242));
	assert_string_equal(ec_ckr_format(CKR_KEY_FUNCTION_NOT_PERMITTED, buf,
					  sizeof(buf)),
			    "CKR_KEY_FUNCTION_NOT_PERMITTED");
	assert_string_equal(ec_ckr_format(0x4242, buf, sizeof(buf)),
			    "CK_RV 0x4242");
	assert_string_equal(ec_ckr_format(CKR_VENDOR_DEFINED | 1, buf,
					  sizeof(buf)),
			    "CK_RV 0x80000001 (vendor defined)");
}

static void test_ckr_errnos(void **state)
{
	(void)state;
	assert_int_equal(ec_ckr_errno(CKR_OK), 0);
	assert_int_equal(ec_ckr_errno(CKR_PIN_INCORRECT), -EACCES);
	assert_int_equal(ec_ckr_errno(CKR_PIN_LOCKED), -EACCES);
	assert_int_equal(ec_ckr_errno(CKR_USER_NOT_LOGGED_IN), -EACCES);
	assert_int_equal(ec_ckr_errno(CKR_KEY_FUNCTION_NOT_PERMITTED),
			 -EKEYREVOKED);
	assert_int_equal(ec_ckr_errno(CKR_OBJECT_HANDLE_INVALID), -ENOKEY);
	assert_int_equal(ec_ckr_errno(CKR_KEY_HANDLE_INVALID), -ENOKEY);
	assert_int_equal(ec_ckr_errno(CKR_ENCRYPTED_DATA_INVALID), -EBADMSG);
	assert_int_equal(ec_ckr_errno(CKR_ENCRYPTED_DATA_LEN_RANGE), -EBADMSG);
	assert_int_equal(ec_ckr_errno(CKR_WRAPPED_KEY_INVALID), -EBADMSG);
	assert_int_equal(ec_ckr_errno(CKR_TOKEN_NOT_PRESENT), -EAGAIN);
	assert_int_equal(ec_ckr_errno(CKR_DEVICE_REMOVED), -EAGAIN);
	assert_int_equal(ec_ckr_errno(CKR_SESSION_HANDLE_INVALID), -EAGAIN);
	assert_int_equal(ec_ckr_errno(CKR_MECHANISM_INVALID), -EOPNOTSUPP);
	assert_int_equal(ec_ckr_errno(CKR_ATTRIBUTE_READ_ONLY), -EPERM);
	assert_int_equal(ec_ckr_errno(CKR_HOST_MEMORY), -ENOMEM);
	/* only C_Decrypt's caller knows it means a tag that fails */
	assert_int_equal(ec_ckr_errno(CKR_GENERAL_ERROR), -EIO);
	assert_int_equal(ec_ckr_errno(CKR_VENDOR_DEFINED | 7), -EIO);
	/* and the exit codes they become */
	assert_int_equal(ec_exit_code(ec_ckr_errno(CKR_PIN_INCORRECT)),
			 EC_EXIT_FAILED);
	assert_int_equal(ec_exit_code(ec_ckr_errno(CKR_KEY_FUNCTION_NOT_PERMITTED)),
			 EC_EXIT_KEY_UNUSABLE);
	assert_int_equal(ec_exit_code(ec_ckr_errno(CKR_ENCRYPTED_DATA_INVALID)),
			 EC_EXIT_HEADER);
	assert_int_equal(ec_exit_code(ec_ckr_errno(CKR_TOKEN_NOT_PRESENT)),
			 EC_EXIT_KMS_UNREACHABLE);
}

/* ---- a fake module ----------------------------------------------------- */

#define FAKE_MODULE	"/dev/null"	/* stat() must find it */
#define FAKE_URI	"pkcs11:token=fake?module-path=" FAKE_MODULE
#define FAKE_KEY	1
#define FAKE_ALWAYS	UINT_MAX	/* fail every time */

static struct {
	unsigned long decrypt_extra;	/* room C_Decrypt wants beyond input */
	bool id_too_long;		/* CKA_ID: BUFFER_TOO_SMALL, length */
	bool op_active;
	bool find_pending;
	unsigned int sessions_closed;
	bool login_required;		/* CKF_LOGIN_REQUIRED, count C_Login */
	bool away;			/* token gone: C_OpenSession fails */
	CK_RV decrypt_init_rv;		/* C_DecryptInit fails with this ... */
	unsigned int decrypt_init_fails;/* ... this many more times */
	CK_RV decrypt_rv;		/* C_Decrypt likewise */
	unsigned int decrypt_fails;
	unsigned int sessions_opened;	/* successful C_OpenSession */
	unsigned int open_session_calls;
	unsigned int logins;
	unsigned int decrypt_init_calls;
	CK_SESSION_HANDLE session;	/* the last opened */
} fake;

/* Return @rv while *@times is not 0, counting down; CKR_OK after. */
static CK_RV fake_fail(CK_RV rv, unsigned int *times)
{
	if (!*times || rv == CKR_OK)
		return CKR_OK;
	if (*times != FAKE_ALWAYS)
		(*times)--;
	return rv;
}

static CK_RV fake_ok(void *arg)
{
	(void)arg;
	return CKR_OK;
}

static CK_RV fake_session_ok(CK_SESSION_HANDLE session)
{
	(void)session;
	return CKR_OK;
}

static CK_RV fake_get_slot_list(CK_BBOOL present, CK_SLOT_ID *list,
				CK_ULONG *count)
{
	(void)present;
	if (list)
		list[0] = 1;
	*count = 1;
	return CKR_OK;
}

static CK_RV fake_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO *ti)
{
	(void)slot;
	memset(ti, ' ', sizeof(*ti));
	memcpy(ti->label, "fake", 4);
	ti->flags = CKF_TOKEN_INITIALIZED;	/* no login ... */
	if (fake.login_required)
		ti->flags |= CKF_LOGIN_REQUIRED;	/* ... unless so */
	return CKR_OK;
}

static CK_RV fake_login(CK_SESSION_HANDLE session, CK_USER_TYPE user,
			CK_UTF8CHAR *pin, CK_ULONG len)
{
	(void)user;
	if (session != fake.session)
		return CKR_SESSION_HANDLE_INVALID;
	if (len != 4 || memcmp(pin, "1234", 4))
		return CKR_PIN_INCORRECT;
	fake.logins++;
	return CKR_OK;
}

static CK_RV fake_open_session(CK_SLOT_ID slot, CK_FLAGS flags, void *app,
			       CK_NOTIFY notify, CK_SESSION_HANDLE *session)
{
	(void)slot;
	(void)flags;
	(void)app;
	(void)notify;
	fake.open_session_calls++;
	if (fake.away)
		return CKR_TOKEN_NOT_PRESENT;
	fake.op_active = false;
	fake.sessions_opened++;
	*session = fake.session = 6 + fake.sessions_opened;	/* 7, 8, ... */
	return CKR_OK;
}

static CK_RV fake_close_session(CK_SESSION_HANDLE session)
{
	(void)session;
	fake.op_active = false;
	fake.sessions_closed++;
	return CKR_OK;
}

static CK_RV fake_find_init(CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl,
			    CK_ULONG count)
{
	CK_ULONG i;

	(void)session;
	fake.find_pending = false;
	for (i = 0; i < count; i++)
		if (tmpl[i].type == CKA_CLASS &&
		    *(CK_OBJECT_CLASS *)tmpl[i].pValue == CKO_SECRET_KEY)
			fake.find_pending = true;
	return CKR_OK;
}

static CK_RV fake_find(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *found,
		       CK_ULONG max, CK_ULONG *count)
{
	(void)session;
	(void)max;
	*count = fake.find_pending;
	if (fake.find_pending)
		found[0] = FAKE_KEY;
	fake.find_pending = false;
	return CKR_OK;
}

static CK_RV fake_get_attribute_value(CK_SESSION_HANDLE session,
				      CK_OBJECT_HANDLE obj,
				      CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
	static const CK_ULONG value_len = 32;
	static const CK_BBOOL yes = CK_TRUE;
	CK_RV rv = CKR_OK;
	CK_ULONG i;

	(void)session;
	if (obj != FAKE_KEY)
		return CKR_OBJECT_HANDLE_INVALID;
	for (i = 0; i < count; i++) {
		CK_ATTRIBUTE *a = &tmpl[i];

		if (a->type == CKA_ID && fake.id_too_long) {
			/* not CK_UNAVAILABLE_INFORMATION, as some do */
			a->ulValueLen = 100;
			rv = CKR_BUFFER_TOO_SMALL;
		} else if (a->type == CKA_ID) {
			memset(a->pValue, 0xab, 16);
			a->ulValueLen = 16;
		} else if (a->type == CKA_LABEL) {
			memcpy(a->pValue, "db", 2);
			a->ulValueLen = 2;
		} else if (a->type == CKA_VALUE_LEN) {
			memcpy(a->pValue, &value_len, sizeof(value_len));
			a->ulValueLen = sizeof(value_len);
		} else if (a->type == CKA_DECRYPT) {
			memcpy(a->pValue, &yes, sizeof(yes));
			a->ulValueLen = sizeof(yes);
		} else {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
		}
	}
	return rv;
}

static CK_RV fake_decrypt_init(CK_SESSION_HANDLE session, CK_MECHANISM *mech,
			       CK_OBJECT_HANDLE key)
{
	CK_RV rv;

	(void)mech;
	(void)key;
	fake.decrypt_init_calls++;
	if (session != fake.session)	/* a session from before a loss */
		return CKR_SESSION_HANDLE_INVALID;
	rv = fake_fail(fake.decrypt_init_rv, &fake.decrypt_init_fails);
	if (rv != CKR_OK)
		return rv;
	if (fake.op_active)
		return CKR_OPERATION_ACTIVE;
	fake.op_active = true;
	return CKR_OK;
}

/* The plaintext is all 0x5a; the length protocol of PKCS#11 2.40 5.2. */
static CK_RV fake_decrypt(CK_SESSION_HANDLE session, CK_BYTE *in,
			  CK_ULONG in_len, CK_BYTE *out, CK_ULONG *out_len)
{
	CK_ULONG need = in_len + fake.decrypt_extra;
	CK_RV rv;

	(void)in;
	if (session != fake.session)
		return CKR_SESSION_HANDLE_INVALID;
	if (!fake.op_active)
		return CKR_OPERATION_NOT_INITIALIZED;
	rv = fake_fail(fake.decrypt_rv, &fake.decrypt_fails);
	if (rv != CKR_OK)
		return rv;		/* the operation stays active */
	if (*out_len < need) {
		*out_len = need;
		return CKR_BUFFER_TOO_SMALL;	/* the operation goes on */
	}
	memset(out, 0x5a, in_len - 16);
	*out_len = in_len - 16;
	fake.op_active = false;
	return CKR_OK;
}

static CK_FUNCTION_LIST fake_functions = {
	.version = { 2, 40 },
	.C_Initialize = fake_ok,
	.C_Finalize = fake_ok,
	.C_GetSlotList = fake_get_slot_list,
	.C_GetTokenInfo = fake_get_token_info,
	.C_OpenSession = fake_open_session,
	.C_CloseSession = fake_close_session,
	.C_Login = fake_login,
	.C_Logout = fake_session_ok,
	.C_FindObjectsInit = fake_find_init,
	.C_FindObjects = fake_find,
	.C_FindObjectsFinal = fake_session_ok,
	.C_GetAttributeValue = fake_get_attribute_value,
	.C_DecryptInit = fake_decrypt_init,
	.C_Decrypt = fake_decrypt,
};

static CK_RV fake_get_function_list(CK_FUNCTION_LIST **list)
{
	*list = &fake_functions;
	return CKR_OK;
}

void *__real_dlopen(const char *file, int mode);
void *__wrap_dlopen(const char *file, int mode);
void *__real_dlsym(void *handle, const char *name);
void *__wrap_dlsym(void *handle, const char *name);
int __real_dlclose(void *handle);
int __wrap_dlclose(void *handle);

void *__wrap_dlopen(const char *file, int mode)
{
	if (file && !strcmp(file, FAKE_MODULE))
		return &fake;
	return __real_dlopen(file, mode);
}

void *__wrap_dlsym(void *handle, const char *name)
{
	if (handle == &fake)
		return strcmp(name, "C_GetFunctionList") ? NULL :
		       (void *)fake_get_function_list;
	return __real_dlsym(handle, name);
}

int __wrap_dlclose(void *handle)
{
	return handle == &fake ? 0 : __real_dlclose(handle);
}

/* A wrapped 32-byte data key in the AES-GCM format (fake: any bytes). */
static void gcm_wrapped(struct ec_wrapped *w)
{
	memset(w, 0, sizeof(*w));
	w->cmk_version = 1;
	w->data[0] = 1;			/* format */
	w->data[1] = 1;			/* AES-GCM */
	w->len = 2 + 12 + 32 + 16;
}

static int fake_setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	unsetenv("ENVCRYPT_PKCS11_PIN");
	return 0;
}

/*
 * C_Decrypt's CKR_BUFFER_TOO_SMALL: the operation stays active with the
 * length the module wants; the provider calls again with that much room,
 * and a module that wants too much costs the session, not the next call.
 */
static void test_decrypt_buffer_too_small(void **state)
{
	static const uint8_t want[32] = {
		[0 ... 31] = 0x5a,
	};
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[32];

	(void)state;
	gcm_wrapped(&w);
	assert_int_equal(ec_kms_open(FAKE_URI, &kms), 0);
	fake.decrypt_extra = 16;
	assert_int_equal(ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk,
				       sizeof(dk)), 0);
	assert_memory_equal(dk, want, sizeof(dk));
	assert_false(fake.op_active);

	/* more than a wrapped key can ever need: refused, session closed */
	fake.decrypt_extra = 4096;
	assert_int_equal(ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk,
				       sizeof(dk)), -EIO);
	assert_msg_has("CKR_BUFFER_TOO_SMALL");
	assert_int_equal(fake.sessions_closed, 1);
	assert_false(fake.op_active);
	fake.decrypt_extra = 0;
	assert_int_equal(ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk,
				       sizeof(dk)), 0);
	assert_memory_equal(dk, want, sizeof(dk));
	ec_kms_close(kms);
}

static const uint8_t fake_dk[32] = {
	[0 ... 31] = 0x5a,
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The token goes away once, mid-unwrap (C_Decrypt, with the operation
 * active; then C_DecryptInit): the provider drops the session, the
 * generic layer tries again, the provider opens a new session and logs
 * in again, and the unwrap gives the data key.  No session is left open.
 */
static void test_unwrap_token_lost_once(void **state)
{
	static const CK_RV lost[] = {
		CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID,
	};
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[32];
	size_t i;

	(void)state;
	fake.login_required = true;
	setenv("ENVCRYPT_PKCS11_PIN", "1234", 1);
	gcm_wrapped(&w);
	assert_int_equal(ec_kms_open(FAKE_URI, &kms), 0);

	/* lost during C_Decrypt, on the first connection */
	fake.decrypt_rv = CKR_DEVICE_REMOVED;
	fake.decrypt_fails = 1;
	memset(dk, 0, sizeof(dk));
	assert_int_equal(ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk,
				       sizeof(dk)), 0);
	assert_memory_equal(dk, fake_dk, sizeof(dk));
	assert_int_equal(fake.decrypt_fails, 0);
	assert_int_equal(fake.open_session_calls, 2);
	assert_int_equal(fake.sessions_opened, 2);
	assert_int_equal(fake.logins, 2);
	assert_int_equal(fake.sessions_closed, 1);	/* the lost one */
	assert_int_equal(fake.decrypt_init_calls, 2);
	assert_false(fake.op_active);

	/* lost during C_DecryptInit, on a session kept from before */
	for (i = 0; i < ARRAY_SIZE(lost); i++) {
		fake.decrypt_init_rv = lost[i];
		fake.decrypt_init_fails = 1;
		memset(dk, 0, sizeof(dk));
		assert_int_equal(ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk,
					       sizeof(dk)), 0);
		assert_memory_equal(dk, fake_dk, sizeof(dk));
		assert_int_equal(fake.sessions_opened, 3 + i);
		assert_int_equal(fake.logins, 3 + i);
		assert_int_equal(fake.sessions_closed, 2 + i);
		assert_int_equal(fake.decrypt_init_calls, 4 + 2 * i);
	}
	ec_kms_close(kms);
	assert_int_equal(fake.sessions_closed, fake.sessions_opened);
}

/*
 * The token stays away: lost during C_DecryptInit, then no session can
 * be opened.  -EAGAIN after exactly 3 tries (100 ms, then 400 ms apart);
 * the message names the token and the CK_RV; exit code 4.
 */
static void test_unwrap_token_stays_away(void **state)
{
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[32];
	double t0, t;
	int r;

	(void)state;
	gcm_wrapped(&w);
	assert_int_equal(ec_kms_open(FAKE_URI, &kms), 0);
	assert_int_equal(ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk,
				       sizeof(dk)), 0);
	assert_int_equal(fake.sessions_opened, 1);

	fake.decrypt_init_calls = fake.open_session_calls = 0;
	fake.decrypt_init_rv = CKR_DEVICE_REMOVED;
	fake.decrypt_init_fails = FAKE_ALWAYS;
	fake.away = true;
	ec_err_clear();
	t0 = now_s();
	r = ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk, sizeof(dk));
	t = now_s() - t0;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(ec_exit_code(r), EC_EXIT_KMS_UNREACHABLE);
	assert_int_equal(ec_exit_code(r), 4);
	/* try 1 on the live session, tries 2 and 3 to connect again */
	assert_int_equal(fake.decrypt_init_calls, 1);
	assert_int_equal(fake.open_session_calls, 2);
	assert_true(t >= 0.49);
	assert_msg_has("PKCS#11 token 'fake'");
	assert_msg_has("CKR_TOKEN_NOT_PRESENT");
	assert_msg_has("went away");
	{
		const char *m = ec_err_msg(), *end = " (tried 3 times)";
		size_t n = strlen(m), e = strlen(end);

		assert_true(n >= e);
		assert_string_equal(m + n - e, end);
		assert_null(strstr(m, "tried 3 times) (tried"));
	}
	assert_int_equal(fake.sessions_closed, fake.sessions_opened);

	/* every try on a live session: C_DecryptInit, three times */
	fake.away = false;
	fake.decrypt_init_calls = fake.open_session_calls = 0;
	ec_err_clear();
	r = ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk, sizeof(dk));
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(fake.decrypt_init_calls, 3);
	assert_int_equal(fake.open_session_calls, 3);
	assert_msg_has("PKCS#11 token 'fake'");
	assert_msg_has("CKR_DEVICE_REMOVED");
	assert_msg_has(" (tried 3 times)");
	assert_int_equal(strstr(ec_err_msg(), " (tried 3 times)") +
			 strlen(" (tried 3 times)") - ec_err_msg(),
			 strlen(ec_err_msg()));
	assert_int_equal(fake.sessions_closed, fake.sessions_opened);

	/* and back */
	fake.decrypt_init_fails = 0;
	assert_int_equal(ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk,
				       sizeof(dk)), 0);
	assert_memory_equal(dk, fake_dk, sizeof(dk));
	ec_kms_close(kms);
	assert_int_equal(fake.sessions_closed, fake.sessions_opened);
}

/* A final error is not tried again: the key is disabled on the token. */
static void test_unwrap_final_error_once(void **state)
{
	struct ec_wrapped w;
	struct ec_kms *kms;
	uint8_t dk[32];
	int r;

	(void)state;
	gcm_wrapped(&w);
	assert_int_equal(ec_kms_open(FAKE_URI, &kms), 0);
	fake.decrypt_init_rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	fake.decrypt_init_fails = FAKE_ALWAYS;
	ec_err_clear();
	r = ec_kms_unwrap(kms, "alias/db", &w, "ctx", dk, sizeof(dk));
	assert_int_equal(r, -EKEYREVOKED);
	assert_int_equal(ec_exit_code(r), EC_EXIT_KEY_UNUSABLE);
	assert_int_equal(fake.decrypt_init_calls, 1);
	assert_int_equal(fake.open_session_calls, 1);
	assert_msg_has("PKCS#11 token 'fake'");
	assert_msg_has("CKR_KEY_FUNCTION_NOT_PERMITTED");
	assert_msg_lacks("tried");
	ec_kms_close(kms);
	assert_int_equal(fake.sessions_closed, fake.sessions_opened);
}

/* A module that answers a short buffer with the length it needs. */
static void test_attribute_longer_than_buffer(void **state)
{
	struct ec_key_info info;
	struct ec_kms *kms;

	(void)state;
	assert_int_equal(ec_kms_open(FAKE_URI, &kms), 0);
	assert_int_equal(ec_kms_describe_key(kms, "alias/db", &info), 0);
	assert_string_equal(info.id, "abababababababababababababababab");
	assert_string_equal(info.alias, "alias/db");
	fake.id_too_long = true;
	assert_int_equal(ec_kms_describe_key(kms, "alias/db", &info),
			 -EOPNOTSUPP);
	assert_msg_has("it needs a CKA_ID");
	ec_kms_close(kms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_minimal),
		cmocka_unit_test(test_uri_all_attributes_canonical_order),
		cmocka_unit_test(test_uri_canonical_round_trip),
		cmocka_unit_test(test_uri_pin_source_forms),
		cmocka_unit_test(test_uri_pin_source_extra_slashes),
		cmocka_unit_test(test_uri_pin_value_refused),
		cmocka_unit_test(test_uri_module_path),
		cmocka_unit_test(test_uri_token_required_and_sized),
		cmocka_unit_test(test_uri_unknown_and_malformed),
		cmocka_unit_test(test_uri_format_too_long),
		cmocka_unit_test(test_open_refuses_pin_value),
		cmocka_unit_test(test_open_is_cheap_and_canonical),
		cmocka_unit_test(test_ckr_names),
		cmocka_unit_test(test_ckr_errnos),
		cmocka_unit_test_setup(test_decrypt_buffer_too_small,
				       fake_setup),
		cmocka_unit_test_setup(test_attribute_longer_than_buffer,
				       fake_setup),
		cmocka_unit_test_setup(test_unwrap_token_lost_once,
				       fake_setup),
		cmocka_unit_test_setup(test_unwrap_token_stays_away,
				       fake_setup),
		cmocka_unit_test_setup(test_unwrap_final_error_once,
				       fake_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
