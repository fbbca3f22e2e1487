// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers the envcryptctl tests share.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "tools-util.h"

char *scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	assert_true(asprintf(&dir, "%s/envcrypt-test.XXXXXX",
			     tmp ? tmp : "/tmp") > 0);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int scratch_teardown(void **state)
{
	rm_tree(*state);
	free(*state);
	return 0;
}

char *path_in(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

void make_file(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static int saved_fd[2] = { -1, -1 };
static FILE *capture_file[2];

void capture_begin(void)
{
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		capture_file[i] = tmpfile();
		assert_non_null(capture_file[i]);
		saved_fd[i] = dup(i + 1);
		dup2(fileno(capture_file[i]), i + 1);
	}
}

static char *slurp(FILE *f)
{
	long n;
	char *s;

	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, n + 1);
	assert_non_null(s);
	if (n)
		assert_int_equal(fread(s, 1, n, f), (size_t)n);
	fclose(f);
	return s;
}

void capture_end(char **out, char **err)
{
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		dup2(saved_fd[i], i + 1);
		close(saved_fd[i]);
	}
	*out = slurp(capture_file[0]);
	*err = slurp(capture_file[1]);
}

int run_cli(char **out, char **err, ...)
{
	char *argv[32] = { "envcryptctl" };
	int argc = 1, rc;
	va_list ap;

	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	free(*out);
	free(*err);
	capture_begin();
	rc = cli_main(argc, argv);
	capture_end(out, err);
	return rc;
}
