// SPDX-License-Identifier: GPL-2.0
/*
 * The host registry of volumes: what a note records, what replaces what,
 * "off", a registry that cannot be written (a warning, the caller's
 * message kept), lines it does not understand, concurrent writers under
 * the flock, and the check of an entry against its device.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "header.h"
#include "registry.h"
#include "tools-util.h"

struct fixture {
	char *dir;
	char *reg;
	char *image;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = scratch_dir();
	/* a directory that does not exist yet: note creates it */
	f->reg = path_in(f->dir, "var/registry");
	f->image = path_in(f->dir, "disk.img");
	make_file(f->image, 2 << 20);
	setenv("ENVCRYPT_REGISTRY", f->reg, 1);
	ec_err_clear();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unsetenv("ENVCRYPT_REGISTRY");
	rm_tree(f->dir);
	free(f->dir);
	free(f->reg);
	free(f->image);
	free(f);
	return 0;
}

/* A header with wrap slots for @cmk0 (and @cmk1 in slot 3, if given). */
static void make_header(struct ec_header *hdr, uint8_t uuid_byte,
			const char *label, const char *cmk0,
			const char *cmk1)
{
	memset(hdr, 0, sizeof(*hdr));
	memset(hdr->uuid, uuid_byte, sizeof(hdr->uuid));
	snprintf(hdr->cipher, sizeof(hdr->cipher), "aes-xts-plain64");
	hdr->sector_size = 512;
	hdr->data_offset = EC_HDR_DATA_OFFSET;
	hdr->created = 1700000000;
	snprintf(hdr->label, sizeof(hdr->label), "%s", label);
	hdr->slots[0].active = true;
	snprintf(hdr->slots[0].kms_uri, EC_KMS_URI_MAX, "local:/kms/a");
	snprintf(hdr->slots[0].cmk_id, EC_CMK_ID_MAX, "%s", cmk0);
	snprintf(hdr->slots[0].cmk_alias, EC_CMK_ALIAS_MAX, "alias/a");
	hdr->slots[0].wrapped.len = 60;
	hdr->slots[0].wrapped.cmk_version = 1;
	hdr->slots[0].cmk_version = 1;
	if (cmk1) {
		hdr->slots[3] = hdr->slots[0];
		snprintf(hdr->slots[3].kms_uri, EC_KMS_URI_MAX,
			 "kmip://h:5696");
		snprintf(hdr->slots[3].cmk_id, EC_CMK_ID_MAX, "%s", cmk1);
		hdr->slots[3].cmk_alias[0] = '\0';
	}
}

static void write_header(const char *path, struct ec_header *hdr)
{
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(ec_header_write(fd, hdr), 0);
	close(fd);
}

static char *slurp(const char *path)
{
	char *buf = calloc(1, 1 << 20);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, (1 << 20) - 1);
	assert_true(n >= 0);
	close(fd);
	return buf;
}

static void test_note_records_the_volume(void **state)
{
	struct fixture *f = *state;
	struct ec_registry_entry *e;
	struct ec_header hdr;
	struct stat st;
	char *tmp, *text;
	size_t n;

	make_header(&hdr, 0x11, "db \"data\"", "cmk-1", "cmk-2");
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	assert_int_equal(stat(f->reg, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tmp = path_in(f->dir, "var/registry.tmp");
	assert_int_equal(access(tmp, F_OK), -1);
	free(tmp);
	text = slurp(f->reg);
	/* one line of JSON, the label escaped */
	assert_non_null(strstr(text, "\"label\":\"db \\\"data\\\"\""));
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
	free(text);

	assert_int_equal(ec_registry_load(&e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].volume, "11111111-1111-1111-1111-111111111111");
	assert_string_equal(e[0].device, f->image);
	assert_string_equal(e[0].label, "db \"data\"");
	assert_string_equal(e[0].cipher, "aes-xts-plain64");
	assert_true(e[0].seen > 1700000000);
	assert_int_equal(e[0].nslots, 2);
	assert_int_equal(e[0].slots[0].slot, 0);
	assert_string_equal(e[0].slots[0].cmk_id, "cmk-1");
	assert_string_equal(e[0].slots[0].cmk_alias, "alias/a");
	assert_string_equal(e[0].slots[0].kms_uri, "local:/kms/a");
	assert_int_equal(e[0].slots[1].slot, 3);
	assert_string_equal(e[0].slots[1].cmk_id, "cmk-2");
	assert_string_equal(e[0].slots[1].kms_uri, "kmip://h:5696");
	assert_true(ec_registry_uses(&e[0], "cmk-2", NULL));
	assert_true(ec_registry_uses(&e[0], "cmk-2", "kmip://h:5696"));
	assert_false(ec_registry_uses(&e[0], "cmk-2", "local:/kms/a"));
	assert_false(ec_registry_uses(&e[0], "cmk-3", NULL));
	free(e);
}

static void test_device_path_is_made_absolute(void **state)
{
	struct fixture *f = *state;
	struct ec_registry_entry *e;
	struct ec_header hdr;
	char cwd[4096];
	size_t n;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	make_header(&hdr, 0x11, "", "cmk-1", NULL);
	assert_int_equal(ec_registry_note("./disk.img", &hdr), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(ec_registry_load(&e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].device, f->image);
	free(e);
}

static void test_note_again_updates_the_entry(void **state)
{
	struct fixture *f = *state;
	struct ec_registry_entry *e;
	struct ec_header hdr;
	size_t n;

	make_header(&hdr, 0x11, "old", "cmk-1", NULL);
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	make_header(&hdr, 0x11, "new", "cmk-1", "cmk-2");
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	assert_int_equal(ec_registry_load(&e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].label, "new");
	assert_int_equal(e[0].nslots, 2);
	free(e);
}

static void test_another_volume_on_the_device_replaces_it(void **state)
{
	struct fixture *f = *state;
	struct ec_registry_entry *e;
	struct ec_header hdr;
	char *other = path_in(f->dir, "other.img");
	size_t n;

	make_file(other, 1 << 20);
	make_header(&hdr, 0x11, "", "cmk-1", NULL);
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	/* a raw copy: the same volume on a second device, kept apart */
	assert_int_equal(ec_registry_note(other, &hdr), 0);
	/* formatted again: the device holds only the new volume */
	make_header(&hdr, 0x22, "", "cmk-9", NULL);
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	assert_int_equal(ec_registry_load(&e, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].device, other);
	assert_string_equal(e[0].volume, "11111111-1111-1111-1111-111111111111");
	assert_string_equal(e[1].device, f->image);
	assert_string_equal(e[1].volume, "22222222-2222-2222-2222-222222222222");
	assert_string_equal(e[1].slots[0].cmk_id, "cmk-9");
	free(e);
	free(other);
}

static void test_off_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct ec_registry_entry *e;
	struct ec_header hdr;
	size_t n = 7;

	setenv("ENVCRYPT_REGISTRY", "off", 1);
	assert_null(ec_registry_path());
	make_header(&hdr, 0x11, "", "cmk-1", NULL);
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	assert_int_equal(ec_registry_load(&e, &n), 0);
	assert_int_equal(n, 0);
	free(e);
	assert_int_equal(access(f->reg, F_OK), -1);
	unsetenv("ENVCRYPT_REGISTRY");
	assert_string_equal(ec_registry_path(), EC_REGISTRY_DEFAULT);
}

static void test_unwritable_registry_warns_and_keeps_the_message(void **state)
{
	struct fixture *f = *state;
	struct ec_header hdr;
	char *bad = path_in(f->image, "registry");	/* under a file */
	char *out, *err;
	int r;

	setenv("ENVCRYPT_REGISTRY", bad, 1);
	make_header(&hdr, 0x11, "", "cmk-1", NULL);
	ec_err_set(-EIO, "the caller's message");
	capture_begin();
	r = ec_registry_note(f->image, &hdr);
	capture_end(&out, &err);
	assert_true(r < 0);
	assert_string_equal(ec_err_msg(), "the caller's message");
	assert_non_null(strstr(err, "envcryptctl: warning: the volume registry was not updated: cannot open "));
	assert_non_null(strstr(err, "set ENVCRYPT_REGISTRY to a writable file (or off)"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	free(bad);
}

static void test_lines_not_understood_are_kept(void **state)
{
	struct fixture *f = *state;
	struct ec_registry_entry *e;
	struct ec_header hdr;
	char *text;
	size_t n;
	FILE *fp;

	make_header(&hdr, 0x11, "", "cmk-1", NULL);
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	fp = fopen(f->reg, "a");
	assert_non_null(fp);
	fputs("{\"future\":\"format\"}\nnot json at all\n", fp);
	fclose(fp);
	assert_int_equal(ec_registry_load(&e, &n), 0);
	assert_int_equal(n, 1);
	free(e);
	make_header(&hdr, 0x11, "again", "cmk-1", NULL);
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	text = slurp(f->reg);
	assert_non_null(strstr(text, "{\"future\":\"format\"}\nnot json at all\n"));
	assert_non_null(strstr(text, "\"label\":\"again\""));
	free(text);
}

#define WRITERS		6
#define PER_WRITER	15

static void test_concurrent_notes_lose_nothing(void **state)
{
	struct fixture *f = *state;
	struct ec_registry_entry *e;
	struct ec_header hdr;
	char name[64], *path;
	int w, i, status;
	size_t n;
	pid_t pid;

	for (w = 0; w < WRITERS; w++)
		for (i = 0; i < PER_WRITER; i++) {
			snprintf(name, sizeof(name), "d%d-%d", w, i);
			path = path_in(f->dir, name);
			make_file(path, 4096);
			free(path);
		}
	for (w = 0; w < WRITERS; w++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid)
			continue;
		for (i = 0; i < PER_WRITER; i++) {
			snprintf(name, sizeof(name), "d%d-%d", w, i);
			path = path_in(f->dir, name);
			make_header(&hdr, (uint8_t)(w * PER_WRITER + i), "",
				    "cmk-1", NULL);
			if (ec_registry_note(path, &hdr))
				_exit(1);
			free(path);
		}
		_exit(0);
	}
	for (w = 0; w < WRITERS; w++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(ec_registry_load(&e, &n), 0);
	assert_int_equal(n, WRITERS * PER_WRITER);
	free(e);
}

static void test_check_tells_current_from_stale(void **state)
{
	struct fixture *f = *state;
	struct ec_registry_entry *e;
	struct ec_header hdr;
	char why[512];
	size_t n;
	int fd;

	make_header(&hdr, 0x11, "", "cmk-1", "cmk-2");
	write_header(f->image, &hdr);
	assert_int_equal(ec_registry_note(f->image, &hdr), 0);
	assert_int_equal(ec_registry_load(&e, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(ec_registry_check(&e[0], "cmk-1", "local:/kms/a",
					   why, sizeof(why)), EC_REG_CURRENT);
	assert_string_equal(why, "");
	assert_int_equal(ec_registry_check(&e[0], NULL, NULL, why,
					   sizeof(why)), EC_REG_CURRENT);
	/* the slot's KMS must match too */
	assert_int_equal(ec_registry_check(&e[0], "cmk-1", "local:/kms/b",
					   why, sizeof(why)), EC_REG_STALE);
	assert_non_null(strstr(why, "has no wrap slot for this CMK now"));

	/* rewrapped: the slot with cmk-1 is gone */
	make_header(&hdr, 0x11, "", "cmk-3", "cmk-2");
	write_header(f->image, &hdr);
	assert_int_equal(ec_registry_check(&e[0], "cmk-1", NULL, why,
					   sizeof(why)), EC_REG_STALE);
	assert_int_equal(ec_registry_check(&e[0], "cmk-2", NULL, why,
					   sizeof(why)), EC_REG_CURRENT);

	/* formatted as another volume */
	make_header(&hdr, 0x22, "", "cmk-2", NULL);
	write_header(f->image, &hdr);
	assert_int_equal(ec_registry_check(&e[0], "cmk-2", NULL, why,
					   sizeof(why)), EC_REG_STALE);
	assert_non_null(strstr(why, "holds volume 22222222-2222-2222-2222-222222222222 now"));

	/* wiped */
	fd = open(f->image, O_RDWR | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	assert_int_equal(ec_registry_check(&e[0], "cmk-2", NULL, why,
					   sizeof(why)), EC_REG_STALE);
	assert_non_null(strstr(why, "has no envcrypt header now"));

	/* gone */
	unlink(f->image);
	ec_err_set(-EIO, "kept");
	assert_int_equal(ec_registry_check(&e[0], "cmk-2", NULL, why,
					   sizeof(why)), EC_REG_STALE);
	assert_non_null(strstr(why, "is gone"));
	assert_string_equal(ec_err_msg(), "kept");
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_note_records_the_volume,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_path_is_made_absolute,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_again_updates_the_entry,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_another_volume_on_the_device_replaces_it,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_writes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_registry_warns_and_keeps_the_message,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lines_not_understood_are_kept,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_notes_lose_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tells_current_from_stale,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
