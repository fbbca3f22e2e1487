/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's <linux/string.h>. */
#ifndef ENVCRYPT_COMPAT_LINUX_STRING_H
#define ENVCRYPT_COMPAT_LINUX_STRING_H

#include <string.h>

/* Like the kernel's: a memset() the compiler may not drop. */
static inline void memzero_explicit(void *s, size_t count)
{
	memset(s, 0, count);
	__asm__ __volatile__("" : : "r"(s) : "memory");
}

#endif
