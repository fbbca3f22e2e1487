/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parameters of KMS URIs: "name=value" lists separated by '&' (a query,
 * "kmip://host?ca=FILE&cert=FILE") or by ';' (the path of an RFC 7512
 * "pkcs11:token=T;object=O" URI), values percent-decoded.
 */
#ifndef ENVCRYPT_URI_H
#define ENVCRYPT_URI_H

#include <stddef.h>

/*
 * The value of @name in @list (NULL or "" is an empty list), decoded into
 * @value (@size bytes with the NUL).  Returns 1 when found, 0 when absent
 * (@value is then ""), -EINVAL when @list is malformed or the value does
 * not fit (the message names @uri).
 */
int ec_uri_param(const char *uri, const char *list, char sep,
		 const char *name, char *value, size_t size);

/*
 * -EINVAL "KMS URI 'URI': unknown parameter 'x'; known: a, b" for a name
 * in @list not in @known (NULL-terminated), or a malformed @list; else 0.
 */
int ec_uri_check_params(const char *uri, const char *list, char sep,
			const char *const known[]);

/*
 * The timeout=SECONDS of a query @list in milliseconds, or
 * EC_KMS_TIMEOUT_DEFAULT_MS; -EINVAL outside 1..EC_KMS_TIMEOUT_MAX_S.
 */
int ec_uri_timeout_ms(const char *uri, const char *query, int *ms);

#endif /* ENVCRYPT_URI_H */
