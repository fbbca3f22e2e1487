// SPDX-License-Identifier: GPL-2.0
/*
 * The KMIP client connection (kmip-client.h): request framing, the
 * response read with a size cap, and the checks of the response header
 * and its one batch item.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "kmip-client.h"
#include "secmem.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

void kmip_request_begin(struct ttlv_enc *e, enum kmip_operation operation)
{
	ttlv_begin(e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_begin(e, KMIP_TAG_REQUEST_HEADER);
	ttlv_begin(e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_put_integer(e, KMIP_TAG_PROTOCOL_VERSION_MAJOR,
			 KMIP_PROTOCOL_MAJOR);
	ttlv_put_integer(e, KMIP_TAG_PROTOCOL_VERSION_MINOR,
			 KMIP_PROTOCOL_MINOR);
	ttlv_end(e);
	/* a server that would answer more says Response Too Large */
	ttlv_put_integer(e, KMIP_TAG_MAXIMUM_RESPONSE_SIZE,
			 KMIP_RESPONSE_MAX);
	ttlv_put_integer(e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_end(e);
	ttlv_begin(e, KMIP_TAG_BATCH_ITEM);
	ttlv_put_enum(e, KMIP_TAG_OPERATION, operation);
	ttlv_begin(e, KMIP_TAG_REQUEST_PAYLOAD);
}

void kmip_request_end(struct ttlv_enc *e)
{
	ttlv_end(e);	/* Request Payload */
	ttlv_end(e);	/* Batch Item */
	ttlv_end(e);	/* Request Message */
}

const char *kmip_operation_name(enum kmip_operation operation)
{
	switch (operation) {
	case KMIP_OP_CREATE:
		return "Create";
	case KMIP_OP_LOCATE:
		return "Locate";
	case KMIP_OP_GET_ATTRIBUTES:
		return "Get Attributes";
	case KMIP_OP_ACTIVATE:
		return "Activate";
	case KMIP_OP_REVOKE:
		return "Revoke";
	case KMIP_OP_DESTROY:
		return "Destroy";
	case KMIP_OP_ENCRYPT:
		return "Encrypt";
	case KMIP_OP_DECRYPT:
		return "Decrypt";
	}
	return "operation";
}

const char *kmip_reason_name(uint32_t reason, char *buf, size_t size)
{
	static const struct {
		uint32_t reason;
		const char *name;
	} names[] = {
		{ KMIP_REASON_ITEM_NOT_FOUND, "Item Not Found" },
		{ KMIP_REASON_RESPONSE_TOO_LARGE, "Response Too Large" },
		{ KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL,
		  "Authentication Not Successful" },
		{ KMIP_REASON_INVALID_MESSAGE, "Invalid Message" },
		{ KMIP_REASON_OPERATION_NOT_SUPPORTED,
		  "Operation Not Supported" },
		{ KMIP_REASON_MISSING_DATA, "Missing Data" },
		{ KMIP_REASON_INVALID_FIELD, "Invalid Field" },
		{ KMIP_REASON_FEATURE_NOT_SUPPORTED, "Feature Not Supported" },
		{ KMIP_REASON_CRYPTOGRAPHIC_FAILURE, "Cryptographic Failure" },
		{ KMIP_REASON_ILLEGAL_OPERATION, "Illegal Operation" },
		{ KMIP_REASON_PERMISSION_DENIED, "Permission Denied" },
		{ KMIP_REASON_GENERAL_FAILURE, "General Failure" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].reason == reason)
			return names[i].name;
	snprintf(buf, size, "reason 0x%x", reason);
	return buf;
}

const char *kmip_state_name(uint32_t state)
{
	switch (state) {
	case KMIP_STATE_PRE_ACTIVE:
		return "Pre-Active";
	case KMIP_STATE_ACTIVE:
		return "Active";
	case KMIP_STATE_DEACTIVATED:
		return "Deactivated";
	case KMIP_STATE_COMPROMISED:
		return "Compromised";
	case KMIP_STATE_DESTROYED:
		return "Destroyed";
	case KMIP_STATE_DESTROYED_COMPROMISED:
		return "Destroyed Compromised";
	}
	return "unknown";
}

void kmip_disconnect(struct kmip_client *c)
{
	ec_tls_close(c->tls);
	c->tls = NULL;
	c->calls = 0;
}

void kmip_response_free(struct kmip_response *resp)
{
	ttlv_msg_free(&resp->msg);
	ec_secure_free(resp->buf);	/* wipes: a Decrypt answer */
	memset(resp, 0, sizeof(*resp));
}

/* The server's text, for our messages: printable ASCII, capped. */
static void sanitize(char *out, size_t size, const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < size; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < len && n >= 3)
		memcpy(out + n - 3, "...", 3);
	out[n] = '\0';
}

/* Prefix the decoder's message: the peer answered garbage. */
static int bad_response(const struct kmip_client *c, int r)
{
	if (r != -EPROTO)
		return r;
	return ec_err_prefix(r,
			     "%s answered with a malformed KMIP message; check that the URI names a KMIP server",
			     c->params.peer);
}

/* The header and the one batch item of a decoded response. */
static int check_response(const struct kmip_client *c,
			  enum kmip_operation operation,
			  struct kmip_response *resp)
{
	const struct ttlv_item *root = ttlv_root(&resp->msg);
	const struct ttlv_item *header, *item, *it;
	const char *text;
	size_t len;
	int32_t count;
	uint32_t op;
	int r;

	r = ttlv_need(root, KMIP_TAG_RESPONSE_HEADER, &header);
	if (!r)
		r = ttlv_get_structure(header);
	if (!r)
		r = ttlv_need(header, KMIP_TAG_BATCH_COUNT, &it);
	if (!r)
		r = ttlv_get_integer(it, &count);
	if (r)
		return bad_response(c, r);
	if (count != 1 || ttlv_count(root, KMIP_TAG_BATCH_ITEM) != 1)
		return ec_err_set(-EPROTO,
				  "%s answered a request of one batch item with %d (%zu present); check that the URI names a KMIP server",
				  c->params.peer, count,
				  ttlv_count(root, KMIP_TAG_BATCH_ITEM));
	item = ttlv_find(root, KMIP_TAG_BATCH_ITEM);
	r = ttlv_get_structure(item);
	if (!r)
		r = ttlv_need(item, KMIP_TAG_RESULT_STATUS, &it);
	if (!r)
		r = ttlv_get_enum(it, &resp->status);
	if (r)
		return bad_response(c, r);

	it = ttlv_find(item, KMIP_TAG_OPERATION);
	if (it) {
		r = ttlv_get_enum(it, &op);
		if (r)
			return bad_response(c, r);
		if (op != operation)
			return ec_err_set(-EPROTO,
					  "%s answered a %s request with the result of operation 0x%x",
					  c->params.peer,
					  kmip_operation_name(operation), op);
	}
	it = ttlv_find(item, KMIP_TAG_RESULT_REASON);
	if (it && (r = ttlv_get_enum(it, &resp->reason)))
		return bad_response(c, r);
	it = ttlv_find(item, KMIP_TAG_RESULT_MESSAGE);
	if (it) {
		r = ttlv_get_text(it, &text, &len);
		if (r)
			return bad_response(c, r);
		sanitize(resp->message, sizeof(resp->message), text, len);
	}
	resp->payload = ttlv_find(item, KMIP_TAG_RESPONSE_PAYLOAD);
	if (resp->payload && (r = ttlv_get_structure(resp->payload)))
		return bad_response(c, r);
	if (resp->status == KMIP_STATUS_SUCCESS && !resp->payload)
		return ec_err_set(-EPROTO,
				  "%s answered a %s request with success but no Response Payload",
				  c->params.peer,
				  kmip_operation_name(operation));
	if (resp->status != KMIP_STATUS_SUCCESS &&
	    resp->status != KMIP_STATUS_OPERATION_FAILED)
		return ec_err_set(-EPROTO,
				  "%s answered a %s request with Result Status %u; envcrypt asks for synchronous operations only",
				  c->params.peer,
				  kmip_operation_name(operation), resp->status);
	return 0;
}

/* The 8 bytes of a TTLV header as hex, for a message. */
static void hex8(const uint8_t *p, char *buf)
{
	int i;

	for (i = 0; i < TTLV_HEADER_SIZE; i++)
		sprintf(buf + 3 * i, "%02x%s", p[i],
			i < TTLV_HEADER_SIZE - 1 ? " " : "");
}

/* Read one response message into @resp->buf. */
static int read_response(struct kmip_client *c, bool reused,
			 struct kmip_response *resp)
{
	uint8_t head[TTLV_HEADER_SIZE];
	char hex[3 * TTLV_HEADER_SIZE];
	uint32_t tag, len;
	int r;

	r = ec_tls_read(c->tls, head, sizeof(head));
	if (r == -ECONNRESET && reused)
		return ec_err_set(-EAGAIN,
				  "%s closed the connection before answering; try again",
				  c->params.peer);
	if (r)
		return r;
	tag = (uint32_t)head[0] << 16 | (uint32_t)head[1] << 8 | head[2];
	len = (uint32_t)head[4] << 24 | (uint32_t)head[5] << 16 |
	      (uint32_t)head[6] << 8 | head[7];
	if (tag != KMIP_TAG_RESPONSE_MESSAGE || head[3] != TTLV_STRUCTURE) {
		hex8(head, hex);
		return ec_err_set(-EPROTO,
				  "%s answered with something that is not a KMIP Response Message (it starts with %s); check that the URI names a KMIP server",
				  c->params.peer, hex);
	}
	if (len > KMIP_RESPONSE_MAX - TTLV_HEADER_SIZE)
		return ec_err_set(-EPROTO,
				  "%s answered with a KMIP message of %llu bytes, more than the %d bytes envcrypt accepts",
				  c->params.peer,
				  (unsigned long long)len + TTLV_HEADER_SIZE,
				  KMIP_RESPONSE_MAX);
	resp->len = TTLV_HEADER_SIZE + (size_t)len;
	resp->buf = ec_secure_alloc(resp->len);
	if (!resp->buf)
		return -errno;
	memcpy(resp->buf, head, sizeof(head));
	return ec_tls_read(c->tls, resp->buf + TTLV_HEADER_SIZE, len);
}

int kmip_call(struct kmip_client *c, struct ttlv_enc *req,
	      enum kmip_operation operation, struct kmip_response *resp)
{
	bool reused;
	int r;

	memset(resp, 0, sizeof(*resp));
	r = ttlv_enc_finish(req);
	if (r)
		return ec_err_prefix(r, "%s: cannot build a %s request",
				     c->params.peer,
				     kmip_operation_name(operation));
	reused = c->tls != NULL;
	if (!c->tls) {
		r = ec_tls_connect(&c->params, &c->tls);
		if (r) {
			c->tls = NULL;
			return r;
		}
	}
	r = ec_tls_write(c->tls, req->buf, req->len);
	if (r == -ECONNRESET && reused)
		r = ec_err_set(-EAGAIN,
			       "%s closed the connection before the request was sent; try again",
			       c->params.peer);
	if (!r)
		r = read_response(c, reused, resp);
	if (!r) {
		r = ttlv_decode(resp->buf, resp->len, &resp->msg);
		if (r)
			r = bad_response(c, r);
	}
	if (!r)
		r = check_response(c, operation, resp);
	if (r) {
		/* the stream is out of step, or gone: start over next time */
		kmip_disconnect(c);
		return r;
	}
	c->calls++;
	return 0;
}
