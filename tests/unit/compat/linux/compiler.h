/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's <linux/compiler.h>. */
#ifndef ENVCRYPT_COMPAT_LINUX_COMPILER_H
#define ENVCRYPT_COMPAT_LINUX_COMPILER_H

#define __always_inline inline __attribute__((__always_inline__))
#define noinline __attribute__((__noinline__))
#define barrier() __asm__ __volatile__("" : : : "memory")

#endif
