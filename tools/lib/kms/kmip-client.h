/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A KMIP client connection: one request message with one batch item out,
 * one response message in, over TLS (tls.h), KMIP 1.4.
 *
 * The connection is opened by the first call and reused by the next ones;
 * any failure of the transport or of the framing drops it, so that the
 * next call (a retry of the generic KMS layer) connects again.
 */
#ifndef ENVCRYPT_KMIP_CLIENT_H
#define ENVCRYPT_KMIP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"
#include "ttlv.h"

#define KMIP_PROTOCOL_MAJOR	1
#define KMIP_PROTOCOL_MINOR	4
/* The biggest response read; a bigger one is -EPROTO. */
#define KMIP_RESPONSE_MAX	(64 * 1024)
/* Characters of the server's Result Message kept for our messages. */
#define KMIP_RESULT_MESSAGE_MAX	200

enum kmip_operation {
	KMIP_OP_CREATE			= 0x01,
	KMIP_OP_LOCATE			= 0x08,
	KMIP_OP_GET_ATTRIBUTES		= 0x0b,
	KMIP_OP_ACTIVATE		= 0x12,
	KMIP_OP_REVOKE			= 0x13,
	KMIP_OP_DESTROY			= 0x14,
	KMIP_OP_ENCRYPT			= 0x1f,
	KMIP_OP_DECRYPT			= 0x20,
};

enum kmip_result_status {
	KMIP_STATUS_SUCCESS		= 0,
	KMIP_STATUS_OPERATION_FAILED	= 1,
	KMIP_STATUS_OPERATION_PENDING	= 2,
	KMIP_STATUS_OPERATION_UNDONE	= 3,
};

enum kmip_result_reason {
	KMIP_REASON_ITEM_NOT_FOUND		= 0x01,
	KMIP_REASON_RESPONSE_TOO_LARGE		= 0x02,
	KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL = 0x03,
	KMIP_REASON_INVALID_MESSAGE		= 0x04,
	KMIP_REASON_OPERATION_NOT_SUPPORTED	= 0x05,
	KMIP_REASON_MISSING_DATA		= 0x06,
	KMIP_REASON_INVALID_FIELD		= 0x07,
	KMIP_REASON_FEATURE_NOT_SUPPORTED	= 0x08,
	KMIP_REASON_CRYPTOGRAPHIC_FAILURE	= 0x0a,
	KMIP_REASON_ILLEGAL_OPERATION		= 0x0b,
	KMIP_REASON_PERMISSION_DENIED		= 0x0c,
	KMIP_REASON_GENERAL_FAILURE		= 0x100,
};

enum kmip_state {
	KMIP_STATE_PRE_ACTIVE		= 1,
	KMIP_STATE_ACTIVE		= 2,
	KMIP_STATE_DEACTIVATED		= 3,
	KMIP_STATE_COMPROMISED		= 4,
	KMIP_STATE_DESTROYED		= 5,
	KMIP_STATE_DESTROYED_COMPROMISED = 6,
};

#define KMIP_OBJECT_SYMMETRIC_KEY	0x02
#define KMIP_ALGORITHM_AES		0x03
#define KMIP_MODE_GCM			0x09
#define KMIP_USAGE_ENCRYPT		0x04
#define KMIP_USAGE_DECRYPT		0x08
#define KMIP_NAME_UNINTERPRETED_TEXT	0x01
#define KMIP_REVOKE_CESSATION_OF_OPERATION 0x06

struct kmip_client {
	struct ec_tls_params params;	/* strings owned by the caller */
	struct ec_tls *tls;		/* NULL: not connected */
	unsigned int calls;		/* on this connection */
};

/* One response: the whole message in locked memory, wiped when freed. */
struct kmip_response {
	uint8_t *buf;
	size_t len;
	struct ttlv_msg msg;
	uint32_t status;		/* enum kmip_result_status */
	uint32_t reason;		/* 0 when the server gave none */
	char message[KMIP_RESULT_MESSAGE_MAX + 1]; /* sanitized, or "" */
	const struct ttlv_item *payload; /* Response Payload, or NULL */
};

/*
 * Start a request for @operation: the Request Message, its header and
 * the one Batch Item, up to an open Request Payload; the caller adds the
 * payload's items and calls kmip_request_end().
 */
void kmip_request_begin(struct ttlv_enc *e, enum kmip_operation operation);
void kmip_request_end(struct ttlv_enc *e);

/*
 * Send @req, read and check the response into @resp (free it with
 * kmip_response_free(), also after a failure).  0 when a well-formed
 * response arrived, whatever its Result Status; else -errno with the
 * message set: the tls.h errors, -EPROTO for a malformed or oversized
 * response, -EAGAIN when a reused connection was closed by the server
 * before it answered (the retry connects again).
 */
int kmip_call(struct kmip_client *c, struct ttlv_enc *req,
	      enum kmip_operation operation, struct kmip_response *resp);
void kmip_response_free(struct kmip_response *resp);

/* Close the connection (a later call opens a new one). */
void kmip_disconnect(struct kmip_client *c);

/* "Item Not Found", "Permission Denied", ..., or "reason 0x..." */
const char *kmip_reason_name(uint32_t reason, char *buf, size_t size);
/* "Active", "Deactivated", ... */
const char *kmip_state_name(uint32_t state);
/* "Encrypt", "Locate", ... */
const char *kmip_operation_name(enum kmip_operation operation);

#endif /* ENVCRYPT_KMIP_CLIENT_H */
