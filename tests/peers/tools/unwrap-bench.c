// SPDX-License-Identifier: GPL-2.0
/*
 * envcrypt-unwrap-bench: unwrap latency through one open KMS connection.
 *
 *   envcrypt-unwrap-bench IMAGE N
 *
 * reads the volume header of IMAGE, opens the KMS of its first wrap slot
 * once, unwraps the data key N times through it (a reused TLS connection
 * for kmip://, a reused session for pkcs11:, a new process each time for
 * exec:), and prints
 *   reused: median M ms, p99 P ms (N unwraps)
 * The data key lives in locked memory and is wiped; nothing is printed of
 * it.  For `make bench` (tests/peers/bench-unwrap.sh); never a test.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "header.h"
#include "kms.h"
#include "secmem.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	char context[EC_HDR_CONTEXT_MAX];
	const struct ec_wrap_slot *slot;
	struct ec_header hdr;
	struct ec_kms *kms;
	double *ms, t0;
	size_t dk_len;
	uint8_t *dk;
	int fd, i, n, r;

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: envcrypt-unwrap-bench IMAGE N\n");
		return 1;
	}
	ec_secmem_init();
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	r = ec_header_read(fd, &hdr, NULL);
	close(fd);
	slot = &hdr.slots[0];
	if (!r && !slot->active)
		r = ec_err_set(-EUCLEAN, "wrap slot 0 is empty");
	if (!r)
		r = ec_header_context(&hdr, slot, context, sizeof(context));
	if (r < 0)
		goto fail;
	dk_len = ec_cipher_key_size(hdr.cipher);
	dk = ec_secure_alloc(dk_len);
	ms = calloc(n, sizeof(*ms));
	if (!dk || !ms) {
		perror("envcrypt-unwrap-bench");
		return 1;
	}
	r = ec_kms_open(slot->kms_uri, &kms);
	if (r)
		goto fail;
	for (i = 0; i < n && !r; i++) {
		t0 = now_ms();
		r = ec_kms_unwrap(kms, slot->cmk_id, &slot->wrapped, context,
				  dk, dk_len);
		ms[i] = now_ms() - t0;
	}
	ec_kms_close(kms);
	ec_secure_free(dk);
	if (r)
		goto fail;
	qsort(ms, n, sizeof(*ms), cmp_double);
	printf("reused: median %.1f ms, p99 %.1f ms (%d unwraps)\n",
	       ms[n / 2], ms[(n * 99 + 99) / 100 - 1], n);
	free(ms);
	return 0;
fail:
	fprintf(stderr, "envcrypt-unwrap-bench: %s\n", ec_err_msg());
	return 1;
}
