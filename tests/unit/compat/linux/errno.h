/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for the kernel's <linux/errno.h>.  Like the uapi
 * header of that name (which libc's <errno.h> includes, and which this
 * one shadows) it takes the numbers from <asm/errno.h>.
 */
#include <asm/errno.h>
