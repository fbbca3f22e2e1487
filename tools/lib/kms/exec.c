// SPDX-License-Identifier: GPL-2.0
/*
 * The exec: KMS provider: an external program (a "KMS plugin") does the
 * work, so that any cloud KMS's CLI can be plugged in without rebuilding.
 *
 *   exec:/abs/path/to/program[?timeout=SECONDS]
 *
 * One child process per request: the program is run directly (no shell,
 * argv is only its path, the environment is envcryptctl's own less
 * ENVCRYPT_PKCS11_PIN, nothing secret in either), reads one JSON request
 * on stdin and writes one JSON reply on stdout.  The protocol (version 1)
 * is docs/KMS-PLUGINS.md.
 *
 * The child is bounded: the whole run (start, request, reply, exit) has a
 * deadline, after which its process group is killed (SIGKILL) and reaped;
 * its reply is read up to EXEC_REPLY_MAX bytes, its stderr up to
 * EC_PLUGIN_STDERR_MAX (the first line goes into messages).  Running it
 * is plugin-run.[ch]; this file is the protocol (requests, replies, typed
 * errors) and the operations of struct ec_kms_ops.  The request of a wrap
 * and the reply of an unwrap carry the data key in base64: they, and
 * every buffer that decodes it, are locked memory, wiped when freed.
 *
 * The wrapped key a slot stores is one format byte (EXEC_WRAP_FORMAT)
 * followed by the plugin's ciphertext, opaque to us.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "error.h"
#include "key-name.h"
#include "json-escape.h"
#include "json-read.h"
#include "kms.h"
#include "plugin-run.h"
#include "secmem.h"
#include "uri.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define EXEC_SCHEME		"exec"
#define EXEC_PROTOCOL		1
#define EXEC_REQUEST_MAX	(16 * 1024)
#define EXEC_REPLY_MAX		(64 * 1024)
#define EXEC_QUOTE_MAX		200	/* of a plugin's text in a message */
#define EXEC_WRAP_FORMAT	1	/* first byte of a slot's wrapped key */
/* base64 of a data key or a wrapped key, and its decoded bytes */
#define EXEC_B64_MAX		(((EC_WRAPPED_MAX + 2) / 3) * 4)
#define EXEC_BIN_MAX		(EXEC_B64_MAX / 4 * 3)

/* The operations of the protocol; hello says which optional ones exist. */
enum exec_op {
	OP_HELLO,
	OP_DESCRIBE_KEY,
	OP_WRAP,
	OP_UNWRAP,
	OP_CREATE_KEY,
	OP_LIST_KEYS,
	OP_ENABLE_KEY,
	OP_DISABLE_KEY,
	OP_ROTATE_KEY,
	OP_SCHEDULE_DELETION,
	OP_CANCEL_DELETION,
	OP_COUNT,
};

static const char *const op_names[OP_COUNT] = {
	[OP_HELLO]		= "hello",
	[OP_DESCRIBE_KEY]	= "describe_key",
	[OP_WRAP]		= "wrap",
	[OP_UNWRAP]		= "unwrap",
	[OP_CREATE_KEY]		= "create_key",
	[OP_LIST_KEYS]		= "list_keys",
	[OP_ENABLE_KEY]		= "enable_key",
	[OP_DISABLE_KEY]	= "disable_key",
	[OP_ROTATE_KEY]		= "rotate_key",
	[OP_SCHEDULE_DELETION]	= "schedule_deletion",
	[OP_CANCEL_DELETION]	= "cancel_deletion",
};

/* Every plugin has these; the others only when its hello lists them. */
#define REQUIRED_OPS	(1u << OP_HELLO | 1u << OP_DESCRIBE_KEY |	\
			 1u << OP_WRAP | 1u << OP_UNWRAP)

struct exec_kms {
	struct ec_kms kms;		/* first: the generic part */
	char path[EC_KMS_URI_MAX];
	int timeout_ms;
	bool hello_done;
	uint32_t offered;		/* bit per enum exec_op */
};

static struct exec_kms *to_exec(struct ec_kms *kms)
{
	return (struct exec_kms *)kms;
}

/* ---- text from plugins in our messages ------------------------------- */

/*
 * @s[0..len) for a message: up to EXEC_QUOTE_MAX characters of its first
 * line, control characters dropped, other non-ASCII bytes as '?'.
 */
static const char *quote(const char *s, size_t len, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < len && s[i] != '\n' && n + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (n == EXEC_QUOTE_MAX) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		buf[n++] = c < 0x80 ? (char)c : '?';
	}
	buf[n] = '\0';
	return buf;
}

/* Printable ASCII without spaces: key ids and aliases we send or keep. */
static bool printable_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

/* Printable ASCII, spaces allowed: the encryption context. */
static bool printable_text(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	return true;
}

/* ---- the request -------------------------------------------------------- */

/* One exchange with the plugin: request, run, reply. */
struct exchange {
	struct exec_kms *ek;
	enum exec_op op;
	char what[EC_CMK_ID_MAX + 48];	/* "wrap of CMK db" */
	const char *key;		/* the CMK named in messages, or NULL */

	char *req;			/* locked */
	size_t req_len;
	bool req_overflow;

	struct ec_plugin_output out;	/* .reply locked, EXEC_REPLY_MAX + 1 */

	struct ec_json doc;
	int result;			/* the node of "result" */
};

static void req_raw(struct exchange *x, const char *s, size_t n)
{
	if (x->req_overflow || n >= EXEC_REQUEST_MAX - x->req_len) {
		x->req_overflow = true;
		return;
	}
	memcpy(x->req + x->req_len, s, n);
	x->req_len += n;
}

static void req_escaped(void *x, const char *s, size_t n)
{
	req_raw(x, s, n);
}

/* A JSON string: quotes, escapes. */
static void req_quoted(struct exchange *x, const char *s)
{
	req_raw(x, "\"", 1);
	ec_json_escape(s, SIZE_MAX, req_escaped, x);
	req_raw(x, "\"", 1);
}

/* ,"name": */
static void req_name(struct exchange *x, const char *name)
{
	req_raw(x, ",", 1);
	req_quoted(x, name);
	req_raw(x, ":", 1);
}

static void req_string(struct exchange *x, const char *name,
		       const char *value)
{
	req_name(x, name);
	req_quoted(x, value);
}

static void req_int(struct exchange *x, const char *name, int64_t value)
{
	char num[24];

	req_name(x, name);
	req_raw(x, num, (size_t)snprintf(num, sizeof(num), "%" PRId64,
					 value));
}

/* Bytes as base64, written straight into the locked request. */
static void req_base64(struct exchange *x, const char *name,
		       const uint8_t *data, size_t len)
{
	size_t b64_len = (len + 2) / 3 * 4;

	req_name(x, name);
	req_raw(x, "\"", 1);
	/* EVP_EncodeBlock writes a NUL after the text */
	if (x->req_overflow || b64_len + 1 >= EXEC_REQUEST_MAX - x->req_len) {
		x->req_overflow = true;
		return;
	}
	EVP_EncodeBlock((unsigned char *)x->req + x->req_len, data, (int)len);
	x->req_len += b64_len;
	req_raw(x, "\"", 1);
}

/*
 * Start an exchange for @op on @key (NULL: none): the buffers and the
 * request's first members.
 */
static int exchange_begin(struct exchange *x, struct exec_kms *ek,
			  enum exec_op op, const char *key)
{
	char head[64];

	memset(x, 0, sizeof(*x));
	x->ek = ek;
	x->op = op;
	x->key = key;
	x->result = -1;
	if (key)
		snprintf(x->what, sizeof(x->what), "%s of CMK %s",
			 op_names[op], key);
	else
		snprintf(x->what, sizeof(x->what), "%s", op_names[op]);
	x->req = ec_secure_alloc(EXEC_REQUEST_MAX);
	x->out.reply = ec_secure_alloc(EXEC_REPLY_MAX + 1);
	x->out.reply_max = EXEC_REPLY_MAX;
	if (!x->req || !x->out.reply) {
		ec_secure_free(x->req);
		ec_secure_free(x->out.reply);
		x->req = x->out.reply = NULL;
		return -errno;			/* the message is set */
	}
	req_raw(x, head, (size_t)snprintf(head, sizeof(head),
					  "{\"protocol\":%d", EXEC_PROTOCOL));
	req_string(x, "op", op_names[op]);
	if (key)
		req_string(x, "key", key);
	return 0;
}

static void exchange_end(struct exchange *x)
{
	ec_json_free(&x->doc);
	ec_secure_free(x->req);		/* wipes */
	ec_secure_free(x->out.reply);
	x->req = x->out.reply = NULL;
}

/* ---- the reply ---------------------------------------------------------- */

/* "; its stderr: \"first line\"", or "" when it wrote nothing. */
static const char *stderr_note(const struct exchange *x, char *buf,
			       size_t size)
{
	char line[EXEC_QUOTE_MAX + 8];

	quote(x->out.err, x->out.err_len, line, sizeof(line));
	if (!line[0])
		buf[0] = '\0';
	else
		snprintf(buf, size, "; its stderr: \"%s\"", line);
	return buf;
}

/* -EPROTO "<plugin> failed <what>: <why>[; its stderr: ...]" */
static int plugin_failed(struct exchange *x, const char *why)
{
	char note[EXEC_QUOTE_MAX + 32];

	return ec_err_set(-EPROTO, "%s failed %s: %s%s", x->ek->kms.name,
			  x->what, why, stderr_note(x, note, sizeof(note)));
}

/* -EPROTO for a reply that parses but breaks the protocol. */
static int bad_reply(struct exchange *x, const char *why)
{
	return ec_err_set(-EPROTO, "%s sent a bad reply to %s: %s",
			  x->ek->kms.name, x->what, why);
}

/* bad_reply() with the message of a failed ec_json_*() call. */
static int bad_value(struct exchange *x, int r)
{
	char why[EC_ERR_MAX];

	snprintf(why, sizeof(why), "%s", ec_err_msg());
	bad_reply(x, why);
	return r == -ENOMEM ? r : -EPROTO;
}

/* The quoted text of string @node, or "" when there is none. */
static const char *node_quote(const struct exchange *x, int node, char *buf,
			      size_t size)
{
	const struct ec_json_node *n;
	char text[EXEC_QUOTE_MAX * 4 + 8];

	buf[0] = '\0';
	if (ec_json_type(&x->doc, node) != EC_JSON_STRING)
		return buf;
	n = &x->doc.nodes[node];
	if (!ec_json_string(&x->doc, node, "message", text, sizeof(text),
			    NULL))
		return quote(text, strlen(text), buf, size);
	/* longer than we show anyway: its start, undecoded */
	return quote(x->doc.text + n->start, n->len, buf, size);
}

/* The typed error of an {"error": {"code": ..., "message": ...}} reply. */
static int plugin_error(struct exchange *x, int err)
{
	const char *plugin = x->ek->kms.name;
	const char *key = x->key ? x->key : "(none)";
	char code[48], msg[EXEC_QUOTE_MAX + 8], why[EXEC_QUOTE_MAX + 64];
	int r;

	if (ec_json_type(&x->doc, err) != EC_JSON_OBJECT)
		return bad_reply(x, "\"error\" is not an object");
	r = ec_json_string(&x->doc, ec_json_get(&x->doc, err, "code"),
			   "error.code", code, sizeof(code), NULL);
	if (r)
		return bad_value(x, r);
	if (!printable_word(code))
		return bad_reply(x, "error.code is not a word");
	node_quote(x, ec_json_get(&x->doc, err, "message"), msg,
		   sizeof(msg));
	if (msg[0])
		snprintf(why, sizeof(why), "%s: \"%s\"", code, msg);
	else
		snprintf(why, sizeof(why), "%s", code);

	if (!strcmp(code, "KeyDisabled"))
		return ec_err_set(-EKEYREVOKED, "%s: CMK %s is Disabled (%s)",
				  plugin, key, why);
	if (!strcmp(code, "KeyPendingDeletion"))
		return ec_err_set(-EKEYEXPIRED,
				  "%s: CMK %s is PendingDeletion (%s)",
				  plugin, key, why);
	if (!strcmp(code, "KeyNotFound"))
		return ec_err_set(-ENOKEY, "%s: CMK %s not found (%s)",
				  plugin, key, why);
	if (!strcmp(code, "AccessDenied"))
		return ec_err_set(-EKEYREJECTED,
				  "%s: access to CMK %s denied (%s)",
				  plugin, key, why);
	if (!strcmp(code, "InvalidCiphertext"))
		return ec_err_set(-EBADMSG,
				  "%s: the data key wrapped by CMK %s does not authenticate with this encryption context (%s)",
				  plugin, key, why);
	if (!strcmp(code, "Unavailable"))
		return ec_err_set(-EAGAIN,
				  "%s: the KMS is unavailable for %s (%s)",
				  plugin, x->what, why);
	if (!strcmp(code, "Unsupported"))
		return ec_err_set(-EOPNOTSUPP, "%s does not support %s (%s)",
				  plugin, x->what, why);
	if (!strcmp(code, "InvalidRequest"))
		return ec_err_set(-EINVAL, "%s refused %s as invalid (%s)",
				  plugin, x->what, why);
	if (!strcmp(code, "AlreadyExists"))
		return ec_err_set(-EEXIST, "%s refused %s: already exists (%s)",
				  plugin, x->what, why);
	if (!strcmp(code, "Refused"))
		return ec_err_set(-EPERM, "%s refused %s (%s)", plugin,
				  x->what, why);
	if (!strcmp(code, "UnsupportedProtocol"))
		return ec_err_set(-EPROTO,
				  "%s does not speak version %d of the KMS plugin protocol (%s); update the plugin",
				  plugin, EXEC_PROTOCOL, why);
	return ec_err_set(-EPROTO, "%s failed %s with error %s", plugin,
			  x->what, why);
}

/* Is @err an error object with code @code? */
static bool error_code_is(const struct exchange *x, int err, const char *code)
{
	char buf[48];

	return err >= 0 &&
	       !ec_json_string(&x->doc, ec_json_get(&x->doc, err, "code"),
			       "error.code", buf, sizeof(buf), NULL) &&
	       !strcmp(buf, code);
}

/* Finish the request, run the plugin, check its reply: x->result. */
static int exchange_run(struct exchange *x)
{
	char why[EC_ERR_MAX];
	int64_t version;
	int r, code, err, res;

	req_raw(x, "}\n", 2);
	if (x->req_overflow)
		return ec_err_set(-EINVAL,
				  "%s: the request for %s would be longer than %d bytes",
				  x->ek->kms.name, x->what, EXEC_REQUEST_MAX);
	r = ec_plugin_run(x->ek->path, x->ek->kms.name, x->what,
			  x->ek->timeout_ms, x->req, x->req_len, &x->out);
	if (r)
		return r;

	if (WIFSIGNALED(x->out.status)) {
		snprintf(why, sizeof(why), "it was killed by signal %d (%s)",
			 WTERMSIG(x->out.status),
			 strsignal(WTERMSIG(x->out.status)));
		return plugin_failed(x, why);
	}
	code = WIFEXITED(x->out.status) ? WEXITSTATUS(x->out.status) : -1;
	if (!x->out.reply_len) {
		if (!code)
			return plugin_failed(x, "it exited with status 0 and no reply");
		snprintf(why, sizeof(why),
			 "it exited with status %d and no reply", code);
		return plugin_failed(x, why);
	}
	r = ec_json_parse(&x->doc, x->out.reply, x->out.reply_len);
	if (r == -ENOMEM)
		return r;
	if (r) {
		if (code)
			snprintf(why, sizeof(why),
				 "it exited with status %d; its reply is not JSON (%.400s)",
				 code, ec_err_msg());
		else
			snprintf(why, sizeof(why),
				 "its reply is not JSON (%.400s)", ec_err_msg());
		return plugin_failed(x, why);
	}

	err = ec_json_get(&x->doc, EC_JSON_ROOT, "error");
	res = ec_json_get(&x->doc, EC_JSON_ROOT, "result");
	if (err >= 0 && res >= 0)
		return bad_reply(x, "it has both \"result\" and \"error\"");
	/* a plugin that cannot speak our version answers in its own */
	if (!error_code_is(x, err, "UnsupportedProtocol")) {
		r = ec_json_int(&x->doc,
				ec_json_get(&x->doc, EC_JSON_ROOT, "protocol"),
				"\"protocol\"", 0, INT32_MAX, &version);
		if (r)
			return bad_value(x, r);
		if (version != EXEC_PROTOCOL) {
			snprintf(why, sizeof(why),
				 "it is in protocol version %" PRId64 ", the request in version %d",
				 version, EXEC_PROTOCOL);
			return bad_reply(x, why);
		}
	}
	if (err >= 0)
		return plugin_error(x, err);
	if (res < 0)
		return bad_reply(x, "it has neither \"result\" nor \"error\"");
	if (code) {
		snprintf(why, sizeof(why),
			 "it exited with status %d after a result", code);
		return plugin_failed(x, why);
	}
	if (ec_json_type(&x->doc, res) != EC_JSON_OBJECT)
		return bad_reply(x, "\"result\" is not an object");
	x->result = res;
	return 0;
}

/* ---- reading results -------------------------------------------------- */

/*
 * String member @name of @obj into @buf: 1, or 0 when absent or null
 * (@buf is then ""), or -EPROTO (bad_reply) when @required and absent, or
 * not a string, or too long.
 */
static int result_string(struct exchange *x, int obj, const char *name,
			 bool required, char *buf, size_t size)
{
	int node = ec_json_get(&x->doc, obj, name), r;
	char what[64];

	buf[0] = '\0';
	snprintf(what, sizeof(what), "result.%s", name);
	if (node < 0 || ec_json_type(&x->doc, node) == EC_JSON_NULL) {
		if (!required)
			return 0;
		snprintf(what, sizeof(what), "it has no result.%s", name);
		return bad_reply(x, what);
	}
	r = ec_json_string(&x->doc, node, what, buf, size, NULL);
	return r ? bad_value(x, r) : 1;
}

/* Integer member @name of @obj, @dflt when absent or null. */
static int result_int(struct exchange *x, int obj, const char *name,
		      int64_t min, int64_t max, int64_t dflt, int64_t *value)
{
	int node = ec_json_get(&x->doc, obj, name), r;
	char what[64];

	*value = dflt;
	if (node < 0 || ec_json_type(&x->doc, node) == EC_JSON_NULL)
		return 0;
	snprintf(what, sizeof(what), "result.%s", name);
	r = ec_json_int(&x->doc, node, what, min, max, value);
	return r ? bad_value(x, r) : 0;
}

/*
 * Strict base64 of string member @name of @obj: the decoded bytes into
 * @out (@size bytes, room for the padding too: EXEC_BIN_MAX), *len of
 * them.  The text goes through @text (@text_size bytes), which the caller
 * wipes when it is a secret.
 */
static int result_base64(struct exchange *x, int obj, const char *name,
			 char *text, size_t text_size, uint8_t *out,
			 size_t size, size_t *len)
{
	size_t n, i, pad = 0;
	char why[96];
	int r;

	r = result_string(x, obj, name, true, text, text_size);
	if (r < 0)
		return r;
	n = strlen(text);
	for (i = 0; i < n; i++) {
		char c = text[i];

		if (c == '=' && i + 2 >= n && n % 4 == 0 &&
		    (i + 1 == n || text[i + 1] == '='))
			pad++;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '+' || c == '/'))
			break;
	}
	if (!n || n % 4 || i < n) {
		snprintf(why, sizeof(why), "result.%s is not base64", name);
		return bad_reply(x, why);
	}
	if (n / 4 * 3 > size) {
		snprintf(why, sizeof(why), "result.%s is longer than %zu bytes",
			 name, size);
		return bad_reply(x, why);
	}
	if (EVP_DecodeBlock(out, (const unsigned char *)text, (int)n) < 0) {
		snprintf(why, sizeof(why), "result.%s is not base64", name);
		return bad_reply(x, why);
	}
	*len = n / 4 * 3 - pad;
	return 0;
}

/* A key id or alias from the plugin: printable ASCII, no spaces. */
static int check_word(struct exchange *x, const char *name, const char *s)
{
	char why[96];

	if (printable_word(s))
		return 0;
	snprintf(why, sizeof(why),
		 "result.%s is not printable ASCII without spaces", name);
	return bad_reply(x, why);
}

/* The key description of object @obj of the result into @info. */
static int result_key_info(struct exchange *x, int obj,
			   struct ec_key_info *info)
{
	char word[24];
	int64_t v;
	int r;

	memset(info, 0, sizeof(*info));
	if (ec_json_type(&x->doc, obj) != EC_JSON_OBJECT)
		return bad_reply(x, "a key is not an object");
	r = result_string(x, obj, "key_id", true, info->id, sizeof(info->id));
	if (r >= 0)
		r = check_word(x, "key_id", info->id);
	if (r < 0)
		return r;
	r = result_string(x, obj, "alias", false, info->alias,
			  sizeof(info->alias));
	if (r > 0 && info->alias[0])
		r = check_word(x, "alias", info->alias);
	if (r < 0)
		return r;

	r = result_string(x, obj, "spec", true, word, sizeof(word));
	if (r < 0)
		return r;
	if (ec_key_spec_parse(word, &info->spec))
		return bad_reply(x, "result.spec is not AES_256 or SM4");

	r = result_string(x, obj, "state", true, word, sizeof(word));
	if (r < 0)
		return r;
	if (!strcmp(word, "Enabled"))
		info->state = EC_KEY_ENABLED;
	else if (!strcmp(word, "Disabled"))
		info->state = EC_KEY_DISABLED;
	else if (!strcmp(word, "PendingDeletion"))
		info->state = EC_KEY_PENDING_DELETION;
	else
		return bad_reply(x, "result.state is not Enabled, Disabled or PendingDeletion");

	r = result_int(x, obj, "versions", 1, UINT32_MAX, 1, &v);
	if (r)
		return r;
	info->versions = (uint32_t)v;
	r = result_int(x, obj, "created", 0, INT64_MAX, 0, &info->created);
	if (!r)
		r = result_int(x, obj, "deletion_date", 0, INT64_MAX, 0,
			       &info->deletion_date);
	return r;
}

/* ---- the operations ----------------------------------------------------- */

/* A key name we send: what the user typed, or a slot's CMK id. */
static int check_key(struct exec_kms *ek, const char *key)
{
	if (!key || !*key)
		return ec_err_set(-EINVAL, "no CMK given for %s",
				  ek->kms.name);
	if (strlen(key) >= EC_CMK_ID_MAX || !printable_word(key))
		return ec_err_set(-EINVAL,
				  "CMK '%.*s' is not a key name %s can be asked about: use 1 to %d printable ASCII characters without spaces",
				  EC_CMK_ID_MAX, key, ek->kms.name,
				  EC_CMK_ID_MAX - 1);
	return 0;
}

static const char *offered_list(uint32_t offered, char *buf, size_t size)
{
	size_t used = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < OP_COUNT; i++) {
		if (!(offered & 1u << i))
			continue;
		n = snprintf(buf + used, size - used, "%s%s",
			     used ? ", " : "", op_names[i]);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

/*
 * The optional operations the plugin offers, from its hello reply (once
 * per connection): -EOPNOTSUPP when @op is not one of them.
 */
static int check_offered(struct exec_kms *ek, enum exec_op op)
{
	struct exchange x;
	char name[24], list[256];
	int64_t version;
	bool speaks = false;
	int r, arr, i, j;

	if (!ek->hello_done) {
		r = exchange_begin(&x, ek, OP_HELLO, NULL);
		if (r)
			return r;
		r = exchange_run(&x);
		if (r == -EOPNOTSUPP) {
			/* no hello: the required operations only */
			ek->offered = REQUIRED_OPS;
			ek->hello_done = true;
			r = 0;
			goto out;
		}
		if (r)
			goto out;
		arr = ec_json_get(&x.doc, x.result, "protocols");
		for (i = ec_json_first(&x.doc, arr); i >= 0;
		     i = ec_json_next(&x.doc, i))
			if (!ec_json_int(&x.doc, i, "protocol", 0, INT32_MAX,
					 &version) && version == EXEC_PROTOCOL)
				speaks = true;
		if (ec_json_type(&x.doc, arr) != EC_JSON_ARRAY || !speaks) {
			r = bad_reply(&x, "result.protocols does not list version 1");
			goto out;
		}
		ek->offered = REQUIRED_OPS;
		arr = ec_json_get(&x.doc, x.result, "operations");
		if (ec_json_type(&x.doc, arr) != EC_JSON_ARRAY) {
			r = bad_reply(&x, "result.operations is not an array");
			goto out;
		}
		for (i = ec_json_first(&x.doc, arr); i >= 0;
		     i = ec_json_next(&x.doc, i)) {
			/* names we do not know are for later versions */
			if (ec_json_string(&x.doc, i, "operation", name,
					   sizeof(name), NULL))
				continue;
			for (j = 0; j < OP_COUNT; j++)
				if (!strcmp(name, op_names[j]))
					ek->offered |= 1u << j;
		}
		ek->hello_done = true;
out:
		exchange_end(&x);
		if (r)
			return r;
	}
	if (ek->offered & 1u << op)
		return 0;
	return ec_err_set(-EOPNOTSUPP,
			  "%s does not offer %s (it offers: %s)",
			  ek->kms.name, op_names[op],
			  offered_list(ek->offered, list, sizeof(list)));
}

static int exec_describe_key(struct ec_kms *kms, const char *key,
			     struct ec_key_info *info)
{
	struct exec_kms *ek = to_exec(kms);
	struct exchange x;
	int r;

	r = check_key(ek, key);
	if (r)
		return r;
	r = exchange_begin(&x, ek, OP_DESCRIBE_KEY, key);
	if (r)
		return r;
	r = exchange_run(&x);
	if (!r)
		r = result_key_info(&x, x.result, info);
	exchange_end(&x);
	return r;
}

static int check_context(struct exec_kms *ek, const char *context)
{
	if (context && printable_text(context))
		return 0;
	return ec_err_set(-EINVAL,
			  "%s: the encryption context is not printable ASCII",
			  ek->kms.name);
}

static int exec_wrap(struct ec_kms *kms, const char *key_id,
		     const uint8_t *dk, size_t dk_len, const char *context,
		     struct ec_wrapped *out)
{
	struct exec_kms *ek = to_exec(kms);
	char text[EXEC_B64_MAX + 1];
	uint8_t blob[EXEC_BIN_MAX];
	struct exchange x;
	size_t len = 0;
	int64_t version;
	int r;

	if (!dk || !dk_len || dk_len > EC_WRAPPED_MAX || !out)
		return ec_err_set(-EINVAL,
				  "%s: a data key of %zu bytes cannot be wrapped",
				  kms->name, dk_len);
	r = check_key(ek, key_id);
	if (!r)
		r = check_context(ek, context);
	if (r)
		return r;
	r = exchange_begin(&x, ek, OP_WRAP, key_id);
	if (r)
		return r;
	req_base64(&x, "plaintext", dk, dk_len);
	req_string(&x, "context", context);
	r = exchange_run(&x);
	if (r)
		goto out;
	r = result_base64(&x, x.result, "ciphertext", text, sizeof(text),
			  blob, sizeof(blob), &len);
	if (!r && len > sizeof(out->data) - 1)
		r = bad_reply(&x, "result.ciphertext is longer than 511 bytes (a wrap slot holds 512 with the format byte)");
	if (!r)
		r = result_int(&x, x.result, "key_version", 1, UINT32_MAX, 1,
			       &version);
	if (r)
		goto out;
	memset(out, 0, sizeof(*out));
	out->data[0] = EXEC_WRAP_FORMAT;
	memcpy(out->data + 1, blob, len);
	out->len = (uint32_t)(len + 1);
	out->cmk_version = (uint32_t)version;
out:
	exchange_end(&x);
	return r;
}

static int exec_unwrap(struct ec_kms *kms, const char *key_id,
		       const struct ec_wrapped *in, const char *context,
		       uint8_t *dk, size_t dk_len)
{
	struct exec_kms *ek = to_exec(kms);
	struct exchange x;
	char *text = NULL, why[128];
	uint8_t *plain = NULL;
	size_t len = 0;
	int r;

	if (!in || !dk || !dk_len || dk_len > EC_WRAPPED_MAX)
		return ec_err_set(-EINVAL, "%s: nothing to unwrap", kms->name);
	r = check_key(ek, key_id);
	if (!r)
		r = check_context(ek, context);
	if (r)
		return r;
	if (in->len < 2 || in->len > EC_WRAPPED_MAX ||
	    in->data[0] != EXEC_WRAP_FORMAT)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key of CMK %s is not in the exec: format %d (%u bytes, format byte %u): the header is damaged",
				  kms->name, key_id, EXEC_WRAP_FORMAT,
				  in->len, in->len ? in->data[0] : 0);
	if (!in->cmk_version)
		return ec_err_set(-EBADMSG,
				  "%s: the wrapped key names no version of CMK %s: the header is damaged",
				  kms->name, key_id);
	r = exchange_begin(&x, ek, OP_UNWRAP, key_id);
	if (r)
		return r;
	req_int(&x, "key_version", in->cmk_version);
	req_base64(&x, "ciphertext", in->data + 1, in->len - 1);
	req_string(&x, "context", context);
	r = exchange_run(&x);
	if (r)
		goto out;
	/* the data key in base64 and in bytes: locked memory */
	text = ec_secure_alloc(EXEC_B64_MAX + 1);
	plain = ec_secure_alloc(EXEC_BIN_MAX);
	if (!text || !plain) {
		r = -errno;
		goto out;
	}
	r = result_base64(&x, x.result, "plaintext", text, EXEC_B64_MAX + 1,
			  plain, EXEC_BIN_MAX, &len);
	if (r)
		goto out;
	if (len != dk_len) {
		snprintf(why, sizeof(why),
			 "result.plaintext is %zu bytes, the data key is %zu",
			 len, dk_len);
		r = bad_reply(&x, why);
		goto out;
	}
	memcpy(dk, plain, dk_len);
out:
	ec_secure_free(plain);
	ec_secure_free(text);
	exchange_end(&x);
	return r;
}

/* An optional operation on @key (NULL: none) that returns a key. */
static int key_operation(struct ec_kms *kms, enum exec_op op,
			 const char *key, int64_t days,
			 struct ec_key_info *info)
{
	struct exec_kms *ek = to_exec(kms);
	struct ec_key_info tmp;
	struct exchange x;
	int r;

	r = check_key(ek, key);
	if (!r)
		r = check_offered(ek, op);
	if (r)
		return r;
	r = exchange_begin(&x, ek, op, key);
	if (r)
		return r;
	if (op == OP_SCHEDULE_DELETION)
		req_int(&x, "days", days);
	r = exchange_run(&x);
	if (!r)
		r = result_key_info(&x, x.result, info ? info : &tmp);
	exchange_end(&x);
	return r;
}

static int exec_create_key(struct ec_kms *kms, enum ec_key_spec spec,
			   const char *alias, struct ec_key_info *info)
{
	struct exec_kms *ek = to_exec(kms);
	struct ec_key_info tmp;
	struct exchange x;
	int r;

	if (alias && !strncmp(alias, EC_ALIAS_PREFIX, strlen(EC_ALIAS_PREFIX)))
		alias += strlen(EC_ALIAS_PREFIX);
	if (alias && (!printable_word(alias) ||
		      strlen(alias) + strlen(EC_ALIAS_PREFIX) >=
		      EC_CMK_ALIAS_MAX))
		return ec_err_set(-EINVAL,
				  "alias '%.120s' is not valid for %s: use 1 to %zu printable ASCII characters without spaces",
				  alias, kms->name,
				  EC_CMK_ALIAS_MAX - 1 - strlen(EC_ALIAS_PREFIX));
	r = check_offered(ek, OP_CREATE_KEY);
	if (r)
		return r;
	r = exchange_begin(&x, ek, OP_CREATE_KEY, NULL);
	if (r)
		return r;
	req_string(&x, "spec", ec_key_spec_name(spec));
	if (alias)
		req_string(&x, "alias", alias);
	r = exchange_run(&x);
	if (!r)
		r = result_key_info(&x, x.result, info ? info : &tmp);
	exchange_end(&x);
	return r;
}

static int exec_list_keys(struct ec_kms *kms, struct ec_key_info **keys,
			  size_t *n)
{
	struct exec_kms *ek = to_exec(kms);
	struct ec_key_info *list = NULL;
	struct exchange x;
	size_t count = 0;
	int r, arr, i;

	*keys = NULL;
	*n = 0;
	r = check_offered(ek, OP_LIST_KEYS);
	if (r)
		return r;
	r = exchange_begin(&x, ek, OP_LIST_KEYS, NULL);
	if (r)
		return r;
	r = exchange_run(&x);
	if (r)
		goto out;
	arr = ec_json_get(&x.doc, x.result, "keys");
	if (ec_json_type(&x.doc, arr) != EC_JSON_ARRAY) {
		r = bad_reply(&x, "result.keys is not an array");
		goto out;
	}
	if (x.doc.nodes[arr].count) {
		list = calloc(x.doc.nodes[arr].count, sizeof(*list));
		if (!list) {
			r = ec_err_set(-ENOMEM, "out of memory");
			goto out;
		}
	}
	for (i = ec_json_first(&x.doc, arr); i >= 0;
	     i = ec_json_next(&x.doc, i)) {
		r = result_key_info(&x, i, &list[count]);
		if (r)
			goto out;
		count++;
	}
	ec_key_info_sort(list, count);
	*keys = list;
	*n = count;
	list = NULL;
out:
	free(list);
	exchange_end(&x);
	return r;
}

static int exec_enable_key(struct ec_kms *kms, const char *key,
			   struct ec_key_info *info)
{
	return key_operation(kms, OP_ENABLE_KEY, key, 0, info);
}

static int exec_disable_key(struct ec_kms *kms, const char *key,
			    struct ec_key_info *info)
{
	return key_operation(kms, OP_DISABLE_KEY, key, 0, info);
}

static int exec_rotate_key(struct ec_kms *kms, const char *key,
			   struct ec_key_info *info)
{
	return key_operation(kms, OP_ROTATE_KEY, key, 0, info);
}

static int exec_schedule_deletion(struct ec_kms *kms, const char *key,
				  unsigned int days, struct ec_key_info *info)
{
	return key_operation(kms, OP_SCHEDULE_DELETION, key, days, info);
}

static int exec_cancel_deletion(struct ec_kms *kms, const char *key,
				struct ec_key_info *info)
{
	return key_operation(kms, OP_CANCEL_DELETION, key, 0, info);
}

/* ---- open and close ----------------------------------------------------- */

static const char *const exec_params[] = { "timeout", NULL };

static int exec_open(const char *uri, struct ec_kms **out)
{
	const char *path = uri + strlen(EXEC_SCHEME ":"), *query;
	char canon[EC_KMS_URI_MAX + 32];
	struct exec_kms *ek;
	struct stat st;
	size_t len;
	int r, ms, n;

	query = strchr(path, '?');
	len = query ? (size_t)(query - path) : strlen(path);
	if (query)
		query++;
	if (!len)
		return ec_err_set(-EINVAL,
				  "KMS URI '%s' names no plugin program: use exec:/path/to/program",
				  uri);
	if (path[0] != '/')
		return ec_err_set(-EINVAL,
				  "KMS URI '%s': the plugin program '%.*s' is not an absolute path",
				  uri, (int)len, path);
	r = ec_uri_check_params(uri, query, '&', exec_params);
	if (!r)
		r = ec_uri_timeout_ms(uri, query, &ms);
	if (r)
		return r;

	ek = calloc(1, sizeof(*ek));
	if (!ek)
		return ec_err_set(-ENOMEM, "out of memory");
	memcpy(ek->path, path, len);		/* len < EC_KMS_URI_MAX */
	ek->timeout_ms = ms;
	ek->kms.ops = &ec_kms_exec_ops;
	snprintf(ek->kms.name, sizeof(ek->kms.name), "KMS plugin %s",
		 ek->path);
	if (stat(ek->path, &st)) {
		r = ec_err_set(-EINVAL,
			       "KMS plugin %s: %m; install it, or fix the path in the KMS URI",
			       ek->path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ec_err_set(-EINVAL,
			       "KMS plugin %s is not a regular file; the KMS URI must name the plugin program",
			       ek->path);
		goto fail;
	}
	if (access(ek->path, X_OK)) {
		r = ec_err_set(-EINVAL,
			       "KMS plugin %s is not executable: %m; make it executable (chmod +x)",
			       ek->path);
		goto fail;
	}
	/* canonical: the path, and the parameters that are not defaults */
	if (ms != EC_KMS_TIMEOUT_DEFAULT_MS)
		n = snprintf(canon, sizeof(canon), "%s:%s?timeout=%d",
			     EXEC_SCHEME, ek->path, ms / 1000);
	else
		n = snprintf(canon, sizeof(canon), "%s:%s", EXEC_SCHEME,
			     ek->path);
	if (n < 0 || n >= EC_KMS_URI_MAX) {
		r = ec_err_set(-EINVAL,
			       "KMS URI '%s' is too long (at most %d characters)",
			       canon, EC_KMS_URI_MAX - 1);
		goto fail;
	}
	memcpy(ek->kms.uri, canon, (size_t)n + 1);
	*out = &ek->kms;
	return 0;
fail:
	free(ek);
	return r;
}

static void exec_close(struct ec_kms *kms)
{
	free(to_exec(kms));
}

const struct ec_kms_ops ec_kms_exec_ops = {
	.scheme			= EXEC_SCHEME,
	.open			= exec_open,
	.close			= exec_close,
	.describe_key		= exec_describe_key,
	.wrap			= exec_wrap,
	.unwrap			= exec_unwrap,
	.create_key		= exec_create_key,
	.list_keys		= exec_list_keys,
	.enable_key		= exec_enable_key,
	.disable_key		= exec_disable_key,
	.rotate_key		= exec_rotate_key,
	.schedule_deletion	= exec_schedule_deletion,
	.cancel_deletion	= exec_cancel_deletion,
};
