/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-envcrypt: the SM4 cipher it offers to the kernel crypto API as "sm4"
 * (sm4-crypto.c), registered while the module is loaded.
 */
#ifndef DM_ENVCRYPT_SM4_CRYPTO_H
#define DM_ENVCRYPT_SM4_CRYPTO_H

void envcrypt_sm4_register(void);
void envcrypt_sm4_unregister(void);

#endif /* DM_ENVCRYPT_SM4_CRYPTO_H */
