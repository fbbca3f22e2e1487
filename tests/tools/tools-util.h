/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the envcryptctl tests share: scratch directories, image files,
 * and capturing what a call prints.
 */
#ifndef TOOLS_UTIL_H
#define TOOLS_UTIL_H

#include <stddef.h>

/* A fresh directory under $TMPDIR; remove it with rm_tree(). */
char *scratch_dir(void);
void rm_tree(const char *dir);

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

#endif /* TOOLS_UTIL_H */
