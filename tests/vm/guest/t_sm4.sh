# SPDX-License-Identifier: GPL-2.0
#
# SM4-XTS on a kernel with no SM4 of its own: the module offers "sm4" to
# the crypto API, and sm4-xts-plain64 gives the ciphertext of an
# independent SM4-XTS (OpenSSL's SM4-ECB plus the IEEE 1619 tweak, in
# /bin/sm4-xts-ref), with the built-in and the crypto API implementation.

. /tests/envcrypt-lib.sh

need_ref() {
	command -v sm4-xts-ref >/dev/null ||
		fail "no sm4-xts-ref in the guest: build it with 'make check-vm'"
	sm4-xts-ref selftest >/dev/null || fail "sm4-xts-ref selftest failed"
}

# sm4_case ENGINE_OPT SS IV_OFFSET LARGE OFFSET
sm4_case() {
	local engine=$1 ss=$2 ivoff=$3 large=$4 off=$5
	local step=$(($2 / 512)) first key table

	[ -d /sys/module/dm_envcrypt ] || need_envcrypt
	need_ref
	ramdisks 1 16384
	key=$(hexkey 32)
	if [ "$large" = 1 ]; then
		first=$((ivoff / step))
		step=1
	else
		first=$ivoff
	fi
	randfile p 1024
	sm4-xts-ref encrypt "$key" "$first" "$ss" "$step" <p >c.ref ||
		fail "sm4-xts-ref encrypt"
	table=$(envcrypt_table 8192 sm4-xts-plain64 "$key" "$ivoff" /dev/ram0 "$off" "$ss" "$large" $engine)

	# envcrypt writes the reference's ciphertext
	dm_create s "$table"
	# the AVX2 implementations where the CPU has AVX2 (and the module was
	# not loaded with portable=1), else the portable ones
	fast=
	grep -qw avx2 /proc/cpuinfo && fast=avx2
	[ "$(cat /sys/module/dm_envcrypt/parameters/portable)" = Y ] && fast=
	case "$engine:$fast:$(dmsetup status s)" in
	crypto_api:avx2:*driver:xts\(ecb-sm4-aesni-avx2-envcrypt\)\ *) ;;
	crypto_api::*driver:xts\(ecb\(sm4-envcrypt\)\)\ *) ;;
	:avx2:*driver:envcrypt-xts-sm4-aesni-avx2\ *) ;;
	::*driver:envcrypt-xts-sm4-generic\ *) ;;
	*) fail "engine '$engine' not in use: $(dmsetup status s)" ;;
	esac
	write_file_to /dev/mapper/s p
	assert_eq "$(file_sha c.ref)" "$(raw_sha /dev/ram0 "$off" 2048)" \
		"ciphertext vs OpenSSL-based SM4-XTS"
	dmsetup remove s

	# and reads the reference's ciphertext back as the plaintext
	dd if=/dev/zero of=/dev/ram0 bs=1M count=8 2>/dev/null
	dd if=c.ref of=/dev/ram0 bs=512 seek="$off" oflag=direct 2>/dev/null
	dm_create s "$table"
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/s 1024)" \
		"plaintext of the reference's ciphertext"
}

test_sm4_registered_for_the_crypto_api() {
	need_envcrypt
	awk -v RS= '/driver *: sm4-envcrypt\n/' /proc/crypto >alg
	grep -q '^name *: sm4$' alg || fail "no sm4 in /proc/crypto: $(cat alg)"
	grep -q '^priority *: 50$' alg || fail "priority: $(grep priority alg)"
	grep -q '^selftest *: passed$' alg || fail "kernel self-test: $(grep selftest alg)"
	# the accelerated ecb(sm4), above it, where the CPU has AVX2
	awk -v RS= '/driver *: ecb-sm4-aesni-avx2-envcrypt\n/' /proc/crypto >ecb
	if grep -qw avx2 /proc/cpuinfo; then
		grep -q '^name *: ecb(sm4)$' ecb || fail "no accelerated ecb(sm4): $(cat ecb)"
		grep -q '^priority *: 60$' ecb || fail "priority: $(grep priority ecb)"
		grep -q '^selftest *: passed$' ecb || fail "kernel self-test: $(grep selftest ecb)"
	else
		[ ! -s ecb ] || fail "accelerated ecb(sm4) without AVX2: $(cat ecb)"
	fi
}

# portable=1: the portable SM4-XTS in the target, the portable sm4 alone
# in the crypto API; the ciphertext is the same.
test_sm4_portable_module_parameter() {
	need_envcrypt
	rmmod dm_envcrypt || fail "rmmod"
	modprobe dm-envcrypt portable=1 || fail "modprobe portable=1"
	grep -q 'ecb-sm4-aesni-avx2-envcrypt' /proc/crypto &&
		fail "accelerated ecb(sm4) registered with portable=1"
	sm4_case "" 512 4242 0 2048
	tidy
	sm4_case crypto_api 4096 64 1 8
}

test_sm4_builtin_ss512_iv0() { sm4_case "" 512 0 0 0; }
test_sm4_builtin_ss512_ivoffset_offset() { sm4_case "" 512 4242 0 2048; }
test_sm4_builtin_ss4096_iv0() { sm4_case "" 4096 0 0 0; }
test_sm4_builtin_ss4096_ivoffset_offset() { sm4_case "" 4096 8000 0 8; }
test_sm4_builtin_ss4096_large_iv_beyond_32_bits() { sm4_case "" 4096 1099511627776 1 16; }
test_sm4_crypto_api_ss512_ivoffset_offset() { sm4_case crypto_api 512 4242 0 2048; }
test_sm4_crypto_api_ss4096_large() { sm4_case crypto_api 4096 64 1 8; }

# dm-crypt, given the module's sm4, agrees byte for byte.
test_sm4_dm_crypt_gives_the_same_ciphertext() {
	local key

	need_envcrypt
	ramdisks 2 16384
	key=$(hexkey 32)
	randfile p 1024
	dm_create env "$(envcrypt_table 8192 sm4-xts-plain64 "$key" 77 /dev/ram0 8 512 0)"
	dm_create ref "$(crypt_table 8192 sm4-xts-plain64 "$key" 77 /dev/ram1 8 512 0)"
	write_file_to /dev/mapper/env p
	write_file_to /dev/mapper/ref p
	assert_eq "$(raw_sha /dev/ram1 8 2048)" "$(raw_sha /dev/ram0 8 2048)" \
		"ciphertext envcrypt vs dm-crypt sm4-xts-plain64"
	# the module backs dm-crypt's sm4 now: it cannot go away under it
	dmsetup remove env
	expect_fail rmmod dm_envcrypt
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/ref 1024)" "dm-crypt still reads"
	dmsetup remove ref
	rmmod dm_envcrypt || fail "rmmod once dm-crypt is gone"
	grep -q 'sm4-envcrypt' /proc/crypto && fail "sm4 still registered after unload"
	true
}

test_sm4_ext4_and_fio_verify() {
	local k

	need_envcrypt
	ramdisks 1 65536
	k=$(hexkey 32)
	dm_create s "0 131072 envcrypt sm4-xts-plain64 $k 0 /dev/ram0 0 1 sector_size:4096"
	fio --name=sm4 --filename=/dev/mapper/s --size=32M --direct=1 \
		--ioengine=libaio --iodepth=8 --rw=randrw --bsrange=4k-256k \
		--verify=crc32c --verify_fatal=1 --output=fio.out >/dev/null 2>&1 ||
		fail "fio verify: $(tail -5 fio.out)"
	mkfs.ext4 -q -F /dev/mapper/s || fail "mkfs.ext4"
	mkdir -p /mnt/s
	mount /dev/mapper/s /mnt/s || fail "mount"
	head -c 2000000 /dev/urandom >/mnt/s/f
	sum=$(sha256sum /mnt/s/f | cut -d' ' -f1)
	umount /mnt/s
	dmsetup remove s
	dm_create s "0 131072 envcrypt sm4-xts-plain64 $k 0 /dev/ram0 0 1 sector_size:4096"
	e2fsck -f -n /dev/mapper/s >fsck.out 2>&1 || fail "e2fsck: $(cat fsck.out)"
	mount -o ro /dev/mapper/s /mnt/s || fail "mount again"
	assert_eq "$sum" "$(sha256sum /mnt/s/f | cut -d' ' -f1)" "file after recreate"
	umount /mnt/s
}

test_sm4_key_wipe_and_set() {
	local k

	need_envcrypt
	ramdisks 1 8192
	k=$(hexkey 32)
	hex2file "$k" keyfile
	keyctl padd logon envcrypt:sm4 @u <keyfile >/dev/null
	randfile p 256
	dm_create s "0 4096 envcrypt sm4-xts-plain64 :32:logon:envcrypt:sm4 0 /dev/ram0 0"
	write_file_to /dev/mapper/s p
	assert_eq "key:loaded kcv:$(kcv_of keyfile)" "$(dmsetup status s | grep -o 'key:.*')" "kcv"
	dmsetup suspend s
	dmsetup message s 0 key wipe || fail "key wipe"
	expect_fail_dmesg "envcrypt: s: no key loaded" dmsetup resume s
	dmsetup message s 0 key set :32:logon:envcrypt:sm4 || fail "key set"
	dmsetup resume s || fail "resume"
	assert_eq "$(file_sha p)" "$(dev_sha /dev/mapper/s 256)" "data across the wipe"
	expect_fail_dmesg "envcrypt: Keyring key size does not match cipher" \
		dmsetup create bad --table "0 4096 envcrypt sm4-xts-plain64 :64:logon:envcrypt:sm4 0 /dev/ram0 0"
}
