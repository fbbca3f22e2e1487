// SPDX-License-Identifier: GPL-2.0
/*
 * sm4-xts-ref: SM4-XTS built from OpenSSL's SM4-ECB and the IEEE 1619
 * tweak arithmetic, written independently of the kernel code, as the
 * oracle the guest tests compare sm4-xts-plain64 against (OpenSSL 3.0 has
 * no SM4-XTS of its own).
 *
 *   sm4-xts-ref encrypt|decrypt KEY FIRST_IV SECTOR_SIZE IV_STEP <in >out
 *   sm4-xts-ref selftest
 *
 * KEY is 64 hex digits (data key, then tweak key).  stdin is processed in
 * units of SECTOR_SIZE bytes; unit i gets the IV FIRST_IV + i * IV_STEP as
 * a little-endian 64-bit number followed by eight zero bytes (plain64).
 *
 * "selftest" proves the XTS composition itself: the same code over
 * AES-256-ECB must match OpenSSL's own AES-256-XTS.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define BLOCK 16

static void die(const char *what)
{
	fprintf(stderr, "sm4-xts-ref: %s\n", what);
	exit(2);
}

static int parse_hex(unsigned char *out, const char *hex, size_t n)
{
	size_t i;

	if (strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < n; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return 0;
}

static const EVP_CIPHER *block_cipher;	/* SM4-ECB, or AES-256-ECB in selftest */
static size_t half;			/* bytes of each XTS key half */

/* One ECB pass over @len bytes, in place. */
static void ecb(const unsigned char *key, int enc, unsigned char *buf, int len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0;

	if (!ctx ||
	    !EVP_CipherInit_ex(ctx, block_cipher, NULL, key, NULL, enc) ||
	    !EVP_CIPHER_CTX_set_padding(ctx, 0) ||
	    !EVP_CipherUpdate(ctx, buf, &outl, buf, len) || outl != len)
		die("OpenSSL ECB failed");
	EVP_CIPHER_CTX_free(ctx);
}

/* T = T * x in GF(2^128), IEEE 1619 little-endian convention. */
static void mul_x(unsigned char t[BLOCK])
{
	unsigned char carry = t[BLOCK - 1] >> 7;
	int i;

	for (i = BLOCK - 1; i > 0; i--)
		t[i] = (unsigned char)(t[i] << 1 | t[i - 1] >> 7);
	t[0] = (unsigned char)(t[0] << 1);
	if (carry)
		t[0] ^= 0x87;
}

static void xts_unit(const unsigned char *key, int enc, unsigned char *buf,
		     size_t len, uint64_t iv, unsigned char *tweaks)
{
	unsigned char t[BLOCK] = { 0 };
	size_t i, j;

	for (i = 0; i < 8; i++)
		t[i] = (unsigned char)(iv >> (8 * i));
	ecb(key + half, 1, t, BLOCK);		/* T0 = E_K2(IV) */
	for (i = 0; i < len; i += BLOCK) {
		memcpy(tweaks + i, t, BLOCK);
		mul_x(t);
	}
	for (j = 0; j < len; j++)
		buf[j] ^= tweaks[j];
	ecb(key, enc, buf, (int)len);		/* E_K1 or D_K1 */
	for (j = 0; j < len; j++)
		buf[j] ^= tweaks[j];
}

/* The composition above over AES-256 against OpenSSL's AES-256-XTS. */
static int selftest(void)
{
	unsigned char key[64], iv[BLOCK], data[4096], mine[4096], ref[4096];
	unsigned char tweaks[4096];
	int round, outl;
	FILE *rnd = fopen("/dev/urandom", "rb");

	block_cipher = EVP_aes_256_ecb();
	half = 32;
	for (round = 0; round < 64; round++) {
		size_t len = round & 1 ? 4096 : 512;
		uint64_t sector;
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

		if (!rnd || fread(key, 1, 64, rnd) != 64 ||
		    fread(data, 1, len, rnd) != len ||
		    fread(&sector, 1, 8, rnd) != 8 || !ctx)
			die("selftest: no random data");
		memset(iv, 0, sizeof(iv));
		for (int i = 0; i < 8; i++)
			iv[i] = (unsigned char)(sector >> (8 * i));
		if (!EVP_EncryptInit_ex(ctx, EVP_aes_256_xts(), NULL, key, iv) ||
		    !EVP_EncryptUpdate(ctx, ref, &outl, data, (int)len))
			die("selftest: OpenSSL AES-XTS failed");
		EVP_CIPHER_CTX_free(ctx);
		memcpy(mine, data, len);
		xts_unit(key, 1, mine, len, sector, tweaks);
		if (memcmp(mine, ref, len)) {
			fprintf(stderr, "sm4-xts-ref: selftest FAILED at round %d\n", round);
			return 1;
		}
	}
	fclose(rnd);
	printf("sm4-xts-ref: selftest passed: the XTS composition matches OpenSSL AES-256-XTS on 64 units\n");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char key[32], *buf, *tweaks;
	unsigned long long first_iv, step;
	unsigned long sector_size;
	uint64_t unit = 0;
	int enc;

	if (argc == 2 && !strcmp(argv[1], "selftest"))
		return selftest();
	if (argc != 6)
		die("usage: sm4-xts-ref encrypt|decrypt KEY FIRST_IV SECTOR_SIZE IV_STEP | selftest");
	block_cipher = EVP_sm4_ecb();
	half = 16;
	if (!strcmp(argv[1], "encrypt"))
		enc = 1;
	else if (!strcmp(argv[1], "decrypt"))
		enc = 0;
	else
		die("first argument must be encrypt or decrypt");
	if (parse_hex(key, argv[2], sizeof(key)))
		die("KEY must be 64 hex digits");
	first_iv = strtoull(argv[3], NULL, 0);
	sector_size = strtoul(argv[4], NULL, 0);
	step = strtoull(argv[5], NULL, 0);
	if (!sector_size || sector_size % BLOCK || sector_size > 65536)
		die("SECTOR_SIZE must be a multiple of 16, at most 65536");

	buf = malloc(sector_size);
	tweaks = malloc(sector_size);
	if (!buf || !tweaks)
		die("out of memory");
	for (;;) {
		size_t got = fread(buf, 1, sector_size, stdin);

		if (!got)
			break;
		if (got != sector_size)
			die("input is not a whole number of sectors");
		xts_unit(key, enc, buf, sector_size, first_iv + unit * step,
			 tweaks);
		if (fwrite(buf, 1, sector_size, stdout) != sector_size)
			die("write failed");
		unit++;
	}
	OPENSSL_cleanse(key, sizeof(key));
	free(buf);
	free(tweaks);
	return ferror(stdin) ? 2 : 0;
}
