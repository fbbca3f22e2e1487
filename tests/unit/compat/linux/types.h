/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's <linux/types.h>: just the types. */
#ifndef ENVCRYPT_COMPAT_LINUX_TYPES_H
#define ENVCRYPT_COMPAT_LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>

/* As the kernel defines them on x86-64. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#endif
