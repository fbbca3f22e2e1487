// SPDX-License-Identifier: GPL-2.0
/*
 * image-digest: the SHA-256 of the plaintext of a volume on an image
 * file, for the host tests of convert, copy and snapshot (no dm target on
 * the host).  It unwraps the data key through the KMS as open does
 * (ec_volume_unwrap), decrypts with the userspace XTS engine, and prints
 * only the digest: no plaintext leaves it.
 *
 *   image-digest VOLUME [BYTES]    digest of the first BYTES (default all)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "blockdev.h"
#include "dm-envcrypt.h"
#include "error.h"
#include "header.h"
#include "secmem.h"
#include "volume.h"
#include "xts.h"

#define CHUNK	(1 << 20)

int main(int argc, char **argv)
{
	struct ec_blockdev dev;
	struct ec_header hdr;
	struct ec_xts *x = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *dk = ec_secure_alloc(ENVCRYPT_MAX_KEY_SIZE), *buf;
	uint8_t sum[32];
	uint64_t len, off;
	int r, i, slot;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: image-digest VOLUME [BYTES]\n");
		return 1;
	}
	buf = malloc(CHUNK);
	if (!dk || !buf || !md)
		return 2;
	r = ec_blockdev_open(argv[1], false, false, &dev);
	if (!r)
		r = ec_header_read(dev.fd, &hdr, NULL);
	if (!r)
		r = ec_volume_unwrap(argv[1], &hdr, dk,
				     ec_cipher_key_size(hdr.cipher), &slot);
	if (!r)
		r = ec_xts_new(hdr.cipher, dk, ec_cipher_key_size(hdr.cipher),
			       hdr.sector_size, &x);
	if (r) {
		fprintf(stderr, "image-digest: %s\n", ec_err_msg());
		return 2;
	}
	len = (dev.size - hdr.data_offset) / hdr.sector_size * hdr.sector_size;
	if (argc == 3)
		len = strtoull(argv[2], NULL, 0);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		size_t whole = (n + hdr.sector_size - 1) / hdr.sector_size *
			       hdr.sector_size;

		if (pread(dev.fd, buf, whole, hdr.data_offset + off) !=
		    (ssize_t)whole ||
		    ec_xts_crypt(x, false, buf, buf, whole,
				 off / hdr.sector_size)) {
			fprintf(stderr, "image-digest: cannot read or decrypt at %" PRIu64 "\n",
				off);
			return 2;
		}
		EVP_DigestUpdate(md, buf, n);
	}
	EVP_DigestFinal_ex(md, sum, NULL);
	for (i = 0; i < 32; i++)
		printf("%02x", sum[i]);
	putchar('\n');
	ec_xts_free(x);
	ec_secure_free(dk);
	return 0;
}
