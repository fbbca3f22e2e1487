// SPDX-License-Identifier: GPL-2.0
/*
 * envcrypt-header-edit: change a volume header as an attacker who knows
 * the format would: through the header codec, so both copies are valid,
 * with new checksums and a higher sequence number.  For the guest tests
 * that prove such edits are refused at open.
 *
 *   envcrypt-header-edit DEVICE cipher NAME
 *   envcrypt-header-edit DEVICE sector_size N
 *   envcrypt-header-edit DEVICE kcv HEX
 *   envcrypt-header-edit DEVICE export-slot N FILE   wrapped key to FILE
 *   envcrypt-header-edit DEVICE import-slot N FILE   wrapped key from FILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "header.h"

static int usage(void)
{
	fprintf(stderr, "usage: envcrypt-header-edit DEVICE cipher NAME | sector_size N | kcv HEX |\n"
		"       export-slot N FILE | import-slot N FILE\n");
	return 2;
}

static int slot_file(struct ec_header *hdr, const char *n, const char *path,
		     int import)
{
	struct ec_wrap_slot *slot;
	FILE *f;
	int i = atoi(n);

	if (i < 0 || i >= EC_HDR_SLOTS || !hdr->slots[i].active) {
		fprintf(stderr, "no active wrap slot %s\n", n);
		return -1;
	}
	slot = &hdr->slots[i];
	f = fopen(path, import ? "rb" : "wb");
	if (!f) {
		perror(path);
		return -1;
	}
	if (import) {
		if (fread(&slot->wrapped, sizeof(slot->wrapped), 1, f) != 1) {
			fprintf(stderr, "%s: short file\n", path);
			fclose(f);
			return -1;
		}
		slot->cmk_version = slot->wrapped.cmk_version;
	} else {
		fwrite(&slot->wrapped, sizeof(slot->wrapped), 1, f);
	}
	return fclose(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct ec_header hdr;
	unsigned int i, byte;
	int fd, r, write_back = 1;

	if (argc < 4)
		return usage();
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	r = ec_header_read(fd, &hdr, NULL);
	if (r) {
		fprintf(stderr, "%s: %s\n", argv[1], ec_err_msg());
		return 1;
	}
	if (!strcmp(argv[2], "cipher")) {
		snprintf(hdr.cipher, sizeof(hdr.cipher), "%s", argv[3]);
	} else if (!strcmp(argv[2], "sector_size")) {
		hdr.sector_size = atoi(argv[3]);
	} else if (!strcmp(argv[2], "kcv")) {
		for (i = 0; i < EC_HDR_KCV_SIZE && argv[3][2 * i]; i++) {
			if (sscanf(argv[3] + 2 * i, "%2x", &byte) != 1)
				return usage();
			hdr.kcv[i] = byte;
		}
	} else if (argc == 5 && !strcmp(argv[2], "export-slot")) {
		write_back = 0;
		r = slot_file(&hdr, argv[3], argv[4], 0);
	} else if (argc == 5 && !strcmp(argv[2], "import-slot")) {
		r = slot_file(&hdr, argv[3], argv[4], 1);
	} else {
		return usage();
	}
	if (!r && write_back)
		r = ec_header_write(fd, &hdr);
	if (r) {
		fprintf(stderr, "%s: %s\n", argv[1], ec_err_msg());
		return 1;
	}
	close(fd);
	return 0;
}
