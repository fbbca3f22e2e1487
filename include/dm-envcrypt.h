/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-envcrypt: the interface between the kernel target and envcryptctl.
 *
 * Table line (see docs/TARGET.md):
 *   <start> <len> envcrypt <cipher> <key> <iv_offset> <device> <offset>
 *                          [<#opts> <opt>...]
 *
 * This header holds names and numbers only, so that both the kernel and
 * userspace can include it.
 */
#ifndef DM_ENVCRYPT_H
#define DM_ENVCRYPT_H

#define ENVCRYPT_TARGET_NAME		"envcrypt"

/* Ciphers: name in the table, key size in bytes (two XTS halves). */
#define ENVCRYPT_CIPHER_AES_XTS		"aes-xts-plain64"
#define ENVCRYPT_AES_XTS_KEY_SIZE	64
#define ENVCRYPT_CIPHER_SM4_XTS		"sm4-xts-plain64"
#define ENVCRYPT_SM4_XTS_KEY_SIZE	32
#define ENVCRYPT_MAX_KEY_SIZE		64

/* A key from the kernel keyring: ":<size>:logon:<description>". */
#define ENVCRYPT_KEY_TYPE		"logon"

/* Optional table arguments. */
#define ENVCRYPT_OPT_SECTOR_SIZE	"sector_size:"
#define ENVCRYPT_OPT_IV_LARGE_SECTORS	"iv_large_sectors"
#define ENVCRYPT_OPT_ALLOW_DISCARDS	"allow_discards"
#define ENVCRYPT_OPT_ON_KEY_WIPE	"on_key_wipe:"
#define ENVCRYPT_OPT_CRYPTO_API		"crypto_api"

/* Messages, accepted only while the device is suspended. */
#define ENVCRYPT_MSG_KEY_WIPE		"key wipe"
#define ENVCRYPT_MSG_KEY_SET		"key set"

/*
 * Key check value: the first ENVCRYPT_KCV_SIZE bytes of
 * SHA-256(ENVCRYPT_KCV_LABEL || key), shown in hex by the INFO status and
 * stored in the volume header, so a wrong data key is caught without ever
 * revealing it.
 */
#define ENVCRYPT_KCV_LABEL		"dm-envcrypt key check value v1"
#define ENVCRYPT_KCV_SIZE		3

#endif /* DM_ENVCRYPT_H */
