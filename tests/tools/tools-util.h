/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the envcryptctl tests share: scratch directories, image files,
 * capturing what a call prints, and running the CLI.
 */
#ifndef TOOLS_UTIL_H
#define TOOLS_UTIL_H

#include <stddef.h>

/* A fresh directory under $TMPDIR; remove it with rm_tree(). */
char *scratch_dir(void);
void rm_tree(const char *dir);
/* A group teardown: rm_tree() and free the scratch_dir() in *@state. */
int scratch_teardown(void **state);

/* "<dir>/<name>" (malloc'd). */
char *path_in(const char *dir, const char *name);

/* Make a sparse file of @size bytes. */
void make_file(const char *path, size_t size);

/*
 * Capture stdout and stderr (each to a file) until capture_end(), which
 * returns what was written (malloc'd, NUL-terminated).
 */
void capture_begin(void);
void capture_end(char **out, char **err);

/*
 * run_cli(&out, &err, "arg", ..., NULL): cli_main() on those arguments,
 * as "envcryptctl arg ..."; its exit code.  What it printed replaces
 * *out and *err (freed first).
 */
int run_cli(char **out, char **err, ...);

/* @text (a string) contains, or does not contain, @what. */
#define assert_has(text, what) do { \
	if (!strstr((text), (what))) \
		fail_msg("missing '%s' in:\n%s", (what), (text)); \
} while (0)

#define assert_lacks(text, what) do { \
	if (strstr((text), (what))) \
		fail_msg("unexpected '%s' in:\n%s", (what), (text)); \
} while (0)

#endif /* TOOLS_UTIL_H */
