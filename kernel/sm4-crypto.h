/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-envcrypt: the SM4 it offers to the kernel crypto API (sm4-crypto.c),
 * "sm4" and, accelerated, "ecb(sm4)", registered while the module is loaded.
 */
#ifndef DM_ENVCRYPT_SM4_CRYPTO_H
#define DM_ENVCRYPT_SM4_CRYPTO_H

void envcrypt_sm4_register(bool accelerated);
void envcrypt_sm4_unregister(void);

#endif /* DM_ENVCRYPT_SM4_CRYPTO_H */
